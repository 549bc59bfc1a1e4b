//! `ferrid serve`: loads and validates the settings, provisions the store (config clients and
//! users, the signing keys loaded or created) and only then binds the listener, so the first
//! request is served like any other; serves until SIGTERM or Ctrl-C. A store that cannot be
//! reached does not stop start-up: the listener opens anyway (`/readyz` says why it is not
//! ready) while `bootstrap::until_ready` retries in the background. Anything else provisioning
//! trips over — a `keys.dir` that is not a usable directory, a corrupt `ring.json` — is the
//! operator's to fix and stops ferrid with exit code 2 and the reason. Once ready,
//! `bootstrap::maintain` keeps the signing keys current, rotates them on schedule and provisions
//! the store again if it loses its data. Without a config file, a demo client is generated so
//! the quick tour works out of the box.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::bootstrap::{self, StartError};
use crate::clock::SystemClock;
use crate::config::{ClientConfig, Settings};
use crate::http::metrics::MetricsListener;
use crate::http::server::Bound;
use crate::secret::{random_token, SecretString};

/// Id of the client generated when no config file is given.
pub const DEMO_CLIENT_ID: &str = "demo";

/// Runs the server; exit code 2 for configuration errors (settings, an unusable `keys.dir`), 1
/// for other start-up failures.
pub fn run(config: Option<PathBuf>) -> ExitCode {
    let mut settings = match super::load_settings(config.as_deref()) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    crate::telemetry::init(&settings.log);
    if settings.metrics.enabled {
        crate::telemetry::metrics::install();
    }
    let demo_secret = if config.is_none() && settings.clients.is_empty() {
        match add_demo_client(&mut settings) {
            Ok(secret) => Some(secret),
            Err(err) => {
                eprintln!("ferrid: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let runtime = match super::runtime(tokio::runtime::Builder::new_multi_thread()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(serve(settings, demo_secret)) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, err)) => {
            tracing::error!(error = %err, "ferrid stopped");
            eprintln!("ferrid: {err}");
            code
        }
    }
}

/// Exit code 2 for what the operator must fix in the configuration (or the files it names), 1
/// for any other start-up failure.
fn start_failure(err: StartError) -> (ExitCode, String) {
    let code = match err {
        StartError::Config(_) => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    };
    (code, err.to_string())
}

async fn serve(
    settings: Settings,
    demo_secret: Option<SecretString>,
) -> Result<(), (ExitCode, String)> {
    let shutdown = shutdown_signal();
    let bind = settings.bind.clone();
    let issuer = settings.issuer().to_owned();
    let mismatch = settings.issuer_port_mismatch();
    let ctx = bootstrap::build(settings, Arc::new(SystemClock)).map_err(start_failure)?;
    let provisioned = match bootstrap::provision(&ctx).await {
        Ok(()) => true,
        Err(err) if err.is_transient() => {
            let reason = err.to_string();
            tracing::warn!(error = %reason, "the store is unreachable: serving not-ready and retrying in the background");
            ctx.mark_not_ready(reason);
            false
        }
        Err(err) => return Err(start_failure(err)),
    };
    let bound = Bound::bind(&bind)
        .await
        .map_err(|err| (ExitCode::FAILURE, format!("cannot listen on {bind}: {err}")))?;
    tracing::info!(issuer = %issuer, listen = %bound.local_addr(), store = ctx.store().name(), "ferrid is listening");
    tracing::info!(location = %ctx.key_location(), "signing keys: {}", ctx.key_location());
    match mismatch {
        Some(mismatch) if mismatch.loopback => {
            tracing::warn!(issuer = %issuer, bind = %bind, "{mismatch}")
        }
        Some(mismatch) => tracing::info!(issuer = %issuer, bind = %bind, "{mismatch}"),
        None => {}
    }
    if let Some(secret) = demo_secret {
        tracing::warn!(
            client_id = DEMO_CLIENT_ID,
            client_secret = secret.expose(),
            "no config file given: generated a demo client for client_credentials (scopes `read write`); \
             it changes on every start — configure [[clients]] for real use"
        );
    }
    if let Some(addr) = ctx.settings().metrics.separate_bind() {
        let listener = MetricsListener::bind(addr).await.map_err(|err| {
            let err = format!("cannot listen on {addr} (metrics.bind): {err}");
            (ExitCode::FAILURE, err)
        })?;
        tracing::info!(listen = %listener.local_addr(), "metrics are served on their own listener");
        tokio::spawn(listener.serve(ctx.clone(), std::future::pending()));
    }
    tokio::spawn(crate::telemetry::metrics::upkeep());
    let background = ctx.clone();
    tokio::spawn(async move {
        if !provisioned {
            bootstrap::until_ready(background.clone()).await;
        }
        bootstrap::maintain(background).await;
    });
    bound
        .serve(ctx, shutdown)
        .await
        .map_err(|err| (ExitCode::FAILURE, err.to_string()))?;
    tracing::info!("ferrid stopped");
    Ok(())
}

fn add_demo_client(settings: &mut Settings) -> Result<SecretString, String> {
    let secret = SecretString::new(random_token().map_err(|err| err.to_string())?);
    settings.clients.push(ClientConfig {
        id: DEMO_CLIENT_ID.into(),
        name: Some("Demo client".into()),
        secret: Some(secret.clone()),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into(), "write".into()],
        ..ClientConfig::default()
    });
    Ok(secret)
}

/// Completes on SIGTERM or Ctrl-C (SIGINT). The handlers are installed at once, before the
/// server starts, so a signal that arrives early is never lost to the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        let wait = |stream: std::io::Result<tokio::signal::unix::Signal>| async move {
            match stream {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(terminate) => {},
            () = wait(interrupt) => {},
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}
