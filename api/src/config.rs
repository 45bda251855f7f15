//! Typed configuration, parsed once from flags and `PGPLANE_*` / `DATABASE_URL` variables.
//!
//! clap lists every option with its variable in `--help`; [`ServeConfig::validate`] then checks
//! what clap cannot (key formats, bounds) and reports every problem at once.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// Where the metadata database is.
#[derive(Args, Clone, Debug)]
pub struct DatabaseConfig {
    /// PostgreSQL URL of pgplane's own metadata database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// Maximum connections in the metadata database pool.
    #[arg(long, env = "PGPLANE_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

/// The key-encryption keys that seal the secrets pgplane stores (see `secrets::keyring`).
#[derive(Args, Clone, Debug, Default)]
pub struct SecretsConfig {
    /// File of key-encryption keys, one `id:base64-of-32-bytes` per line; the first seals, all
    /// open. `pgplane secrets generate-key` prints a line.
    #[arg(long, env = "PGPLANE_SECRETS_KEY_FILE")]
    pub secrets_key_file: Option<std::path::PathBuf>,

    /// The same keys as a value instead of a file (`id:base64` entries separated by newlines
    /// or commas, the sealing one first). A file lets a rotation add keys without a restart.
    #[arg(long, env = "PGPLANE_SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: Option<String>,
}

/// Single sign-on (see `oidc`).
#[derive(Args, Clone, Debug)]
pub struct SsoConfig {
    /// JSON file listing the OpenID Connect providers people sign in with (see the README).
    #[arg(long, env = "PGPLANE_OIDC_PROVIDERS_FILE")]
    pub oidc_providers_file: Option<std::path::PathBuf>,

    /// The URL browsers reach pgplane at (e.g. `https://pgplane.example.com`): the providers'
    /// redirect URI is `<this>/v1/auth/oidc/<provider>/callback`.
    #[arg(long, env = "PGPLANE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Allow sign-in with email and password (`false`: providers only; API keys still work).
    #[arg(long, env = "PGPLANE_PASSWORD_LOGIN", default_value_t = true, action = clap::ArgAction::Set)]
    pub password_login: bool,
}

/// Token issuing and login protection.
#[derive(Args, Clone, Debug)]
pub struct AuthConfig {
    /// JWT signing keys as `kid:key` pairs separated by commas: with EdDSA (the default) the key
    /// is the base64 of a 32-byte Ed25519 private key (`openssl rand -base64 32`), with HS256 a
    /// shared secret of at least 32 bytes. The first signs new tokens; all verify, so a key can
    /// be rotated without logging anyone out. When unset, a random key is generated at start
    /// (tokens then die with the process).
    #[arg(long, env = "PGPLANE_JWT_KEYS", hide_env_values = true)]
    pub jwt_keys: Option<String>,

    /// JWT algorithm; fixed here and never taken from a token.
    #[arg(
        long,
        env = "PGPLANE_JWT_ALGORITHM",
        value_enum,
        default_value = "eddsa"
    )]
    pub jwt_algorithm: JwtAlgorithm,

    /// `iss` claim written into and required of every token.
    #[arg(long, env = "PGPLANE_JWT_ISSUER", default_value = "pgplane")]
    pub jwt_issuer: String,

    /// `aud` claim written into and required of every token.
    #[arg(long, env = "PGPLANE_JWT_AUDIENCE", default_value = "pgplane-api")]
    pub jwt_audience: String,

    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "PGPLANE_TOKEN_TTL_SECONDS", default_value_t = 900)]
    pub token_ttl_seconds: u64,

    /// Failed logins allowed per account, and per client address, within the window.
    #[arg(long, env = "PGPLANE_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: u32,

    /// Length of the failed-login window and of the lockout that follows, in seconds.
    #[arg(long, env = "PGPLANE_LOGIN_WINDOW_SECONDS", default_value_t = 900)]
    pub login_window_seconds: u64,

    /// Lifetime of a portal sign-in session (its cookie), in seconds.
    #[arg(long, env = "PGPLANE_SESSION_TTL_SECONDS", default_value_t = 43200)]
    pub session_ttl_seconds: u64,

    /// Mark the session cookie `Secure` on every answer. Without it the cookie is `Secure`
    /// when the request came over TLS, as a trusted proxy says (`X-Forwarded-Proto: https`
    /// with PGPLANE_TRUST_FORWARDED_FOR).
    #[arg(long, env = "PGPLANE_SESSION_COOKIE_SECURE", default_value_t = false)]
    pub session_cookie_secure: bool,
}

/// The only JWT algorithms pgplane signs with (RSA is avoided: see CONVENTIONS.md).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// Ed25519 signatures; public keys at `/.well-known/jwks.json`.
    Eddsa,
    /// A shared secret (every verifier can also sign): only when chosen explicitly.
    Hs256,
}

/// HTTP server behaviour.
#[derive(Args, Clone, Debug)]
pub struct HttpConfig {
    /// Address the HTTP API listens on.
    #[arg(long, env = "PGPLANE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Origins allowed by CORS (comma-separated), e.g. the portal's origin. Empty: none.
    #[arg(long, env = "PGPLANE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "PGPLANE_BODY_LIMIT_BYTES", default_value_t = 1024 * 1024)]
    pub body_limit_bytes: usize,

    /// Time after which a request is answered 503, in seconds.
    #[arg(long, env = "PGPLANE_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,

    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    #[arg(long, env = "PGPLANE_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Bearer token a Prometheus scrape presents to get the per-cluster backup series of
    /// `/metrics`, which name tenants and clusters. Unset: `/metrics` names none.
    #[arg(long, env = "PGPLANE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Directory of the built portal (`web-client/dist`), served at `/`. Unset: no portal
    /// (`pgplane dev` then uses `web-client/dist` when it exists).
    #[arg(long, env = "PGPLANE_PORTAL_DIR")]
    pub portal_dir: Option<std::path::PathBuf>,
}

/// Limits given to a new tenant until a platform admin sets its quota.
#[derive(Args, Clone, Debug)]
pub struct DefaultQuotaConfig {
    /// Clusters a new tenant may have.
    #[arg(long, env = "PGPLANE_DEFAULT_MAX_CLUSTERS", default_value_t = 10)]
    pub default_max_clusters: i32,
    /// Postgres instances (pods) a new tenant may run.
    #[arg(long, env = "PGPLANE_DEFAULT_MAX_INSTANCES", default_value_t = 30)]
    pub default_max_instances: i32,
    /// CPU a new tenant may request, in millicores.
    #[arg(long, env = "PGPLANE_DEFAULT_MAX_CPU_MILLIS", default_value_t = 32_000)]
    pub default_max_cpu_millis: i64,
    /// Memory a new tenant may request, in MiB.
    #[arg(
        long,
        env = "PGPLANE_DEFAULT_MAX_MEMORY_MIB",
        default_value_t = 131_072
    )]
    pub default_max_memory_mib: i64,
    /// Storage a new tenant may request, in GiB.
    #[arg(long, env = "PGPLANE_DEFAULT_MAX_STORAGE_GIB", default_value_t = 2_000)]
    pub default_max_storage_gib: i64,
}

impl DefaultQuotaConfig {
    /// The limits a new tenant starts with.
    pub fn limits(&self) -> crate::domain::quota::QuotaLimits {
        crate::domain::quota::QuotaLimits {
            max_clusters: self.default_max_clusters,
            max_instances: self.default_max_instances,
            max_cpu_millis: self.default_max_cpu_millis,
            max_memory_mib: self.default_max_memory_mib,
            max_storage_gib: self.default_max_storage_gib,
        }
    }
}

/// Everything `pgplane dev` needs: like `serve`, but the database is optional (an embedded
/// PostgreSQL is started in the data directory when `DATABASE_URL` is unset).
#[derive(Args, Clone, Debug)]
pub struct DevConfig {
    /// Use this database instead of the embedded one.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where `pgplane dev` keeps its embedded database, keys and credentials.
    #[arg(long, env = "PGPLANE_DATA_DIR", default_value = ".pgplane")]
    pub data_dir: std::path::PathBuf,

    #[command(flatten)]
    pub http: HttpConfig,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub secrets: SecretsConfig,
    #[command(flatten)]
    pub sso: SsoConfig,
    #[command(flatten)]
    pub default_quota: DefaultQuotaConfig,
    #[command(flatten)]
    pub jobs: JobsConfig,
}

/// Where clusters run, and how the background parts of `serve` behave.
#[derive(Args, Clone, Debug)]
pub struct JobsConfig {
    /// Platform driver: `kubernetes` (PGO; in-cluster config or KUBECONFIG), `local`
    /// (PostgreSQL processes on this host), `none` (API only: operations queue up until a
    /// process with a platform runs them), or `auto`: kubernetes when running in a cluster or a
    /// kubeconfig is present, otherwise none for `serve` and local for `dev`.
    #[arg(long, env = "PGPLANE_PLATFORM", value_enum, default_value = "auto")]
    pub platform: PlatformKind,

    /// Where the local platform keeps its clusters' data directories (default: the data
    /// directory for `dev`, `./pgplane-clusters` for `serve`).
    #[arg(long, env = "PGPLANE_LOCAL_DIR")]
    pub local_dir: Option<std::path::PathBuf>,

    /// Do not run job workers in this process.
    #[arg(long, env = "PGPLANE_NO_WORKERS", default_value_t = false)]
    pub no_workers: bool,

    /// Do not run the status sync in this process.
    #[arg(long, env = "PGPLANE_NO_SYNC", default_value_t = false)]
    pub no_sync: bool,

    /// Operations carried out at once by this process's workers.
    #[arg(long, env = "PGPLANE_WORKER_CONCURRENCY", default_value_t = 8)]
    pub worker_concurrency: usize,

    /// Seconds an operation may take before it fails with what it was waiting for.
    #[arg(
        long,
        env = "PGPLANE_OPERATION_DEADLINE_SECONDS",
        default_value_t = 1800
    )]
    pub operation_deadline_seconds: u64,

    /// Approved PostgreSQL images, one per major version: `17=<image>,18=<image>` (each with a
    /// tag or digest). New clusters are pinned to their major's image; a newer image for the
    /// same major is a minor version upgrade the tenant runs (`POST .../upgrade`). Unset: PGO's
    /// default images, which change when PGO is upgraded.
    #[arg(long, env = "PGPLANE_POSTGRES_IMAGES")]
    pub postgres_images: Option<String>,

    /// Days the backup repository of a cluster deleted with `deletion_policy: keep_backups` is
    /// kept before it is deleted (Kubernetes: the detached repository volume claim).
    #[arg(
        long,
        env = "PGPLANE_DELETED_BACKUPS_RETENTION_DAYS",
        default_value_t = 7
    )]
    pub deleted_backups_retention_days: u32,

    /// Seconds the server and replication certificates pgplane issues to clusters are valid
    /// (10 to 31622400, a year at most); each is renewed, without a restart, once a third of
    /// that remains. Default: 90 days.
    #[arg(
        long,
        env = "PGPLANE_CERTIFICATE_VALIDITY_SECONDS",
        default_value_t = 7_776_000
    )]
    pub certificate_validity_seconds: u64,

    /// Seconds between two insights snapshots of a cluster (statement, table and index
    /// statistics read by pgplane's monitoring role); 0 switches the collector off.
    #[arg(long, env = "PGPLANE_INSIGHTS_INTERVAL_SECONDS", default_value_t = 900)]
    pub insights_interval_seconds: u64,

    /// Clusters one process collects at once.
    #[arg(long, env = "PGPLANE_INSIGHTS_CONCURRENCY", default_value_t = 4)]
    pub insights_concurrency: usize,

    /// Seconds one cluster's snapshot may take before it fails (a slow cluster costs no more).
    #[arg(long, env = "PGPLANE_INSIGHTS_BUDGET_SECONDS", default_value_t = 30)]
    pub insights_budget_seconds: u64,

    /// Seconds an index must be seen without a scan before the advisor calls it unused.
    #[arg(
        long,
        env = "PGPLANE_INSIGHTS_UNUSED_INDEX_AFTER_SECONDS",
        default_value_t = 604_800
    )]
    pub insights_unused_index_after_seconds: u64,

    /// Kubernetes: the namespace prefix of the disaster-recovery site (e.g. `dr-`).
    /// When set, a standby runs in `<prefix><tenant>`, away from its source in the tenant's
    /// namespace (and a standby of a cluster there comes back home). The namespaces must be
    /// able to reach each other's PostgreSQL port; pgplane's network policies admit it. Unset:
    /// standbys run beside their source.
    #[arg(long, env = "PGPLANE_DR_NAMESPACE_PREFIX")]
    pub dr_namespace_prefix: Option<String>,

    /// Kubernetes: the kubeconfig context of the disaster-recovery site when it is another
    /// Kubernetes cluster. Standbys run there (in `PGPLANE_DR_NAMESPACE_PREFIX<tenant>`, by
    /// default the same namespace names as at home) and follow their source through
    /// `PGPLANE_DR_SERVICE_DOMAIN`.
    #[arg(long, env = "PGPLANE_DR_KUBE_CONTEXT")]
    pub dr_kube_context: Option<String>,

    /// With `PGPLANE_DR_KUBE_CONTEXT`: the DNS domain under which each cluster resolves the
    /// other's Services (`<service>.<namespace>.<domain>`); the default is the Kubernetes
    /// Multi-Cluster Services API's, whose implementation must export the `-primary` Services.
    #[arg(
        long,
        env = "PGPLANE_DR_SERVICE_DOMAIN",
        default_value = "svc.clusterset.local"
    )]
    pub dr_service_domain: String,

    /// With `PGPLANE_DR_KUBE_CONTEXT`: comma-separated address ranges (CIDR) the other site's
    /// pods connect from, admitted to the tenant namespaces' PostgreSQL port.
    #[arg(long, env = "PGPLANE_DR_PEER_CIDRS", value_delimiter = ',')]
    pub dr_peer_cidrs: Vec<String>,
}

impl JobsConfig {
    /// The Kubernetes driver's options from these settings.
    pub fn kubernetes_options(&self) -> crate::platform::kubernetes::KubernetesOptions {
        crate::platform::kubernetes::KubernetesOptions {
            deleted_backups_retention: self.deleted_backups_retention(),
            recovery: self.recovery_site(),
            certificates: self.certificate_policy(),
            ..crate::platform::kubernetes::KubernetesOptions::default()
        }
    }

    /// Whether clusters may be placed on a disaster-recovery site.
    pub fn has_recovery_site(&self) -> bool {
        self.dr_namespace_prefix.is_some() || self.dr_kube_context.is_some()
    }

    fn recovery_site(&self) -> Option<crate::platform::kubernetes::RecoverySite> {
        use crate::platform::kubernetes::{KubernetesOptions, RecoverySite, RemoteSite};
        if !self.has_recovery_site() {
            return None;
        }
        let home_prefix = KubernetesOptions::default().namespace_prefix;
        Some(RecoverySite {
            namespace_prefix: self.dr_namespace_prefix.clone().unwrap_or(home_prefix),
            remote: self.dr_kube_context.as_ref().map(|_| RemoteSite {
                service_domain: self.dr_service_domain.clone(),
                peer_cidrs: self.dr_peer_cidrs.clone(),
            }),
        })
    }

    /// How the insights collector runs (`None`: switched off).
    pub fn insights_settings(&self) -> Option<crate::insights::InsightsSettings> {
        (self.insights_interval_seconds > 0).then(|| crate::insights::InsightsSettings {
            every: std::time::Duration::from_secs(self.insights_interval_seconds),
            concurrency: self.insights_concurrency,
            budget: std::time::Duration::from_secs(self.insights_budget_seconds),
            unused_index_after: std::time::Duration::from_secs(
                self.insights_unused_index_after_seconds,
            ),
            ..crate::insights::InsightsSettings::default()
        })
    }

    /// The lifetime of the certificates issued to clusters.
    pub fn certificate_policy(&self) -> crate::platform::CertificatePolicy {
        crate::platform::CertificatePolicy {
            validity: std::time::Duration::from_secs(self.certificate_validity_seconds),
        }
    }

    pub fn deleted_backups_retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.deleted_backups_retention_days) * 24 * 3600)
    }

    /// The image catalog (empty when unset or invalid; `validate` reports invalid ones).
    pub fn image_catalog(&self) -> crate::domain::cluster::images::ImageCatalog {
        self.postgres_images
            .as_deref()
            .and_then(|text| crate::domain::cluster::images::ImageCatalog::parse(text).ok())
            .unwrap_or_default()
    }
}

/// Platform drivers.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlatformKind {
    Auto,
    Kubernetes,
    Local,
    None,
}

/// Everything `pgplane serve` needs.
#[derive(Args, Clone, Debug)]
pub struct ServeConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub http: HttpConfig,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub secrets: SecretsConfig,
    #[command(flatten)]
    pub sso: SsoConfig,
    #[command(flatten)]
    pub default_quota: DefaultQuotaConfig,
    #[command(flatten)]
    pub jobs: JobsConfig,
}

/// Log output format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Whether `text` is an IPv4 or IPv6 address range (`address/prefix length`).
fn is_cidr(text: &str) -> bool {
    let Some((address, length)) = text.split_once('/') else {
        return false;
    };
    let max = match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => 32,
        Ok(std::net::IpAddr::V6(_)) => 128,
        Err(_) => return false,
    };
    length.parse::<u8>().is_ok_and(|l| l <= max)
}

/// A recovery namespace prefix must make valid names: lower-case DNS label characters. In the
/// same Kubernetes cluster it must also keep clear of the tenants' home prefix, neither it nor
/// one that extends it (with `pgplane-dr-`, tenant `x`'s recovery namespace would be the home
/// namespace of a tenant named `dr-x`).
fn check_recovery_prefix(prefix: &str, same_cluster: bool) -> Result<(), String> {
    let home = crate::platform::kubernetes::KubernetesOptions::default().namespace_prefix;
    if prefix.is_empty() || prefix.len() > 30 {
        return Err("must be 1 to 30 characters".into());
    }
    if !prefix
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || !prefix.starts_with(|c: char| c.is_ascii_lowercase())
    {
        return Err("must start with a letter and hold only a-z, 0-9 and `-`".into());
    }
    if same_cluster && (prefix.starts_with(&home) || home.starts_with(prefix)) {
        return Err(format!(
            "must not start with the tenants' home prefix `{home}` nor be a start of it: \
             the two sets of namespaces must never meet"
        ));
    }
    Ok(())
}

impl ServeConfig {
    /// Checks what clap cannot, returning every problem found (not just the first).
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if let Some(keys) = &self.auth.jwt_keys
            && let Err(e) = crate::auth::jwt::check_keys(self.auth.jwt_algorithm, keys)
        {
            problems.push(format!("PGPLANE_JWT_KEYS: {e}"));
        }
        if let Err(e) = crate::secrets::keyring(&self.secrets) {
            problems.push(e);
        }
        if let Err(e) = crate::oidc::Oidc::from_config(&self.sso) {
            problems.push(format!("PGPLANE_OIDC_PROVIDERS_FILE: {e}"));
        }
        if self.auth.token_ttl_seconds < 60 || self.auth.token_ttl_seconds > 24 * 3600 {
            problems.push("PGPLANE_TOKEN_TTL_SECONDS: must be between 60 and 86400".into());
        }
        if !(300..=7 * 24 * 3600).contains(&self.auth.session_ttl_seconds) {
            problems.push("PGPLANE_SESSION_TTL_SECONDS: must be between 300 and 604800".into());
        }
        if self.auth.login_max_failures == 0 {
            problems.push("PGPLANE_LOGIN_MAX_FAILURES: must be at least 1".into());
        }
        if self.http.body_limit_bytes < 1024 {
            problems.push("PGPLANE_BODY_LIMIT_BYTES: must be at least 1024".into());
        }
        if self.jobs.operation_deadline_seconds < 10 {
            problems.push("PGPLANE_OPERATION_DEADLINE_SECONDS: must be at least 10".into());
        }
        if self.jobs.worker_concurrency == 0 {
            problems.push("PGPLANE_WORKER_CONCURRENCY: must be at least 1".into());
        }
        if self.http.request_timeout_seconds == 0 {
            problems.push("PGPLANE_REQUEST_TIMEOUT_SECONDS: must be at least 1".into());
        }
        if let Some(dir) = &self.http.portal_dir
            && let Err(e) = crate::http::portal::check_dir(dir)
        {
            problems.push(format!("PGPLANE_PORTAL_DIR: {e}"));
        }
        if !(1..=64).contains(&self.jobs.insights_concurrency) {
            problems.push("PGPLANE_INSIGHTS_CONCURRENCY: from 1 to 64".into());
        }
        if self.jobs.insights_unused_index_after_seconds > 365 * 86_400 {
            problems.push("PGPLANE_INSIGHTS_UNUSED_INDEX_AFTER_SECONDS: at most a year".into());
        }
        if !(1..=600).contains(&self.jobs.insights_budget_seconds) {
            problems.push("PGPLANE_INSIGHTS_BUDGET_SECONDS: from 1 to 600".into());
        }
        if !(10..=31_622_400).contains(&self.jobs.certificate_validity_seconds) {
            problems
                .push("PGPLANE_CERTIFICATE_VALIDITY_SECONDS: from 10 to 31622400 (a year)".into());
        }
        if self.jobs.deleted_backups_retention_days > 3650 {
            problems.push("PGPLANE_DELETED_BACKUPS_RETENTION_DAYS: at most 3650".into());
        }
        let same_cluster = self.jobs.dr_kube_context.is_none();
        if let Some(prefix) = &self.jobs.dr_namespace_prefix
            && let Err(why) = check_recovery_prefix(prefix, same_cluster)
        {
            problems.push(format!("PGPLANE_DR_NAMESPACE_PREFIX: {why}"));
        }
        if same_cluster && !self.jobs.dr_peer_cidrs.is_empty() {
            problems.push(
                "PGPLANE_DR_PEER_CIDRS: only with PGPLANE_DR_KUBE_CONTEXT (in one Kubernetes cluster the namespaces admit each other)".into(),
            );
        }
        for cidr in &self.jobs.dr_peer_cidrs {
            if !is_cidr(cidr) {
                problems.push(format!(
                    "PGPLANE_DR_PEER_CIDRS: `{cidr}` is not an address range like 10.8.0.0/16"
                ));
            }
        }
        if !self.jobs.dr_service_domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }) {
            problems.push(
                "PGPLANE_DR_SERVICE_DOMAIN: must be a DNS domain like svc.clusterset.local".into(),
            );
        }
        if let Some(images) = &self.jobs.postgres_images
            && let Err(found) = crate::domain::cluster::images::ImageCatalog::parse(images)
        {
            problems.extend(
                found
                    .into_iter()
                    .map(|p| format!("PGPLANE_POSTGRES_IMAGES: {p}")),
            );
        }
        for origin in &self.http.cors_origins {
            if origin.parse::<axum::http::HeaderValue>().is_err() || !origin.contains("://") {
                problems.push(format!("PGPLANE_CORS_ORIGINS: `{origin}` is not an origin"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.http.request_timeout_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::{check_recovery_prefix, is_cidr};

    #[test]
    fn a_recovery_prefix_never_names_a_home_namespace_of_the_same_cluster() {
        assert_eq!(check_recovery_prefix("dr-", true), Ok(()));
        assert_eq!(check_recovery_prefix("pgplanedr-", true), Ok(()));
        for colliding in ["pgplane-", "pgplane-dr-", "pgplane", "p"] {
            let why = check_recovery_prefix(colliding, true).unwrap_err();
            assert!(why.contains("home prefix"), "{colliding}: {why}");
            assert_eq!(
                check_recovery_prefix(colliding, false),
                Ok(()),
                "another cluster has namespaces of its own"
            );
        }
        for malformed in ["", "DR-", "1dr-", "dr_", &"d".repeat(31)] {
            assert!(
                check_recovery_prefix(malformed, false).is_err(),
                "{malformed}"
            );
        }
    }

    #[test]
    fn peer_ranges_are_cidrs() {
        for good in ["10.8.0.0/16", "192.168.1.7/32", "fd00::/8"] {
            assert!(is_cidr(good), "{good}");
        }
        for bad in [
            "10.8.0.0",
            "10.8.0.0/33",
            "fd00::/129",
            "example.com/8",
            "/8",
        ] {
            assert!(!is_cidr(bad), "{bad}");
        }
    }
}
