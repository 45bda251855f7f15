//! `pgplane dev`: the whole control plane on one machine with one command. It starts (or reuses)
//! an embedded PostgreSQL in the data directory, migrates it, creates a platform admin and a
//! demo tenant on first start, keeps the JWT secret and the admin's API key across restarts,
//! serves the API and runs the workers and the status sync on the `local` platform (clusters
//! as PostgreSQL processes under `<data dir>/clusters`; Kubernetes instead when a kubeconfig is
//! found or `PGPLANE_PLATFORM=kubernetes`). On shutdown it stops the clusters' servers and the
//! embedded database; the next start brings the clusters back. Started in a checkout, it first
//! builds the portal when it is missing or stale (`portal_build`), so the URL it prints shows it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;

use crate::config::{DatabaseConfig, DevConfig, JwtAlgorithm, PlatformKind, ServeConfig};
use crate::embedded_pg::{EmbeddedPostgres, free_port};
use crate::jobs::JobSettings;
use crate::store;

mod portal_build;

/// The platform admin `pgplane dev` creates.
pub const DEV_ADMIN_EMAIL: &str = "admin@pgplane.local";
/// The tenant `pgplane dev` creates for trying things out.
pub const DEMO_TENANT: &str = "demo";
/// The portal's sources, relative to the repository root (`pgplane dev` builds them to `dist/`).
const DEV_WEB_CLIENT: &str = "web-client";
/// Database in the embedded server that holds pgplane's metadata.
const METADATA_DB: &str = "pgplane";

pub async fn run(config: DevConfig) -> anyhow::Result<()> {
    fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let data_dir = config.data_dir.canonicalize()?;
    // The portal first, before anything runs: a Ctrl-C during a minute of npm leaves no
    // embedded database behind.
    let mut http = config.http.clone();
    let portal_note = match http.portal_dir {
        Some(_) => None, // PGPLANE_PORTAL_DIR: served as it is
        None => {
            let portal = build_portal(&data_dir).await;
            http.portal_dir = portal.dir;
            portal.note
        }
    };
    let (database_url, embedded) = match &config.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let pg = start_embedded(&data_dir)?;
            ensure_database(&pg).await?;
            (pg.url(METADATA_DB), Some(pg))
        }
    };
    let mut auth = config.auth.clone();
    if auth.jwt_keys.is_none() {
        // Kept across restarts, so the portal's sessions survive one.
        auth.jwt_keys = Some(match auth.jwt_algorithm {
            JwtAlgorithm::Eddsa => format!(
                "dev-ed25519:{}",
                persistent_secret(&data_dir.join("jwt-ed25519-key"), |b| STANDARD.encode(b))?
            ),
            JwtAlgorithm::Hs256 => format!(
                "dev:{}",
                persistent_secret(&data_dir.join("jwt-secret"), |b| hex::encode(b))?
            ),
        });
    }
    let serve = ServeConfig {
        database: DatabaseConfig {
            database_url: database_url.clone(),
            db_max_connections: 8,
        },
        http,
        auth,
        secrets: dev_secrets_key(&config.secrets, &data_dir)?,
        sso: config.sso.clone(),
        default_quota: config.default_quota.clone(),
        jobs: config.jobs.clone(),
    };
    if let Err(problems) = serve.validate() {
        anyhow::bail!("invalid configuration:\n  {}", problems.join("\n  "));
    }
    let result = serve_dev(serve, &data_dir, portal_note).await;
    if let Some(pg) = embedded {
        tracing::info!("stopping the embedded PostgreSQL");
        pg.stop()?;
    }
    result
}

async fn serve_dev(
    serve: ServeConfig,
    data_dir: &Path,
    portal_note: Option<String>,
) -> anyhow::Result<()> {
    let db = crate::app::connect_and_migrate(&serve).await?;
    let api_key = first_start_setup(&serve, data_dir, &db).await?;
    let local_root = serve
        .jobs
        .local_dir
        .clone()
        .unwrap_or_else(|| data_dir.to_path_buf());
    let platform = crate::platform::connect(
        serve.jobs.platform,
        PlatformKind::Local,
        &local_root,
        &serve.jobs,
    )
    .await?;
    let state = crate::app::AppState::new(&serve, db.clone())?.with_platform(platform.clone());
    let secrets = state.secrets.clone();
    let server = crate::app::Server::start(state, serve.http.listen).await?;
    let jobs = JobSettings {
        concurrency: serve.jobs.worker_concurrency,
        ..JobSettings::default()
    };
    let background = platform.clone().map(|p| {
        let url = &serve.database.database_url;
        crate::app::Background::start(&db, url, p, &serve.jobs, jobs, secrets.clone())
    });
    let url = format!("http://{}", server.local_addr);
    println!("pgplane is running at {url}");
    match (&serve.http.portal_dir, portal_note) {
        (Some(_), None) => println!("  portal:        {url}/"),
        (Some(_), Some(note)) => println!("  portal:        {url}/ ({note})"),
        (None, note) => println!(
            "  portal:        not served: {}",
            note.as_deref().unwrap_or("no portal directory")
        ),
    }
    println!("  API docs:      {url}/docs");
    println!(
        "  admin:         {DEV_ADMIN_EMAIL} (password in {})",
        data_dir.join("admin-password").display()
    );
    println!("  admin API key: {api_key}");
    println!("  try:           curl -H 'Authorization: Bearer {api_key}' {url}/v1/tenants");
    crate::app::shutdown_signal().await;
    server.stop().await?;
    if let Some(background) = background {
        background.stop().await; // also stops the local clusters' servers
    }
    db.close().await;
    Ok(())
}

/// The portal of this checkout (`web-client/dist`), built first when it is missing or stale;
/// npm's output goes to `portal-build.log` in the data directory. Waits for the build, so that
/// the printed URL serves the portal.
async fn build_portal(data_dir: &Path) -> portal_build::PortalOutcome {
    let log = data_dir.join("portal-build.log");
    tokio::task::spawn_blocking(move || {
        let path = std::env::var_os("PATH");
        portal_build::prepare(
            Path::new(DEV_WEB_CLIENT),
            path.as_deref(),
            &log,
            &mut std::io::stdout(),
        )
    })
    .await
    .unwrap_or_else(|e| portal_build::PortalOutcome {
        dir: None,
        note: Some(format!("the portal build panicked: {e}")),
    })
}

/// Creates the admin and the demo tenant once; returns the admin's API key (kept in the data
/// directory, readable only by its owner).
async fn first_start_setup(
    serve: &ServeConfig,
    data_dir: &Path,
    db: &sqlx::PgPool,
) -> anyhow::Result<String> {
    let key_file = data_dir.join("admin-api-key");
    if let Ok(key) = fs::read_to_string(&key_file) {
        return Ok(key.trim().to_string());
    }
    let password = persistent_secret(&data_dir.join("admin-password"), |b| hex::encode(b))?;
    let key = crate::cli::bootstrap_admin(&serve.database, DEV_ADMIN_EMAIL, &password, "Dev admin")
        .await?;
    if store::tenants::find_by_name(db, DEMO_TENANT)
        .await?
        .is_none()
    {
        let quota = serve.default_quota.limits();
        let tenant = store::tenants::create(db, DEMO_TENANT, "Demo tenant", &quota).await?;
        if let Some(admin) = store::users::find_by_email(db, DEV_ADMIN_EMAIL).await? {
            store::memberships::upsert(
                db,
                tenant.id,
                admin.id,
                crate::domain::permissions::TenantRole::Owner,
            )
            .await?;
        }
    }
    write_private(&key_file, &key)?;
    Ok(key)
}

fn start_embedded(data_dir: &Path) -> anyhow::Result<EmbeddedPostgres> {
    let port_file = data_dir.join("postgres.port");
    let port = match fs::read_to_string(&port_file)
        .ok()
        .and_then(|p| p.trim().parse().ok())
    {
        Some(port) => port,
        None => {
            let port = free_port()?;
            fs::write(&port_file, port.to_string())?;
            port
        }
    };
    // The server may run as the `postgres` user (when we are root): let it into the directory.
    set_mode(data_dir, 0o755)?;
    let pg = EmbeddedPostgres::new(data_dir.join("postgres"), port)?;
    pg.init()?;
    if !pg.is_running() {
        tracing::info!(port, "starting the embedded PostgreSQL");
        pg.start().context("starting the embedded PostgreSQL")?;
    }
    Ok(pg)
}

async fn ensure_database(pg: &EmbeddedPostgres) -> anyhow::Result<()> {
    let admin = store::connect(&pg.url("postgres"), 1).await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(METADATA_DB)
            .fetch_one(&admin)
            .await?;
    if !exists {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "create database {METADATA_DB}"
        )))
        .execute(&admin)
        .await?;
    }
    admin.close().await;
    Ok(())
}

/// The configured secrets key, or the one kept in `<data dir>/secrets.key` (made on first
/// start): the clusters' passwords in the embedded database are sealed with it.
fn dev_secrets_key(
    configured: &crate::config::SecretsConfig,
    data_dir: &Path,
) -> anyhow::Result<crate::config::SecretsConfig> {
    if configured.secrets_key_file.is_some() || configured.secrets_key.is_some() {
        return Ok(configured.clone());
    }
    let path = data_dir.join("secrets.key");
    if !path.exists() {
        let line = crate::secrets::keyring::new_key_line("dev-1");
        write_private(
            &path,
            &format!(
                "# pgplane dev's key-encryption key: the first line seals, every line opens\n{line}"
            ),
        )?;
    }
    Ok(crate::config::SecretsConfig {
        secrets_key_file: Some(path),
        secrets_key: None,
    })
}

/// 32 random bytes kept in `path` as `encode` writes them (created on first use, mode 0600).
fn persistent_secret(path: &PathBuf, encode: fn(&[u8]) -> String) -> anyhow::Result<String> {
    if let Ok(secret) = fs::read_to_string(path) {
        return Ok(secret.trim().to_string());
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = encode(&bytes);
    write_private(path, &secret)?;
    Ok(secret)
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    fs::write(path, format!("{contents}\n"))?;
    set_mode(path, 0o600)
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}
