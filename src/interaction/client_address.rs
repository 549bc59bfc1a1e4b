//! The client address that login throttling and the bound on pending interactions count per.
//! It is the peer address of the connection: ferrid has no notion of a trusted proxy, so an
//! `X-Forwarded-For` header, which any client can write, is never believed. An IPv6 client is
//! counted per /64 — one subscriber usually holds a whole /64 and could otherwise spread its
//! attempts over 2^64 addresses — and an IPv4-mapped IPv6 address as the IPv4 address it is. In
//! the store an address appears only as its tag, a MAC under a key derived from the system
//! secret (`DerivedKeys::client_address_tag`): the same on every instance, and not an address
//! anyone reading Redis or an interaction id could read back.

use std::net::{IpAddr, Ipv6Addr};

use crate::context::Context;

/// What a client address is counted as: the address itself, or its /64 for IPv6; `unknown`
/// when the connection has none (every such client shares one count).
pub fn bucket(address: Option<IpAddr>) -> String {
    match address.map(|address| address.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(prefix))
        }
        None => "unknown".to_owned(),
    }
}

/// The store's tag for the client at `address` (see the module comment).
pub fn tag(ctx: &Context, address: Option<IpAddr>) -> String {
    ctx.derived_keys().client_address_tag(&bucket(address))
}

/// Whether `text` has the shape of a tag (22 base64url characters), so a value taken from a
/// request can be put into a key name.
pub fn is_tag(text: &str) -> bool {
    text.len() == 22
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn ipv4_is_counted_per_address() {
        assert_eq!(bucket(ip("192.0.2.7")), "192.0.2.7");
        assert_ne!(bucket(ip("192.0.2.7")), bucket(ip("192.0.2.8")));
    }

    #[test]
    fn ipv6_is_counted_per_64() {
        assert_eq!(bucket(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            bucket(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            bucket(ip("2001:db8:1:2::"))
        );
        assert_ne!(bucket(ip("2001:db8:1:2::1")), bucket(ip("2001:db8:1:3::1")));
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        assert_eq!(bucket(ip("::ffff:192.0.2.7")), "192.0.2.7");
    }

    #[test]
    fn without_an_address_clients_share_one_count() {
        assert_eq!(bucket(None), "unknown");
    }

    #[test]
    fn tags_hide_the_address_and_fit_in_a_key() {
        let keys = crate::secret::DerivedKeys::from_secret("a-secret-of-at-least-32-characters!");
        let tag = keys.client_address_tag("192.0.2.7");
        assert!(is_tag(&tag), "{tag}");
        assert!(!tag.contains("192"));
        assert_eq!(tag, keys.client_address_tag("192.0.2.7"));
        assert_ne!(tag, keys.client_address_tag("192.0.2.8"));
        assert!(!is_tag("a}b"));
        assert!(!is_tag(""));
    }
}
