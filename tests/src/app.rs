//! `TestApp`: the real pgplane HTTP server on a loopback port, over a fresh database, with a
//! bootstrapped platform admin and builders for the usual fixtures (tenants, users, members).

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use pgplane::app::{AppState, Background, Server};
use pgplane::config::{DatabaseConfig, ServeConfig};
use pgplane::jobs::JobSettings;
use pgplane::platform::Platform;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::client::TestClient;

/// JWT key the test server signs with, so tests can forge tokens with chosen claims.
pub const JWT_KID: &str = "test-key";
/// The test servers' Ed25519 token key: the base64 of its 32-byte private seed.
pub const JWT_PRIVATE_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
/// `PGPLANE_JWT_KEYS` of test servers.
pub fn jwt_keys() -> String {
    format!("{JWT_KID}:{JWT_PRIVATE_KEY}")
}

/// What signs tokens as the test servers do (EdDSA, PKCS#8 of the seed as RFC 8410 lays it out).
pub fn jwt_encoding_key(seed_base64: &str) -> jsonwebtoken::EncodingKey {
    use base64::Engine;
    let seed = base64::engine::general_purpose::STANDARD
        .decode(seed_base64)
        .expect("base64 seed");
    let mut pkcs8 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    pkcs8.extend_from_slice(&seed);
    jsonwebtoken::EncodingKey::from_ed_der(&pkcs8)
}

/// The key-encryption key of test servers (`id:base64` of 32 bytes).
pub const SECRETS_KEY: &str = "test-1:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";
pub const JWT_ISSUER: &str = "pgplane";
pub const JWT_AUDIENCE: &str = "pgplane-api";
/// Password given to every user the fixtures create.
pub const PASSWORD: &str = "correct horse battery staple";
pub const ADMIN_EMAIL: &str = "admin@example.com";

#[derive(Parser)]
struct ServeArgs {
    #[command(flatten)]
    config: ServeConfig,
}

pub struct TestApp {
    pub base_url: String,
    pub database_url: String,
    pub db: PgPool,
    /// Personal API key of the bootstrapped platform admin.
    pub admin_key: String,
    server: Option<Server>,
    config: ServeConfig,
    platform: Option<Arc<dyn Platform>>,
    /// Workers and sync of each simulated process.
    background: Vec<Background>,
}

/// Job settings that make tests quick: short leases, fast rechecks and retries.
pub fn fast_jobs() -> JobSettings {
    JobSettings {
        concurrency: 8,
        lease: Duration::from_secs(2),
        recheck: Duration::from_secs(1),
        delete_recheck: Duration::from_millis(300),
        base_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
    }
}

fn serve_config(database_url: &str, extra_args: &[&str]) -> ServeConfig {
    let jwt_keys = jwt_keys();
    let mut args = vec!["pgplane", "--database-url", database_url];
    // The test keys, unless the test gives its own.
    if !extra_args.contains(&"--jwt-keys") {
        args.extend(["--jwt-keys", &jwt_keys]);
    }
    if !extra_args.contains(&"--secrets-key") {
        args.extend(["--secrets-key", SECRETS_KEY]);
    }
    if !extra_args.contains(&"--listen") {
        args.extend(["--listen", "127.0.0.1:0"]);
    }
    args.extend_from_slice(extra_args);
    let config = ServeArgs::try_parse_from(args)
        .expect("valid test configuration")
        .config;
    config.validate().expect("valid test configuration");
    config
}

async fn start_server(
    config: &ServeConfig,
    db: &PgPool,
    platform: Option<Arc<dyn Platform>>,
) -> Server {
    let state = AppState::new(config, db.clone())
        .expect("app state")
        .with_platform(platform);
    Server::start(state, config.http.listen)
        .await
        .expect("start server")
}

impl TestApp {
    /// A server with default settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// A server with extra `pgplane serve` flags (e.g. `--login-max-failures 3`).
    pub async fn spawn_with(extra_args: &[&str]) -> TestApp {
        Self::spawn_serving(extra_args, None).await
    }

    /// A server whose API knows `platform` (and refuses what it cannot do), without workers.
    async fn spawn_serving(extra_args: &[&str], platform: Option<Arc<dyn Platform>>) -> TestApp {
        let database_url = crate::postgres::fresh_database().await;
        let config = serve_config(&database_url, extra_args);
        let db = pgplane::app::connect_and_migrate(&config)
            .await
            .expect("migrate test database");
        let database = DatabaseConfig {
            database_url: database_url.clone(),
            db_max_connections: 4,
        };
        let admin_key = pgplane::cli::bootstrap_admin(&database, ADMIN_EMAIL, PASSWORD, "Admin")
            .await
            .expect("bootstrap admin");
        let server = start_server(&config, &db, platform.clone()).await;
        TestApp {
            base_url: format!("http://{}", server.local_addr),
            database_url,
            db,
            admin_key,
            server: Some(server),
            config,
            platform,
            background: Vec::new(),
        }
    }

    /// Restarts the API with other `serve` flags on the same metadata database, as a platform
    /// team does to change its configuration; workers and sync keep running.
    pub async fn restart_api_with(&mut self, extra_args: &[&str]) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("graceful stop");
        }
        self.config = serve_config(&self.database_url, extra_args);
        let server = start_server(&self.config, &self.db, self.platform.clone()).await;
        self.base_url = format!("http://{}", server.local_addr);
        self.server = Some(server);
    }

    /// A server whose workers and status sync run on `platform` (with [`fast_jobs`]).
    pub async fn spawn_with_platform(platform: Arc<dyn Platform>, extra_args: &[&str]) -> TestApp {
        let mut app = Self::spawn_serving(extra_args, Some(platform.clone())).await;
        app.start_background(platform);
        app
    }

    /// The keys this server seals secrets with.
    pub fn secrets(&self) -> Arc<pgplane::secrets::Keyring> {
        pgplane::secrets::keyring(&self.config.secrets).expect("the test key")
    }

    /// Starts workers and sync on `platform`, as one more (or a restarted) pgplane process would.
    /// While another process's background runs, this one gets its own pool of metadata
    /// connections, as a separate process has: sharing one pool, three processes' workers
    /// starved each other of connections in a way no deployment can.
    pub fn start_background(&mut self, platform: Arc<dyn Platform>) {
        let own_pool;
        let db = if self.background.is_empty() {
            &self.db
        } else {
            own_pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(self.config.database.db_max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_lazy(&self.database_url)
                .expect("a valid database URL");
            &own_pool
        };
        let secrets = self.secrets();
        let background = Background::start(
            db,
            &self.database_url,
            platform,
            &self.config.jobs,
            fast_jobs(),
            secrets,
        );
        self.background.push(background);
    }

    /// Stops every process's workers and sync gracefully (the API keeps serving).
    pub async fn stop_background(&mut self) {
        for background in self.background.drain(..) {
            background.stop().await;
        }
    }

    /// Stops the longest-running process's workers and sync gracefully (stop claiming, finish
    /// what is in flight), as SIGTERM during a rolling update does.
    pub async fn stop_oldest_background(&mut self) {
        if !self.background.is_empty() {
            self.background.remove(0).stop().await;
        }
    }

    /// Kills every process's workers and sync mid-flight, like crashed processes.
    pub async fn crash_background(&mut self) {
        for background in self.background.drain(..) {
            background.abort().await;
        }
    }

    /// Stops the server gracefully (in-flight requests finish).
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    /// [`TestApp::stop`] for an app owned by something else.
    pub async fn shutdown(&mut self) {
        self.stop_background().await;
        if let Some(server) = self.server.take() {
            server.stop().await.expect("graceful stop");
        }
    }

    pub fn client(&self, credential: &str) -> TestClient {
        TestClient::new(&self.base_url, Some(credential.to_string()))
    }

    pub fn anonymous(&self) -> TestClient {
        TestClient::new(&self.base_url, None)
    }

    pub fn admin(&self) -> TestClient {
        self.client(&self.admin_key)
    }

    /// Creates a tenant as the platform admin and returns it.
    pub async fn create_tenant(&self, name: &str) -> Value {
        self.admin()
            .post("/v1/tenants", json!({"name": name}))
            .await
            .expect(201)
            .json()
    }

    /// Creates a user (password [`PASSWORD`]) and returns it.
    pub async fn create_user(&self, email: &str) -> Value {
        let body = json!({"email": email, "password": PASSWORD, "name": email});
        self.admin()
            .post("/v1/users", body)
            .await
            .expect(201)
            .json()
    }

    /// Logs in with [`PASSWORD`] and returns the access token.
    pub async fn login(&self, email: &str) -> String {
        let call = self
            .anonymous()
            .post(
                "/v1/auth/token",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        call.expect(200).json()["access_token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    /// A new user holding `role` in `tenant`, as a client authenticated by their access token.
    pub async fn member(&self, tenant: &str, role: &str) -> TestClient {
        let email = format!(
            "{role}-{}@{tenant}.example.com",
            uuid::Uuid::new_v4().simple()
        );
        self.create_user(&email).await;
        self.admin()
            .put(
                &format!("/v1/tenants/{tenant}/members/{email}"),
                json!({"role": role}),
            )
            .await
            .expect(201);
        self.client(&self.login(&email).await)
    }
}
