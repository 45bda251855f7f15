//! The `pgplane` binary's contract for scripts: `admin bootstrap` prints only the key.

use std::process::Command;

use pgplane_tests::TestApp;

/// The `pgplane` binary next to this test binary (`scripts/test` builds it first).
fn pgplane_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = dir.join("pgplane");
    assert!(
        bin.is_file(),
        "{} not built: run `cargo build -p pgplane` first (scripts/test does)",
        bin.display()
    );
    bin
}

fn bootstrap(database_url: &str, email: &str) -> std::process::Output {
    Command::new(pgplane_binary())
        .args([
            "admin",
            "bootstrap",
            "--email",
            email,
            "--password",
            "a long enough password",
        ])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

#[tokio::test]
async fn admin_bootstrap_prints_only_an_api_key_and_is_idempotent_per_email() {
    let app = TestApp::spawn().await;
    let first = bootstrap(&app.database_url, "ops@example.com");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8(first.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must be the key alone: {stdout:?}");
    assert!(lines[0].starts_with("pgp_"));
    let second = bootstrap(&app.database_url, "ops@example.com");
    assert!(second.status.success());
    let key2 = String::from_utf8(second.stdout).unwrap().trim().to_string();
    for key in [lines[0], key2.as_str()] {
        let me = app.client(key).get("/v1/me").await.expect(200).json();
        assert_eq!(me["user"]["email"], "ops@example.com");
        assert_eq!(me["user"]["is_platform_admin"], true);
    }
    let users: i64 =
        sqlx::query_scalar("select count(*) from users where email = 'ops@example.com'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(users, 1);
}

#[test]
fn openapi_command_prints_the_document() {
    let output = Command::new(pgplane_binary())
        .arg("openapi")
        .output()
        .unwrap();
    assert!(output.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(spec["paths"]["/v1/tenants"].is_object());
}

#[test]
fn serve_reports_every_invalid_setting_at_once() {
    let output = Command::new(pgplane_binary())
        .args([
            "serve",
            "--database-url",
            "postgres://127.0.0.1:1/x",
            "--jwt-keys",
            "a:short",
            "--token-ttl-seconds",
            "5",
            "--cors-origins",
            "nope",
            "--portal-dir",
            "/nonexistent/portal",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for variable in [
        "PGPLANE_JWT_KEYS",
        "PGPLANE_TOKEN_TTL_SECONDS",
        "PGPLANE_CORS_ORIGINS",
        "PGPLANE_PORTAL_DIR",
    ] {
        assert!(
            stderr.contains(variable),
            "{variable} not reported: {stderr}"
        );
    }
}
