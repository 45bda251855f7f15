//! Shared parts of the benchmarks (`tests/benches/`, run by `scripts/bench`): the figures file
//! `target/bench/summary.json`, and the two outside load generators, `oha` (HTTP) and `pgbench`
//! (PostgreSQL). Benchmarks print figures; none of this fails on time.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Map, Value};

/// `target/bench/` of the repository (created on demand).
pub fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).expect("create target/bench");
    dir
}

/// Merges `figures` into `target/bench/summary.json` (so each benchmark adds its own keys) and
/// prints them.
pub fn record(section: &str, figures: &[(&str, Value)]) {
    let path = out_dir().join("summary.json");
    let mut summary: Map<String, Value> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    println!("{section}");
    for (key, value) in figures {
        println!("  {key:<32} {value}");
        summary.insert((*key).to_string(), value.clone());
    }
    let text = serde_json::to_string_pretty(&Value::Object(summary)).expect("json");
    std::fs::write(&path, text + "\n").expect("write summary.json");
}

/// Rounds to two decimals for the summary.
pub fn round2(x: f64) -> Value {
    serde_json::json!((x * 100.0).round() / 100.0)
}

/// Integer environment setting with a default (`BENCH_*` scale the benchmarks).
pub fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one `oha` run measured.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Share of 2xx answers.
    pub success: f64,
}

/// The `oha` binary: `OHA`, else `target/tools/bin/oha` (where `scripts/bench` installs it),
/// else from `PATH`.
fn oha_binary() -> PathBuf {
    if let Ok(path) = std::env::var("OHA") {
        return path.into();
    }
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/bin/oha");
    if local.exists() { local } else { "oha".into() }
}

/// Runs `oha` against `url` for `seconds` with `connections`, optionally capped at `rate`
/// requests per second, sending `headers`.
pub fn oha(
    url: &str,
    connections: usize,
    seconds: u64,
    rate: Option<f64>,
    headers: &[String],
) -> Load {
    let mut command = Command::new(oha_binary());
    command
        .args(["--no-tui", "--output-format", "json", "-c"])
        .arg(connections.to_string())
        .arg("-z")
        .arg(format!("{seconds}s"));
    if let Some(rate) = rate {
        command.arg("-q").arg(format!("{}", rate.max(1.0).round()));
    }
    for header in headers {
        command.arg("-H").arg(header);
    }
    command.arg(url);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run oha (scripts/bench installs it): {e}"));
    assert!(
        output.status.success(),
        "oha failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("oha JSON");
    let ms = |key: &str| {
        report["latencyPercentiles"][key]
            .as_f64()
            .unwrap_or(f64::NAN)
            * 1000.0
    };
    Load {
        rps: report["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50_ms: ms("p50"),
        p99_ms: ms("p99"),
        success: report["summary"]["successRate"].as_f64().unwrap_or(0.0),
    }
}

/// The `pgbench` binary: on `PATH`, else the newest in `/usr/lib/postgresql/*/bin`.
fn pgbench_binary() -> PathBuf {
    if let Some(dir) = pgplane::embedded_pg::find_bin_dir()
        && dir.join("pgbench").exists()
    {
        return dir.join("pgbench");
    }
    "pgbench".into()
}

/// Runs the pgbench `script` against `database_url` with `clients` for `seconds` (prepared
/// statements, like sqlx) and returns transactions per second.
pub fn pgbench(database_url: &str, script: &str, clients: usize, seconds: u64) -> f64 {
    let file = out_dir().join("pgbench-script.sql");
    std::fs::write(&file, script).expect("write the pgbench script");
    let output = Command::new(pgbench_binary())
        .args(["-n", "-M", "prepared", "-j", "2", "-c"])
        .arg(clients.to_string())
        .arg("-T")
        .arg(seconds.to_string())
        .arg("-f")
        .arg(&file)
        .arg(database_url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run pgbench: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench output: {stdout}"))
}
