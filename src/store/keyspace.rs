//! Every store key ferrid writes, and the one hashing helper for keys derived from secrets. A
//! record's key is built here and nowhere else, so the layout an operator sees in Redis (listed
//! in the README's "Store key layout") is this file. The Redis backend puts the configured
//! `redis.prefix` in front of each name; the memory store uses them as they are.
//!
//! Keys derived from a secret — an authorization code, a refresh token, a session cookie, an
//! interaction id — hold its `digest` (SHA-256, base64url without padding), never the value
//! itself: a store dump, `MONITOR` or a replica does not hand out anything a browser or client
//! could present.
//!
//! Every name carries a Redis Cluster hash tag (`{…}`: Redis hashes only the text between the
//! first `{` and the next `}`), around the record's id, so the layout is uniform and keys that
//! a multi-key script or `MULTI` must touch together can be put in one slot by giving them the
//! same tag. The key ring, its lock and its change channel share `{ring}`. The records keyed by
//! a client address share that address's tag (a MAC of it, never the address itself): the
//! login-failure counters of an address and of each username tried from it (one script checks
//! both), and the pending interactions started from it with their index (one script adds one
//! and evicts the oldest) — an interaction id carries that tag, so it finds its record. The
//! listing indexes of clients and users are kept in step with their records by ordering
//! single-key writes (see `registry`). A refresh token and its family, or a session and its
//! family list, could not share one by naming alone, because each is looked up by a value (the
//! token, the cookie) that does not carry the other's id. The tags assume a prefix without
//! braces: a `{` in `redis.prefix` would become every key's tag.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::secret::sha256;

/// The sealed key ring (no TTL).
pub const KEY_RING: &str = "keys:{ring}";
/// The lock held while the key ring changes; same slot as `KEY_RING`.
pub const KEY_RING_LOCK: &str = "keys:{ring}:lock";
/// The pub/sub channel announcing a changed key ring; same slot as `KEY_RING`.
pub const KEY_RING_CHANGED: &str = "keys:{ring}:changed";
/// The ids of the clients the config provisioned, to delete those it no longer lists.
pub const BOOTSTRAP_CLIENTS: &str = "clients:{bootstrap}";
/// The ids of the users the config provisioned, to delete those it no longer lists.
pub const BOOTSTRAP_USERS: &str = "users:{bootstrap}";
/// Every client's id, sorted: the admin listing (`store::registry`). No TTL.
pub const CLIENT_INDEX: &str = "clients:{index}";
/// Every user's id, sorted: the admin listing (`store::registry`). No TTL.
pub const USER_INDEX: &str = "users:{index}";
/// Every `<origin> <client_id>` pair of the clients' `allowed_cors_origins`, sorted, so that a
/// CORS preflight finds whether some client has an origin in one range read
/// (`oauth::clients::cors_origins`). No TTL.
pub const CORS_ORIGINS: &str = "cors-origins:{index}";
/// The pub/sub channel announcing that a client record changed (or was deleted): every
/// instance drops its cached clients (`store::cached`).
pub const CLIENTS_CHANGED: &str = "clients:{changed}";
/// Written last by start-up provisioning (no TTL): while it is missing, the store has lost what
/// ferrid provisioned (a Redis restarted empty, a failover, `FLUSHALL`) or was never provisioned.
pub const PROVISIONED: &str = "provisioned:{bootstrap}";

/// SHA-256 of `secret`, base64url without padding: the id of every record keyed by a secret.
pub fn digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(secret.as_bytes()))
}

/// A registered client, by `client_id`.
pub fn client(client_id: &str) -> String {
    format!("client:{{{client_id}}}")
}

/// Whether `key` is a client record (`client`), the records the in-process cache keeps.
pub fn is_client(key: &str) -> bool {
    key.starts_with("client:{")
}

/// An authorization code (or, once redeemed, its replay marker), by the code's digest.
pub fn code(raw_code: &str) -> String {
    code_by_digest(&digest(raw_code))
}

/// An authorization code, by the `digest` of the code (as the client's code index keeps it).
pub fn code_by_digest(code_digest: &str) -> String {
    format!("code:{{{code_digest}}}")
}

/// The digests of the outstanding authorization codes of `client_id`, to revoke them when the
/// client is deleted.
pub fn client_codes(client_id: &str) -> String {
    format!("client-codes:{{{client_id}}}")
}

/// The ids of the refresh-token families of `client_id`, to revoke them when the client is
/// deleted.
pub fn client_families(client_id: &str) -> String {
    format!("client-families:{{{client_id}}}")
}

/// A refresh token's record, by the token's digest.
pub fn refresh_token(raw_token: &str) -> String {
    format!("refresh:{{{}}}", digest(raw_token))
}

/// A refresh-token family, by family id.
pub fn refresh_family(family_id: &str) -> String {
    format!("refresh-family:{{{family_id}}}")
}

/// The revocation marker of a refresh-token family: while it lives, every access token
/// carrying the family (`fid`) is refused. Same slot as `refresh_family`.
pub fn revoked_family(family_id: &str) -> String {
    format!("refresh-family:{{{family_id}}}:revoked")
}

/// A browser session, by the session cookie's digest.
pub fn session(cookie: &str) -> String {
    session_by_digest(&digest(cookie))
}

/// A browser session, by the `digest` of its cookie (as the user's session index keeps it).
pub fn session_by_digest(cookie_digest: &str) -> String {
    format!("session:{{{cookie_digest}}}")
}

/// The cookie digests of the browser sessions of `user_id`, to end them all at once.
pub fn user_sessions(user_id: &str) -> String {
    format!("user-sessions:{{{user_id}}}")
}

/// The ids of the refresh-token families of `user_id`, to revoke them all at once.
pub fn user_families(user_id: &str) -> String {
    format!("user-families:{{{user_id}}}")
}

/// The ids of the refresh-token families started in browser session `sid` (its public id).
pub fn session_families(sid: &str) -> String {
    format!("session-families:{{{sid}}}")
}

/// The scopes `user_id` approved for `client_id`.
pub fn consent(user_id: &str, client_id: &str) -> String {
    format!("consent:{{{user_id}}}:{client_id}")
}

/// An authorization interaction in progress, by the tag of the client address that started it
/// and the interaction id's digest.
pub fn pending(address_tag: &str, interaction_id: &str) -> String {
    format!("interaction:{{{address_tag}}}:{}", digest(interaction_id))
}

/// The keys of the interactions a client address started, oldest first; same slot as each.
pub fn pending_by_address(address_tag: &str) -> String {
    format!("interactions:{{{address_tag}}}")
}

/// Failed login attempts from a client address (and those still being checked).
pub fn login_failures(address_tag: &str) -> String {
    format!("login-failures:{{{address_tag}}}")
}

/// Failed login attempts for one username (case-insensitive, by digest) from a client address;
/// same slot as `login_failures` of that address.
pub fn login_failures_of(address_tag: &str, username: &str) -> String {
    format!(
        "login-failures:{{{address_tag}}}:{}",
        digest(&username.to_lowercase())
    )
}

/// A pushed authorization request (RFC 9126), by the digest of its `request_uri`; taken once.
pub fn pushed_request(request_uri: &str) -> String {
    format!("par:{{{}}}", digest(request_uri))
}

/// The replay marker of a DPoP proof (RFC 9449 §11.1), written only if absent, by the digest of
/// its key's thumbprint and its `jti`: a `jti` is unique per key, and the marker's size does not
/// depend on what the client chose.
pub fn dpop_proof(jkt: &str, jti: &str) -> String {
    format!("dpop-jti:{{{}}}", digest(&format!("{jkt}:{jti}")))
}

/// The replay marker of a client assertion (RFC 7523 §3, private_key_jwt), written only if
/// absent, by the digest of the client id and the assertion's `jti`: a `jti` is unique per
/// client, and the marker's size does not depend on what the client chose.
pub fn client_assertion(client_id: &str, jti: &str) -> String {
    format!(
        "assertion-jti:{{{}}}",
        digest(&format!("{client_id}:{jti}"))
    )
}

/// An initial access token for dynamic client registration (RFC 7591 §3), by its digest;
/// expires with the token.
pub fn initial_access_token(raw_token: &str) -> String {
    format!("registration-token:{{{}}}", digest(raw_token))
}

/// Clients registered through open registration from a client address in the current hour.
pub fn open_registrations(address_tag: &str) -> String {
    format!("registrations:{{{address_tag}}}")
}

/// A user record, by stable user id (`sub`).
pub fn user(user_id: &str) -> String {
    format!("user:{{{user_id}}}")
}

/// The user id of `username`.
pub fn username(username: &str) -> String {
    format!("username:{{{username}}}")
}

/// The deny-list entry of a revoked access token, by its `jti`.
pub fn revoked_jti(jti: &str) -> String {
    format!("revoked-jti:{{{jti}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Redis Cluster rule: the text between the first `{` and the next `}`, if non-empty;
    /// otherwise the whole key is hashed.
    fn hash_tag(key: &str) -> &str {
        key.find('{')
            .and_then(|open| {
                let rest = &key[open + 1..];
                rest.find('}').map(|close| &rest[..close])
            })
            .filter(|tag| !tag.is_empty())
            .unwrap_or(key)
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(client("billing"), "client:{billing}");
        assert!(is_client(&client("billing")));
        assert!(!is_client(&client_codes("billing")) && !is_client(CLIENT_INDEX));
        assert_eq!(refresh_family("f1"), "refresh-family:{f1}");
        assert_eq!(revoked_family("f1"), "refresh-family:{f1}:revoked");
        assert_eq!(session_families("s1"), "session-families:{s1}");
        assert_eq!(consent("u1", "billing"), "consent:{u1}:billing");
        assert_eq!(user("u1"), "user:{u1}");
        assert_eq!(username("alice"), "username:{alice}");
        assert_eq!(revoked_jti("j1"), "revoked-jti:{j1}");
        assert_eq!(
            code("abc"),
            "code:{ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0}"
        );
        assert_eq!(pending_by_address("t1"), "interactions:{t1}");
        assert_eq!(login_failures("t1"), "login-failures:{t1}");
        assert_eq!(
            login_failures_of("t1", "Alice"),
            format!("login-failures:{{t1}}:{}", digest("alice"))
        );
        assert_eq!(KEY_RING, "keys:{ring}");
        assert_eq!(KEY_RING_LOCK, "keys:{ring}:lock");
        assert_eq!(BOOTSTRAP_CLIENTS, "clients:{bootstrap}");
        assert_eq!(BOOTSTRAP_USERS, "users:{bootstrap}");
        assert_eq!(PROVISIONED, "provisioned:{bootstrap}");
        assert_eq!(user_sessions("u1"), "user-sessions:{u1}");
        assert_eq!(user_families("u1"), "user-families:{u1}");
        assert_eq!(session("abc"), session_by_digest(&digest("abc")));
        assert_eq!(code("abc"), code_by_digest(&digest("abc")));
        assert_eq!(CLIENT_INDEX, "clients:{index}");
        assert_eq!(USER_INDEX, "users:{index}");
        assert_eq!(CORS_ORIGINS, "cors-origins:{index}");
        assert_eq!(client_codes("billing"), "client-codes:{billing}");
        assert_eq!(client_families("billing"), "client-families:{billing}");
        assert_eq!(
            pushed_request("urn:x"),
            format!("par:{{{}}}", digest("urn:x"))
        );
        assert_eq!(
            dpop_proof("k", "j"),
            format!("dpop-jti:{{{}}}", digest("k:j"))
        );
        assert_eq!(
            client_assertion("c", "j"),
            format!("assertion-jti:{{{}}}", digest("c:j"))
        );
        assert_eq!(
            initial_access_token("t"),
            format!("registration-token:{{{}}}", digest("t"))
        );
    }

    #[test]
    fn digest_is_sha256_base64url_without_padding() {
        // SHA-256("abc") = ba7816bf…f20015ad (FIPS 180-2 test vector).
        assert_eq!(digest("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
        assert_eq!(digest("code-123").len(), 43);
    }

    #[test]
    fn secrets_never_appear_in_a_key() {
        let secret = "kR3x9bY2mQ7vT4nW8pL1sD6fH0jA5cE2gU9iO3yZ7wX";
        for key in [
            code(secret),
            refresh_token(secret),
            session(secret),
            pending("t1", secret),
            initial_access_token(secret),
        ] {
            assert!(!key.contains(secret), "{key}");
            assert!(key.contains(&digest(secret)), "{key}");
        }
    }

    #[test]
    fn keys_that_must_share_a_slot_have_the_same_tag() {
        assert_eq!(hash_tag(KEY_RING), "ring");
        assert_eq!(hash_tag(KEY_RING_LOCK), hash_tag(KEY_RING));
        assert_eq!(hash_tag(KEY_RING_CHANGED), hash_tag(KEY_RING));
        // The Redis backend's prefix comes first; without braces it does not change the tag.
        assert_eq!(
            hash_tag(&format!("ferrid:{KEY_RING_LOCK}")),
            hash_tag(&format!("ferrid:{KEY_RING}"))
        );
    }

    #[test]
    fn records_of_one_client_address_share_its_slot() {
        assert_eq!(hash_tag(&pending("t1", "t1.abc")), "t1");
        assert_eq!(hash_tag(&pending_by_address("t1")), "t1");
        assert_eq!(hash_tag(&login_failures("t1")), "t1");
        assert_eq!(hash_tag(&login_failures_of("t1", "{bob}")), "t1");
    }

    #[test]
    fn every_key_is_tagged_by_its_id() {
        assert_eq!(hash_tag(&client("billing")), "billing");
        assert_eq!(hash_tag(&code("abc")), digest("abc"));
        assert_eq!(hash_tag(&refresh_token("abc")), digest("abc"));
        assert_eq!(hash_tag(&refresh_family("f1")), "f1");
        assert_eq!(hash_tag(&revoked_family("f1")), "f1");
        assert_eq!(hash_tag(&session("abc")), digest("abc"));
        assert_eq!(hash_tag(&session_families("s1")), "s1");
        assert_eq!(hash_tag(&consent("u1", "billing")), "u1");
        assert_eq!(hash_tag(&pending("t1", "t1.abc")), "t1");
        assert_eq!(hash_tag(&user("u1")), "u1");
        assert_eq!(hash_tag(&username("alice")), "alice");
        assert_eq!(hash_tag(&revoked_jti("j1")), "j1");
        assert_eq!(hash_tag(&pushed_request("urn:x")), digest("urn:x"));
        assert_eq!(hash_tag(&dpop_proof("k", "j")), digest("k:j"));
        assert_eq!(hash_tag(&initial_access_token("t")), digest("t"));
        assert_eq!(hash_tag(&open_registrations("t1")), "t1");
        assert_eq!(hash_tag(BOOTSTRAP_CLIENTS), "bootstrap");
        assert_eq!(hash_tag(BOOTSTRAP_USERS), "bootstrap");
        assert_eq!(hash_tag(PROVISIONED), "bootstrap");
        assert_eq!(hash_tag(&user_sessions("u1")), "u1");
        assert_eq!(hash_tag(&user_families("u1")), "u1");
        assert_eq!(hash_tag(&client_codes("billing")), "billing");
        assert_eq!(hash_tag(&client_families("billing")), "billing");
        assert_eq!(hash_tag(CLIENT_INDEX), "index");
        assert_eq!(hash_tag(USER_INDEX), "index");
        assert_eq!(hash_tag(CORS_ORIGINS), "index");
    }

    #[test]
    fn the_hash_tag_helper_follows_the_redis_rule() {
        assert_eq!(hash_tag("plain"), "plain");
        assert_eq!(hash_tag("a{}b{c}"), "a{}b{c}");
        assert_eq!(hash_tag("a{b}{c}"), "b");
        assert_eq!(hash_tag("a{b"), "a{b");
    }
}
