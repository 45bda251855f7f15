//! The configuration pgplane writes into each local instance: `pgplane.conf` (included from
//! `postgresql.conf`) and `pg_hba.conf`. Same rules as on Kubernetes: TLS only, passwords
//! (SCRAM) for everyone, loopback only, WAL archived into pgBackRest's repository.

use sha2::{Digest, Sha256};

use crate::domain::cluster::ClusterSpec;

/// The file pgplane owns inside each data directory.
pub const CONFIG_FILE: &str = "pgplane.conf";

/// Client authentication: TLS and a password, from this host only; replication connections
/// only for the superuser (which pgplane alone knows). The Unix-socket line serves pg_upgrade
/// alone: servers open a socket only when it starts them.
pub const HBA: &str = "\
# Managed by pgplane: TLS and SCRAM passwords, loopback only.
# TYPE   DATABASE     USER      ADDRESS        METHOD
local    all          postgres                 scram-sha-256
hostssl  replication  postgres  127.0.0.1/32   scram-sha-256
hostssl  replication  postgres  ::1/128        scram-sha-256
hostssl  all          all       127.0.0.1/32   scram-sha-256
hostssl  all          all       ::1/128        scram-sha-256
";

/// How an instance archives and fetches WAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archiving {
    /// `archive_command` (pgBackRest's `archive-push`; `true` when the cluster keeps no
    /// backups, as PGO sets it then).
    pub archive_command: String,
    /// `restore_command` (pgBackRest's `archive-get`), when there is a repository to read.
    pub restore_command: Option<String>,
}

impl Archiving {
    /// No repository: WAL is recycled once no replica needs it.
    pub fn none() -> Self {
        Archiving {
            archive_command: "true".into(),
            restore_command: None,
        }
    }
}

/// `pgplane.conf` of an instance listening on `port`. The same for a primary and its replicas,
/// so that a switchover changes nothing a restart would be needed for; what makes an instance
/// a replica is `standby.signal` and [`REPLICATION_FILE`].
pub fn server_config(spec: &ClusterSpec, port: u16, archiving: &Archiving) -> String {
    let mut settings: Vec<(String, String)> = vec![
        ("port".into(), port.to_string()),
        ("listen_addresses".into(), "127.0.0.1".into()),
        // No Unix socket: every connection goes through TLS and a password.
        ("unix_socket_directories".into(), String::new()),
        ("ssl".into(), "on".into()),
        ("ssl_cert_file".into(), "server.crt".into()),
        ("ssl_key_file".into(), "server.key".into()),
        ("ssl_ca_file".into(), "ca.crt".into()),
        ("password_encryption".into(), "scram-sha-256".into()),
        ("wal_level".into(), "replica".into()),
        ("max_wal_senders".into(), "10".into()),
        ("hot_standby".into(), "on".into()),
        // pg_rewind needs it to bring a former primary back as a replica.
        ("wal_log_hints".into(), "on".into()),
        ("archive_mode".into(), "on".into()),
        ("archive_command".into(), archiving.archive_command.clone()),
    ];
    if let Some(restore) = &archiving.restore_command {
        // Replicas fetch WAL the primary no longer has from the repository.
        settings.push(("restore_command".into(), restore.clone()));
    }
    settings.extend(spec.effective_parameters());
    let mut text = String::from("# Managed by pgplane; changes are overwritten.\n");
    for (name, value) in settings {
        text.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
    }
    text.push_str(&format!("include_if_exists = '{REPLICATION_FILE}'\n"));
    text
}

/// The file that says which server a replica follows (empty on a primary); a change is
/// picked up with a reload.
pub const REPLICATION_FILE: &str = "pgplane-replication.conf";

/// [`REPLICATION_FILE`] of a replica of the server on `primary_port` (`None`: a primary).
pub fn replication_config(primary_port: Option<u16>, superuser_password: &str) -> String {
    let mut text = String::from("# Managed by pgplane; changes are overwritten.\n");
    if let Some(port) = primary_port {
        let conninfo = format!(
            "host=127.0.0.1 port={port} user=postgres password={superuser_password} \
             sslmode=require application_name=pgplane-replica"
        );
        text.push_str(&format!(
            "primary_conninfo = '{}'\n",
            conninfo.replace('\'', "''")
        ));
    }
    text
}

/// Fingerprint of a configuration, to tell whether a running server has it.
pub fn fingerprint(config: &str) -> String {
    hex::encode(&Sha256::digest(config.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cluster::ClusterRequest;

    fn spec() -> ClusterSpec {
        ClusterSpec::from_request(ClusterRequest {
            name: "orders".into(),
            parameters: Some([("work_mem".to_string(), "8MB".to_string())].into()),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn the_configuration_carries_the_port_tls_archiving_and_the_tenant_parameters() {
        let archiving = Archiving {
            archive_command: "pgbackrest archive-push \"%p\"".into(),
            restore_command: Some("pgbackrest archive-get %f \"%p\"".into()),
        };
        let text = server_config(&spec(), 5999, &archiving);
        assert!(text.contains("port = '5999'"));
        assert!(text.contains("ssl = 'on'"));
        assert!(text.contains("wal_log_hints = 'on'"));
        assert!(
            text.contains(r#"archive_command = 'pgbackrest archive-push "%p"'"#),
            "{text}"
        );
        assert!(
            text.contains(r#"restore_command = 'pgbackrest archive-get %f "%p"'"#),
            "{text}"
        );
        assert!(text.ends_with(&format!("include_if_exists = '{REPLICATION_FILE}'\n")));
        assert!(text.contains("work_mem = '8MB'"));
        assert!(text.contains("unix_socket_directories = ''"));
    }

    #[test]
    fn quotes_in_values_are_doubled() {
        let mut spec = spec();
        spec.parameters
            .insert("application_name".into(), "it's".into());
        let text = server_config(&spec, 1, &Archiving::none());
        assert!(text.contains("application_name = 'it''s'"), "{text}");
    }

    #[test]
    fn the_fingerprint_changes_with_the_configuration() {
        let a = server_config(&spec(), 1, &Archiving::none());
        let b = server_config(&spec(), 2, &Archiving::none());
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
    }

    #[test]
    fn a_replica_follows_its_primary_and_a_primary_follows_nobody() {
        let replica = replication_config(Some(6001), "it's");
        assert!(
            replica.contains("primary_conninfo = 'host=127.0.0.1 port=6001 user=postgres password=it''s sslmode=require"),
            "{replica}"
        );
        assert!(!replication_config(None, "x").contains("primary_conninfo"));
    }
}
