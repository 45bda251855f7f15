//! Where the local platform keeps things. One directory per cluster, named by its id:
//!
//! ```text
//! <root>/clusters/<cluster-id>/state.json   desired state, ports, passwords (mode 0600)
//!                             /pg0, pg1 …     instance data directories (by ordinal; the primary
//!                                             is the one `state.json` lists first)
//!                             /pgbackrest     pgBackRest's configuration, logs and locks
//!                             /repo           the pgBackRest repository: backups and archived WAL
//!                             /pgbouncer      the pooler's configuration, role list, pid file and log
//!                             /exporter       the metrics exporter's password file, pid file and log
//! <root>/retained/<tenant>/<cluster>-<id>/    the repository kept after a delete (keep_backups)
//! ```

use std::path::PathBuf;

use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn clusters(&self) -> PathBuf {
        self.root.join("clusters")
    }

    pub fn cluster_dir(&self, id: Uuid) -> PathBuf {
        self.clusters().join(id.to_string())
    }

    pub fn state_file(&self, id: Uuid) -> PathBuf {
        self.cluster_dir(id).join("state.json")
    }

    /// The data directory of the cluster's instance with `ordinal` (`pg<ordinal>`).
    pub fn instance_dir(&self, id: Uuid, ordinal: usize) -> PathBuf {
        self.cluster_dir(id).join(format!("pg{ordinal}"))
    }

    pub fn exporter_dir(&self, id: Uuid) -> PathBuf {
        self.cluster_dir(id).join("exporter")
    }

    pub fn pooler_dir(&self, id: Uuid) -> PathBuf {
        self.cluster_dir(id).join("pgbouncer")
    }

    /// pgBackRest's configuration file, logs, locks and spool.
    pub fn pgbackrest_dir(&self, id: Uuid) -> PathBuf {
        self.cluster_dir(id).join("pgbackrest")
    }

    /// The cluster's pgBackRest repository (`repo1-path`).
    pub fn repository_dir(&self, id: Uuid) -> PathBuf {
        self.cluster_dir(id).join("repo")
    }

    /// The directory everything lives under.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    pub fn retained_dir(&self, tenant: &str, cluster: &str, id: Uuid) -> PathBuf {
        self.root
            .join("retained")
            .join(tenant)
            .join(format!("{cluster}-{id}"))
    }

    /// Ids of the clusters that have a directory (in no particular order).
    pub fn cluster_ids(&self) -> Vec<Uuid> {
        std::fs::read_dir(self.clusters())
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}
