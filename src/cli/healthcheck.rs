//! `ferrid healthcheck [--url URL]`: asks a running ferrid's `/readyz` and exits 0 when it
//! answers 200, 1 otherwise. It is the container image's `HEALTHCHECK`, so the image needs no
//! curl, wget or shell. Without `--url` it asks the address `bind` names (an unspecified one such
//! as `0.0.0.0` through loopback), over HTTPS when `tls.cert` is set, with blocking I/O and short
//! timeouts.
//!
//! Over HTTPS the probe trusts exactly the certificate in `tls.cert` — the one the server it asks
//! presents — whatever names it carries (the probe reaches it by IP address, the certificate
//! names the public host); without `tls.cert` (an `--url` to a server behind a proxy) it trusts
//! the system's roots.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

use crate::config::Settings;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Probes `url`, or `/readyz` on the configured bind address.
pub fn run(config: Option<PathBuf>, url: Option<String>) -> ExitCode {
    let (url, pinned) = match url {
        // The settings only tell which certificate to trust; an --url works without them.
        Some(url) => {
            let pinned = Settings::load(config.as_deref())
                .ok()
                .and_then(|settings| server_certificate(&settings).ok().flatten());
            (url, pinned)
        }
        None => {
            let settings = match super::load_settings(config.as_deref()) {
                Ok(settings) => settings,
                Err(code) => return code,
            };
            let Some(addr) = settings.local_addr() else {
                eprintln!("ferrid: cannot probe `bind` = {}", settings.bind);
                return ExitCode::from(2);
            };
            let pinned = match server_certificate(&settings) {
                Ok(pinned) => pinned,
                Err(err) => {
                    eprintln!("ferrid: {err}");
                    return ExitCode::from(2);
                }
            };
            let scheme = if pinned.is_some() { "https" } else { "http" };
            (format!("{scheme}://{addr}/readyz"), pinned)
        }
    };
    match probe(&url, pinned) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("ferrid: {url} answered {status}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("ferrid: {url}: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The certificate ferrid presents (the first in `tls.cert`), when it serves TLS.
fn server_certificate(
    settings: &Settings,
) -> Result<Option<CertificateDer<'static>>, crate::config::ConfigError> {
    match &settings.tls.cert {
        Some(path) => Ok(crate::config::read_certificates("tls.cert", path)?
            .into_iter()
            .next()),
        None => Ok(None),
    }
}

/// The status code of a GET to an `http://` or `https://` URL; over https, the server must
/// present `pinned` when given, else a certificate the system's roots vouch for.
fn probe(url: &str, pinned: Option<CertificateDer<'static>>) -> Result<u16, String> {
    let parsed = url::Url::parse(url).map_err(|err| format!("not a URL: {err}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("only http:// and https:// URLs can be probed".into());
    }
    let host = parsed.host_str().ok_or("the URL has no host")?;
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addr = (bare_host, port)
        .to_socket_addrs()
        .map_err(|err| err.to_string())?
        .next()
        .ok_or("the host has no address")?;
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|err| err.to_string())?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|err| err.to_string())?;
    let authority = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let mut target = parsed.path().to_owned();
    if let Some(query) = parsed.query() {
        target = format!("{target}?{query}");
    }
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: ferrid-healthcheck\r\n\
         Connection: close\r\n\r\n"
    );
    if parsed.scheme() == "http" {
        return exchange(stream, &request);
    }
    let name = ServerName::try_from(bare_host.to_owned()).map_err(|err| err.to_string())?;
    let connection = ClientConnection::new(Arc::new(tls_config(pinned)?), name)
        .map_err(|err| err.to_string())?;
    exchange(StreamOwned::new(connection, stream), &request)
}

/// Sends `request` and reads the status code from the response's first line.
fn exchange(mut stream: impl Read + Write, request: &str) -> Result<u16, String> {
    stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|err| err.to_string())?;
    let mut status_line = String::new();
    BufReader::new(stream.take(1024))
        .read_line(&mut status_line)
        .map_err(|err| err.to_string())?;
    // "HTTP/1.1 200 OK"
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {:?}", status_line.trim_end()))
}

fn tls_config(pinned: Option<CertificateDer<'static>>) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?;
    let config = match pinned {
        Some(certificate) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned {
                certificate,
                algorithms: provider.signature_verification_algorithms,
            })),
        None => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            builder.with_root_certificates(roots)
        }
    };
    Ok(config.with_no_client_auth())
}

/// Accepts exactly one certificate, and checks that the server holds its key.
#[derive(Debug)]
struct Pinned {
    certificate: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.certificate.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server's certificate is not the one in tls.cert".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_are_probed() {
        assert!(probe("ftp://127.0.0.1:1/readyz", None)
            .unwrap_err()
            .contains("only http"));
        assert!(probe("not a url", None).is_err());
    }
}
