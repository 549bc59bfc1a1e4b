//! `ferrid healthcheck [--url URL]`: asks a running ferrid's `/readyz` and exits 0 when it
//! answers 200, 1 otherwise. It is the container image's `HEALTHCHECK`, so the image needs no
//! curl, wget or shell. Without `--url` it asks the address `bind` names (an unspecified one such
//! as `0.0.0.0` through loopback) over plain HTTP, with blocking I/O and short timeouts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Probes `url`, or `/readyz` on the configured bind address.
pub fn run(config: Option<PathBuf>, url: Option<String>) -> ExitCode {
    let url = match url {
        Some(url) => url,
        None => match super::load_settings(config.as_deref()) {
            Ok(settings) => match settings.local_addr() {
                Some(addr) => format!("http://{addr}/readyz"),
                None => {
                    eprintln!("ferrid: cannot probe `bind` = {}", settings.bind);
                    return ExitCode::from(2);
                }
            },
            Err(code) => return code,
        },
    };
    match probe(&url) {
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

/// The status code of a GET to an `http://` URL.
fn probe(url: &str) -> Result<u16, String> {
    let parsed = url::Url::parse(url).map_err(|err| format!("not a URL: {err}"))?;
    if parsed.scheme() != "http" {
        return Err("only http:// URLs can be probed".into());
    }
    let host = parsed.host_str().ok_or("the URL has no host")?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addr = (host.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .map_err(|err| err.to_string())?
        .next()
        .ok_or("the host has no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|err| err.to_string())?;
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
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: ferrid-healthcheck\r\n\
         Connection: close\r\n\r\n"
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_are_probed() {
        assert!(probe("https://127.0.0.1:1/readyz").is_err());
        assert!(probe("not a url").is_err());
    }
}
