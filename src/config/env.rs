//! The environment as a figment provider: `FERRID_SECTION__KEY=value` becomes the nested key
//! `section.key` with a string value, whatever it looks like. figment's own `Env` guesses types
//! (`0123` becomes a number, `true` a boolean), which breaks string secrets; typed settings parse
//! their strings themselves (`number`).

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::{CONFIG_ENV, ENV_PREFIX};

/// `FERRID_SECTION__KEY=value` as nested string values.
pub(super) struct StringEnv {
    vars: Vec<(String, String)>,
}

impl StringEnv {
    pub(super) fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX) && name != CONFIG_ENV)
            .collect();
        Self { vars }
    }
}

impl Provider for StringEnv {
    fn metadata(&self) -> Metadata {
        Metadata::named("FERRID_* environment variable")
            .interpolater(|_, keys| format!("{ENV_PREFIX}{}", keys.join("__").to_uppercase()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut root = Dict::new();
        for (name, value) in &self.vars {
            let mut path: Vec<String> = name[ENV_PREFIX.len()..]
                .split("__")
                .map(str::to_lowercase)
                .collect();
            // `FERRID_STORE` is the `[store]` table's `url`, so that `FERRID_STORE__DURABILITY`
            // can sit beside it (`config::store` splits the table again).
            if path == ["store"] {
                path.push("url".into());
            }
            insert(&mut root, &path, Value::from(value.clone()));
        }
        Ok(Profile::Default.collect(root))
    }
}

fn insert(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}
