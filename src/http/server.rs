//! Binding and serving: the listener is bound first (so `127.0.0.1:0` tells its port before
//! any request), then ferrid is served until the shutdown future completes, letting requests
//! in flight finish for up to 10 seconds.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::Server;

use crate::context::Context;

/// A bound, not yet serving, HTTP listener.
pub struct Bound {
    acceptor: TcpAcceptor,
    addr: SocketAddr,
}

impl Bound {
    /// Binds `addr` (`host:port`; port 0 picks a free one).
    pub async fn bind(addr: &str) -> io::Result<Self> {
        let acceptor = TcpListener::bind(addr.to_owned()).into_acceptor().await?;
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .ok_or_else(|| io::Error::other("listener has no socket address"))?;
        Ok(Self { acceptor, addr })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
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
