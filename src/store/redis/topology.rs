//! The shapes of Redis deployment a `store` URL names: one server (`redis://`, `rediss://`,
//! `redis+unix://`, as the redis crate reads them), a Redis Cluster reached through seed nodes
//! (`redis+cluster://host:port,host:port/`, `rediss+cluster://` over TLS), or a master found
//! through Redis Sentinel (`redis+sentinel://host:port,host:port/<master-name>[/<db>]`).
//!
//! Credentials in a cluster URL (`redis+cluster://user:password@host:port,…`) apply to every
//! node; in a sentinel URL to the master (and the replicas it fails over to), while the sentinels
//! themselves are reached without (`requirepass` on sentinels is not supported).

/// Where the store's Redis is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// One server, by its redis crate URL.
    Single(String),
    /// Redis Cluster: the seed nodes as `redis://` (or `rediss://`) URLs; the client discovers
    /// the rest of the cluster from them.
    Cluster { nodes: Vec<String>, tls: bool },
    /// A master monitored by Redis Sentinel.
    Sentinel(SentinelTopology),
}

/// A sentinel-monitored master.
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelTopology {
    /// The sentinels, as `redis://host:port` URLs.
    pub sentinels: Vec<String>,
    /// The master's name in the sentinels' configuration (`sentinel monitor <name> …`).
    pub master_name: String,
    /// The database on the master.
    pub db: i64,
    /// Username for the master, if any.
    pub username: Option<String>,
    /// Password for the master, if any.
    pub password: Option<String>,
}

// The password stays out of logs and error messages.
impl std::fmt::Debug for SentinelTopology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelTopology")
            .field("sentinels", &self.sentinels)
            .field("master_name", &self.master_name)
            .field("db", &self.db)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

const CLUSTER: &str = "redis+cluster://";
const CLUSTER_TLS: &str = "rediss+cluster://";
const SENTINEL: &str = "redis+sentinel://";

impl Topology {
    /// Reads a store URL; the error says what is wrong without repeating a password.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix(CLUSTER) {
            return parse_cluster(rest, false);
        }
        if let Some(rest) = url.strip_prefix(CLUSTER_TLS) {
            return parse_cluster(rest, true);
        }
        if let Some(rest) = url.strip_prefix(SENTINEL) {
            return parse_sentinel(rest).map(Self::Sentinel);
        }
        redis::Client::open(url).map_err(|err| err.to_string())?;
        Ok(Self::Single(url.to_owned()))
    }

    /// Whether `url` names a cluster or sentinel deployment (its scheme), valid or not.
    pub fn is_distributed(url: &str) -> bool {
        let url = url.trim();
        [CLUSTER, CLUSTER_TLS, SENTINEL]
            .iter()
            .any(|scheme| url.starts_with(scheme))
    }
}

/// `[userinfo@]host:port,host:port[/]`.
fn parse_cluster(rest: &str, tls: bool) -> Result<Topology, String> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if !path.is_empty() {
        return Err(
            "a cluster URL has no path: Redis Cluster has only database 0 and no master name"
                .into(),
        );
    }
    let (userinfo, hosts) = split_userinfo(authority);
    let scheme = if tls { "rediss" } else { "redis" };
    let nodes = hosts
        .split(',')
        .map(|host| node_url(scheme, userinfo, host))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Topology::Cluster { nodes, tls })
}

/// `[userinfo@]host:port,host:port/<master-name>[/<db>]`.
fn parse_sentinel(rest: &str) -> Result<SentinelTopology, String> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut segments = path.split('/');
    let master_name = segments.next().unwrap_or_default().to_owned();
    if master_name.is_empty() {
        return Err("a sentinel URL names the master after the hosts: \
                    redis+sentinel://host:port,host:port/<master-name>"
            .into());
    }
    let db = match segments.next() {
        None | Some("") => 0,
        Some(db) => db
            .parse::<i64>()
            .ok()
            .filter(|db| *db >= 0)
            .ok_or_else(|| format!("`{db}` is not a database number"))?,
    };
    if segments.next().is_some() {
        return Err("a sentinel URL ends with /<master-name>[/<db>]".into());
    }
    let (userinfo, hosts) = split_userinfo(authority);
    let sentinels = hosts
        .split(',')
        .map(|host| node_url("redis", None, host))
        .collect::<Result<Vec<_>, _>>()?;
    let (username, password) = match userinfo {
        Some(userinfo) => {
            // Parsed through `url` so percent-encoding is undone exactly as for `redis://`.
            let parsed = url::Url::parse(&format!("redis://{userinfo}@localhost"))
                .map_err(|_| "the credentials of the sentinel URL cannot be read".to_owned())?;
            let decode = |text: &str| {
                percent_decode(text)
                    .ok_or_else(|| "the credentials of the sentinel URL cannot be read".to_owned())
            };
            let username = Some(decode(parsed.username())?).filter(|name| !name.is_empty());
            let password = parsed.password().map(decode).transpose()?;
            (username, password)
        }
        None => (None, None),
    };
    Ok(SentinelTopology {
        sentinels,
        master_name,
        db,
        username,
        password,
    })
}

fn split_userinfo(authority: &str) -> (Option<&str>, &str) {
    match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    }
}

/// `scheme://[userinfo@]host:port`, checked by the redis crate's own parser.
fn node_url(scheme: &str, userinfo: Option<&str>, host: &str) -> Result<String, String> {
    let host = host.trim();
    if host.is_empty() {
        return Err("an empty host in the host list".into());
    }
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(name, port)| !name.is_empty() && port.parse::<u16>().is_ok());
    if !has_port {
        return Err(format!("`{host}` is not host:port"));
    }
    let url = match userinfo {
        Some(userinfo) => format!("{scheme}://{userinfo}@{host}"),
        None => format!("{scheme}://{host}"),
    };
    redis::Client::open(url.as_str()).map_err(|_| format!("`{host}` is not a valid host:port"))?;
    Ok(url)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_list_seed_nodes() {
        assert_eq!(
            Topology::parse("redis+cluster://10.0.0.1:7000,10.0.0.2:7001/").unwrap(),
            Topology::Cluster {
                nodes: vec![
                    "redis://10.0.0.1:7000".into(),
                    "redis://10.0.0.2:7001".into()
                ],
                tls: false
            }
        );
        assert_eq!(
            Topology::parse("rediss+cluster://:pw@redis.example:6380").unwrap(),
            Topology::Cluster {
                nodes: vec!["rediss://:pw@redis.example:6380".into()],
                tls: true
            }
        );
    }

    #[test]
    fn sentinel_urls_name_the_master() {
        let Topology::Sentinel(sentinel) =
            Topology::parse("redis+sentinel://u:p%40ss@s1:26379,s2:26380/mymaster/2").unwrap()
        else {
            panic!("not a sentinel topology");
        };
        assert_eq!(
            sentinel.sentinels,
            vec!["redis://s1:26379".to_owned(), "redis://s2:26380".to_owned()]
        );
        assert_eq!(sentinel.master_name, "mymaster");
        assert_eq!(sentinel.db, 2);
        assert_eq!(sentinel.username.as_deref(), Some("u"));
        assert_eq!(sentinel.password.as_deref(), Some("p@ss"));
        assert!(!format!("{sentinel:?}").contains("p@ss"));
    }

    #[test]
    fn single_urls_pass_through() {
        assert_eq!(
            Topology::parse("redis://127.0.0.1:6379/0").unwrap(),
            Topology::Single("redis://127.0.0.1:6379/0".into())
        );
    }

    #[test]
    fn malformed_urls_are_refused_with_a_reason() {
        for url in [
            "redis+cluster://",
            "redis+cluster://host",
            "redis+cluster://a:1,,b:2",
            "redis+cluster://a:1/0",
            "redis+cluster://a:99999",
            "redis+sentinel://s1:26379",
            "redis+sentinel://s1:26379/",
            "redis+sentinel://s1:26379/m/x",
            "redis+sentinel://s1:26379/m/1/2",
        ] {
            assert!(Topology::parse(url).is_err(), "{url}");
        }
        let err = Topology::parse("redis+cluster://:secret@host").unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }
}
