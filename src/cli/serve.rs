//! `ferrid serve`: loads and validates the settings, provisions the store (config clients and
//! users, the signing keys loaded or created) and only then binds the listener, so the first
//! request is served like any other; serves until SIGTERM or Ctrl-C. A store that cannot be
//! reached does not stop start-up: the listener opens anyway (`/readyz` says why it is not
//! ready) while `bootstrap::until_ready` retries in the background. Anything else provisioning
//! trips over — a `keys.dir` that is not a usable directory, a corrupt `ring.json` — is the
//! operator's to fix and stops ferrid with exit code 2 and the reason. Once ready,
//! `bootstrap::maintain` keeps the signing keys current, rotates them on schedule and provisions
//! the store again if it loses its data. Without a config file, a demo client and a demo user are
//! generated, their secrets logged once at start-up, so the quick tour works out of the box: the
//! client for `client_credentials`, the user for logging in through Swagger UI at `/docs`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::bootstrap::{self, StartError};
use crate::clock::SystemClock;
use crate::config::{ClientConfig, Identity, Settings, UserConfig};
use crate::http::metrics::MetricsListener;
use crate::http::server::Bound;
use crate::secret::{random_bytes, random_token, SecretString};

/// Id of the client generated when no config file is given.
pub const DEMO_CLIENT_ID: &str = "demo";
/// Username of the user generated when no config file is given.
pub const DEMO_USERNAME: &str = "demo";

/// The generated secrets of the demo client and user, logged once when ferrid listens.
#[derive(Default)]
pub struct DemoSecrets {
    /// The demo client's secret, when the demo client was generated.
    pub client_secret: Option<SecretString>,
    /// The demo user's password, when the demo user was generated.
    pub user_password: Option<SecretString>,
}

/// Runs the server; exit code 2 for configuration errors (settings, TLS files that cannot be
/// used, an unusable `keys.dir`), 1 for other start-up failures.
pub fn run(config: Option<PathBuf>) -> ExitCode {
    let mut settings = match super::load_settings(config.as_deref()) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    // A certificate or key that cannot be used is a configuration error, before anything starts.
    let tls = match settings.tls.load() {
        Ok(tls) => tls,
        Err(err) => {
            eprintln!("ferrid: {err}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&settings.log);
    if settings.metrics.enabled {
        crate::telemetry::metrics::install();
    }
    let demo = if config.is_none() {
        match add_demo_accounts(&mut settings) {
            Ok(demo) => demo,
            Err(err) => {
                eprintln!("ferrid: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        DemoSecrets::default()
    };
    let runtime = match super::runtime(tokio::runtime::Builder::new_multi_thread()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(serve(settings, demo, tls)) {
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
    demo: DemoSecrets,
    tls: Option<Identity>,
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
    let bound = Bound::bind_with(&bind, tls.as_ref())
        .await
        .map_err(|err| (ExitCode::FAILURE, format!("cannot listen on {bind}: {err}")))?;
    tracing::info!(issuer = %issuer, listen = %bound.local_addr(), scheme = bound.scheme(), store = ctx.store().name(), "ferrid is listening");
    tracing::info!(location = %ctx.key_location(), "signing keys: {}", ctx.key_location());
    match mismatch {
        Some(mismatch) if mismatch.loopback => {
            tracing::warn!(issuer = %issuer, bind = %bind, "{mismatch}")
        }
        Some(mismatch) => tracing::info!(issuer = %issuer, bind = %bind, "{mismatch}"),
        None => {}
    }
    if let Some(secret) = demo.client_secret {
        tracing::warn!(
            client_id = DEMO_CLIENT_ID,
            client_secret = secret.expose(),
            "no config file given: generated a demo client for client_credentials (scopes `read write`); \
             it changes on every start — configure [[clients]] for real use"
        );
    }
    if let Some(password) = demo.user_password {
        tracing::warn!(
            username = DEMO_USERNAME,
            password = password.expose(),
            docs = %format!("{issuer}/docs"),
            "no config file given: generated a demo user to log in with (Swagger UI's Authorize at \
             /docs, then try /userinfo); the password changes on every start — configure [[users]] \
             for real use"
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

/// Adds the demo client unless clients are configured (by environment variables), and the demo
/// user unless users are; returns their generated secrets, to be logged once.
pub fn add_demo_accounts(settings: &mut Settings) -> Result<DemoSecrets, String> {
    let mut demo = DemoSecrets::default();
    if settings.clients.is_empty() {
        let secret = SecretString::new(random_token().map_err(|err| err.to_string())?);
        settings.clients.push(ClientConfig {
            id: DEMO_CLIENT_ID.into(),
            name: Some("Demo client".into()),
            secret: Some(secret.clone()),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["read".into(), "write".into()],
            ..ClientConfig::default()
        });
        demo.client_secret = Some(secret);
    }
    if settings.users.is_empty() {
        // 96 random bits in 16 characters: short enough to type on the login page, and the
        // login throttle stands between it and guessing.
        let bytes = random_bytes::<12>().map_err(|err| err.to_string())?;
        let password = SecretString::new(URL_SAFE_NO_PAD.encode(bytes));
        settings.users.push(UserConfig {
            username: DEMO_USERNAME.into(),
            password: Some(password.clone()),
            name: Some("Demo User".into()),
            email: Some("demo@example.com".into()),
            ..UserConfig::default()
        });
        demo.user_password = Some(password);
    }
    Ok(demo)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_config_a_demo_client_and_a_demo_user_are_added() {
        let mut settings = Settings::default();
        let demo = add_demo_accounts(&mut settings).unwrap();
        let secret = demo.client_secret.unwrap();
        let password = demo.user_password.unwrap();
        assert_eq!(settings.clients.len(), 1);
        assert_eq!(settings.clients[0].id, DEMO_CLIENT_ID);
        assert_eq!(
            settings.clients[0]
                .secret
                .as_ref()
                .map(SecretString::expose),
            Some(secret.expose())
        );
        assert_eq!(settings.users.len(), 1);
        let user = &settings.users[0];
        assert_eq!(user.username, DEMO_USERNAME);
        assert_eq!(
            user.password.as_ref().map(SecretString::expose),
            Some(password.expose())
        );
        assert_eq!(password.expose().len(), 16);
        assert!(user.email.is_some() && user.name.is_some());
        settings.validate().unwrap();

        let mut again = Settings::default();
        let other = add_demo_accounts(&mut again).unwrap();
        assert_ne!(
            other.user_password.unwrap().expose(),
            password.expose(),
            "a new password on every start"
        );
    }

    #[test]
    fn configured_clients_or_users_are_left_alone() {
        let mut settings = Settings::default();
        settings.users.push(UserConfig {
            username: "alice".into(),
            password: Some(SecretString::new("wonderland")),
            ..UserConfig::default()
        });
        let demo = add_demo_accounts(&mut settings).unwrap();
        assert!(demo.user_password.is_none());
        assert!(demo.client_secret.is_some());
        assert_eq!(settings.users.len(), 1);

        let mut settings = Settings::default();
        settings.clients.push(ClientConfig {
            id: "mine".into(),
            ..ClientConfig::default()
        });
        let demo = add_demo_accounts(&mut settings).unwrap();
        assert!(demo.client_secret.is_none());
        assert!(demo.user_password.is_some());
        assert_eq!(settings.clients.len(), 1);
    }
}
