//! The insights collector: every process that runs job workers also claims clusters due for a
//! snapshot (`store::insights::claim_due`, a few at a time), connects to each one's primary as
//! pgplane's monitoring role over TLS verified with the cluster's CA, reads a snapshot
//! ([`collect`]) within a time budget, and stores it, or the reason it failed. A cluster that is
//! suspended, unreachable or slow fails its own snapshot and nothing else.
//!
//! What the snapshots mean is in `domain::insights`; `service::insights` answers the API.

pub mod collect;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::domain::cluster::naming::INSIGHTS_ROLE;
use crate::domain::cluster::{ClusterSpec, ConnectionFacts};
use crate::domain::insights::Snapshot;
use crate::secrets::Keyring;
use crate::store;

/// How the collector runs (`PGPLANE_INSIGHTS_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InsightsSettings {
    /// How often each cluster gets a snapshot.
    pub every: Duration,
    /// Clusters collected at once by one process.
    pub concurrency: usize,
    /// The most one cluster's snapshot may take.
    pub budget: Duration,
    /// How long every snapshot is kept, and how long the first of each hour.
    pub keep_all: Duration,
    pub keep_hourly: Duration,
    /// How long an index must go unused before it counts as a finding.
    pub unused_index_after: Duration,
}

impl Default for InsightsSettings {
    fn default() -> Self {
        InsightsSettings {
            every: Duration::from_secs(900),
            concurrency: 4,
            budget: Duration::from_secs(30),
            keep_all: Duration::from_secs(7 * 24 * 3600),
            keep_hourly: Duration::from_secs(30 * 24 * 3600),
            unused_index_after: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// How long one statement of a collection may run.
const STATEMENT_TIMEOUT: &str = "5s";
/// Tenant databases visited per snapshot, at most.
const DATABASES_VISITED: usize = 20;
/// How long the collector rests when nothing was due: a quarter of the interval, within a
/// second and a minute (each look is one indexed query).
fn rest(every: Duration) -> Duration {
    (every / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Where and as whom the collector connects.
#[derive(Clone)]
pub struct Access {
    pub host: String,
    pub port: u16,
    pub password: String,
    pub ca_certificate: String,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} as {INSIGHTS_ROLE}", self.host, self.port)
    }
}

async fn connect(access: &Access, database: &str) -> sqlx::Result<PgConnection> {
    let url = format!("postgres://{}:{}", access.host, access.port);
    PgConnectOptions::from_str(&url)?
        .username(INSIGHTS_ROLE)
        .password(&access.password)
        .database(database)
        .ssl_mode(PgSslMode::VerifyFull)
        .ssl_root_cert_from_pem(access.ca_certificate.as_bytes().to_vec())
        .application_name("pgplane-insights")
        .options([("statement_timeout", STATEMENT_TIMEOUT)])
        .disable_statement_logging()
        .connect()
        .await
}

/// One snapshot of the cluster behind `access`, its `databases` visited, within `budget`.
pub async fn take(
    access: &Access,
    databases: &[String],
    budget: Duration,
) -> Result<Snapshot, String> {
    let collect = async {
        let mut conn = connect(access, "postgres")
            .await
            .map_err(|e| format!("connecting to {}:{}: {e}", access.host, access.port))?;
        let server = collect::server_part(&mut conn).await;
        collect::close(conn).await;
        let mut snapshot = server.map_err(|e| format!("reading the server's statistics: {e}"))?;
        for database in databases.iter().take(DATABASES_VISITED) {
            let mut conn = connect(access, database)
                .await
                .map_err(|e| format!("connecting to database {database}: {e}"))?;
            let part = collect::database_part(&mut conn).await;
            collect::close(conn).await;
            snapshot
                .databases
                .push(part.map_err(|e| format!("reading database {database}: {e}"))?);
        }
        Ok(snapshot)
    };
    tokio::time::timeout(budget, collect)
        .await
        .unwrap_or_else(|_| Err(format!("took longer than {} s", budget.as_secs())))
}

/// The tenant databases of `spec`: its own, then its users' (each once).
pub fn databases_of(spec: &ClusterSpec) -> Vec<String> {
    let mut out = vec![spec.database.clone()];
    for database in spec.users.iter().flat_map(|u| &u.databases) {
        if !out.contains(database) {
            out.push(database.clone());
        }
    }
    out
}

/// What the collector knows of a claimed cluster, or why it cannot reach it.
fn access_of(due: &store::insights::DueCluster, keyring: &Keyring) -> Result<Access, String> {
    let facts: ConnectionFacts = serde_json::from_value(due.connection.0.clone())
        .map_err(|e| format!("unreadable connection facts: {e}"))?;
    let primary = facts.primary.ok_or("no primary endpoint reported yet")?;
    let ca_certificate = facts
        .ca_certificate
        .ok_or("no CA certificate reported yet")?;
    let context = crate::secrets::role_password_context(due.cluster_id, INSIGHTS_ROLE);
    let password = crate::secrets::open_stored(keyring, due.password.clone(), &context)
        .map_err(|e| format!("the monitoring role's password cannot be opened: {e}"))?;
    Ok(Access {
        host: primary.host,
        port: primary.port,
        password,
        ca_certificate,
    })
}

/// Collects one claimed cluster and stores the outcome.
async fn collect_one(
    db: &PgPool,
    keyring: &Keyring,
    settings: &InsightsSettings,
    due: store::insights::DueCluster,
) {
    let started = Instant::now();
    let taken_at = Utc::now();
    let outcome = match (
        access_of(&due, keyring),
        serde_json::from_value::<ClusterSpec>(due.spec.0.clone()),
    ) {
        (Ok(access), Ok(spec)) => take(&access, &databases_of(&spec), settings.budget).await,
        (Err(why), _) => Err(why),
        (_, Err(e)) => Err(format!("unreadable spec: {e}")),
    };
    let data = outcome
        .as_ref()
        .ok()
        .and_then(|s| serde_json::to_value(s).ok());
    let stored = match (&outcome, &data) {
        (Ok(_), Some(data)) => store::insights::Outcome::Taken(data),
        (Err(why), _) => store::insights::Outcome::Failed(why),
        (Ok(_), None) => store::insights::Outcome::Failed("the snapshot could not be encoded"),
    };
    let result = store::insights::store(
        db,
        due.cluster_id,
        taken_at,
        stored,
        settings.keep_all,
        settings.keep_hourly,
    )
    .await;
    let status = match &outcome {
        Ok(_) => findings_count(db, &due, settings).await,
        Err(why) => Err(why.clone()),
    };
    let recorded = store::insights::record_status(
        db,
        due.cluster_id,
        taken_at,
        status.as_ref().map(|c| *c).map_err(String::as_str),
    )
    .await;
    if let Err(error) = recorded {
        tracing::warn!(cluster_id = %due.cluster_id, %error, "could not record the collection's status");
    }
    match (&outcome, result) {
        (_, Err(error)) => {
            tracing::warn!(cluster_id = %due.cluster_id, %error, "could not store a snapshot");
        }
        (Ok(_), Ok(bytes)) => {
            tracing::debug!(cluster_id = %due.cluster_id, bytes, ms = started.elapsed().as_millis(), "snapshot taken");
        }
        (Err(why), Ok(_)) => tracing::info!(cluster_id = %due.cluster_id, %why, "snapshot failed"),
    }
}

/// The findings of the cluster's last day, by severity (what `/metrics` reports).
async fn findings_count(
    db: &PgPool,
    due: &store::insights::DueCluster,
    settings: &InsightsSettings,
) -> Result<store::insights::FindingCounts, String> {
    let day = Duration::from_secs(86_400);
    let view = crate::service::insights::evaluate(
        db,
        due.cluster_id,
        &due.spec.0,
        day,
        settings.unused_index_after,
        crate::domain::insights::StatementOrder::TotalTime,
    )
    .await
    .map_err(|e| format!("evaluating the findings: {}", e.detail_text()))?;
    let count = |severity| {
        let n = view
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count();
        i32::try_from(n).unwrap_or(i32::MAX)
    };
    use crate::domain::insights::Severity;
    Ok(store::insights::FindingCounts {
        critical: count(Severity::Critical),
        warning: count(Severity::Warning),
        info: count(Severity::Info),
    })
}

/// Runs the collector until `cancel` fires.
pub async fn run(
    db: PgPool,
    keyring: Arc<Keyring>,
    settings: InsightsSettings,
    cancel: CancellationToken,
) {
    let limit = i64::try_from(settings.concurrency.max(1)).unwrap_or(1);
    while !cancel.is_cancelled() {
        let claimed = match store::insights::claim_due(&db, limit, settings.every).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "the insights collector cannot reach the database");
                Vec::new()
            }
        };
        let idle = claimed.is_empty();
        let collections = claimed
            .into_iter()
            .map(|due| collect_one(&db, &keyring, &settings, due));
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = futures::future::join_all(collections) => {}
        }
        if idle {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(rest(settings.every)) => {}
            }
        }
    }
}
