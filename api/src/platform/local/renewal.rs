//! Renewing a cluster's server certificate before it expires, without a restart: PostgreSQL
//! and PgBouncer read their TLS files again when they reload (SIGHUP), and connections made
//! with the old certificate stay open. This is what PGO does with the Secrets of
//! `customTLSSecret` (its `replication-cert-copy` sidecar reloads PostgreSQL when the mounted
//! files change).

use chrono::Utc;

use super::Inner;
use super::instance::ProcessState;
use super::state::ClusterState;
use super::tls;

impl Inner {
    /// Renews the server certificate when the policy says it is due. The state takes the new
    /// certificate only once every running server and the pooler reloaded it; a failure is
    /// kept in `tls.renewal_error` (reported, and retried at the next tick).
    pub(super) async fn renew_certificate_if_due(&self, state: &mut ClusterState) {
        if !state.tls.renewal_due(&self.certificates, Utc::now()) {
            return;
        }
        match self.install_renewed_certificate(state).await {
            Ok(renewed) => {
                tracing::info!(cluster = %state.spec.name, expires_at = ?renewed.expires_at(), "renewed the server certificate");
                state.tls = renewed;
            }
            Err(error) => {
                let error = format!("renewing the server certificate: {error:#}");
                if state.tls.renewal_error.as_ref() != Some(&error) {
                    tracing::warn!(cluster = %state.spec.name, %error, "certificate renewal failed");
                }
                state.tls.renewal_error = Some(error);
            }
        }
    }

    /// Issues the new certificate, writes it beside every server and the pooler, and has the
    /// running ones reload it.
    async fn install_renewed_certificate(
        &self,
        state: &ClusterState,
    ) -> anyhow::Result<tls::ClusterTls> {
        let renewed = tls::renew(&state.tls, &state.spec.name, &self.certificates)?;
        for index in 0..state.instances.len() {
            let instance = self.instance(state, index);
            if !instance.initialized() {
                continue; // written when it is created
            }
            instance.write_tls(&renewed)?;
            if instance.process() != ProcessState::Stopped {
                instance.reload().await?;
            }
        }
        // A pooler that is down gets the files when it starts.
        if state.pooler.is_some()
            && let Some(pooler) = self.pooler(state.cluster_id)
            && pooler.running()
        {
            pooler.write_tls(&renewed)?;
            pooler.reload().await?;
        }
        Ok(renewed)
    }
}
