//! Application state and the server's life: connect, migrate, build the router, serve until
//! a shutdown signal, then drain in-flight requests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::http::{HeaderValue, Method};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::jwt::{self, JwtKeys};
use crate::config::{JobsConfig, JwtAlgorithm, PlatformKind, ServeConfig};
use crate::domain::quota::QuotaLimits;
use crate::jobs::JobSettings;
use crate::platform::Platform;
use crate::store;

/// Settings the handlers need, fixed at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub login_max_failures: u32,
    pub login_window: Duration,
    /// Lifetime of a portal session.
    pub session_ttl: Duration,
    /// The session cookie is always `Secure` (otherwise: when the request came over TLS).
    pub session_cookie_secure: bool,
    pub default_quota: QuotaLimits,
    pub trust_forwarded_for: bool,
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
    pub cors_origins: Arc<Vec<HeaderValue>>,
    /// How long an operation may take before it fails.
    pub operation_deadline: chrono::Duration,
    /// The built portal served at `/`, if any.
    pub portal_dir: Option<std::path::PathBuf>,
    /// What a scrape presents to see the per-cluster (tenant-naming) series of `/metrics`.
    pub metrics_token: Option<String>,
    /// Days a deleted cluster's backups are kept with `deletion_policy: keep_backups`.
    pub deleted_backups_retention_days: u32,
    /// Approved PostgreSQL images per major version (may be empty).
    pub postgres_images: crate::domain::cluster::images::ImageCatalog,
    /// The platform has a disaster-recovery site: standbys go to the site their source is not on.
    pub recovery_site: bool,
    /// How long an index must go unused before the advisor says so.
    pub unused_index_after: Duration,
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub jwt: Arc<JwtKeys>,
    pub settings: Arc<Settings>,
    /// `(method, route template) → OpenAPI operation id`, naming actions in the audit log.
    pub operation_ids: Arc<HashMap<(Method, String), String>>,
    /// `(method, route template)` of the operations the spec declares without security: the
    /// authentication layer ignores credentials sent to them.
    pub public_operations: Arc<std::collections::HashSet<(Method, String)>>,
    /// The platform driver of this process, when it has one: requests the driver cannot carry
    /// out are refused (501) up front instead of failing later.
    pub platform: Option<Arc<dyn Platform>>,
    /// Users read in the last two seconds (authentication's per-request lookup).
    pub users: Arc<crate::auth::user_cache::UserCache>,
    /// The keys that seal the secrets pgplane stores.
    pub secrets: Arc<crate::secrets::Keyring>,
    /// Identity providers and which sign-ins are allowed.
    pub oidc: Arc<crate::oidc::Oidc>,
}

impl AppState {
    /// Builds the state from configuration and an open pool.
    pub fn new(config: &ServeConfig, db: PgPool) -> anyhow::Result<Self> {
        let auth = &config.auth;
        let ttl = Duration::from_secs(auth.token_ttl_seconds);
        let jwt = match &auth.jwt_keys {
            Some(spec) => match auth.jwt_algorithm {
                JwtAlgorithm::Eddsa => {
                    let keys = jwt::parse_ed25519_keys(spec).map_err(anyhow::Error::msg)?;
                    JwtKeys::eddsa(keys, &auth.jwt_issuer, &auth.jwt_audience, ttl)
                }
                JwtAlgorithm::Hs256 => {
                    let keys = jwt::parse_keys(spec).map_err(anyhow::Error::msg)?;
                    JwtKeys::hs256(keys, &auth.jwt_issuer, &auth.jwt_audience, ttl)
                }
            }
            .map_err(anyhow::Error::msg)?,
            None if auth.jwt_algorithm == JwtAlgorithm::Hs256 => {
                anyhow::bail!(
                    "PGPLANE_JWT_ALGORITHM=hs256 needs PGPLANE_JWT_KEYS (a shared secret)"
                )
            }
            None => {
                tracing::warn!(
                    "PGPLANE_JWT_KEYS is not set: using a random key; tokens will not survive a restart and replicas will not accept each other's tokens"
                );
                JwtKeys::random(&auth.jwt_issuer, &auth.jwt_audience, ttl)
            }
        };
        let secrets = crate::secrets::keyring(&config.secrets).map_err(anyhow::Error::msg)?;
        let oidc = crate::oidc::Oidc::from_config(&config.sso).map_err(anyhow::Error::msg)?;
        let settings = Settings {
            login_max_failures: auth.login_max_failures,
            login_window: Duration::from_secs(auth.login_window_seconds),
            session_ttl: Duration::from_secs(auth.session_ttl_seconds),
            session_cookie_secure: auth.session_cookie_secure,
            default_quota: config.default_quota.limits(),
            trust_forwarded_for: config.http.trust_forwarded_for,
            body_limit_bytes: config.http.body_limit_bytes,
            request_timeout: config.request_timeout(),
            cors_origins: Arc::new(
                config
                    .http
                    .cors_origins
                    .iter()
                    .filter_map(|o| o.parse().ok())
                    .collect(),
            ),
            operation_deadline: chrono::Duration::seconds(
                config.jobs.operation_deadline_seconds as i64,
            ),
            portal_dir: config.http.portal_dir.clone(),
            metrics_token: config.http.metrics_token.clone().filter(|t| !t.is_empty()),
            postgres_images: config.jobs.image_catalog(),
            deleted_backups_retention_days: config.jobs.deleted_backups_retention_days,
            recovery_site: config.jobs.has_recovery_site(),
            unused_index_after: Duration::from_secs(
                config.jobs.insights_unused_index_after_seconds,
            ),
        };
        let _ = crate::telemetry::prometheus();
        let spec = crate::http::openapi();
        Ok(Self {
            db,
            jwt: Arc::new(jwt),
            settings: Arc::new(settings),
            operation_ids: Arc::new(crate::openapi::operation_ids(&spec)),
            public_operations: Arc::new(crate::openapi::public_operations(&spec)),
            platform: None,
            users: Arc::new(crate::auth::user_cache::UserCache::new(
                crate::auth::user_cache::UserCache::DEFAULT_TTL,
            )),
            secrets,
            oidc: Arc::new(oidc),
        })
    }

    /// The images clusters are pinned to: the ones the platform team approved
    /// (`PGPLANE_POSTGRES_IMAGES`), else the ones the platform runs by itself (the local
    /// platform: the installed servers' versions), else none (the operator's defaults).
    pub fn image_catalog(&self) -> crate::domain::cluster::images::ImageCatalog {
        if !self.settings.postgres_images.is_empty() {
            return self.settings.postgres_images.clone();
        }
        self.platform
            .as_ref()
            .and_then(|platform| platform.own_images())
            .unwrap_or_default()
    }

    /// The state for a process whose workers run on `platform`.
    pub fn with_platform(mut self, platform: Option<Arc<dyn Platform>>) -> Self {
        self.platform = platform;
        self
    }
}

/// Connects to the metadata database and applies migrations.
pub async fn connect_and_migrate(config: &ServeConfig) -> anyhow::Result<PgPool> {
    let db = store::connect(
        &config.database.database_url,
        config.database.db_max_connections,
    )
    .await
    .context("connecting to the metadata database (DATABASE_URL)")?;
    store::migrate(&db).await.context("applying migrations")?;
    check_secrets(config, &db).await?;
    Ok(db)
}

/// Refuses to start with keys that do not open the stored secrets (changing nothing), then
/// seals plaintext left from before encryption.
async fn check_secrets(config: &ServeConfig, db: &PgPool) -> anyhow::Result<()> {
    let keyring = crate::secrets::keyring(&config.secrets).map_err(anyhow::Error::msg)?;
    crate::secrets::rotation::check_keys(db, &keyring).await?;
    let sealed = crate::secrets::rotation::seal_plaintext(db, &keyring).await?;
    if sealed.sealed > 0 {
        tracing::info!(
            count = sealed.sealed,
            "sealed secrets stored in plaintext by an earlier version"
        );
    }
    Ok(())
}

/// A running HTTP server.
pub struct Server {
    pub local_addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) and serves `state` in the background.
    pub async fn start(state: AppState, addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let local_addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let app = crate::http::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await
        });
        Ok(Self {
            local_addr,
            shutdown,
            task,
        })
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await??;
        Ok(())
    }
}

/// The background parts of a pgplane process: job workers and the status sync.
pub struct Background {
    platform: Arc<dyn Platform>,
    workers: (CancellationToken, Option<tokio::task::JoinHandle<()>>),
    /// The insights collector (stopped with the workers).
    insights: Option<tokio::task::JoinHandle<()>>,
    sync: (CancellationToken, Option<tokio::task::JoinHandle<()>>),
}

impl Background {
    /// Starts workers and sync on `platform` as `config` allows.
    pub fn start(
        db: &PgPool,
        database_url: &str,
        platform: Arc<dyn Platform>,
        config: &JobsConfig,
        jobs: JobSettings,
        secrets: Arc<crate::secrets::Keyring>,
    ) -> Self {
        let (workers_cancel, sync_cancel) = (CancellationToken::new(), CancellationToken::new());
        let workers = (!config.no_workers).then(|| {
            tokio::spawn(crate::jobs::run(
                db.clone(),
                platform.clone(),
                jobs,
                secrets.clone(),
                workers_cancel.clone(),
            ))
        });
        let insights = config
            .insights_settings()
            .filter(|_| !config.no_workers)
            .map(|settings| {
                tokio::spawn(crate::insights::run(
                    db.clone(),
                    secrets.clone(),
                    settings,
                    workers_cancel.clone(),
                ))
            });
        let sync = (!config.no_sync).then(|| {
            tokio::spawn(crate::sync::run(
                db.clone(),
                database_url.to_string(),
                platform.clone(),
                secrets,
                sync_cancel.clone(),
            ))
        });
        Self {
            platform,
            workers: (workers_cancel, workers),
            insights,
            sync: (sync_cancel, sync),
        }
    }

    /// Stops claiming new work and lets in-flight operations finish, shuts the platform driver
    /// down (the local driver stops its servers) while the sync still records what that does,
    /// then stops the sync.
    pub async fn stop(mut self) {
        self.workers.0.cancel();
        for task in [self.workers.1.take(), self.insights.take()]
            .into_iter()
            .flatten()
        {
            let _ = task.await;
        }
        self.platform.shutdown().await;
        self.sync.0.cancel();
        if let Some(sync) = self.sync.1.take() {
            let _ = sync.await;
        }
    }

    /// Kills the workers and the sync mid-flight, as a crash would (leases are left to expire).
    pub async fn abort(mut self) {
        for task in [
            self.workers.1.take(),
            self.insights.take(),
            self.sync.1.take(),
        ]
        .into_iter()
        .flatten()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let db = connect_and_migrate(&config).await?;
    let local_root = config
        .jobs
        .local_dir
        .clone()
        .unwrap_or_else(|| "pgplane-clusters".into());
    let platform = crate::platform::connect(
        config.jobs.platform,
        PlatformKind::None,
        &local_root,
        &config.jobs,
    )
    .await?;
    let state = AppState::new(&config, db.clone())?.with_platform(platform.clone());
    let secrets = state.secrets.clone();
    let server = Server::start(state, config.http.listen).await?;
    tracing::info!(address = %server.local_addr, "pgplane API listening");
    let jobs = JobSettings {
        concurrency: config.jobs.worker_concurrency,
        ..JobSettings::default()
    };
    let background = platform.clone().map(|p| {
        let url = &config.database.database_url;
        Background::start(&db, url, p, &config.jobs, jobs, secrets)
    });
    shutdown_signal().await;
    tracing::info!("shutting down: draining in-flight requests and operations");
    server.stop().await?;
    if let Some(background) = background {
        background.stop().await;
    }
    db.close().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
