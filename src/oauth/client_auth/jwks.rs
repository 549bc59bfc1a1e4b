//! A client's registered public keys (RFC 7591 `jwks`, or what its `jwks_uri` serves): checked
//! when registered or fetched, and asked for the keys that may have signed an assertion. A set
//! holds public keys only: a private or symmetric member (`d`, `p`, `k`, …) would hand the
//! client's signing key to anyone who can read the registration, so such a set is refused as a
//! whole. Keys are decoded with the same code that decodes DPoP proof keys (`dpop::jwk`).

use serde_json::{Map, Value};

use crate::oauth::dpop::jwk::{ProofAlgorithm, ProofKey};

/// Most keys a set may hold.
pub const MAX_KEYS: usize = 100;
/// Most keys tried for one assertion without a `kid` (each costs a signature verification).
pub const MAX_TRIED: usize = 4;

/// JWK members only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A checked JWK Set of public keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientKeySet {
    keys: Vec<Map<String, Value>>,
}

/// Why no key of a set can verify an assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoKey {
    /// No key has the assertion's `kid`.
    UnknownKid(String),
    /// Keys exist, but none may verify an assertion with this `alg` (type, curve, `use`, `alg`).
    Unfit(String),
}

impl ClientKeySet {
    /// Checks `jwks` is a JWK Set of at most `MAX_KEYS` public keys, each with a `kty`.
    pub fn parse(jwks: &Value) -> Result<Self, String> {
        let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
            return Err("must be a JWK Set: an object whose `keys` is an array of JWKs".into());
        };
        if keys.len() > MAX_KEYS {
            return Err(format!("holds more than {MAX_KEYS} keys"));
        }
        let mut checked = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let Some(key) = key.as_object() else {
                return Err(format!("keys[{index}] is not a JWK object"));
            };
            match key.get("kty").and_then(Value::as_str) {
                None => return Err(format!("keys[{index}] has no `kty`")),
                Some("oct") => {
                    return Err(format!(
                        "keys[{index}] is a symmetric (`oct`) key; register public keys only"
                    ))
                }
                Some(_) => {}
            }
            if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| key.contains_key(**m)) {
                return Err(format!(
                    "keys[{index}] is not a public key: it has the private member `{member}`; \
                     register public keys only"
                ));
            }
            checked.push(key.clone());
        }
        Ok(Self { keys: checked })
    }

    /// Whether a key of the set has `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| kid_of(key) == Some(kid))
    }

    /// The keys that may verify an assertion signed with `alg` under `kid`: the key with that
    /// `kid` when one is named, otherwise (at most `MAX_TRIED` of) the keys whose type fits.
    /// A key's `use` (when present) must be `sig` and its `alg` (when present) the assertion's.
    pub fn candidates(
        &self,
        alg: ProofAlgorithm,
        alg_name: &str,
        kid: Option<&str>,
    ) -> Result<Vec<ProofKey>, NoKey> {
        let named: Vec<&Map<String, Value>> = match kid {
            Some(kid) => {
                let named: Vec<_> = self
                    .keys
                    .iter()
                    .filter(|key| kid_of(key) == Some(kid))
                    .collect();
                if named.is_empty() {
                    return Err(NoKey::UnknownKid(kid.to_owned()));
                }
                named
            }
            None => self.keys.iter().collect(),
        };
        let fit: Vec<ProofKey> = named
            .into_iter()
            .filter(|key| {
                let use_ok = key.get("use").is_none_or(|u| u.as_str() == Some("sig"));
                let alg_ok = key.get("alg").is_none_or(|a| a.as_str() == Some(alg_name));
                use_ok && alg_ok
            })
            .filter_map(|key| ProofKey::parse(key, alg).ok())
            .take(MAX_TRIED)
            .collect();
        if fit.is_empty() {
            let which = match kid {
                Some(kid) => format!("the client's key with kid `{kid}` is not"),
                None => "no key in the client's JWKS is".to_owned(),
            };
            return Err(NoKey::Unfit(format!(
                "{which} usable for {alg_name} signatures (its key type, curve, `use` or `alg` \
                 differ)"
            )));
        }
        Ok(fit)
    }
}

fn kid_of(key: &Map<String, Value>) -> Option<&str> {
    key.get("kid").and_then(Value::as_str)
}

/// Checks a registered `jwks` (the client validator's check).
pub fn check_public_set(jwks: &Value) -> Result<(), String> {
    ClientKeySet::parse(jwks).map(|_| ())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ec_key(kid: &str) -> Value {
        // A P-256 point is 32-byte coordinates; any bytes parse (verification would fail).
        let x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
        let y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
        json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid})
    }

    #[test]
    fn private_and_symmetric_keys_are_refused() {
        let mut private = ec_key("a");
        private["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
        let sets = [
            json!({"keys": [private]}),
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}),
            json!({"keys": [{"kty": "RSA", "n": "x", "e": "AQAB", "p": "y"}]}),
            json!({"keys": [{"crv": "P-256"}]}),
            json!({"keys": ["not an object"]}),
            json!({"keys": {}}),
            json!([ec_key("a")]),
        ];
        for set in sets {
            assert!(ClientKeySet::parse(&set).is_err(), "{set}");
        }
        let many: Vec<Value> = (0..=MAX_KEYS).map(|i| ec_key(&i.to_string())).collect();
        assert!(ClientKeySet::parse(&json!({ "keys": many })).is_err());
        assert!(ClientKeySet::parse(&json!({"keys": [ec_key("a")]})).is_ok());
    }

    #[test]
    fn kid_use_and_alg_select_the_keys() {
        let mut enc = ec_key("enc");
        enc["use"] = json!("enc");
        let mut rs = ec_key("rs");
        rs["alg"] = json!("RS256");
        let set = ClientKeySet::parse(&json!({"keys": [ec_key("a"), enc, rs]})).unwrap();
        let es = ProofAlgorithm::Es256;
        assert_eq!(set.candidates(es, "ES256", Some("a")).unwrap().len(), 1);
        assert_eq!(
            set.candidates(es, "ES256", Some("zz")).unwrap_err(),
            NoKey::UnknownKid("zz".into())
        );
        assert!(matches!(
            set.candidates(es, "ES256", Some("enc")),
            Err(NoKey::Unfit(_))
        ));
        assert!(matches!(
            set.candidates(es, "ES256", Some("rs")),
            Err(NoKey::Unfit(_))
        ));
        assert_eq!(set.candidates(es, "ES256", None).unwrap().len(), 1);
        assert!(matches!(
            set.candidates(ProofAlgorithm::EdDsa, "EdDSA", None),
            Err(NoKey::Unfit(_))
        ));
    }

    #[test]
    fn without_a_kid_the_keys_tried_are_bounded() {
        let keys: Vec<Value> = (0..10).map(|i| ec_key(&i.to_string())).collect();
        let set = ClientKeySet::parse(&json!({ "keys": keys })).unwrap();
        let tried = set
            .candidates(ProofAlgorithm::Es256, "ES256", None)
            .unwrap();
        assert_eq!(tried.len(), MAX_TRIED);
    }
}
