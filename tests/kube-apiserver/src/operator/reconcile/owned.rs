//! The Services and Secrets PGO owns for a cluster: applied from the spec, user Secrets'
//! passwords kept or regenerated, and deleted with the cluster.

use super::*;

impl Controller {
    pub(super) async fn apply_children(&mut self, c: &Cluster<'_>) -> Result<()> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let services: Api<Service> = self.api_for(c.namespace);
        let secrets: Api<Secret> = self.api_for(c.namespace);
        for service in children::services(c) {
            let name = crate::meta::meta_str(&service, "name")
                .unwrap_or("")
                .to_string();
            services
                .patch(&name, &params, &Patch::Apply(service))
                .await?;
        }
        let Some(tracked) = self.tracked.get_mut(c.uid) else {
            return Ok(());
        };
        let pgbouncer_name = format!("{}-pgbouncer", c.name);
        if c.pgbouncer().is_some() {
            tracked.pgbouncer_service = true;
        } else if tracked.pgbouncer_service {
            ignore_not_found(
                services
                    .delete(&pgbouncer_name, &DeleteParams::background())
                    .await,
            )?;
            tracked.pgbouncer_service = false;
        }
        if !tracked.cert_written
            && let Some(cert) = children::cluster_cert_secret(c)
        {
            let name = crate::meta::meta_str(&cert, "name")
                .unwrap_or("")
                .to_string();
            secrets.patch(&name, &params, &Patch::Apply(cert)).await?;
            tracked.cert_written = true;
        }
        let selector = format!("{LABEL_CLUSTER}={},{LABEL_ROLE}=pguser", c.name);
        let existing = secrets
            .list(&ListParams::default().labels(&selector))
            .await?;
        let users = c.users();
        let mut current: HashMap<String, (String, String)> = HashMap::new();
        for secret in &existing.items {
            let user = secret
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_PGUSER))
                .cloned()
                .unwrap_or_default();
            if users.iter().any(|u| u.name == user) {
                current.insert(
                    user,
                    (
                        secret_field(secret, "password"),
                        secret_field(secret, "verifier"),
                    ),
                );
            } else if let Some(name) = &secret.metadata.name {
                ignore_not_found(secrets.delete(name, &DeleteParams::background()).await)?;
            }
        }
        for user in &users {
            // PGO's generatePostgresUserSecret: keep the Secret's password and verifier; a
            // missing password gets a new password and verifier, a missing verifier is
            // computed from the password.
            let (mut password, mut verifier) = current.remove(&user.name).unwrap_or_default();
            if password.is_empty() {
                password = credentials::password(user.alphanumeric);
                verifier = String::new();
            }
            if verifier.is_empty() {
                verifier = credentials::scram_verifier(&password);
            }
            let secret = children::user_secret(c, user, &password, &verifier);
            secrets
                .patch(
                    &children::user_secret_name(c, &user.name),
                    &params,
                    &Patch::Apply(secret),
                )
                .await?;
            tracked
                .sim
                .verifiers
                .insert(user.name.clone(), verifier.clone());
            tracked
                .passwords
                .insert(user.name.clone(), (password, verifier));
        }
        tracked
            .sim
            .verifiers
            .retain(|name, _| users.iter().any(|u| &u.name == name));
        self.apply_repo_volumes(c).await
    }

    pub(super) async fn delete_children(&self, c: &Cluster<'_>) -> Result<()> {
        let selector = format!("{LABEL_CLUSTER}={}", c.name);
        let owned = |refs: Option<
            &Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>,
        >| { refs.is_some_and(|r| r.iter().any(|o| o.uid == c.uid)) };
        let services: Api<Service> = self.api_for(c.namespace);
        for s in services
            .list(&ListParams::default().labels(&selector))
            .await?
            .items
        {
            if owned(s.metadata.owner_references.as_ref())
                && let Some(name) = &s.metadata.name
            {
                ignore_not_found(services.delete(name, &DeleteParams::background()).await)?;
            }
        }
        let secrets: Api<Secret> = self.api_for(c.namespace);
        for s in secrets
            .list(&ListParams::default().labels(&selector))
            .await?
            .items
        {
            if owned(s.metadata.owner_references.as_ref())
                && let Some(name) = &s.metadata.name
            {
                ignore_not_found(secrets.delete(name, &DeleteParams::background()).await)?;
            }
        }
        // The instance Pods go with their StatefulSets, which the cluster owns.
        let pods: Api<Pod> = self.api_for(c.namespace);
        let instances = format!("{selector},{LABEL_INSTANCE}");
        for p in pods
            .list(&ListParams::default().labels(&instances))
            .await?
            .items
        {
            if let Some(name) = &p.metadata.name {
                ignore_not_found(pods.delete(name, &DeleteParams::background()).await)?;
            }
        }
        Ok(())
    }
}
