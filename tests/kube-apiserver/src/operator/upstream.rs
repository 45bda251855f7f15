//! The source of a streaming standby and whether the standby can bootstrap from it
//! (`standby.rs` plays the rest): resolving `spec.standby.host` to a cluster, what the
//! operator knows of that cluster ([`Source`]), the TLS Secrets both clusters name, and the
//! pure [`check`] whose [`Blocker`] text is what Patroni or PGO would log. The only I/O is
//! [`fetch`], which reads the Secrets.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use serde_json::Value;
use tokio::time::Instant;

use super::children::Cluster;
use super::clusterset::CLUSTERSET_DOMAIN;
use super::sim::{ClusterSim, Tick};
use super::standby::StandbySpec;

/// (namespace, name) of a cluster.
pub(crate) type Key = (String, String);

/// The keys a TLS Secret must hold (PGO's projection of `customTLSSecret`).
const TLS_KEYS: [&str; 3] = ["tls.crt", "tls.key", "ca.crt"];

/// The cluster whose primary Service `host` names, seen from `namespace` (in this API server,
/// or exported to the clusterset: `.svc.clusterset.local`).
pub(crate) fn source_of(host: &str, namespace: &str) -> Option<Key> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host
        .strip_suffix(".svc.cluster.local")
        .or_else(|| host.strip_suffix(&format!(".{CLUSTERSET_DOMAIN}")))
        .or_else(|| host.strip_suffix(".svc"))
        .unwrap_or(&host);
    let (service, ns) = match host.split_once('.') {
        Some((s, ns)) if !ns.contains('.') && !ns.is_empty() => (s, ns),
        Some(_) => return None,
        None => (host, namespace),
    };
    let name = service.strip_suffix("-primary").filter(|n| !n.is_empty())?;
    Some((ns.to_string(), name.to_string()))
}

/// Whether the standby names its source through the clusterset (another API server's).
pub(crate) fn across_clusters(spec: &StandbySpec) -> bool {
    spec.host.as_deref().is_some_and(|h| {
        h.trim_end_matches('.')
            .to_ascii_lowercase()
            .ends_with(&format!(".{CLUSTERSET_DOMAIN}"))
    })
}

/// `(customTLSSecret, customReplicationTLSSecret)` names of a cluster.
fn tls_names(c: &Cluster<'_>) -> [Option<String>; 2] {
    ["customTLSSecret", "customReplicationTLSSecret"].map(|field| {
        c.spec
            .pointer(&format!("/{field}/name"))
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(String::from)
    })
}

/// What the standby needs to know of its source, from the operator's own view of it.
#[derive(Clone, Debug)]
pub(crate) struct Source {
    pub key: Key,
    pub shutdown: bool,
    pub port: i64,
    pub major: Option<i64>,
    pub leader_ready: bool,
    pub system_identifier: Option<String>,
    pub timeline: u32,
    tls: [Option<String>; 2],
}

impl Source {
    pub fn of(c: &Cluster<'_>, sim: Option<&ClusterSim>) -> Self {
        Self {
            key: (c.namespace.to_string(), c.name.to_string()),
            shutdown: c.shutdown(),
            port: c.port(),
            major: sim.and_then(|s| s.data_version),
            leader_ready: sim.is_some_and(|s| s.leader_ready),
            system_identifier: sim.and_then(|s| s.system_identifier.clone()),
            timeline: sim.map_or(1, |s| s.timeline),
            tls: tls_names(c),
        }
    }
}

/// Why a standby does not bootstrap (what PGO or Patroni would log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Blocker {
    /// No `host`: a repository standby, not simulated.
    NoHost,
    UnknownHost(String),
    SourceNotFound(Key),
    SourceShutDown(Key),
    SourceNotReady(Key),
    WrongPort {
        host: String,
        port: i64,
    },
    OtherMajor {
        source: i64,
    },
    TlsNotSet {
        cluster: String,
        field: &'static str,
    },
    SecretNotFound(Key),
    SecretKeyMissing {
        secret: Key,
        key: &'static str,
    },
    CaMismatch,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoHost => f.write_str(
                "standby without host: following a pgBackRest repository is not simulated",
            ),
            Self::UnknownHost(h) => write!(
                f,
                "pg_basebackup: error: could not translate host name \"{h}\" to address"
            ),
            Self::SourceNotFound((ns, n)) => write!(
                f,
                "pg_basebackup: error: could not translate host name \"{n}-primary.{ns}.svc\" to address"
            ),
            Self::SourceShutDown((ns, n)) | Self::SourceNotReady((ns, n)) => write!(
                f,
                "pg_basebackup: error: connection to server at \"{n}-primary.{ns}.svc\" failed: Connection refused"
            ),
            Self::WrongPort { host, port } => write!(
                f,
                "pg_basebackup: error: connection to server at \"{host}\", port {port} failed: Connection refused"
            ),
            Self::OtherMajor { source } => write!(
                f,
                "pg_basebackup: error: incompatible server version {source}"
            ),
            Self::TlsNotSet { cluster, field } => write!(
                f,
                "{cluster}: spec.{field} is required for a streaming standby"
            ),
            Self::SecretNotFound((ns, n)) => write!(f, "secret \"{n}\" not found in \"{ns}\""),
            Self::SecretKeyMissing { secret, key } => {
                write!(f, "secret \"{}\" has no key \"{key}\"", secret.1)
            }
            Self::CaMismatch => f.write_str(
                "pg_basebackup: error: connection to server failed: SSL error: certificate verify failed",
            ),
        }
    }
}

/// The source a standby follows after its bootstrap (its system identifier and timeline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Upstream {
    pub key: Key,
    pub system_identifier: String,
    pub timeline: u32,
}

/// Secret data by (namespace, name); `None` when the Secret does not exist.
pub(crate) type Secrets = BTreeMap<Key, Option<BTreeMap<String, Vec<u8>>>>;

/// Resolves the source a standby names: the key, or why there is none to connect to.
pub(crate) fn resolve(c: &Cluster<'_>, spec: &StandbySpec) -> Result<Key, Blocker> {
    let host = spec.host.as_deref().ok_or(Blocker::NoHost)?;
    source_of(host, c.namespace).ok_or_else(|| Blocker::UnknownHost(host.to_string()))
}

/// The Secrets [`check`] reads: both clusters' TLS Secrets, each in its cluster's namespace.
pub(crate) fn secrets_needed(c: &Cluster<'_>, source: Option<&Source>) -> Vec<Key> {
    let (mut out, theirs) = secrets_needed_apart(c, source);
    out.extend(theirs);
    out
}

/// [`secrets_needed`] as (the standby's, the source's): they may live in different API servers.
fn secrets_needed_apart(c: &Cluster<'_>, source: Option<&Source>) -> (Vec<Key>, Vec<Key>) {
    let mine = tls_names(c)
        .into_iter()
        .flatten()
        .map(|n| (c.namespace.to_string(), n))
        .collect();
    let theirs = source.map_or_else(Vec::new, |s| {
        s.tls
            .iter()
            .flatten()
            .map(|n| (s.key.0.clone(), n.clone()))
            .collect()
    });
    (mine, theirs)
}

/// Whether the standby `c` can bootstrap from `source` now.
pub(crate) fn check(
    c: &Cluster<'_>,
    spec: &StandbySpec,
    image_major: Option<i64>,
    source: Option<&Source>,
    secrets: &Secrets,
) -> Result<Upstream, Blocker> {
    let key = resolve(c, spec)?;
    let source = source.ok_or_else(|| Blocker::SourceNotFound(key.clone()))?;
    if source.shutdown {
        return Err(Blocker::SourceShutDown(key));
    }
    let system_identifier = source
        .system_identifier
        .clone()
        .filter(|_| source.leader_ready)
        .ok_or_else(|| Blocker::SourceNotReady(key.clone()))?;
    if spec.port != source.port {
        return Err(Blocker::WrongPort {
            host: spec.host.clone().unwrap_or_default(),
            port: spec.port,
        });
    }
    if let (Some(mine), Some(theirs)) = (image_major, source.major)
        && mine != theirs
    {
        return Err(Blocker::OtherMajor { source: theirs });
    }
    let fields = ["customTLSSecret", "customReplicationTLSSecret"];
    for (cluster, names) in [(c.name, tls_names(c)), (key.1.as_str(), source.tls.clone())] {
        if let Some(i) = names.iter().position(Option::is_none) {
            return Err(Blocker::TlsNotSet {
                cluster: cluster.to_string(),
                field: fields[i],
            });
        }
    }
    let mut cas = Vec::new();
    for secret in secrets_needed(c, Some(source)) {
        let data = secrets
            .get(&secret)
            .cloned()
            .flatten()
            .ok_or_else(|| Blocker::SecretNotFound(secret.clone()))?;
        for k in TLS_KEYS {
            if data.get(k).is_none_or(Vec::is_empty) {
                return Err(Blocker::SecretKeyMissing {
                    secret: secret.clone(),
                    key: k,
                });
            }
        }
        cas.push(data["ca.crt"].clone());
    }
    if cas.windows(2).any(|w| w[0] != w[1]) {
        return Err(Blocker::CaMismatch);
    }
    Ok(Upstream {
        key,
        system_identifier,
        timeline: source.timeline,
    })
}

/// After bootstrap: the source is followed while it exists with the standby's system
/// identifier (a cluster recreated under the same name is another system).
pub(crate) fn following(source: Option<&Source>, system_identifier: &str) -> Option<Upstream> {
    let s = source?;
    (s.system_identifier.as_deref() == Some(system_identifier)).then(|| Upstream {
        key: s.key.clone(),
        system_identifier: system_identifier.to_string(),
        timeline: s.timeline,
    })
}

/// How often a standby waiting for its bootstrap reads the TLS Secrets again (Patroni retries
/// on its loop; this keeps a waiting standby from flooding the request log).
const SECRETS_RECHECK: Duration = Duration::from_millis(100);

/// The Secrets a waiting standby last read, and when.
pub(crate) type SecretsCache = Option<(Instant, Secrets)>;

/// What a standby in standby mode sees of its source this reconcile: before its bootstrap
/// ([`check`], reading the Secrets at most every [`SECRETS_RECHECK`], the source's through
/// `source_client`, its API server), after it whether the source still runs the standby's
/// system (`bootstrapped_as`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn observe(
    client: &kube::Client,
    source_client: &kube::Client,
    c: &Cluster<'_>,
    spec: &StandbySpec,
    source: Option<&Source>,
    bootstrapped_as: Option<&str>,
    cache: &mut SecretsCache,
    now: Instant,
) -> kube::Result<Result<Upstream, Blocker>> {
    let key = match resolve(c, spec) {
        Ok(key) => key,
        Err(blocker) => return Ok(Err(blocker)),
    };
    if let Some(system) = bootstrapped_as {
        return Ok(following(source, system).ok_or(Blocker::SourceNotFound(key)));
    }
    let needed = secrets_needed(c, source);
    let fresh = cache.as_ref().is_some_and(|(at, s)| {
        now < *at + SECRETS_RECHECK && needed.iter().all(|k| s.contains_key(k))
    });
    if !fresh {
        let (mine, theirs) = secrets_needed_apart(c, source);
        let mut secrets = fetch(client, mine).await?;
        secrets.extend(fetch(source_client, theirs).await?);
        *cache = Some((now, secrets));
    }
    let secrets = cache.as_ref().map(|(_, s)| s).cloned().unwrap_or_default();
    Ok(check(c, spec, Tick::image_version_of(c), source, &secrets))
}

/// Reads the Secrets (a missing one is `None`).
async fn fetch(client: &kube::Client, keys: Vec<Key>) -> kube::Result<Secrets> {
    let mut out = Secrets::new();
    for key in keys {
        let api: Api<Secret> = Api::namespaced(client.clone(), &key.0);
        let data = api.get_opt(&key.1).await?.map(|s| {
            s.data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect()
        });
        out.insert(key, data);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(ns: &str, n: &str) -> Option<Key> {
        Some((ns.into(), n.into()))
    }

    #[test]
    fn the_host_names_the_source_cluster() {
        assert_eq!(source_of("orders-primary.ns.svc", "x"), key("ns", "orders"));
        assert_eq!(
            source_of("orders-primary.ns.svc.cluster.local.", "x"),
            key("ns", "orders")
        );
        assert_eq!(source_of("orders-primary.ns", "x"), key("ns", "orders"));
        assert_eq!(source_of("orders-primary", "x"), key("x", "orders"));
        assert_eq!(
            source_of("orders-primary.ns.svc.clusterset.local", "x"),
            key("ns", "orders")
        );
        assert_eq!(source_of("orders-replicas.ns.svc", "x"), None);
        assert_eq!(source_of("db.example.com", "x"), None);
        assert_eq!(source_of("-primary", "x"), None);
    }

    fn tls(ca: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        Some(
            TLS_KEYS
                .iter()
                .map(|k| (k.to_string(), if *k == "ca.crt" { ca } else { "x" }.into()))
                .collect(),
        )
    }

    #[test]
    fn a_standby_bootstraps_only_with_a_ready_source_and_one_ca() {
        let object = json!({
            "metadata": { "name": "dr", "namespace": "b", "uid": "u" },
            "spec": {
                "customTLSSecret": { "name": "dr-tls" },
                "customReplicationTLSSecret": { "name": "dr-repl" },
                "standby": { "host": "orders-primary.a.svc" },
            },
        });
        let c = Cluster::of(&object).unwrap();
        let spec = super::super::standby::spec(&c).unwrap();
        let mut source = Source {
            key: ("a".into(), "orders".into()),
            shutdown: false,
            port: 5432,
            major: Some(17),
            leader_ready: true,
            system_identifier: Some("7123".into()),
            timeline: 3,
            tls: [Some("o-tls".into()), Some("o-repl".into())],
        };
        let mut secrets: Secrets = [("b", "dr-tls"), ("b", "dr-repl"), ("a", "o-tls")]
            .into_iter()
            .map(|(ns, n)| ((ns.to_string(), n.to_string()), tls("CA")))
            .collect();
        let check_now =
            |source: &Source, secrets: &Secrets| check(&c, &spec, Some(17), Some(source), secrets);
        assert_eq!(
            check_now(&source, &secrets),
            Err(Blocker::SecretNotFound(("a".into(), "o-repl".into())))
        );
        secrets.insert(("a".into(), "o-repl".into()), tls("other CA"));
        assert_eq!(check_now(&source, &secrets), Err(Blocker::CaMismatch));
        secrets.insert(("a".into(), "o-repl".into()), tls("CA"));
        let up = check_now(&source, &secrets).expect("bootstraps");
        assert_eq!((up.system_identifier.as_str(), up.timeline), ("7123", 3));

        source.leader_ready = false;
        assert!(matches!(
            check_now(&source, &secrets),
            Err(Blocker::SourceNotReady(_))
        ));
        source.leader_ready = true;
        source.tls[1] = None;
        assert!(matches!(
            check_now(&source, &secrets),
            Err(Blocker::TlsNotSet {
                field: "customReplicationTLSSecret",
                ..
            })
        ));
        assert!(matches!(
            check(&c, &spec, Some(17), None, &secrets),
            Err(Blocker::SourceNotFound(_))
        ));
    }
}
