//! Streaming standby clusters and their promotion, as PGO v5.8/v6 configures Patroni's
//! `standby_cluster` from `spec.standby`:
//!
//! - Standby mode is `spec.standby` present with `enabled` not false (the CRD defaults it to
//!   true). A *streaming* standby names its source with `host` (and `port`, default 5432):
//!   `<source>-primary.<ns>.svc`, `.svc.cluster.local`, `<source>-primary.<ns>` or a bare
//!   `<source>-primary` in the standby's namespace. A standby with only `repoName` follows a
//!   pgBackRest repository; PGO's volume repositories are private to their cluster, so the sim
//!   never bootstraps one (shared cloud repositories are not modelled).
//! - Bootstrap (Patroni's `pg_basebackup` from the source as `_crunchyrepl`, authenticated by
//!   certificate with `sslmode=verify-ca`) happens only when: the source PostgresCluster exists,
//!   is not shut down and has a Ready leader; `port` is the source's port; the image's major
//!   is the source data's; both clusters set `customTLSSecret` and `customReplicationTLSSecret`;
//!   those four Secrets exist with `tls.crt`, `tls.key` and `ca.crt`; and all four `ca.crt` are
//!   byte-identical (what "signed by one CA" looks like without parsing certificates; the
//!   client certificate's CN is not checked). Until then the Pods exist, their container runs
//!   (Patroni retries) but they are not Ready and carry no role label; no Event (PGO and
//!   Patroni only log: [`Blocker`]'s text is what they would log, readable through
//!   [`super::SimulatedOperator::standby_waiting_for`]). Every reconcile checks again, so
//!   fixing the cause lets it bootstrap.
//! - Bootstrapped, the standby is a physical copy: `status.patroni.systemIdentifier` and the
//!   timeline are the source's (the timeline follows the source's switchovers while it runs
//!   with that system identifier); the leader is labelled role `master` (Patroni's
//!   `standby_leader_label_value`) with role `standby_leader` in its `status` annotation. Every
//!   instance is in recovery: `pg_is_in_recovery()` is `t`, writes are refused, the databases
//!   and extensions are the source's (see `recovery.rs`); PGO reconciles no users or databases
//!   into it (`usersRevision`/`databaseRevision` stay as they were) and creates no stanza and
//!   no backups (every instance is in recovery). Losing the source afterwards (deleted, shut
//!   down) does not make it unready: it keeps serving what it last replayed.
//! - Promotion: once a bootstrapped standby leaves standby mode (`enabled: false` or
//!   `spec.standby` removed), the leader promotes after [`Scenario::promotion_duration`](super::Scenario::promotion_duration)
//!   (never with [`Scenario::promotion_stalls`](super::Scenario::promotion_stalls)): out of recovery, a new timeline (+1), the
//!   same system identifier, the catalog it had replayed becomes its own, and PGO reconciles
//!   users again (and backups, once `spec.backups` is added). Back in standby mode before the
//!   promotion finished, it keeps following.
//! - Leaving standby mode before bootstrapping makes Patroni `initdb` a brand-new cluster (a
//!   new system identifier, an empty catalog): what a promotion without data looks like.
//!
//! Not modelled: a promoted cluster put back in standby mode stays a primary (Patroni would
//! demote it and need `pg_rewind`); TLS changes after bootstrap; replication lag figures.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use serde_json::Value;

use super::children::Cluster;
use super::sim::{ClusterSim, Tick};

/// (namespace, name) of a cluster.
pub(crate) type Key = (String, String);

/// The keys a TLS Secret must hold (PGO's projection of `customTLSSecret`).
const TLS_KEYS: [&str; 3] = ["tls.crt", "tls.key", "ca.crt"];

/// `spec.standby` of a cluster in standby mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StandbySpec {
    pub host: Option<String>,
    pub port: i64,
}

/// `spec.standby` when the cluster is in standby mode (present, `enabled` not false).
pub(crate) fn spec(c: &Cluster<'_>) -> Option<StandbySpec> {
    let standby = c.spec.get("standby").filter(|s| s.is_object())?;
    if standby.get("enabled").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    Some(StandbySpec {
        host: standby
            .get("host")
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())
            .map(String::from),
        port: standby.get("port").and_then(Value::as_i64).unwrap_or(5432),
    })
}

/// The cluster whose primary Service `host` names, seen from `namespace`.
pub(crate) fn source_of(host: &str, namespace: &str) -> Option<Key> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host
        .strip_suffix(".svc.cluster.local")
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
    let mut out: Vec<Key> = tls_names(c)
        .into_iter()
        .flatten()
        .map(|n| (c.namespace.to_string(), n))
        .collect();
    if let Some(s) = source {
        out.extend(s.tls.iter().flatten().map(|n| (s.key.0.clone(), n.clone())));
    }
    out
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

/// Reads the Secrets (a missing one is `None`).
pub(crate) async fn fetch(client: &kube::Client, keys: Vec<Key>) -> kube::Result<Secrets> {
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

/// The standby side of a cluster's life.
#[derive(Debug, Default)]
pub(crate) struct Standby {
    /// What this reconcile found (`None` out of standby mode): set before each tick.
    pub upstream: Option<Result<Upstream, Blocker>>,
    /// PostgreSQL is in recovery as a standby (bootstrapped, not promoted).
    pub in_recovery: bool,
    /// The source being followed (while in recovery and the source is there).
    pub following: Option<Key>,
    promoting_since: Option<tokio::time::Instant>,
}

impl Standby {
    /// Why the standby has not bootstrapped, if it is waiting.
    pub fn waiting_for(&self, bootstrapped: bool) -> Option<String> {
        match &self.upstream {
            Some(Err(b)) if !bootstrapped => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Bootstraps a standby from its source when the check passed; `false` when it cannot yet.
pub(crate) fn bootstrap(sim: &mut ClusterSim, t: &Tick<'_>) -> bool {
    let Some(Ok(up)) = sim.standby.upstream.clone() else {
        return false;
    };
    sim.bootstrapped = true;
    sim.upgraded = false;
    sim.data_version = t.image_version();
    sim.system_identifier = Some(up.system_identifier);
    sim.timeline = up.timeline;
    sim.started_at = Some(t.now);
    sim.standby.in_recovery = true;
    sim.standby.following = Some(up.key);
    true
}

/// Follows the source's timeline, or promotes once standby mode is left (PostgreSQL runs).
pub(crate) fn reconcile(sim: &mut ClusterSim, t: &Tick<'_>) {
    let scenario = t.scenario;
    if !sim.standby.in_recovery {
        return;
    }
    if spec(t.c).is_some() {
        sim.standby.promoting_since = None;
        match &sim.standby.upstream {
            Some(Ok(up)) => {
                sim.timeline = sim.timeline.max(up.timeline);
                sim.standby.following = Some(up.key.clone());
            }
            _ => sim.standby.following = None,
        }
        return;
    }
    let since = *sim.standby.promoting_since.get_or_insert(t.now);
    if scenario.promotion_stalls || t.now < since + scenario.promotion_duration {
        return;
    }
    sim.standby = Standby::default();
    sim.timeline += 1;
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
        assert_eq!(source_of("orders-replicas.ns.svc", "x"), None);
        assert_eq!(source_of("db.example.com", "x"), None);
        assert_eq!(source_of("-primary", "x"), None);
    }

    #[test]
    fn standby_mode_is_spec_standby_not_disabled() {
        let object = |standby: Value| {
            json!({ "metadata": { "name": "dr", "namespace": "ns", "uid": "u" },
                    "spec": { "standby": standby } })
        };
        let on = object(json!({ "host": "a-primary" }));
        let s = spec(&Cluster::of(&on).unwrap()).unwrap();
        assert_eq!((s.host.as_deref(), s.port), (Some("a-primary"), 5432));
        let off = object(json!({ "enabled": false, "host": "a-primary" }));
        assert_eq!(spec(&Cluster::of(&off).unwrap()), None);
        let repo = object(json!({ "repoName": "repo1" }));
        let c = Cluster::of(&repo).unwrap();
        assert_eq!(resolve(&c, &spec(&c).unwrap()), Err(Blocker::NoHost));
    }
}
