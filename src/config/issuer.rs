//! The issuer and the bind address, which must agree for the URLs in discovery to reach ferrid.
//! When only `bind` is set, the default issuer follows it (`bind = "127.0.0.1:9090"` →
//! `http://127.0.0.1:9090`; an unspecified address such as `0.0.0.0` becomes the loopback one),
//! and with `tls.cert` set the default issuer is `https://`.
//! When both are set and their ports differ, `serve` logs it: a warning when the issuer is a
//! loopback URL (nothing can sit between the two ports, so it is almost certainly a mistake), a
//! note otherwise (a reverse proxy or a published container port is normal there).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The address a client on this machine reaches `bind` at (an unspecified address such as
/// `0.0.0.0` through loopback); `None` for port 0 (not known before listening) or an address
/// that does not parse (validation reports it).
pub fn local_addr(bind: &str) -> Option<SocketAddr> {
    let addr: SocketAddr = bind.parse().ok()?;
    if addr.port() == 0 {
        return None;
    }
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Some(SocketAddr::new(ip, addr.port()))
}

/// The issuer `bind` implies when no issuer is configured.
pub fn issuer_for_bind(bind: &str) -> Option<String> {
    local_addr(bind).map(|addr| format!("http://{addr}"))
}

/// `issuer` with `https` for `http`, for a ferrid that serves TLS itself.
pub fn with_https(issuer: &str) -> String {
    match issuer.strip_prefix("http://") {
        Some(rest) => format!("https://{rest}"),
        None => issuer.to_owned(),
    }
}

/// Whether `issuer` names this machine only (`localhost`, `127.0.0.0/8`, `[::1]`): the one case
/// where plain `http` is safe, since nothing travels over a network.
pub fn is_loopback(issuer: &url::Url) -> bool {
    match issuer.host() {
        Some(url::Host::Domain(domain)) => {
            domain.eq_ignore_ascii_case("localhost") || domain.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// An issuer whose port differs from the one ferrid listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMismatch {
    /// The issuer's port (explicit, or 80/443 by scheme).
    pub issuer_port: u16,
    /// The port of `bind`.
    pub bind_port: u16,
    /// The issuer is a loopback URL, so no proxy is expected between the two ports.
    pub loopback: bool,
}

impl std::fmt::Display for PortMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the issuer's port {} differs from the bind port {}",
            self.issuer_port, self.bind_port
        )?;
        if self.loopback {
            write!(
                f,
                ": discovery and Swagger UI will point clients at a port ferrid does not listen \
                 on; set `issuer` to match `bind`, or leave it unset to follow it"
            )
        } else {
            write!(
                f,
                " (fine behind a reverse proxy or a published container port)"
            )
        }
    }
}

/// Compares the issuer's port with the bind port; `None` when they agree or cannot be compared.
pub fn port_mismatch(issuer: &str, bind: &str) -> Option<PortMismatch> {
    let issuer = url::Url::parse(issuer).ok()?;
    let bind: SocketAddr = bind.parse().ok()?;
    let issuer_port = issuer.port_or_known_default()?;
    if bind.port() == 0 || bind.port() == issuer_port {
        return None;
    }
    let loopback = match issuer.host()? {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    Some(PortMismatch {
        issuer_port,
        bind_port: bind.port(),
        loopback,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_issuer_follows_the_bind_address() {
        assert_eq!(
            issuer_for_bind("127.0.0.1:9090").as_deref(),
            Some("http://127.0.0.1:9090")
        );
        assert_eq!(
            issuer_for_bind("0.0.0.0:8081").as_deref(),
            Some("http://127.0.0.1:8081")
        );
        assert_eq!(
            issuer_for_bind("[::]:8082").as_deref(),
            Some("http://[::1]:8082")
        );
        assert_eq!(
            issuer_for_bind("192.0.2.7:80").as_deref(),
            Some("http://192.0.2.7:80")
        );
        assert_eq!(issuer_for_bind("127.0.0.1:0"), None);
        assert_eq!(issuer_for_bind("nowhere"), None);
    }

    #[test]
    fn a_port_mismatch_is_found_and_judged() {
        assert_eq!(
            port_mismatch("http://127.0.0.1:8080", "127.0.0.1:8080"),
            None
        );
        assert_eq!(port_mismatch("http://127.0.0.1:8080", "127.0.0.1:0"), None);
        let local = port_mismatch("http://localhost:8080", "127.0.0.1:9090").unwrap();
        assert_eq!((local.issuer_port, local.bind_port), (8080, 9090));
        assert!(local.loopback);
        assert!(local.to_string().contains("set `issuer`"), "{local}");
        let proxied = port_mismatch("https://auth.example.com", "0.0.0.0:8080").unwrap();
        assert_eq!(proxied.issuer_port, 443);
        assert!(!proxied.loopback);
    }
}
