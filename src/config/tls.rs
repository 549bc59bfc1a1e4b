//! `[tls]`: with `tls.cert` and `tls.key` (PEM files: the certificate chain, server certificate
//! first, and its private key) ferrid serves HTTPS itself; without them it serves plain HTTP, for
//! loopback or behind a TLS-terminating proxy. Giving one without the other is an error, and so
//! is an `http://` issuer beside them (the listener speaks only TLS; left unset, the issuer
//! becomes `https://`).
//!
//! The files are read and checked by `Identity::load` — parsed, and the key matched against the
//! first certificate — when `serve` starts and when `ferrid check` runs, so a wrong file stops
//! ferrid with exit code 2 naming the key, instead of failing every handshake later. The same
//! loader reads what a `rediss://` store trusts (`redis.tls_ca`) and presents
//! (`redis.tls_cert` / `redis.tls_key`, for a Redis that requires client certificates).

use std::fmt;
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{ConfigError, RedisSettings};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// PEM certificate chain: ferrid's certificate first, then any intermediates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// PEM private key of the first certificate in `cert` (PKCS#8, or PKCS#1 RSA / SEC1 EC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

impl TlsSettings {
    /// Whether ferrid serves HTTPS.
    pub fn enabled(&self) -> bool {
        self.cert.is_some() || self.key.is_some()
    }

    /// Both files or neither, and an https `issuer` with them.
    pub fn validate(&self, issuer: &url::Url) -> Result<(), ConfigError> {
        self.both()?;
        if self.enabled() && issuer.scheme() == "http" {
            return Err(ConfigError::new(
                "issuer",
                format!(
                    "`{issuer}` is plain http, but tls.cert/tls.key make ferrid serve https only; \
                     use the https URL (or leave `issuer` unset to derive it)"
                ),
            ));
        }
        Ok(())
    }

    /// The certificate chain and key, read and checked; `None` when TLS is off.
    pub fn load(&self) -> Result<Option<Identity>, ConfigError> {
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                Identity::load(("tls.cert", cert), ("tls.key", key)).map(Some)
            }
            _ => self.both().map(|()| None),
        }
    }

    fn both(&self) -> Result<(), ConfigError> {
        both_or_neither(("tls.cert", &self.cert), ("tls.key", &self.key))
    }
}

/// Two settings that only work together, such as a certificate and its key.
pub(super) fn both_or_neither(
    (first, first_value): (&str, &Option<PathBuf>),
    (second, second_value): (&str, &Option<PathBuf>),
) -> Result<(), ConfigError> {
    match (first_value, second_value) {
        (Some(_), None) => Err(ConfigError::new(
            second,
            format!("is required with `{first}`"),
        )),
        (None, Some(_)) => Err(ConfigError::new(
            first,
            format!("is required with `{second}`"),
        )),
        _ => Ok(()),
    }
}

/// A certificate chain and the private key of its first certificate, as checked PEM.
pub struct Identity {
    /// The certificates, server (or client) certificate first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The certificate file as read.
    pub chain_pem: Vec<u8>,
    /// The key file as read.
    pub key_pem: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Reads the chain from `cert` and the key from `key` (each named by its setting) and checks
    /// that the key belongs to the first certificate.
    pub fn load(
        (cert_setting, cert): (&str, &Path),
        (key_setting, key): (&str, &Path),
    ) -> Result<Self, ConfigError> {
        let chain_pem = read(cert_setting, cert)?;
        let chain = certificates(cert_setting, cert, &chain_pem)?;
        let key_pem = Zeroizing::new(read(key_setting, key)?);
        let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|err| {
            ConfigError::new(
                key_setting,
                format!(
                    "{}: no private key found (expected an unencrypted PEM key: PKCS#8, PKCS#1 \
                     RSA or SEC1 EC): {err}",
                    key.display()
                ),
            )
        })?;
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        CertifiedKey::from_der(chain.clone(), key_der, &provider).map_err(|err| match err {
            rustls::Error::InconsistentKeys(_) => ConfigError::new(
                key_setting,
                format!(
                    "{} does not belong to the first certificate in {} (`{cert_setting}`); the \
                     certificate file must start with the certificate of this key",
                    key.display(),
                    cert.display()
                ),
            ),
            rustls::Error::InvalidCertificate(err) => ConfigError::new(
                cert_setting,
                format!(
                    "{}: the first certificate cannot be used: {err}",
                    cert.display()
                ),
            ),
            err => ConfigError::new(
                key_setting,
                format!("{}: the key cannot be used: {err}", key.display()),
            ),
        })?;
        Ok(Self {
            chain,
            chain_pem,
            key_pem,
        })
    }

    /// The first certificate: the one the key belongs to.
    pub fn leaf(&self) -> Option<&CertificateDer<'static>> {
        self.chain.first()
    }
}

impl RedisSettings {
    /// What a `rediss://` store trusts and presents, read and checked: `None` when neither a CA
    /// nor a client certificate is configured (the system's roots, no client certificate).
    pub fn tls_certificates(&self) -> Result<Option<redis::TlsCertificates>, ConfigError> {
        let root_cert = match &self.tls_ca {
            Some(path) => Some(read_ca("redis.tls_ca", path)?),
            None => None,
        };
        let client_tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                let identity = Identity::load(("redis.tls_cert", cert), ("redis.tls_key", key))?;
                Some(redis::ClientTlsConfig {
                    client_cert: identity.chain_pem,
                    client_key: identity.key_pem.to_vec(),
                })
            }
            _ => None,
        };
        if root_cert.is_none() && client_tls.is_none() {
            return Ok(None);
        }
        Ok(Some(redis::TlsCertificates {
            client_tls,
            root_cert,
        }))
    }
}

/// The `redis.tls_*` settings: certificate and key together, and only for a `rediss://` store
/// that verifies (the redis crate's `#insecure` fragment turns verification off).
pub(super) fn validate_redis(redis: &RedisSettings, store: &str) -> Result<(), ConfigError> {
    both_or_neither(
        ("redis.tls_cert", &redis.tls_cert),
        ("redis.tls_key", &redis.tls_key),
    )?;
    let configured = [
        ("redis.tls_ca", &redis.tls_ca),
        ("redis.tls_cert", &redis.tls_cert),
    ]
    .into_iter()
    .find(|(_, value)| value.is_some());
    let Some((setting, _)) = configured else {
        return Ok(());
    };
    let store = store.trim();
    if !store.starts_with("rediss://") && !store.starts_with("rediss+cluster://") {
        return Err(ConfigError::new(
            setting,
            "applies to a rediss:// or rediss+cluster:// store only (`store` is not one)",
        ));
    }
    if redis.tls_ca.is_some() && store.ends_with("#insecure") {
        return Err(ConfigError::new(
            "redis.tls_ca",
            "would be ignored: the #insecure fragment of `store` turns certificate verification \
             off; remove one of them",
        ));
    }
    Ok(())
}

/// Reads a PEM file of CA certificates (named by `setting`) to trust, checking it holds one.
pub fn read_ca(setting: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    let pem = read(setting, path)?;
    certificates(setting, path, &pem)?;
    Ok(pem)
}

/// The certificates of a PEM file named by `setting`; at least one.
pub fn read_certificates(
    setting: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    certificates(setting, path, &read(setting, path)?)
}

fn read(setting: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|err| ConfigError::new(setting, format!("cannot read {}: {err}", path.display())))
}

fn certificates(
    setting: &str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| ConfigError::new(setting, format!("{}: {err}", path.display())))?;
    if chain.is_empty() {
        return Err(ConfigError::new(
            setting,
            format!(
                "{}: no PEM certificate (-----BEGIN CERTIFICATE-----) found",
                path.display()
            ),
        ));
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

    use super::*;
    use crate::config::Settings;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Settings::load_from(None, env)
    }

    /// `<name>.crt` (leaf, then CA), `<name>.key` and `<name>-ca.crt` (CA first, then leaf).
    fn write_chain(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let paths = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
            dir.join(format!("{name}-ca.crt")),
        );
        std::fs::write(&paths.0, format!("{}{}", leaf.pem(), ca.pem())).unwrap();
        std::fs::write(&paths.1, key.serialize_pem()).unwrap();
        std::fs::write(&paths.2, format!("{}{}", ca.pem(), leaf.pem())).unwrap();
        paths
    }

    fn identity(cert: &Path, key: &Path) -> Result<Identity, ConfigError> {
        Identity::load(("tls.cert", cert), ("tls.key", key))
    }

    #[test]
    fn certificate_and_key_come_together() {
        let err = load(&[("FERRID_TLS__CERT", "/etc/ferrid/cert.pem")]).unwrap_err();
        assert_eq!(err.key, "tls.key");
        assert!(err.message.contains("required with `tls.cert`"), "{err}");
        let err = load(&[("FERRID_TLS__KEY", "/etc/ferrid/key.pem")]).unwrap_err();
        assert_eq!(err.key, "tls.cert");
        assert!(!load(&[]).unwrap().tls.enabled());
    }

    #[test]
    fn serving_tls_makes_the_issuer_https() {
        let tls = [
            ("FERRID_TLS__CERT", "/etc/ferrid/cert.pem"),
            ("FERRID_TLS__KEY", "/etc/ferrid/key.pem"),
        ];
        assert_eq!(load(&tls).unwrap().issuer(), "https://127.0.0.1:8080");
        let with_bind = [tls[0], tls[1], ("FERRID_BIND", "0.0.0.0:8443")];
        assert_eq!(load(&with_bind).unwrap().issuer(), "https://127.0.0.1:8443");
        let explicit = [
            tls[0],
            tls[1],
            ("FERRID_ISSUER", "https://auth.example.com"),
        ];
        assert_eq!(
            load(&explicit).unwrap().issuer(),
            "https://auth.example.com"
        );
        let plain = [tls[0], tls[1], ("FERRID_ISSUER", "http://127.0.0.1:8080")];
        let err = load(&plain).unwrap_err();
        assert_eq!(err.key, "issuer");
        assert!(err.message.contains("https only"), "{err}");
    }

    #[test]
    fn a_chain_and_its_key_load() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, _) = write_chain(dir.path(), "server");
        let loaded = identity(&cert, &key).unwrap();
        assert_eq!(loaded.chain.len(), 2);
        assert!(!format!("{loaded:?}").contains("PRIVATE"));
    }

    #[test]
    fn unusable_files_name_their_setting() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, ca_first) = write_chain(dir.path(), "server");
        let (_, other_key, _) = write_chain(dir.path(), "other");
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();

        let err = identity(&missing, &key).unwrap_err();
        assert_eq!(err.key, "tls.cert");
        assert!(err.message.contains("cannot read"), "{err}");
        let err = identity(&garbage, &key).unwrap_err();
        assert_eq!(err.key, "tls.cert");
        assert!(err.message.contains("no PEM certificate"), "{err}");
        let err = identity(&cert, &missing).unwrap_err();
        assert_eq!(err.key, "tls.key");
        let err = identity(&cert, &cert).unwrap_err();
        assert_eq!(err.key, "tls.key");
        assert!(err.message.contains("no private key"), "{err}");
        for (chain, key) in [(&cert, &other_key), (&ca_first, &key)] {
            let err = identity(chain, key).unwrap_err();
            assert_eq!(err.key, "tls.key");
            assert!(err.message.contains("does not belong"), "{err}");
        }
    }

    #[test]
    fn redis_tls_settings_need_a_verifying_rediss_store() {
        let secret = ("FERRID_SECRETS__SYSTEM", "0123456789abcdef0123456789abcdef");
        let ca = ("FERRID_REDIS__TLS_CA", "/etc/ferrid/redis-ca.pem");
        let err = load(&[secret, ("FERRID_STORE", "redis://redis:6379/0"), ca]).unwrap_err();
        assert_eq!(err.key, "redis.tls_ca");
        assert!(err.message.contains("rediss://"), "{err}");
        let err = load(&[ca]).unwrap_err();
        assert_eq!(err.key, "redis.tls_ca");
        let err = load(&[
            secret,
            ("FERRID_STORE", "rediss://redis:6380/0"),
            ("FERRID_REDIS__TLS_CERT", "/etc/ferrid/client.pem"),
        ])
        .unwrap_err();
        assert_eq!(err.key, "redis.tls_key");
        let err = load(&[
            secret,
            ("FERRID_STORE", "rediss://redis:6380/0#insecure"),
            ca,
        ])
        .unwrap_err();
        assert_eq!(err.key, "redis.tls_ca");
        assert!(err.message.contains("#insecure"), "{err}");
        let settings = load(&[secret, ("FERRID_STORE", "rediss://redis:6380/0"), ca]).unwrap();
        let err = settings.redis.tls_certificates().unwrap_err();
        assert_eq!(err.key, "redis.tls_ca");
        assert!(err.message.contains("cannot read"), "{err}");

        let settings = load(&[secret, ("FERRID_STORE", "rediss://redis:6380/0")]).unwrap();
        assert!(settings.redis.tls_certificates().unwrap().is_none());
    }

    #[test]
    fn redis_certificates_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, ca_first) = write_chain(dir.path(), "client");
        let (_, other_key, _) = write_chain(dir.path(), "other");
        let mut redis = RedisSettings {
            tls_ca: Some(ca_first),
            tls_cert: Some(cert),
            tls_key: Some(key),
            ..RedisSettings::default()
        };
        let certificates = redis.tls_certificates().unwrap().unwrap();
        assert!(certificates.root_cert.is_some());
        assert!(certificates.client_tls.is_some());
        redis.tls_key = Some(other_key);
        assert_eq!(redis.tls_certificates().unwrap_err().key, "redis.tls_key");
    }
}
