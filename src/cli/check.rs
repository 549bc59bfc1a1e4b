//! `ferrid check`: what `serve` needs, checked without serving or changing anything — the
//! configuration (validated exactly as at start-up, with the TLS certificates and keys it names
//! read and matched), the store (a `PING` to Redis, over TLS for `rediss://`), and the signing
//! keys (the ring read, opened with the system secret and parsed; with the memory store, the
//! `keys.dir` directory read and probed for writing). Prints one line per check; exits 0 when
//! everything passes, 2 for a configuration error (as every command does), 1 otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::bootstrap;
use crate::clock::SystemClock;
use crate::config::{Identity, Settings, StoreKind, CONFIG_ENV, ENV_PREFIX};
use crate::context::Context;
use crate::keys::persist::KeyPersistence;

/// How long the store may take to answer before the check fails.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs every check and prints what it found.
pub fn run(config: Option<PathBuf>) -> ExitCode {
    let settings = match super::load_settings(config.as_deref()) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    report(
        true,
        "config",
        &describe_config(config.as_deref(), &settings),
    );
    if let Some(mismatch) = settings.issuer_port_mismatch() {
        println!("      note: {mismatch}");
    }
    // The TLS files are part of the configuration: a problem with them is exit code 2, as in
    // `serve`.
    let tls = settings
        .tls
        .load()
        .and_then(|tls| settings.redis.tls_certificates().map(|_| tls));
    match tls {
        Ok(Some(identity)) => report(true, "tls", &describe_tls(&settings, &identity)),
        Ok(None) => {}
        Err(err) => {
            eprintln!("ferrid: {err}");
            return ExitCode::from(2);
        }
    }
    let runtime = match super::runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    if runtime.block_on(check_store_and_keys(settings)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn report(ok: bool, what: &str, detail: &str) {
    println!("{:<5} {what}: {detail}", if ok { "ok" } else { "FAIL" });
}

fn describe_config(file: Option<&Path>, settings: &Settings) -> String {
    let source = file.map_or_else(
        || "built-in defaults".to_owned(),
        |path| path.display().to_string(),
    );
    let overrides = std::env::vars()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX) && name != CONFIG_ENV)
        .count();
    format!(
        "{source}{} is valid: issuer {}, listening on {}, {} client(s), {} user(s)",
        if overrides > 0 {
            format!(" + {overrides} {ENV_PREFIX}* variable(s)")
        } else {
            String::new()
        },
        settings.issuer(),
        settings.bind,
        settings.clients.len(),
        settings.users.len(),
    )
}

fn describe_tls(settings: &Settings, identity: &Identity) -> String {
    let path = |path: &Option<PathBuf>| {
        path.as_deref()
            .map(|path| path.display().to_string())
            .unwrap_or_default()
    };
    format!(
        "serving https: {} certificate(s) in {}, with the matching key in {}",
        identity.chain.len(),
        path(&settings.tls.cert),
        path(&settings.tls.key),
    )
}

/// How a `rediss://` (or `rediss+cluster://`) store's certificate is checked.
fn describe_redis_tls(settings: &Settings, url: &str) -> &'static str {
    if !url.starts_with("rediss://") && !url.starts_with("rediss+cluster://") {
        ""
    } else if url.ends_with("#insecure") {
        " (TLS, certificate NOT verified: #insecure)"
    } else if settings.redis.tls_ca.is_some() {
        " (TLS, verified against redis.tls_ca)"
    } else {
        " (TLS, verified against the system's roots)"
    }
}

async fn check_store_and_keys(settings: Settings) -> bool {
    let store = match settings.store_kind() {
        Ok(StoreKind::Redis(url)) => format!(
            "redis {}{}",
            redact(&url),
            describe_redis_tls(&settings, &url)
        ),
        _ => "memory".to_owned(),
    };
    // Inside the runtime: the Redis connection manager needs one even before it connects.
    let ctx = match bootstrap::build(settings, Arc::new(SystemClock)) {
        Ok(ctx) => ctx,
        Err(err) => {
            report(false, "store", &format!("{store}: {err}"));
            return false;
        }
    };
    match tokio::time::timeout(STORE_TIMEOUT, ctx.store().ping()).await {
        Ok(Ok(())) if ctx.store().name() == "memory" => report(
            true,
            "store",
            "memory (in this process: state lasts until it stops; the keys live in keys.dir)",
        ),
        Ok(Ok(())) => report(true, "store", &format!("{store} answers PING")),
        Ok(Err(err)) => {
            report(false, "store", &format!("{store}: {err}"));
            report(false, "keys", "not checked: the store is unreachable");
            return false;
        }
        Err(_) => {
            report(
                false,
                "store",
                &format!("{store}: no answer within {} s", STORE_TIMEOUT.as_secs()),
            );
            report(false, "keys", "not checked: the store is unreachable");
            return false;
        }
    }
    let (ok, detail) = check_keys(&ctx).await;
    report(ok, "keys", &detail);
    ok
}

async fn check_keys(ctx: &Context) -> (bool, String) {
    let persistence = ctx.keys().persistence();
    let location = persistence.describe();
    if let KeyPersistence::Dir(dir) = persistence {
        if let Err(problem) = probe_dir(dir) {
            return (false, problem);
        }
    }
    let loaded = tokio::time::timeout(STORE_TIMEOUT, persistence.load()).await;
    let snapshot = match loaded {
        Ok(Ok(Some(snapshot))) => snapshot,
        Ok(Ok(None)) => {
            return (
                true,
                format!("no key ring in {location} yet; `ferrid serve` generates one"),
            )
        }
        Ok(Err(err)) => return (false, format!("{location}: {err}")),
        Err(_) => return (false, format!("{location}: no answer")),
    };
    match snapshot.ring() {
        Ok(ring) => (
            true,
            format!(
                "{} key(s) in {location}, revision {}; active key {}",
                snapshot.keys.len(),
                snapshot.revision,
                ring.active().kid()
            ),
        ),
        Err(err) => (false, format!("{location}: {err}")),
    }
}

/// The keys directory must be a directory ferrid can write (it stores new keys there); one
/// that does not exist yet is created by `serve`.
fn probe_dir(dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(metadata) if !metadata.is_dir() => {
            return Err(format!("{} is not a directory", dir.display()))
        }
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(format!("{}: {err}", dir.display())),
    }
    let token = crate::secret::random_token().map_err(|err| err.to_string())?;
    let probe = dir.join(format!(".ferrid-check.{token}"));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|err| format!("cannot write in {}: {err}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The URL without its password.
/// `url` with the password of its user info replaced by `***`. Read by hand rather than with
/// `url::Url`, which cannot parse the host lists of `redis+cluster://` and `redis+sentinel://`
/// URLs and would leave them, password included, as they are.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, hosts)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{hosts}{path}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_passwords_are_not_printed() {
        assert_eq!(
            redact("redis://user:hunter2@redis:6379/0"),
            "redis://user:***@redis:6379/0"
        );
        assert_eq!(redact("redis://redis:6379/0"), "redis://redis:6379/0");
        assert_eq!(
            redact("redis+cluster://u:hunter2@a:7000,b:7001/"),
            "redis+cluster://u:***@a:7000,b:7001/"
        );
        assert_eq!(
            redact("redis+sentinel://:p@ss:w0rd@s1:26379,s2:26379/mymaster"),
            "redis+sentinel://:***@s1:26379,s2:26379/mymaster"
        );
    }
}
