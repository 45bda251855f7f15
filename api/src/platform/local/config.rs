//! The configuration pgplane writes into each local instance: `pgplane.conf` (included from
//! `postgresql.conf`) and `pg_hba.conf`. Same rules as on Kubernetes: TLS only, passwords
//! (SCRAM) for everyone, loopback only, WAL archived so replicas can always catch up.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::domain::cluster::ClusterSpec;

/// The file pgplane owns inside each data directory.
pub const CONFIG_FILE: &str = "pgplane.conf";

/// Client authentication: TLS and a password, from this host only; replication connections
/// only for the superuser (which pgplane alone knows).
pub const HBA: &str = "\
# Managed by pgplane: TLS and SCRAM passwords, loopback only.
# TYPE   DATABASE     USER      ADDRESS        METHOD
hostssl  replication  postgres  127.0.0.1/32   scram-sha-256
hostssl  replication  postgres  ::1/128        scram-sha-256
hostssl  all          all       127.0.0.1/32   scram-sha-256
hostssl  all          all       ::1/128        scram-sha-256
";

/// `pgplane.conf` of an instance listening on `port`.
pub fn server_config(spec: &ClusterSpec, port: u16, archive_dir: &Path) -> String {
    let archive = archive_dir.display().to_string();
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
        ("archive_mode".into(), "on".into()),
        (
            "archive_command".into(),
            format!(r#"test ! -f "{archive}/%f" && cp "%p" "{archive}/%f""#),
        ),
        // Replicas fetch WAL the primary no longer has from the archive.
        (
            "restore_command".into(),
            format!(r#"cp "{archive}/%f" "%p""#),
        ),
    ];
    settings.extend(spec.effective_parameters());
    let mut text = String::from("# Managed by pgplane; changes are overwritten.\n");
    for (name, value) in settings {
        text.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
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
        let text = server_config(&spec(), 5999, Path::new("/data/wal-archive"));
        assert!(text.contains("port = '5999'"));
        assert!(text.contains("ssl = 'on'"));
        assert!(text.contains(r#"cp "%p" "/data/wal-archive/%f""#), "{text}");
        assert!(text.contains("work_mem = '8MB'"));
        assert!(text.contains("unix_socket_directories = ''"));
    }

    #[test]
    fn quotes_in_values_are_doubled() {
        let mut spec = spec();
        spec.parameters
            .insert("application_name".into(), "it's".into());
        let text = server_config(&spec, 1, Path::new("/a"));
        assert!(text.contains("application_name = 'it''s'"), "{text}");
    }

    #[test]
    fn the_fingerprint_changes_with_the_configuration() {
        let a = server_config(&spec(), 1, Path::new("/a"));
        let b = server_config(&spec(), 2, Path::new("/a"));
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
    }
}
