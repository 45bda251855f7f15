//! The connection pooler of a local cluster: one PgBouncer process (Debian's `pgbouncer`
//! package) in front of the primary, as PGO runs PgBouncer in front of a `PostgresCluster`
//! (`proxy.pgBouncer`): session pooling, clients on TLS with SCRAM passwords (the cluster's
//! roles), TLS to the server, `extra_float_digits` ignored at startup as PGO configures it.
//!
//! Its files live in `<cluster>/pgbouncer/`; whether it runs is read from its pid file. A
//! changed configuration is applied with a reload (SIGHUP), which keeps the clients connected;
//! a changed role list (a new role, a rotated password) with a restart (see [`Fingerprint`]),
//! after which pooled sessions reconnect; a stopped pooler is started.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::daemon::{PidFile, find_executable};
use super::files::write_private;
use super::tls::ClusterTls;
use crate::embedded_pg::PgBinaries;

/// Where Debian installs it when `/usr/sbin` is not on the PATH.
const DEBIAN_PATH: &str = "/usr/sbin/pgbouncer";

/// The `pgbouncer` executable, if installed.
pub fn find_pgbouncer() -> Option<PathBuf> {
    find_executable(&["pgbouncer"], DEBIAN_PATH)
}

/// What the pooler serves: its port, the primary's, and who may sign in.
pub struct PoolerConfig<'a> {
    pub port: u16,
    pub primary_port: u16,
    /// The cluster's roles and their passwords (never the superuser's).
    pub users: Vec<(&'a str, &'a str)>,
}

/// `pgbouncer.ini` and `userlist.txt` as they should be.
pub struct PoolerFiles {
    ini: String,
    users: String,
    pub fingerprint: Fingerprint,
}

/// What a running PgBouncer has read. A new configuration is applied with a reload; a new
/// role list needs a restart, because PgBouncer 1.18 keeps a role's SCRAM keys from its first
/// sign-in across reloads (a rotated password would be refused until then).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    pub config: String,
    pub users: String,
}

/// One cluster's PgBouncer.
pub struct Pooler<'a> {
    pub bins: &'a PgBinaries,
    pub executable: &'a Path,
    pub dir: PathBuf,
}

impl Pooler<'_> {
    fn process(&self) -> PidFile {
        PidFile(self.dir.join("pgbouncer.pid"))
    }

    pub fn running(&self) -> bool {
        self.process().running()
    }

    /// Whether it accepts connections on `port`.
    pub fn ready(&self, port: u16) -> bool {
        self.process().listening(port)
    }

    /// The files `config` makes, and their fingerprint (to tell whether the running
    /// PgBouncer has read them).
    pub fn files(&self, config: &PoolerConfig<'_>) -> PoolerFiles {
        let ini = ini(&self.dir, config);
        let users = userlist(&config.users);
        PoolerFiles {
            fingerprint: Fingerprint {
                config: super::config::fingerprint(&ini),
                users: super::config::fingerprint(&users),
            },
            ini,
            users,
        }
    }

    /// Writes its configuration, role list and TLS files.
    pub fn write(&self, files: &PoolerFiles, tls: &ClusterTls) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        write_private(&self.dir.join("pgbouncer.ini"), &files.ini)?;
        write_private(&self.dir.join("userlist.txt"), &files.users)?;
        self.write_tls(tls)?;
        self.bins.give_to_server_user(&self.dir)
    }

    /// Writes its TLS files (read again at a reload), once it has a directory.
    pub fn write_tls(&self, tls: &ClusterTls) -> anyhow::Result<()> {
        super::instance::write_tls_files(&self.dir, tls, self.bins)
    }

    /// Starts it (as the server user: PgBouncer refuses to run as root) and waits until it
    /// accepts connections.
    pub async fn start(&self, port: u16) -> anyhow::Result<()> {
        let mut command = self.bins.command_at(self.executable);
        command.arg("-d").arg(self.dir.join("pgbouncer.ini"));
        let output = tokio::process::Command::from(command)
            .output()
            .await
            .context("running pgbouncer")?;
        if !output.status.success() {
            bail!(
                "pgbouncer did not start: {}{} (see {})",
                String::from_utf8_lossy(&output.stderr).trim(),
                String::from_utf8_lossy(&output.stdout).trim(),
                self.dir.join("pgbouncer.log").display()
            );
        }
        self.process()
            .wait_listening(port, "pgbouncer", &self.dir.join("pgbouncer.log"))
            .await
    }

    /// Re-reads the configuration and role list; clients stay connected.
    pub async fn reload(&self) -> anyhow::Result<()> {
        self.process().signal("HUP").await
    }

    /// Stops it (SIGTERM: PgBouncer's immediate shutdown; its safe one would wait for every
    /// session to end) and waits for the process to go; a no-op when it does not run.
    pub async fn stop(&self) -> anyhow::Result<()> {
        self.process().stop("TERM").await
    }
}

/// `pgbouncer.ini`: every database of the primary, session pooling, TLS on both sides.
fn ini(dir: &Path, config: &PoolerConfig<'_>) -> String {
    let file = |name: &str| dir.join(name).display().to_string();
    format!(
        "; Managed by pgplane; changes are overwritten.\n\
         [databases]\n\
         * = host=127.0.0.1 port={primary}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         pidfile = {pid}\n\
         logfile = {log}\n\
         pool_mode = session\n\
         auth_type = scram-sha-256\n\
         auth_file = {users}\n\
         ignore_startup_parameters = extra_float_digits\n\
         client_tls_sslmode = require\n\
         client_tls_cert_file = {cert}\n\
         client_tls_key_file = {key}\n\
         client_tls_ca_file = {ca}\n\
         server_tls_sslmode = require\n",
        primary = config.primary_port,
        port = config.port,
        pid = file("pgbouncer.pid"),
        log = file("pgbouncer.log"),
        users = file("userlist.txt"),
        cert = file("server.crt"),
        key = file("server.key"),
        ca = file("ca.crt"),
    )
}

/// PgBouncer's `auth_file`: `"name" "password"` per role, quotes doubled. PgBouncer answers
/// clients with SCRAM from it and signs in to the server with the same password.
fn userlist(users: &[(&str, &str)]) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    users
        .iter()
        .map(|(name, password)| format!("{} {}\n", quote(name), quote(password)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_list_quotes_names_and_passwords() {
        assert_eq!(
            userlist(&[("app", "se\"cret"), ("reporting", "x")]),
            "\"app\" \"se\"\"cret\"\n\"reporting\" \"x\"\n"
        );
    }

    #[test]
    fn the_configuration_points_at_the_primary_with_tls_and_scram() {
        let text = ini(
            Path::new("/data/c/pgbouncer"),
            &PoolerConfig {
                port: 7000,
                primary_port: 6000,
                users: vec![],
            },
        );
        for line in [
            "* = host=127.0.0.1 port=6000",
            "listen_port = 7000",
            "auth_type = scram-sha-256",
            "client_tls_sslmode = require",
            "server_tls_sslmode = require",
            "auth_file = /data/c/pgbouncer/userlist.txt",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
