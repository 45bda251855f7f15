//! The `pgplane` command line: `serve`, `migrate`, `openapi`, `admin bootstrap`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::auth::{api_key, password};
use crate::config::{DatabaseConfig, DevConfig, LogFormat, ServeConfig};
use crate::store::{
    self,
    api_keys::{KeyOwner, NewApiKey},
    users::{NewUser, UserChanges},
};

#[derive(Parser, Debug)]
#[command(
    name = "pgplane",
    version,
    about = "Postgres as a service on Kubernetes: the pgplane control plane"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        env = "PGPLANE_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run everything on this machine: an embedded metadata PostgreSQL (unless DATABASE_URL is
    /// set), the API, a platform admin and a demo tenant. Prints the URL and an API key.
    Dev(DevConfig),
    /// Run the HTTP API (migrations are applied first).
    Serve(ServeConfig),
    /// Apply database migrations and exit.
    Migrate(DatabaseConfig),
    /// Print the OpenAPI document (JSON) to stdout.
    Openapi,
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create the first platform admin (or make an existing user one) and print a new API key
    /// for them as the only line on stdout. Safe to run again with the same email.
    Bootstrap {
        #[command(flatten)]
        database: DatabaseConfig,
        #[arg(long, env = "PGPLANE_ADMIN_EMAIL")]
        email: String,
        /// Password for a new user (ignored when the user exists).
        #[arg(long, env = "PGPLANE_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Platform admin")]
        name: String,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(config) => {
            if let Err(problems) = config.validate() {
                anyhow::bail!("invalid configuration:\n  {}", problems.join("\n  "));
            }
            crate::app::serve(config).await
        }
        Command::Dev(config) => crate::dev::run(config).await,
        Command::Migrate(database) => {
            let db = store::connect(&database.database_url, 2).await?;
            store::migrate(&db).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Openapi => {
            println!("{}", crate::http::openapi().to_pretty_json()?);
            Ok(())
        }
        Command::Admin(AdminCommand::Bootstrap {
            database,
            email,
            password,
            name,
        }) => {
            let key = bootstrap_admin(&database, &email, &password, &name).await?;
            println!("{key}");
            Ok(())
        }
    }
}

/// Ensures a platform admin with `email` exists and returns a fresh personal API key for them.
pub async fn bootstrap_admin(
    database: &DatabaseConfig,
    email: &str,
    password_text: &str,
    name: &str,
) -> anyhow::Result<String> {
    let email = email.trim().to_lowercase();
    if let Some(why) = crate::domain::names::email_error(&email) {
        anyhow::bail!("--email {why}");
    }
    let db = store::connect(&database.database_url, 2).await?;
    store::migrate(&db).await?;
    let mut tx = store::begin(&db).await?;
    // Serialise concurrent bootstraps so the same email is created once.
    sqlx::query("select pg_advisory_xact_lock(hashtext('pgplane-bootstrap'))")
        .execute(&mut *tx)
        .await?;
    let user = match store::users::find_by_email(&mut *tx, &email).await? {
        Some(user) => {
            let changes = UserChanges {
                is_platform_admin: Some(true),
                disabled: Some(false),
                ..Default::default()
            };
            store::users::update(&mut *tx, user.id, &changes).await?
        }
        None => {
            if let Err(why) = password::check_strength(password_text) {
                anyhow::bail!("--password {why}");
            }
            let hash = password::hash(password_text)
                .map_err(|e| anyhow::anyhow!("hashing password: {e}"))?;
            let new = NewUser {
                email: &email,
                name,
                password_hash: &hash,
                is_platform_admin: true,
            };
            store::users::create(&mut *tx, &new).await?
        }
    };
    let key = api_key::generate();
    store::api_keys::create(
        &mut *tx,
        &NewApiKey {
            name: "bootstrap",
            prefix: &key.display_prefix,
            hash: &key.hash,
            owner: KeyOwner::User(user.id),
            role: None,
            created_by: Some(user.id),
            expires_at: None,
        },
    )
    .await?;
    tx.commit().await?;
    db.close().await;
    Ok(key.secret)
}
