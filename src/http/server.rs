//! Binding and serving: the listener is bound first (so `127.0.0.1:0` tells its port before
//! any request), then ferrid is served until the shutdown future completes, letting requests
//! in flight finish for up to 10 seconds. With a TLS identity (`tls.cert` / `tls.key`) the
//! listener speaks HTTPS only, through poem's rustls acceptor on the aws-lc-rs provider; each
//! handshake runs in its connection's task, so a slow client never holds up the others.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::{
    Acceptor, AcceptorExt, BoxAcceptor, IntoTlsConfigStream, Listener, RustlsCertificate,
    RustlsConfig, TcpAcceptor, TcpListener,
};
use poem::web::{LocalAddr, RemoteAddr};
use poem::Server;

use crate::config::Identity;
use crate::context::Context;

/// A bound, not yet serving, HTTP or HTTPS listener.
pub struct Bound {
    acceptor: BoxAcceptor,
    addr: SocketAddr,
    tls: bool,
}

impl Bound {
    /// Binds `addr` (`host:port`; port 0 picks a free one) for plain HTTP.
    pub async fn bind(addr: &str) -> io::Result<Self> {
        Self::bind_with(addr, None).await
    }

    /// Binds `addr`, for HTTPS with `tls` when given.
    pub async fn bind_with(addr: &str, tls: Option<&Identity>) -> io::Result<Self> {
        let tcp = TcpListener::bind(addr.to_owned()).into_acceptor().await?;
        let addr = tcp
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .ok_or_else(|| io::Error::other("listener has no socket address"))?;
        let acceptor = match tls {
            None => tcp.boxed(),
            Some(identity) => {
                let certificate = RustlsCertificate::new()
                    .cert(identity.chain_pem.clone())
                    .key(identity.key_pem.to_vec());
                // `into_stream` builds the rustls configuration once, so a problem shows here.
                let config = RustlsConfig::new().fallback(certificate).into_stream()?;
                ConfigFirst {
                    inner: tcp,
                    yielded: false,
                }
                .rustls(config)
                .boxed()
            }
        };
        Ok(Self {
            acceptor,
            addr,
            tls: tls.is_some(),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https` when serving TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// Serves `ctx` until `shutdown` completes.
    pub async fn serve(
        self,
        ctx: Arc<Context>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(super::route(ctx), shutdown, Some(Duration::from_secs(10)))
            .await
    }
}

/// A TCP acceptor that yields once before its first accept. poem's `RustlsAcceptor` waits for its
/// configuration and for a connection at once (`tokio::select!`, in random order) and drops a
/// connection accepted before it has a configuration ("no valid tls config"): a client already
/// waiting when serving starts would lose its connection half of the time. Yielding lets the
/// configuration, ready from the start, win that first race.
struct ConfigFirst {
    inner: TcpAcceptor,
    yielded: bool,
}

impl Acceptor for ConfigFirst {
    type Io = <TcpAcceptor as Acceptor>::Io;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        if !self.yielded {
            self.yielded = true;
            tokio::task::yield_now().await;
        }
        self.inner.accept().await
    }
}
