//! Secrets at rest (issue 22): a real `pgplane serve` on the test API server stores a cluster's
//! owner and role passwords (read by the sync from the operator's Secrets) and an idempotent
//! response carrying a new API key; `pg_dump` of its metadata database holds none of them in
//! plaintext. Then the key-encryption key is rotated the documented way, with the service
//! running and answering throughout, and every password is still the same; a wrong key at
//! start is refused with a clear message and changes nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use http::Method;
use pgplane::config::DatabaseConfig;
use pgplane_tests::app::jwt_keys;
use pgplane_tests::process::{ServeProcess, pgplane_binary};
use pgplane_tests::{PASSWORD, TestClient};
use serde_json::{Value, json};

use crate::support::Kube;

const CONNECTION: &str = "/v1/tenants/acme/clusters/orders/connection";

/// The passwords and the key a client has seen.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    owner_password: String,
    role_password: String,
    api_key: String,
}

fn write_keys(path: &Path, lines: &[&str]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

async fn serve_with(kube: &Kube, database_url: &str, keys: &Path, log: &str) -> ServeProcess {
    let keys = keys.to_str().unwrap();
    kube.serve(
        database_url,
        &kube.log(log),
        &[("PGPLANE_SECRETS_KEY_FILE", keys)],
    )
    .await
}

/// GET until it answers 200 with `field` set.
async fn eventually(client: &TestClient, path: &str, field: &str) -> String {
    let started = Instant::now();
    loop {
        let response = client.get(path).await;
        if response.status == 200
            && let Some(value) = response.json()[field].as_str()
        {
            return value.to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{path}: no {field}: {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Everything the client can read back, through `client`'s server.
async fn read_back(client: &TestClient, idempotency_key: &str) -> Seen {
    let api_key = client
        .send(
            Method::POST,
            "/v1/me/api-keys",
            Some(json!({"name": "ci"})),
            &[("Idempotency-Key", idempotency_key)],
        )
        .await
        .expect(201)
        .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    Seen {
        owner_password: eventually(client, &format!("{CONNECTION}?reveal=true"), "password").await,
        role_password: eventually(
            client,
            &format!("{CONNECTION}?role=reporting&reveal=true"),
            "password",
        )
        .await,
        api_key,
    }
}

/// `pg_dump` of the database, by the first installed `pg_dump` that can dump it (a dump needs
/// a client as new as the server).
fn dump(database_url: &str) -> String {
    let mut errors = Vec::new();
    let mut dirs = pgplane::embedded_pg::find_all_bin_dirs();
    dirs.reverse();
    for dir in dirs {
        let output = Command::new(dir.join("pg_dump"))
            .args(["--no-owner", "--dbname", database_url])
            .output();
        match output {
            Ok(out) if out.status.success() => return String::from_utf8(out.stdout).unwrap(),
            Ok(out) => errors.push(String::from_utf8_lossy(&out.stderr).to_string()),
            Err(e) => errors.push(format!("{}: {e}", dir.display())),
        }
    }
    panic!("no pg_dump could dump the database: {errors:?}");
}

/// The secret-holding rows, to show that a refused start changed nothing.
async fn secret_rows(db: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select coalesce(connection_password, '') || role_passwords::text from clusters
         union all select encode(body, 'escape') from idempotency_keys where body is not null
         order by 1",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

/// `pgplane serve` that is expected to refuse to start: its stderr.
fn refused_start(database_url: &str, keys: &Path) -> String {
    let output = Command::new(pgplane_binary())
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("PGPLANE_LISTEN", "127.0.0.1:0")
        .env("PGPLANE_PLATFORM", "none")
        .env("PGPLANE_JWT_KEYS", jwt_keys())
        .env("PGPLANE_SECRETS_KEY_FILE", keys)
        .output()
        .unwrap();
    assert!(!output.status.success(), "pgplane serve started");
    String::from_utf8_lossy(&output.stderr).to_string()
}

fn rotate_key(database_url: &str, keys: &Path) -> String {
    let output = Command::new(pgplane_binary())
        .args(["secrets", "rotate-key"])
        .env("DATABASE_URL", database_url)
        .env("PGPLANE_SECRETS_KEY_FILE", keys)
        .env_remove("PGPLANE_SECRETS_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn generate_key(id: &str) -> String {
    let output = Command::new(pgplane_binary())
        .args(["secrets", "generate-key", "--id", id])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_secrets_are_sealed_and_survive_a_key_rotation_made_while_serving() {
    let kube = Kube::start(5).await;
    let database_url = pgplane_tests::postgres::fresh_database().await;
    let keys: PathBuf = kube.dir.path().join("secrets.key");
    let (k1, k2) = (generate_key("k1"), generate_key("k2"));
    assert!(k1.starts_with("k1:") && k1 != k2, "{k1}");
    write_keys(&keys, &[&k1]);

    let serve = serve_with(&kube, &database_url, &keys, "serve-1.log").await;
    let admin_key = pgplane::cli::bootstrap_admin(
        &DatabaseConfig {
            database_url: database_url.clone(),
            db_max_connections: 1,
        },
        "admin@example.com",
        PASSWORD,
        "Admin",
    )
    .await
    .unwrap();
    let admin = TestClient::new(&serve.base_url, Some(admin_key.clone()));
    admin
        .post("/v1/tenants", json!({"name": "acme"}))
        .await
        .expect(201);
    admin
        .post(
            "/v1/tenants/acme/clusters",
            json!({"name": "orders", "users": [{"name": "reporting", "databases": ["analytics"]}]}),
        )
        .await
        .expect(202);
    let idempotency_key = uuid::Uuid::new_v4().to_string();
    let seen = read_back(&admin, &idempotency_key).await;

    // Nothing a client was shown is in a dump; what is there is sealed under k1.
    let db = pgplane::store::connect(&database_url, 2).await.unwrap();
    let text = dump(&database_url);
    assert!(
        text.contains("pgplane:v1:k1:"),
        "nothing sealed in the dump"
    );
    for (what, secret) in [
        ("owner password", &seen.owner_password),
        ("role password", &seen.role_password),
        ("API key", &seen.api_key),
    ] {
        assert!(!text.contains(secret.as_str()), "the {what} is in the dump");
    }

    drop(serve);

    // A wrong key (same id, other bytes) and a key file without k1 are refused at start, and
    // change nothing.
    let before = secret_rows(&db).await;
    let wrong = kube.dir.path().join("wrong.key");
    write_keys(&wrong, &[&generate_key("k1")]);
    let refused = refused_start(&database_url, &wrong);
    assert!(
        refused.contains("key `k1` does not open the stored"),
        "{refused}"
    );
    let without = kube.dir.path().join("without.key");
    write_keys(&without, &[&generate_key("k3")]);
    let refused = refused_start(&database_url, &without);
    assert!(
        refused
            .contains("are sealed under key `k1`, which the configured keys (k3) do not include"),
        "{refused}"
    );
    assert_eq!(
        secret_rows(&db).await,
        before,
        "a refused start changed stored secrets"
    );

    // The rotation as documented: k2 first with k1 kept; rotate-key while the service (still
    // sealing with k1, the key it started with) serves; the service rolled; rotate-key again;
    // k1 removed once nothing is left under it.
    let serve = serve_with(&kube, &database_url, &keys, "serve-2.log").await;
    let still_serving = TestClient::new(&serve.base_url, Some(admin_key.clone()));
    write_keys(&keys, &[&k2, &k1]);
    let first = rotate_key(&database_url, &keys);
    assert!(first.contains("under key `k2`"), "{first}");
    // The process started with k1 alone reads what is now under k2 (it reads the file again).
    assert_eq!(read_back(&still_serving, &idempotency_key).await, seen);
    drop(serve);
    let serve = serve_with(&kube, &database_url, &keys, "serve-3.log").await;
    let rolled = TestClient::new(&serve.base_url, Some(admin_key.clone()));
    assert_eq!(read_back(&rolled, &idempotency_key).await, seen);
    let second = rotate_key(&database_url, &keys);
    assert!(
        second.contains("key `k2`: 3 secrets")
            && !second.contains("key `k1`:")
            && !second.contains("plaintext:"),
        "secrets left under k1 after a roll and a rotation: {second}"
    );
    drop(serve);
    write_keys(&keys, &[&k2]);
    let serve = serve_with(&kube, &database_url, &keys, "serve-4.log").await;
    let after = TestClient::new(&serve.base_url, Some(admin_key));
    assert_eq!(read_back(&after, &idempotency_key).await, seen);
    let text = dump(&database_url);
    assert!(!text.contains("pgplane:v1:k1:"), "a secret still under k1");
    let owner: Value = after.get(CONNECTION).await.expect(200).json();
    assert!(owner.get("password").is_none(), "{owner}");
}
