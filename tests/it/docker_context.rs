//! The Docker build without Docker (CI has none): the build stage's `COPY` lines are parsed from
//! the Dockerfile, exactly those paths (less what `.dockerignore` drops from the context) are
//! copied into an empty directory laid out as the stage's `WORKDIR`, and cargo loads the
//! workspace there (`cargo metadata --locked --offline`). Every file compiling ferrid read —
//! from the dep-info cargo wrote for this very build: each source file, each template askama
//! and `include_str!` pulled in — must be in that context. A path the build needs and the
//! Dockerfile does not copy fails here, without compiling anything a second time. So that this
//! cannot pass by checking nothing, the same context without `templates/` (or `benches/`) must
//! fail.
//!
//! Also checked: the runtime stage runs as a non-root user with a health check on `/readyz`,
//! and docker-compose.yml is valid YAML wiring ferrid to a durable, healthy Redis without a
//! secret on its command line or a known password in its mounted config.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One `FROM` section of the Dockerfile: its name and its instructions (keyword, arguments).
struct Stage {
    name: Option<String>,
    instructions: Vec<(String, String)>,
}

impl Stage {
    fn all<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a str> {
        self.instructions
            .iter()
            .filter(move |(k, _)| k == keyword)
            .map(|(_, args)| args.as_str())
    }
}

/// Splits the Dockerfile into stages, joining continued lines and dropping comments.
fn stages(dockerfile: &str) -> Vec<Stage> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let keyword = keyword.to_ascii_uppercase();
        let args = args.trim().to_owned();
        if keyword == "FROM" {
            let words: Vec<&str> = args.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            stages.push(Stage {
                name,
                instructions: Vec::new(),
            });
        } else {
            stages
                .last_mut()
                .expect("an instruction before the first FROM")
                .instructions
                .push((keyword, args));
        }
    }
    stages
}

/// A `COPY`: its flags (`--from=build`), sources and destination.
struct Copy {
    flags: Vec<String>,
    sources: Vec<String>,
    dest: String,
}

fn parse_copy(args: &str) -> Copy {
    let mut words: Vec<String> = if args.starts_with('[') {
        serde_json::from_str(args).expect("COPY in JSON form")
    } else {
        args.split_whitespace().map(str::to_owned).collect()
    };
    let flags: Vec<String> = words
        .iter()
        .take_while(|word| word.starts_with("--"))
        .cloned()
        .collect();
    words.drain(..flags.len());
    let dest = words.pop().expect("COPY has a destination");
    assert!(!words.is_empty(), "COPY {args}: no source");
    Copy {
        flags,
        sources: words,
        dest,
    }
}

/// `.dockerignore` as Docker reads it: patterns relative to the context root (`*` and `?` within
/// one path segment, `**` across any number), `!` re-including; the last pattern that matches a
/// path or any of its parent directories decides.
struct DockerIgnore {
    patterns: Vec<(bool, Vec<String>)>,
}

impl DockerIgnore {
    fn read(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                let (negated, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let segments = pattern
                    .split('/')
                    .filter(|segment| !segment.is_empty() && *segment != ".")
                    .map(str::to_owned)
                    .collect();
                (negated, segments)
            })
            .collect();
        Self { patterns }
    }

    fn ignores(&self, relative: &Path) -> bool {
        let segments: Vec<String> = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect();
        let mut ignored = false;
        for (negated, pattern) in &self.patterns {
            if (1..=segments.len()).any(|end| matches_path(pattern, &segments[..end])) {
                ignored = !negated;
            }
        }
        ignored
    }
}

fn matches_path(pattern: &[String], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| matches_path(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((segment, tail)) => {
                matches_segment(first.as_bytes(), segment.as_bytes()) && matches_path(rest, tail)
            }
            None => false,
        },
    }
}

fn matches_segment(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| matches_segment(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && matches_segment(rest, &name[1..]),
        Some((byte, rest)) => name.first() == Some(byte) && matches_segment(rest, &name[1..]),
    }
}

/// Every file under `path` (itself, if a file), relative to the repository.
fn files_under(path: &Path, found: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for entry in entries {
            files_under(&entry, found);
        }
    } else {
        found.push(path.strip_prefix(repo()).unwrap().to_owned());
    }
}

/// The build stage's context as the image would see it: destination (relative to `WORKDIR`) →
/// source file in the repository.
fn build_context(stage: &Stage) -> BTreeMap<PathBuf, PathBuf> {
    let workdir = stage
        .all("WORKDIR")
        .last()
        .expect("the build stage sets WORKDIR");
    assert!(workdir.starts_with('/'), "WORKDIR {workdir} is absolute");
    let ignore = DockerIgnore::read(&repo().join(".dockerignore"));
    let mut context = BTreeMap::new();
    assert!(
        stage.all("ADD").next().is_none(),
        "the build stage uses COPY only (ADD is not modelled here)"
    );
    for args in stage.all("COPY") {
        let copy = parse_copy(args);
        assert!(
            copy.flags.iter().all(|flag| !flag.starts_with("--from")),
            "COPY {args}: the build stage copies from the repository only"
        );
        let dest = if copy.dest.starts_with('/') {
            PathBuf::from(&copy.dest)
        } else {
            Path::new(workdir).join(&copy.dest)
        };
        let dest = dest
            .strip_prefix(workdir)
            .unwrap_or_else(|_| panic!("COPY {args}: lands outside WORKDIR {workdir}"))
            .to_owned();
        let into_dir = copy.dest.ends_with('/') || copy.sources.len() > 1;
        for source in &copy.sources {
            assert!(
                !source.contains(['*', '?', '[']),
                "COPY {args}: wildcards are not modelled here"
            );
            let source_path = repo().join(source.trim_start_matches("./"));
            assert!(source_path.exists(), "COPY {args}: {source} does not exist");
            let mut files = Vec::new();
            files_under(&source_path, &mut files);
            let source_relative = source_path.strip_prefix(repo()).unwrap().to_owned();
            for file in files {
                if ignore.ignores(&file) {
                    continue;
                }
                let target = if source_path.is_dir() {
                    dest.join(file.strip_prefix(&source_relative).unwrap())
                } else if into_dir {
                    dest.join(file.file_name().unwrap())
                } else {
                    dest.clone()
                };
                context.insert(target, file);
            }
        }
    }
    context
}

/// Copies the context into `dir`.
fn lay_out(context: &BTreeMap<PathBuf, PathBuf>, dir: &Path) {
    for (target, source) in context {
        let target = dir.join(target);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(source), &target).unwrap();
    }
}

/// Every file of the repository that compiling ferrid read, from the dep-info files cargo wrote
/// for this very build (rustc lists each source file, and each template askama and
/// `include_str!` pulled in). Files listed there that no longer exist are stale entries.
fn read_by_the_build() -> BTreeSet<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let deps = target.join("debug").join("deps");
    let mut read = BTreeSet::new();
    for entry in std::fs::read_dir(&deps).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("ferrid-") && name.ends_with(".d")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let Some((_, inputs)) = first.split_once(": ") else {
            continue;
        };
        // Make-style: inputs separated by spaces, a space inside a path escaped as `\ `.
        let inputs = inputs.replace("\\ ", "\u{0}");
        for input in inputs.split_whitespace() {
            let input = PathBuf::from(input.replace('\u{0}', " "));
            let relative = normalise(input.strip_prefix(repo()).unwrap_or(&input));
            // clippy.toml is read by clippy's builds only, never by `cargo build`.
            if relative.is_relative()
                && relative != Path::new("clippy.toml")
                && repo().join(&relative).is_file()
            {
                read.insert(relative);
            }
        }
    }
    read
}

/// `path` without `.` and `..` segments (`src/http/../../templates/x` → `templates/x`).
fn normalise(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

/// The files the build read that `context` lacks.
fn missing_from(context: &BTreeMap<PathBuf, PathBuf>, read: &BTreeSet<PathBuf>) -> Vec<PathBuf> {
    let copied: BTreeSet<&PathBuf> = context.values().collect();
    read.iter()
        .filter(|file| !copied.contains(file))
        .cloned()
        .collect()
}

/// `cargo metadata` in `dir`: the workspace (every member manifest and target) loads from the
/// copy with the lock file as it is.
fn load_workspace(dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--locked",
            "--offline",
            "--format-version",
            "1",
            "--no-deps",
        ])
        .current_dir(dir)
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn dockerfile() -> Vec<Stage> {
    stages(&std::fs::read_to_string(repo().join("Dockerfile")).unwrap())
}

#[test]
fn the_build_stage_copies_everything_the_build_reads() {
    let stages = dockerfile();
    let context = build_context(&stages[0]);
    assert!(context.contains_key(Path::new("Cargo.lock")), "{context:?}");
    let read = read_by_the_build();
    for expected in ["src/lib.rs", "src/main.rs", "templates/login.html"] {
        assert!(
            read.contains(Path::new(expected)),
            "the dep-info of this build lists {expected}: {read:?}"
        );
    }
    let missing = missing_from(&context, &read);
    assert!(
        missing.is_empty(),
        "the Dockerfile's build stage does not copy what compiling ferrid reads: {missing:?}"
    );
    // The check notices a missing path: the same context without templates/ lacks files.
    let without_templates: BTreeMap<_, _> = context
        .iter()
        .filter(|(target, _)| !target.starts_with("templates"))
        .map(|(target, source)| (target.clone(), source.clone()))
        .collect();
    assert!(missing_from(&without_templates, &read)
        .iter()
        .any(|file| file.starts_with("templates")));

    let scratch = tempfile::tempdir().unwrap();
    lay_out(&context, scratch.path());
    if let Err(output) = load_workspace(scratch.path()) {
        panic!("the workspace does not load from the Dockerfile's build context:\n{output}");
    }
    // And it notices a missing manifest target: without benches/ the workspace does not load.
    let without_benches: BTreeMap<_, _> = context
        .iter()
        .filter(|(target, _)| !target.starts_with("benches"))
        .map(|(target, source)| (target.clone(), source.clone()))
        .collect();
    let incomplete = tempfile::tempdir().unwrap();
    lay_out(&without_benches, incomplete.path());
    assert!(load_workspace(incomplete.path()).is_err());
}

#[test]
fn the_image_runs_ferrid_as_a_non_root_user_with_a_health_check() {
    let stages = dockerfile();
    assert!(stages.len() >= 2, "a multi-stage build");
    let build_stage = &stages[0];
    let runtime = stages.last().unwrap();
    assert!(
        build_stage
            .all("RUN")
            .any(|run| run.contains("cargo build --release --locked --bin ferrid")),
        "the build stage builds the ferrid binary only, from the lock file"
    );
    let workdir = build_stage.all("WORKDIR").last().unwrap();
    let name = build_stage
        .name
        .as_deref()
        .expect("the build stage is named");
    let binary = runtime
        .all("COPY")
        .map(parse_copy)
        .find(|copy| copy.flags.contains(&format!("--from={name}")))
        .expect("the runtime stage copies the binary from the build stage");
    assert_eq!(
        binary.sources,
        vec![format!("{workdir}/target/release/ferrid")]
    );
    let user = runtime
        .all("USER")
        .last()
        .expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap();
    assert!(!matches!(uid, "root" | "0"), "USER {user}");
    let health = runtime.all("HEALTHCHECK").last().expect("a HEALTHCHECK");
    assert!(health.contains("\"ferrid\", \"healthcheck\""), "{health}");
    let entrypoint = runtime.all("ENTRYPOINT").last().unwrap();
    assert_eq!(entrypoint, r#"["ferrid"]"#);
}

#[test]
fn dockerignore_keeps_secrets_and_build_output_out_of_the_context() {
    let ignore = DockerIgnore::read(&repo().join(".dockerignore"));
    for ignored in [
        "target/debug/ferrid",
        "benches/target/x",
        ".git/HEAD",
        "keys/abc.pem",
        "keys/README.md",
        "compose/secrets/system_secret",
        "some/dir/server.key",
    ] {
        assert!(ignore.ignores(Path::new(ignored)), "{ignored}");
    }
    for kept in [
        "Cargo.toml",
        "src/main.rs",
        "templates/login.html",
        "benches/Cargo.toml",
        "benches/benches/signing.rs",
    ] {
        assert!(!ignore.ignores(Path::new(kept)), "{kept}");
    }
}

#[test]
fn compose_runs_ferrid_on_a_durable_healthy_redis() {
    let text = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
    let compose: Value = serde_yaml::from_str(&text).unwrap();
    let services = &compose["services"];
    let redis = &services["redis"];
    let ferrid = &services["ferrid"];

    let command: Vec<&str> = redis["command"]
        .as_sequence()
        .expect("redis command as a list")
        .iter()
        .map(|word| word.as_str().unwrap())
        .collect();
    let flag = |name: &str| {
        command
            .iter()
            .position(|word| *word == name)
            .map(|at| command[at + 1])
    };
    assert_eq!(flag("--appendonly"), Some("yes"), "{command:?}");
    assert!(
        matches!(flag("--appendfsync"), Some("everysec" | "always")),
        "{command:?}"
    );
    let probe = serde_yaml::to_string(&redis["healthcheck"]["test"]).unwrap();
    assert!(
        probe.contains("redis-cli") && probe.contains("ping"),
        "{probe}"
    );
    assert_eq!(
        ferrid["depends_on"]["redis"]["condition"].as_str(),
        Some("service_healthy")
    );
    assert_eq!(ferrid["build"].as_str(), Some("."));

    // The system secret is a Compose secret, never in the environment or on a command line.
    let whole_ferrid = serde_yaml::to_string(ferrid).unwrap();
    assert!(
        !whole_ferrid.contains("FERRID_SECRETS__SYSTEM"),
        "{whole_ferrid}"
    );
    let secret_name = ferrid["secrets"][0].as_str().expect("ferrid uses a secret");
    assert!(compose["secrets"][secret_name]["file"].is_string());

    // The mounted config is valid and ships no user and no plain client secret.
    let config_path = ferrid["environment"]["FERRID_CONFIG"].as_str().unwrap();
    let mount = ferrid["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find_map(|volume| {
            let mut parts = volume.split(':');
            let host = parts.next()?;
            (parts.next()? == config_path).then(|| host.to_owned())
        })
        .expect("the config file is mounted");
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("system_secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
    let settings = ferrid::config::Settings::load_from(
        Some(&repo().join(&mount)),
        [(
            "FERRID_SECRETS__SYSTEM_FILE".to_owned(),
            secret.display().to_string(),
        )],
    )
    .unwrap();
    assert!(settings.users.is_empty(), "no known passwords");
    assert!(settings
        .clients
        .iter()
        .all(|client| client.secret.is_none()));
    assert!(matches!(
        settings.store_kind().unwrap(),
        ferrid::config::StoreKind::Redis(_)
    ));
    let in_file = std::fs::read_to_string(repo().join(&mount)).unwrap();
    let file_secret = in_file
        .lines()
        .find_map(|line| line.trim().strip_prefix("system_file = "))
        .expect("the config reads the system secret from a file");
    assert_eq!(
        file_secret.trim_matches('"'),
        format!("/run/secrets/{secret_name}")
    );
}
