//! `/metrics`: the Prometheus text exposition of `telemetry::metrics`, on the main listener or,
//! with `metrics.bind`, on a listener of its own that serves nothing else. It is not part of
//! the OpenAPI document: it is for the operator's scraper, not for client applications. The key
//! ring gauges are read from this instance's ring at scrape time, so they are never stale.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::http::{header, StatusCode};
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::web::Data;
use poem::{get, handler, Endpoint, EndpointExt, Response, Route, Server};

use crate::context::Context;
use crate::telemetry::metrics;

/// The path metrics are served at.
pub const PATH: &str = "/metrics";

/// The Prometheus text format's media type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every metric.
#[handler]
pub async fn scrape(ctx: Data<&Arc<Context>>) -> Response {
    if let Some(ring) = ctx.key_ring_if_loaded() {
        let states: Vec<&'static str> = ring.keys().iter().map(|k| k.state().as_str()).collect();
        let active = ring.active();
        let since = active
            .lifecycle()
            .activated_at
            .unwrap_or(active.created_at());
        metrics::key_ring(&states, ctx.clock().now_secs().saturating_sub(since));
    }
    match metrics::render() {
        Some(body) => Response::builder()
            .content_type(CONTENT_TYPE)
            .header(header::CACHE_CONTROL, "no-store")
            .body(body),
        None => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .content_type("text/plain; charset=utf-8")
            .body("the metrics recorder is not installed\n"),
    }
}

/// A bound listener for `metrics.bind`, serving `/metrics` only.
pub struct MetricsListener {
    acceptor: TcpAcceptor,
    addr: SocketAddr,
}

impl MetricsListener {
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

    /// Serves `/metrics` for `ctx` until `shutdown` completes.
    pub async fn serve(
        self,
        ctx: Arc<Context>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(endpoint(ctx), shutdown, Some(Duration::from_secs(1)))
            .await
    }
}

/// `/metrics` alone.
fn endpoint(ctx: Arc<Context>) -> impl Endpoint {
    Route::new().at(PATH, get(scrape)).data(ctx)
}
