use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::load_from(None, env(pairs))
}

#[test]
fn defaults_are_valid() {
    let settings = load(&[]).unwrap();
    assert_eq!(settings.issuer(), "http://127.0.0.1:8080");
    assert_eq!(settings.store_kind().unwrap(), StoreKind::Memory);
    assert_eq!(settings.tokens.access_token_ttl_secs, 600);
    assert_eq!(settings.redis.prefix, "ferrid:");
}

#[test]
fn numeric_looking_secret_stays_a_string() {
    let secret = "01234567890123456789012345678901234";
    let settings = load(&[("FERRID_SECRETS__SYSTEM", secret)]).unwrap();
    assert_eq!(settings.secrets.system.unwrap().expose(), secret);
}

#[test]
fn numbers_come_from_env_strings() {
    let settings = load(&[("FERRID_TOKENS__ACCESS_TOKEN_TTL_SECS", "120")]).unwrap();
    assert_eq!(settings.tokens.access_token_ttl_secs, 120);
}

#[test]
fn a_bad_number_names_the_env_variable() {
    let err = load(&[("FERRID_TOKENS__ACCESS_TOKEN_TTL_SECS", "ten")]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("FERRID_TOKENS__ACCESS_TOKEN_TTL_SECS"),
        "{text}"
    );
    assert!(!text.contains('\n'));
}

#[test]
fn out_of_range_values_name_the_key() {
    let err = load(&[("FERRID_TOKENS__ACCESS_TOKEN_TTL_SECS", "0")]).unwrap_err();
    assert_eq!(err.key, "tokens.access_token_ttl_secs");
    let err = load(&[("FERRID_BIND", "nowhere")]).unwrap_err();
    assert_eq!(err.key, "bind");
    let err = load(&[("FERRID_ISSUER", "ftp://example.com")]).unwrap_err();
    assert_eq!(err.key, "issuer");
    let err = load(&[("FERRID_STORE", "postgres://x")]).unwrap_err();
    assert_eq!(err.key, "store");
    let err = load(&[("FERRID_SECRETS__SYSTEM", "short")]).unwrap_err();
    assert_eq!(err.key, "secrets.system");
}

#[test]
fn unknown_keys_are_rejected() {
    let err = load(&[("FERRID_TOKENS__ACCESS_TTL", "5")]).unwrap_err();
    assert!(err.to_string().contains("access_ttl"), "{err}");
}

#[test]
fn file_values_are_overridden_by_env() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferrid.toml");
    std::fs::write(
        &path,
        r#"
issuer = "https://auth.example.com/"
store = "redis://127.0.0.1:6379/0"

[tokens]
access_token_ttl_secs = 300

[[clients]]
id = "billing"
secret = "change-me-change-me"
grant_types = ["client_credentials"]
scopes = ["invoices:read"]
"#,
    )
    .unwrap();
    let settings = Settings::load_from(
        Some(&path),
        env(&[
            ("FERRID_TOKENS__ACCESS_TOKEN_TTL_SECS", "60"),
            ("FERRID_SECRETS__SYSTEM", "0123456789abcdef0123456789abcdef"),
        ]),
    )
    .unwrap();
    assert_eq!(settings.issuer(), "https://auth.example.com");
    assert_eq!(settings.tokens.access_token_ttl_secs, 60);
    assert_eq!(
        settings.store_kind().unwrap(),
        StoreKind::Redis("redis://127.0.0.1:6379/0".into())
    );
    assert_eq!(settings.clients.len(), 1);
}

#[test]
fn a_missing_config_file_is_an_error() {
    let err =
        Settings::load_from(Some(Path::new("/nonexistent/ferrid.toml")), env(&[])).unwrap_err();
    assert!(err.to_string().contains("does not exist"));
}

#[test]
fn client_errors_name_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferrid.toml");
    std::fs::write(
        &path,
        r#"
[[clients]]
id = "ok"
secret = "s3cret-s3cret"
grant_types = ["client_credentials"]

[[clients]]
id = "broken"
grant_types = ["client_credentials"]
"#,
    )
    .unwrap();
    let err = Settings::load_from(Some(&path), env(&[])).unwrap_err();
    assert!(err.key.starts_with("clients[1]"), "{err}");
}

#[test]
fn redis_mode_requires_the_system_secret() {
    let err = load(&[("FERRID_STORE", "redis://127.0.0.1:6379/0")]).unwrap_err();
    assert_eq!(err.key, "secrets.system");
    assert!(err.message.contains("FERRID_SECRETS__SYSTEM"), "{err}");
    assert!(!err.to_string().contains('\n'));
    load(&[
        ("FERRID_STORE", "redis://127.0.0.1:6379/0"),
        ("FERRID_SECRETS__SYSTEM", "0123456789abcdef0123456789abcdef"),
    ])
    .unwrap();
}

#[test]
fn key_rotation_defaults() {
    let settings = load(&[]).unwrap();
    let keys = &settings.keys;
    assert_eq!(keys.rotation_period_secs, 30 * 86_400);
    assert_eq!(keys.publication_lead_secs, 86_400);
    assert_eq!(keys.rsa_bits, 2048);
    assert_eq!(keys.retirement_grace_secs, None);
    // Default grace: the longest signed-token lifetime plus the clock skew and the refresh
    // interval (the longest an instance may still sign with a key another one retired).
    assert_eq!(settings.retirement_grace_secs(), 600 + 60 + 5);
    let settings = load(&[
        ("FERRID_KEYS__RETIREMENT_GRACE_SECS", "7200"),
        ("FERRID_KEYS__RSA_BITS", "4096"),
    ])
    .unwrap();
    assert_eq!(settings.retirement_grace_secs(), 7200);
    assert_eq!(settings.keys.rsa_bits, 4096);
}

#[test]
fn the_publication_lead_must_exceed_the_jwks_max_age() {
    let err = load(&[
        ("FERRID_KEYS__JWKS_MAX_AGE_SECS", "3600"),
        ("FERRID_KEYS__PUBLICATION_LEAD_SECS", "3600"),
    ])
    .unwrap_err();
    assert_eq!(err.key, "keys.publication_lead_secs");
    assert!(err.message.contains("jwks_max_age_secs"), "{err}");
    // Also allowing for an instance that has not seen the new key yet (refresh interval 5 s).
    let err = load(&[
        ("FERRID_KEYS__JWKS_MAX_AGE_SECS", "3600"),
        ("FERRID_KEYS__PUBLICATION_LEAD_SECS", "3605"),
    ])
    .unwrap_err();
    assert_eq!(err.key, "keys.publication_lead_secs");
    load(&[
        ("FERRID_KEYS__JWKS_MAX_AGE_SECS", "3600"),
        ("FERRID_KEYS__PUBLICATION_LEAD_SECS", "3606"),
    ])
    .unwrap();
}

#[test]
fn unsafe_rotation_settings_name_the_key() {
    let cases = [
        (
            "FERRID_KEYS__ROTATION_PERIOD_SECS",
            "86400",
            "keys.rotation_period_secs",
        ),
        (
            "FERRID_KEYS__RETIREMENT_GRACE_SECS",
            "664",
            "keys.retirement_grace_secs",
        ),
        ("FERRID_KEYS__RSA_BITS", "1024", "keys.rsa_bits"),
        (
            "FERRID_KEYS__CLOCK_SKEW_SECS",
            "7200",
            "keys.clock_skew_secs",
        ),
        (
            "FERRID_KEYS__REFRESH_INTERVAL_SECS",
            "0",
            "keys.refresh_interval_secs",
        ),
    ];
    for (name, value, key) in cases {
        let err = load(&[(name, value)]).unwrap_err();
        assert_eq!(err.key, key, "{name}={value}: {err}");
    }
}

#[test]
fn the_shipped_example_configs_are_valid() {
    for file in ["ferrid.example.toml", "examples/ferrid.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let settings = Settings::load_from(Some(&path), env(&[]))
            .unwrap_or_else(|err| panic!("{file}: {err}"));
        assert!(!settings.clients.is_empty(), "{file}");
        // They declare no `[[scopes]]`: their clients' scopes are implicitly in the catalog.
        let catalog = settings.scope_catalog();
        for scope in settings.clients.iter().flat_map(|client| &client.scopes) {
            assert!(catalog.contains(scope), "{file}: {scope}");
        }
    }
}

#[test]
fn setting_only_bind_moves_the_default_issuer() {
    let settings = load(&[("FERRID_BIND", "127.0.0.1:9090")]).unwrap();
    assert_eq!(settings.issuer(), "http://127.0.0.1:9090");
    assert_eq!(settings.issuer_port_mismatch(), None);
    let settings = load(&[("FERRID_BIND", "0.0.0.0:9091")]).unwrap();
    assert_eq!(settings.issuer(), "http://127.0.0.1:9091");
    // Port 0 is only known once listening: the default issuer stays.
    let settings = load(&[("FERRID_BIND", "127.0.0.1:0")]).unwrap();
    assert_eq!(settings.issuer(), "http://127.0.0.1:8080");
}

#[test]
fn an_explicit_issuer_is_kept_and_a_port_mismatch_reported() {
    let settings = load(&[
        ("FERRID_BIND", "127.0.0.1:9090"),
        ("FERRID_ISSUER", "http://127.0.0.1:8080"),
    ])
    .unwrap();
    assert_eq!(settings.issuer(), "http://127.0.0.1:8080");
    let mismatch = settings.issuer_port_mismatch().unwrap();
    assert_eq!((mismatch.issuer_port, mismatch.bind_port), (8080, 9090));
    assert!(mismatch.loopback);

    // The issuer from the file counts as explicit too.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferrid.toml");
    std::fs::write(&path, "issuer = \"https://auth.example.com\"\n").unwrap();
    let settings =
        Settings::load_from(Some(&path), env(&[("FERRID_BIND", "0.0.0.0:8080")])).unwrap();
    assert_eq!(settings.issuer(), "https://auth.example.com");
    assert!(!settings.issuer_port_mismatch().unwrap().loopback);
}

#[test]
fn an_unknown_log_level_is_a_config_error() {
    let err = load(&[("FERRID_LOG__LEVEL", "warning")]).unwrap_err();
    assert_eq!(err.key, "log.level");
    assert!(err.message.contains("`warn`"), "{err}");
}

#[test]
fn a_toml_syntax_error_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferrid.toml");
    std::fs::write(&path, "issuer = \"http://127.0.0.1:8080\nbind = 1\n").unwrap();
    let err = Settings::load_from(Some(&path), env(&[])).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&format!("{}:1:", path.display())), "{text}");
    assert!(
        text.contains("1 | issuer = \"http://127.0.0.1:8080"),
        "{text}"
    );
}

#[test]
fn the_system_secret_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("system_secret");
    std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").unwrap();
    let file = path.to_str().unwrap();
    let settings = load(&[
        ("FERRID_STORE", "redis://127.0.0.1:6379/0"),
        ("FERRID_SECRETS__SYSTEM_FILE", file),
    ])
    .unwrap();
    assert_eq!(
        settings.secrets.system.unwrap().expose(),
        "0123456789abcdef0123456789abcdef"
    );
    let err = load(&[
        ("FERRID_SECRETS__SYSTEM_FILE", file),
        ("FERRID_SECRETS__SYSTEM", "0123456789abcdef0123456789abcdef"),
    ])
    .unwrap_err();
    assert_eq!(err.key, "secrets.system_file");
    let err = load(&[("FERRID_SECRETS__SYSTEM_FILE", "/nonexistent/secret")]).unwrap_err();
    assert_eq!(err.key, "secrets.system_file");
    assert!(err.message.contains("/nonexistent/secret"), "{err}");
    std::fs::write(&path, "short\n").unwrap();
    let err = load(&[("FERRID_SECRETS__SYSTEM_FILE", file)]).unwrap_err();
    assert_eq!(err.key, "secrets.system");
}

#[test]
fn a_plain_http_issuer_is_refused_off_loopback_unless_allowed() {
    for public in [
        "http://auth.example.com",
        "http://10.0.0.5:8080",
        "http://[2001:db8::1]",
    ] {
        let err = load(&[("FERRID_ISSUER", public)]).unwrap_err();
        assert_eq!(err.key, "issuer", "{public}");
        assert!(
            err.to_string().contains("allow_insecure_issuer"),
            "the error names the switch: {err}"
        );
        let allowed = load(&[
            ("FERRID_ISSUER", public),
            ("FERRID_ALLOW_INSECURE_ISSUER", "true"),
        ]);
        assert!(allowed.is_ok(), "{public}: {allowed:?}");
    }
    for local in [
        "http://127.0.0.1:8080",
        "http://127.0.0.2",
        "http://localhost:8080",
        "http://[::1]:8080",
        "https://auth.example.com",
    ] {
        assert!(load(&[("FERRID_ISSUER", local)]).is_ok(), "{local}");
    }
}

#[test]
fn declared_scopes_come_from_scopes_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferrid.toml");
    std::fs::write(
        &path,
        r#"
[[scopes]]
name = "invoices:read"
description = "Read invoices"

[[clients]]
id = "billing"
secret = "s"
grant_types = ["client_credentials"]
scopes = ["invoices:read", "invoices:write"]
"#,
    )
    .unwrap();
    let err = Settings::load_from(Some(&path), env(&[])).unwrap_err();
    assert_eq!(err.key, "clients[0].scopes");
    assert!(err.message.contains("invoices:write"), "{}", err.message);
}

#[test]
fn store_durability_is_none_unless_asked_for() {
    let settings = load(&[]).unwrap();
    assert_eq!(settings.durability().unwrap(), Durability::None);
    assert_eq!(settings.store_options.replica_timeout_ms, 250);
}

#[test]
fn replicated_durability_needs_redis() {
    let err = load(&[("FERRID_STORE__DURABILITY", "replicated")]).unwrap_err();
    assert_eq!(err.key, "store.durability");
    let err = load(&[
        ("FERRID_STORE", "redis://127.0.0.1:6379/0"),
        ("FERRID_SECRETS__SYSTEM", "0123456789abcdef0123456789abcdef"),
        ("FERRID_STORE__DURABILITY", "always"),
    ])
    .unwrap_err();
    assert_eq!(err.key, "store.durability");
    // WAIT confirms one node's writes: not a cluster's. A sentinel-found master has replicas.
    let err = load(&[
        (
            "FERRID_STORE",
            "redis+cluster://127.0.0.1:7000,127.0.0.1:7001/",
        ),
        ("FERRID_SECRETS__SYSTEM", "0123456789abcdef0123456789abcdef"),
        ("FERRID_STORE__DURABILITY", "replicated"),
    ])
    .unwrap_err();
    assert_eq!(err.key, "store.durability");
    assert!(err.message.contains("Cluster"), "{}", err.message);
    let settings = load(&[
        ("FERRID_STORE", "redis+sentinel://127.0.0.1:26379/main"),
        ("FERRID_SECRETS__SYSTEM", "0123456789abcdef0123456789abcdef"),
        ("FERRID_STORE__DURABILITY", "replicated"),
    ])
    .unwrap();
    assert_eq!(settings.durability().unwrap(), Durability::Replicated);
}

#[test]
fn the_store_url_and_its_durability_come_from_env_together() {
    let settings = load(&[
        ("FERRID_STORE__DURABILITY", "replicated"),
        ("FERRID_STORE", "redis://127.0.0.1:6379/0"),
        ("FERRID_STORE__REPLICA_TIMEOUT_MS", "100"),
        ("FERRID_SECRETS__SYSTEM", "0123456789abcdef0123456789abcdef"),
    ])
    .unwrap();
    assert_eq!(settings.store, "redis://127.0.0.1:6379/0");
    assert_eq!(settings.durability().unwrap(), Durability::Replicated);
    assert_eq!(settings.store_options.replica_timeout_ms, 100);
    let err = load(&[
        ("FERRID_STORE", "redis://127.0.0.1:6379/0"),
        ("FERRID_SECRETS__SYSTEM", "0123456789abcdef0123456789abcdef"),
        ("FERRID_STORE__REPLICA_TIMEOUT_MS", "5000"),
    ])
    .unwrap_err();
    assert_eq!(err.key, "store.replica_timeout_ms");
}

#[test]
fn a_store_table_and_a_store_string_both_load_and_env_adds_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table.toml");
    std::fs::write(
        &table,
        "[store]\nurl = \"redis://127.0.0.1:6379/0\"\ndurability = \"replicated\"\n\n[secrets]\nsystem = \"0123456789abcdef0123456789abcdef\"\n",
    )
    .unwrap();
    let settings = Settings::load_from(Some(&table), env(&[])).unwrap();
    assert_eq!(settings.store, "redis://127.0.0.1:6379/0");
    assert_eq!(settings.durability().unwrap(), Durability::Replicated);

    let string = dir.path().join("string.toml");
    std::fs::write(
        &string,
        "store = \"redis://127.0.0.1:6379/0\"\n\n[secrets]\nsystem = \"0123456789abcdef0123456789abcdef\"\n",
    )
    .unwrap();
    let settings = Settings::load_from(
        Some(&string),
        env(&[("FERRID_STORE__DURABILITY", "replicated")]),
    )
    .unwrap();
    assert_eq!(settings.store, "redis://127.0.0.1:6379/0");
    assert_eq!(settings.durability().unwrap(), Durability::Replicated);
}

#[test]
fn endpoint_audiences_are_off_unless_the_operator_opts_in() {
    assert!(!load(&[]).unwrap().private_key_jwt.accept_endpoint_audience);
    let settings = load(&[("FERRID_PRIVATE_KEY_JWT__ACCEPT_ENDPOINT_AUDIENCE", "true")]).unwrap();
    assert!(settings.private_key_jwt.accept_endpoint_audience);
    let err = load(&[("FERRID_PRIVATE_KEY_JWT__ACCEPT_ENDPOINT_AUDIENCE", "yes")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("FERRID_PRIVATE_KEY_JWT__ACCEPT_ENDPOINT_AUDIENCE"),
        "{err}"
    );
}
