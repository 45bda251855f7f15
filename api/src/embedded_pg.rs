//! A PostgreSQL server run from the binaries installed on this machine (initdb + pg_ctl), for
//! `pgplane dev` and the test harness. The data directory is created on first start and reused
//! afterwards. PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
//! user (or `nobody`) through `runuser`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// How to install the server binaries, for the error message when they are missing.
pub const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. \
Install them, e.g. `sudo apt-get install postgresql` on Debian/Ubuntu, `brew install postgresql` on macOS, \
or set PGPLANE_PG_BIN_DIR to the directory that holds them; or point DATABASE_URL at an existing database.";

/// Directory holding `initdb`, `pg_ctl` and `postgres`: `$PGPLANE_PG_BIN_DIR`, then
/// `pg_config --bindir`, then the newest `/usr/lib/postgresql/*/bin`, then `PATH`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_server = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Ok(dir) = std::env::var("PGPLANE_PG_BIN_DIR") {
        return Some(PathBuf::from(dir)).filter(|d| has_server(d));
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versioned.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    from_pg_config
        .into_iter()
        .chain(versioned.into_iter().rev())
        .chain(on_path)
        .find(|d| has_server(d))
}

/// Every directory holding a PostgreSQL server (`initdb`, `pg_ctl`, `postgres`) this host
/// has: the one [`find_bin_dir`] picks, every `/usr/lib/postgresql/<major>/bin`, and the
/// directories listed in `$PGPLANE_PG_BIN_DIRS` (separated like `PATH`), in that order.
pub fn find_all_bin_dirs() -> Vec<PathBuf> {
    let has_server = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    let versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    let listed: Vec<PathBuf> = std::env::var_os("PGPLANE_PG_BIN_DIRS")
        .map(|dirs| std::env::split_paths(&dirs).collect())
        .unwrap_or_default();
    let mut found: Vec<PathBuf> = Vec::new();
    for dir in find_bin_dir().into_iter().chain(versioned).chain(listed) {
        if has_server(&dir) && !found.contains(&dir) {
            found.push(dir);
        }
    }
    found
}

/// A free TCP port on loopback (racy by nature; the caller binds it right away).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The installed server binaries and the OS user servers run as.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    pub bin_dir: PathBuf,
    /// The OS user servers run as when we are root (PostgreSQL refuses to run as root).
    run_as: Option<String>,
}

#[expect(unsafe_code, reason = "one libc call, without a libc dependency")]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc_geteuid() == 0 }
}

#[expect(unsafe_code, reason = "the declaration of that libc call")]
unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

impl PgBinaries {
    /// Finds the binaries (see [`find_bin_dir`]); the error is [`INSTALL_HINT`].
    pub fn find() -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir().context(INSTALL_HINT)?;
        Ok(Self::in_dir(bin_dir))
    }

    /// The binaries of every PostgreSQL major this host has (see [`find_all_bin_dirs`]), the
    /// newest last; one directory per major (the first found).
    pub fn find_all() -> Vec<(u32, Self)> {
        Self::find_all_and(&[])
    }

    /// The server binaries in the directories `first`, then [`PgBinaries::find_all`]'s (a
    /// major found in `first` is run from there).
    pub fn find_all_and(first: &[PathBuf]) -> Vec<(u32, Self)> {
        let mut by_major: Vec<(u32, Self)> = Vec::new();
        for dir in first.iter().cloned().chain(find_all_bin_dirs()) {
            let bins = Self::in_dir(dir);
            if let Ok(major) = bins.major_version()
                && !by_major.iter().any(|(known, _)| *known == major)
            {
                by_major.push((major, bins));
            }
        }
        by_major.sort_by_key(|(major, _)| *major);
        by_major
    }

    fn in_dir(bin_dir: PathBuf) -> Self {
        let run_as = is_root().then(|| {
            let exists = |user: &str| {
                Command::new("id")
                    .arg("-u")
                    .arg(user)
                    .output()
                    .is_ok_and(|o| o.status.success())
            };
            if exists("postgres") {
                "postgres".to_string()
            } else {
                "nobody".to_string()
            }
        });
        Self { bin_dir, run_as }
    }

    /// The PostgreSQL major version of these binaries (`postgres --version`: "postgres
    /// (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)").
    pub fn major_version(&self) -> anyhow::Result<u32> {
        let output = Command::new(self.bin_dir.join("postgres"))
            .arg("--version")
            .output()
            .context("running postgres --version")?;
        let text = String::from_utf8_lossy(&output.stdout);
        parse_major(&text).with_context(|| format!("unexpected `postgres --version`: {text}"))
    }

    /// The full version the server reports, e.g. `15.20` (`postgres --version`).
    pub fn version(&self) -> anyhow::Result<String> {
        let output = Command::new(self.bin_dir.join("postgres"))
            .arg("--version")
            .output()
            .context("running postgres --version")?;
        let text = String::from_utf8_lossy(&output.stdout);
        let rest = text
            .split("(PostgreSQL)")
            .nth(1)
            .with_context(|| format!("unexpected `postgres --version`: {text}"))?;
        let version: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        anyhow::ensure!(
            !version.is_empty(),
            "unexpected `postgres --version`: {text}"
        );
        Ok(version)
    }

    /// A command running `binary` as the server user.
    pub fn command(&self, binary: &str) -> Command {
        self.command_at(&self.bin_dir.join(binary))
    }

    /// A command running the executable at `path` as the server user (for the tools beside
    /// PostgreSQL that refuse to run as root too, such as PgBouncer).
    pub fn command_at(&self, path: &Path) -> Command {
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    /// Hands `path` (recursively) to the server user, when servers run as another user.
    pub fn give_to_server_user(&self, path: &Path) -> anyhow::Result<()> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        let mut chown = Command::new("chown");
        chown.arg("-R").arg(format!("{user}:")).arg(path);
        run(chown, "chown to the server user")
    }
}

/// The major version in `postgres --version` output.
fn parse_major(version: &str) -> Option<u32> {
    let rest = version.split("(PostgreSQL)").nth(1)?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Runs `command`, turning a non-zero exit into an error carrying its output.
pub fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
    }
    Ok(())
}

/// A PostgreSQL server with its data directory.
#[derive(Debug, Clone)]
pub struct EmbeddedPostgres {
    pub bins: PgBinaries,
    pub data_dir: PathBuf,
    pub port: u16,
}

impl EmbeddedPostgres {
    /// Describes a server in `data_dir` listening on `port`; nothing runs yet.
    pub fn new(data_dir: impl Into<PathBuf>, port: u16) -> anyhow::Result<Self> {
        Ok(Self {
            bins: PgBinaries::find()?,
            data_dir: data_dir.into(),
            port,
        })
    }

    /// URL of the `postgres` superuser database (trust authentication on loopback).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates the data directory with initdb unless it already holds a cluster.
    pub fn init(&self) -> anyhow::Result<()> {
        if self.data_dir.join("PG_VERSION").exists() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.data_dir)?;
        self.bins.give_to_server_user(&self.data_dir)?;
        let mut initdb = self.bins.command("initdb");
        initdb.arg("-D").arg(&self.data_dir).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
        ]);
        run(initdb, "initdb")
    }

    /// Starts the server (waiting until it accepts connections). Listens on loopback only,
    /// with its socket inside the data directory so nothing outside it is touched.
    pub fn start(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200 -c fsync=off -c synchronous_commit=off",
            self.port,
            self.data_dir.display()
        );
        let mut pg_ctl = self.bins.command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(self.data_dir.join("server.log"))
            .arg("-o")
            .arg(options)
            .args(["-w", "-t", "60", "start"]);
        run(pg_ctl, "pg_ctl start")
    }

    /// Stops the server (fast shutdown).
    pub fn stop(&self) -> anyhow::Result<()> {
        let mut pg_ctl = self.bins.command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "stop"]);
        run(pg_ctl, "pg_ctl stop")
    }

    /// True when a server is running on this data directory.
    pub fn is_running(&self) -> bool {
        let mut pg_ctl = self.bins.command("pg_ctl");
        pg_ctl.arg("-D").arg(&self.data_dir).arg("status");
        pg_ctl.output().is_ok_and(|o| o.status.success())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_major;

    #[test]
    fn the_major_version_is_read_from_postgres_version_output() {
        assert_eq!(
            parse_major("postgres (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)\n"),
            Some(15)
        );
        assert_eq!(parse_major("postgres (PostgreSQL) 18beta1\n"), Some(18));
        assert_eq!(parse_major("something else"), None);
    }
}
