//! The `pgplane` command line: `serve`, `dev`, `migrate`, `openapi`, `admin bootstrap`,
//! `secrets generate-key` and `secrets rotate-key`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::auth::{api_key, password};
use crate::config::{DatabaseConfig, DevConfig, LogFormat, SecretsConfig, ServeConfig};
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
    /// The key-encryption keys that seal the secrets pgplane stores.
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Print a new key-encryption key as a key file line (`id:base64`).
    GenerateKey {
        /// The key's id (default: today's date and time).
        #[arg(long)]
        id: Option<String>,
    },
    /// Rewrap every stored secret under the first key of the key file (sealing any plaintext
    /// too), while pgplane runs. Prints how many secrets each key still holds: remove an old
    /// key only once it holds none.
    RotateKey {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        secrets: SecretsConfig,
    },
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
        Command::Secrets(SecretsCommand::GenerateKey { id }) => {
            let id = id.unwrap_or_else(|| chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string());
            let line = crate::secrets::keyring::new_key_line(&id);
            crate::secrets::keyring::parse_keys(&line).map_err(anyhow::Error::msg)?;
            println!("{line}");
            Ok(())
        }
        Command::Secrets(SecretsCommand::RotateKey { database, secrets }) => {
            rotate_key(&database, &secrets).await
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

/// `pgplane secrets rotate-key`: rewraps, then reports what each key holds.
async fn rotate_key(database: &DatabaseConfig, secrets: &SecretsConfig) -> anyhow::Result<()> {
    use crate::secrets::rotation;
    let keyring = crate::secrets::keyring(secrets).map_err(anyhow::Error::msg)?;
    let db = store::connect(&database.database_url, 2).await?;
    let active = keyring.active_id();
    let done = rotation::rotate(&db, &keyring).await?;
    println!(
        "rewrapped {} secrets under key `{active}`; sealed {} stored in plaintext",
        done.rewrapped, done.sealed
    );
    if done.changed_meanwhile > 0 {
        println!(
            "{} changed while this ran (written by a running pgplane): run again to check them",
            done.changed_meanwhile
        );
    }
    for (key, count) in rotation::census(&db).await? {
        let key = key.map_or("plaintext".to_string(), |k| format!("key `{k}`"));
        println!("  {key}: {count} secrets");
    }
    if !done.failed.is_empty() {
        anyhow::bail!(
            "{} secrets could not be rewrapped (their key is not in the key file):\n  {}",
            done.failed.len(),
            done.failed.join("\n  ")
        );
    }
    Ok(())
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
