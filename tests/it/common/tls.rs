//! TLS material for tests, made with rcgen: one CA per test binary — the only root the harness's
//! HTTP client trusts — and certificates it signs for `localhost` and `127.0.0.1`, written as PEM
//! files the way an operator provides them; and a `redis-server` that speaks only TLS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tempfile::TempDir;

/// A certificate authority that signs test certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// The CA of this test binary, which `common::http()` trusts.
pub fn ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| TestCa::new("ferrid test CA"))
}

/// PEM files: a certificate chain (leaf first, then the CA), its key, and the CA alone.
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl TestCa {
    /// A new CA, trusted by nothing unless asked (the binary's own is `ca()`).
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A new certificate for `localhost` and `127.0.0.1` (for servers and clients alike): the
    /// chain (leaf, then this CA) and the leaf's private key, PEM.
    pub fn issue(&self) -> (String, String) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().unwrap();
        let leaf = params.signed_by(&key, &self.issuer).unwrap();
        (format!("{}{}", leaf.pem(), self.pem()), key.serialize_pem())
    }

    /// Issues a certificate and writes `<name>.crt` (the chain), `<name>.key` and `ca.pem`
    /// into `dir`.
    pub fn write(&self, dir: &Path, name: &str) -> TlsFiles {
        let (chain, key) = self.issue();
        let files = TlsFiles {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
            ca: dir.join("ca.pem"),
        };
        std::fs::write(&files.cert, chain).unwrap();
        std::fs::write(&files.key, key).unwrap();
        std::fs::write(&files.ca, self.pem()).unwrap();
        files
    }
}

/// A `redis-server` listening only on a TLS port, with a certificate from `ca()`; killed on drop.
pub struct TlsRedis {
    pub port: u16,
    pub dir: TempDir,
    pub files: TlsFiles,
    child: Child,
}

impl TlsRedis {
    /// Starts one; with `client_certificates`, clients must present a certificate `ca()` signed.
    pub fn start(client_certificates: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let files = ca().write(dir.path(), "redis");
        // A free port: bound, then released for redis-server to take.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--bind", "127.0.0.1", "--tls-port"])
            .arg(port.to_string())
            .arg("--tls-cert-file")
            .arg(&files.cert)
            .arg("--tls-key-file")
            .arg(&files.key)
            .arg("--tls-ca-cert-file")
            .arg(&files.ca)
            .args([
                "--tls-auth-clients",
                if client_certificates { "yes" } else { "no" },
            ])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (.ci/run installs it)");
        wait_for_port(port);
        Self {
            port,
            dir,
            files,
            child,
        }
    }

    /// `rediss://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for a just-started `redis-server` to accept TCP connections on `port`: it polls the
/// other process's progress, not the passage of time.
#[allow(clippy::disallowed_methods)]
fn wait_for_port(port: u16) {
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("redis-server did not listen on its TLS port {port}");
}
