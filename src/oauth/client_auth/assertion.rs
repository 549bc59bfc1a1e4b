//! Verifying a client assertion (RFC 7523 §3, OIDC Core §9 `private_key_jwt`), purely: no store,
//! no clock, no network. `parse` reads the JWS and refuses what no key can make acceptable
//! (`alg: none`, HMAC, a `crit` header); its `sub` is the only thing read before the signature
//! verifies, to find the client whose keys to verify it with. `verify` then checks the
//! signature with those keys and only afterwards the claims — `iss` = `sub` = the client,
//! `aud` exactly ferrid's issuer, `exp` present and near, `nbf`/`iat` not ahead, `jti` present. Keeping
//! the `jti` once (the replay cache) is the caller's.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::jwks::{ClientKeySet, NoKey};
use crate::error::OAuthError;
use crate::oauth::dpop::jwk::ProofAlgorithm;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The algorithms an assertion may be signed with, as discovery lists them.
pub const ASSERTION_ALGS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];
/// Longest assertion accepted: an RSA-8192 signature fits, with room for the claims.
const MAX_ASSERTION_LEN: usize = 8 * 1024;
/// Longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;

/// What an assertion is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The client the assertion names (its `sub`), whose keys verify it.
    pub client_id: &'a str,
    /// ferrid's issuer identifier: the one audience every assertion may name.
    pub issuer: &'a str,
    /// Endpoint URLs also accepted as the single audience: this endpoint's and the token
    /// endpoint's when `private_key_jwt.accept_endpoint_audience` is on and the client is not
    /// `fapi2`; otherwise empty.
    pub endpoint_audiences: &'a [String],
    /// ferrid's clock, seconds since the epoch.
    pub now: u64,
    /// `private_key_jwt.max_lifetime_secs`.
    pub max_lifetime_secs: u64,
    /// `private_key_jwt.clock_skew_secs`.
    pub clock_skew_secs: u64,
}

/// An assertion that verified: what the replay cache needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub jti: String,
    /// Seconds since the epoch.
    pub exp: u64,
}

/// A parsed, not yet verified assertion.
// No `Debug`: with its signature it is the assertion, a credential until it expires.
pub struct Unverified<'a> {
    alg: ProofAlgorithm,
    alg_name: String,
    kid: Option<String>,
    claims: Claims,
    signed: &'a str,
    signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<Value>,
    sub: Option<Value>,
    aud: Option<Value>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    jti: Option<Value>,
}

fn invalid(reason: impl std::fmt::Display) -> OAuthError {
    OAuthError::invalid_client(format!("client assertion {reason}"))
}

fn decode_part<T: for<'de> Deserialize<'de>>(part: &str, name: &str) -> Result<T, OAuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid(format!("{name} is not base64url")))?;
    serde_json::from_slice(&bytes).map_err(|_| invalid(format!("{name} is not a JSON object")))
}

/// Parses `assertion` as a compact JWS with an asymmetric `alg`.
pub fn parse(assertion: &str) -> Result<Unverified<'_>, OAuthError> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(invalid(format!(
            "is longer than {MAX_ASSERTION_LEN} characters"
        )));
    }
    let mut parts = assertion.split('.');
    let (Some(header_part), Some(claims_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("is not a compact JWS (three base64url parts)"));
    };
    let header: Header = decode_part(header_part, "header")?;
    if header.crit.is_some() {
        return Err(invalid(
            "crit header names extensions ferrid does not understand",
        ));
    }
    let alg_name = header.alg.unwrap_or_default();
    // RFC 7523 §3 (9): a digital signature; `none` and HMAC (a shared secret ferrid does not
    // hold for these clients, and the classic key-confusion attack) are refused.
    let alg = ProofAlgorithm::parse(&alg_name).ok_or_else(|| {
        invalid(format!(
            "alg `{alg_name}` is not allowed; sign with one of {}",
            ASSERTION_ALGS.join(", ")
        ))
    })?;
    let claims: Claims = decode_part(claims_part, "payload")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_part)
        .map_err(|_| invalid("signature is not base64url"))?;
    Ok(Unverified {
        alg,
        alg_name,
        kid: header.kid,
        claims,
        signed: &assertion[..header_part.len() + 1 + claims_part.len()],
        signature,
    })
}

impl Unverified<'_> {
    /// The `sub` claim: the client the assertion claims to come from (unverified).
    pub fn subject(&self) -> Option<&str> {
        self.claims.sub.as_ref().and_then(Value::as_str)
    }

    /// The header's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Verifies the signature with a key of `keys`, then the claims against `expected`.
    pub fn verify(
        self,
        keys: &ClientKeySet,
        expected: &Expected<'_>,
    ) -> Result<Verified, OAuthError> {
        let candidates = keys
            .candidates(self.alg, &self.alg_name, self.kid.as_deref())
            .map_err(|no_key| match no_key {
                NoKey::UnknownKid(kid) => OAuthError::invalid_client(format!(
                    "client assertion refused: no key with kid `{kid}` in the client's JWKS"
                )),
                NoKey::Unfit(why) => {
                    OAuthError::invalid_client(format!("client assertion refused: {why}"))
                }
            })?;
        let verified = candidates
            .iter()
            .any(|key| key.verifies(self.alg, self.signed.as_bytes(), &self.signature));
        if !verified {
            return Err(invalid(format!(
                "signature does not verify with {} of the client's JWKS",
                match &self.kid {
                    Some(kid) => format!("the key `{kid}`"),
                    None => "any key".to_owned(),
                }
            )));
        }
        check_claims(&self.claims, expected)
    }
}

fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

fn seconds(value: Option<&Value>, name: &str) -> Result<Option<u64>, OAuthError> {
    match value {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| invalid(format!("{name} is not a number of seconds"))),
    }
}

fn check_claims(claims: &Claims, expected: &Expected<'_>) -> Result<Verified, OAuthError> {
    // RFC 7523 §3 (1), (2); OIDC Core §9: iss and sub are both the client id.
    let (iss, sub) = (text(claims.iss.as_ref()), text(claims.sub.as_ref()));
    if iss != Some(expected.client_id) || sub != Some(expected.client_id) {
        return Err(invalid(format!(
            "iss/sub must be the client id `{}` (iss {}, sub {})",
            expected.client_id,
            describe(iss),
            describe(sub)
        )));
    }
    check_audience(claims.aud.as_ref(), expected)?;
    let skew = expected.clock_skew_secs;
    let now = expected.now;
    // RFC 7523 §3 (4): exp is required; an assertion must not outlive its purpose.
    let exp = seconds(claims.exp.as_ref(), "exp")?.ok_or_else(|| invalid("exp is missing"))?;
    if exp.saturating_add(skew) < now {
        return Err(invalid("expired (exp is in the past); make a fresh one"));
    }
    if exp > now.saturating_add(expected.max_lifetime_secs + skew) {
        return Err(invalid(format!(
            "exp is more than {} seconds ahead; assertions must be short-lived",
            expected.max_lifetime_secs
        )));
    }
    if seconds(claims.nbf.as_ref(), "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(skew)) {
        return Err(invalid("is not valid yet (nbf is in the future)"));
    }
    if seconds(claims.iat.as_ref(), "iat")?.is_some_and(|iat| iat > now.saturating_add(skew)) {
        return Err(invalid("iat is in the future; check the client's clock"));
    }
    // RFC 7523 §3 (7): ferrid requires jti, to accept every assertion once.
    let jti = text(claims.jti.as_ref())
        .filter(|jti| !jti.is_empty())
        .ok_or_else(|| invalid("jti is missing; every assertion needs a unique jti"))?;
    if jti.len() > MAX_JTI_LEN {
        return Err(invalid(format!(
            "jti is longer than {MAX_JTI_LEN} characters"
        )));
    }
    Ok(Verified {
        jti: jti.to_owned(),
        exp,
    })
}

/// RFC 7523 §3 (3): `aud` names ferrid — and only as its issuer, a single value. An endpoint URL
/// is what another authorization server a client also uses can advertise as its own token
/// endpoint (audience injection, OpenID Foundation advisory 2025; FAPI 2.0 and the OIDC Core
/// errata require the issuer alone): the client signs an assertion for ferrid's `/token` and
/// hands it to that server, which replays it here. Several values would let such an assertion
/// name ferrid beside the server it was made for.
fn check_audience(aud: Option<&Value>, expected: &Expected<'_>) -> Result<(), OAuthError> {
    let single = match aud {
        Some(Value::String(aud)) => Ok(aud.as_str()),
        Some(Value::Array(auds)) if auds.len() == 1 => match auds.first() {
            Some(Value::String(aud)) => Ok(aud.as_str()),
            _ => Err("its one value is not a string".to_owned()),
        },
        Some(Value::Array(auds)) => Err(format!("it has {} values", auds.len())),
        Some(_) => Err("it is neither a string nor an array".to_owned()),
        None => Err("aud is missing".to_owned()),
    };
    let accepted = |aud: &str| {
        aud == expected.issuer || expected.endpoint_audiences.iter().any(|url| url == aud)
    };
    let why = match single {
        Ok(aud) if accepted(aud) => return Ok(()),
        Ok(aud) => format!("it is `{aud}`"),
        Err(why) => why,
    };
    let or_endpoint = if expected.endpoint_audiences.is_empty() {
        ""
    } else {
        " (or, accept_endpoint_audience being on, this endpoint's or the token endpoint's URL)"
    };
    Err(invalid(format!(
        "audience must be exactly the issuer `{}`{or_endpoint}; {why}",
        expected.issuer
    )))
}

fn describe(value: Option<&str>) -> String {
    match value {
        Some(value) => format!("`{value}`"),
        None => "missing".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn expected(endpoint_audiences: &[String]) -> Expected<'_> {
        Expected {
            client_id: "c",
            issuer: "https://issuer",
            endpoint_audiences,
            now: NOW,
            max_lifetime_secs: 300,
            clock_skew_secs: 30,
        }
    }

    fn claims(change: impl FnOnce(&mut Value)) -> Claims {
        let mut value = json!({
            "iss": "c", "sub": "c", "aud": "https://issuer", "exp": NOW + 60, "jti": "j",
        });
        change(&mut value);
        serde_json::from_value(value).unwrap()
    }

    fn check(change: impl FnOnce(&mut Value)) -> Result<Verified, String> {
        check_with(&[], change)
    }

    /// Like `check`, accepting `endpoint_audiences` too (`accept_endpoint_audience` on).
    fn check_with(
        endpoint_audiences: &[String],
        change: impl FnOnce(&mut Value),
    ) -> Result<Verified, String> {
        check_claims(&claims(change), &expected(endpoint_audiences))
            .map_err(|err| err.description().unwrap_or_default().to_owned())
    }

    const MUST_BE_ISSUER: &str =
        "client assertion audience must be exactly the issuer `https://issuer`";

    #[test]
    fn the_time_claims_allow_the_skew_and_no_more() {
        assert!(check(|c| c["exp"] = json!(NOW - 30)).is_ok());
        assert!(check(|c| c["exp"] = json!(NOW - 31))
            .unwrap_err()
            .contains("client assertion expired"));
        assert!(check(|c| c["exp"] = json!(NOW + 330)).is_ok());
        assert!(check(|c| c["exp"] = json!(NOW + 331))
            .unwrap_err()
            .contains("seconds ahead"));
        assert!(check(|c| c["nbf"] = json!(NOW + 30)).is_ok());
        assert!(check(|c| c["nbf"] = json!(NOW + 31)).is_err());
        assert!(check(|c| c["iat"] = json!(NOW + 31)).is_err());
        assert!(check(|c| c["exp"] = json!("soon"))
            .unwrap_err()
            .contains("exp is not a number"));
    }

    #[test]
    fn aud_is_the_issuer_as_a_string_or_an_array_of_one() {
        assert!(check(|c| c["aud"] = json!("https://issuer")).is_ok());
        assert!(check(|c| c["aud"] = json!(["https://issuer"])).is_ok());
        for aud in [
            json!("https://issuer/"),
            json!(["https://x"]),
            json!([7]),
            json!([]),
            json!(7),
        ] {
            let err = check(|c| c["aud"] = aud.clone()).unwrap_err();
            assert!(err.starts_with(MUST_BE_ISSUER), "{aud}: {err}");
        }
        let err = check(|c| {
            c.as_object_mut().unwrap().remove("aud");
        })
        .unwrap_err();
        assert!(err.contains("aud is missing"), "{err}");
    }

    #[test]
    fn endpoint_urls_are_refused_as_audiences_by_default() {
        // Audience injection: another server advertised ferrid's /token or /par as its own.
        for aud in ["https://issuer/token", "https://issuer/par"] {
            let err = check(|c| c["aud"] = json!(aud)).unwrap_err();
            assert!(err.starts_with(MUST_BE_ISSUER), "{aud}: {err}");
            assert!(err.contains(&format!("it is `{aud}`")), "{err}");
        }
    }

    #[test]
    fn several_audiences_are_refused_even_naming_the_issuer() {
        for aud in [
            json!(["https://issuer", "https://evil.example"]),
            json!(["https://evil.example", "https://issuer"]),
            json!(["https://issuer", "https://issuer"]),
        ] {
            let err = check(|c| c["aud"] = aud.clone()).unwrap_err();
            assert!(err.starts_with(MUST_BE_ISSUER), "{aud}: {err}");
            assert!(err.contains("it has 2 values"), "{err}");
        }
        let endpoints = ["https://issuer/token".to_owned()];
        let err = check_with(&endpoints, |c| {
            c["aud"] = json!(["https://issuer/token", "https://evil.example"])
        })
        .unwrap_err();
        assert!(err.contains("it has 2 values"), "{err}");
    }

    #[test]
    fn accept_endpoint_audience_adds_the_endpoint_urls_still_single_valued() {
        let endpoints = [
            "https://issuer/par".to_owned(),
            "https://issuer/token".to_owned(),
        ];
        for aud in [
            json!("https://issuer"),
            json!("https://issuer/par"),
            json!(["https://issuer/token"]),
        ] {
            assert!(
                check_with(&endpoints, |c| c["aud"] = aud.clone()).is_ok(),
                "{aud}"
            );
        }
        let err =
            check_with(&endpoints, |c| c["aud"] = json!("https://issuer/revoke")).unwrap_err();
        assert!(err.starts_with(MUST_BE_ISSUER), "{err}");
        assert!(err.contains("accept_endpoint_audience"), "{err}");
    }

    #[test]
    fn iss_sub_and_jti_are_required() {
        for change in [
            (|c: &mut Value| c["iss"] = json!("d")) as fn(&mut Value),
            |c| c["sub"] = json!("d"),
            |c| {
                c.as_object_mut().unwrap().remove("iss");
            },
        ] {
            assert!(check(change)
                .unwrap_err()
                .contains("iss/sub must be the client id"));
        }
        assert!(check(|c| c["jti"] = json!(""))
            .unwrap_err()
            .contains("jti is missing"));
        assert!(check(|c| c["jti"] = json!("j".repeat(257))).is_err());
    }

    #[test]
    fn malformed_assertions_are_refused_before_any_key_is_looked_up() {
        let b64 = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let payload = b64(json!({"sub": "c"}));
        for (assertion, says) in [
            (
                format!("{}.{payload}.", b64(json!({"alg": "none"}))),
                "`none`",
            ),
            (
                format!("{}.{payload}.c2ln", b64(json!({"alg": "HS256"}))),
                "`HS256`",
            ),
            (format!("{}.{payload}.c2ln", b64(json!({}))), "alg ``"),
            (
                format!(
                    "{}.{payload}.c2ln",
                    b64(json!({"alg": "ES256", "crit": ["x"]}))
                ),
                "crit",
            ),
            ("a.b".to_owned(), "compact JWS"),
            ("!!.b.c".to_owned(), "header is not base64url"),
            ("x".repeat(MAX_ASSERTION_LEN + 1), "longer than"),
        ] {
            let err = parse(&assertion)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(says), "{says}: {err}");
        }
    }
}
