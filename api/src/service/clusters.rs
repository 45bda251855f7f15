//! Clusters: create, change the spec, delete, and what the caller may do to each now. A
//! request never talks to the platform: each use case validates, checks quota, and writes the
//! desired state together with the operation that will carry it out, in one transaction.

use serde_json::Value;

use super::actions::{self, Carrying, facts};
use super::{TenantAccess, spec_of, standby};
use crate::app::AppState;
use crate::domain::cluster::{
    ActionKind, AllowedActions, BackupType, ClusterAction, ClusterSource, ClusterSpec,
    DeletionPolicy, OperationKind, Phase, Site, StandbySource, allowed_actions, check,
    restart_required,
};
use crate::domain::permissions::{self, Action};
use crate::domain::quota::{ExceededLimit, ResourceUsage};
use crate::problem::{ApiError, ApiResult};
use crate::store::{self, clusters::ClusterRow, operations::OperationRow};

/// An operation queued, with what the caller should know of it.
#[derive(Debug)]
pub struct Queued {
    pub operation: OperationRow,
    /// For an update: whether PostgreSQL restarts to apply it.
    pub restart_required: Option<bool>,
    /// What it waits for first, when more can be said than the operation's own step.
    pub waiting_for: Option<String>,
}

impl Queued {
    fn plain(operation: OperationRow) -> Self {
        Queued {
            operation,
            restart_required: None,
            waiting_for: None,
        }
    }
}

/// What a change of the spec came to.
#[derive(Debug)]
pub enum SpecChange {
    Queued(Box<Queued>),
    /// The change changes nothing: the cluster as it is.
    Unchanged(Box<ClusterRow>),
}

/// 501 when this process's platform cannot run a cluster like `spec` (e.g. a pooler on the
/// local platform): better refused now than failed later.
fn check_platform_features(state: &AppState, spec: &ClusterSpec) -> ApiResult<()> {
    // A version the platform does not run is a field the tenant can correct: 422 naming the
    // versions there are.
    if let Some(versions) = state.platform.as_ref().and_then(|p| p.postgres_versions())
        && !versions.contains(&spec.postgres_version)
    {
        let available: Vec<String> = versions.iter().map(u32::to_string).collect();
        return Err(ApiError::invalid_field(
            "postgres_version",
            format!(
                "PostgreSQL {} is not available on this platform; available: {}",
                spec.postgres_version,
                available.join(", ")
            ),
        ));
    }
    match state
        .platform
        .as_ref()
        .and_then(|p| p.unsupported_features(spec))
    {
        Some(reason) => Err(ApiError::not_implemented(reason)),
        None => Ok(()),
    }
}

/// A request naming no `postgres_version` gets the one the platform runs, when it runs only
/// some (the local platform: the installed server), so what is reported is what runs.
fn default_version_for_platform(state: &AppState, body: &mut Value) {
    let default = state
        .platform
        .as_ref()
        .and_then(|p| p.default_postgres_version());
    if let (Some(version), Some(fields)) = (default, body.as_object_mut()) {
        fields
            .entry("postgres_version")
            .or_insert_with(|| version.into());
    }
}

/// A clone needs a source cluster of the same tenant with a backup covering the target time.
/// Returns the site the clone goes on: its source's (PGO restores a clone from a repository in
/// its own namespace).
async fn check_clone_source(
    state: &AppState,
    access: &TenantAccess,
    source: &ClusterSource,
) -> ApiResult<Site> {
    let name = &source.cluster;
    let row = store::clusters::find(&state.db, access.tenant.id, name)
        .await?
        .ok_or_else(|| {
            ApiError::invalid_field(
                "source.cluster",
                format!("no cluster named `{name}` in this tenant"),
            )
        })?;
    let spec = spec_of(&row)?;
    if let Some(standby) = &spec.standby {
        return Err(ApiError::invalid_field(
            "source.cluster",
            format!(
                "`{name}` is a standby of `{}` and takes no backups: clone `{}` instead",
                standby.source, standby.source
            ),
        ));
    }
    let Some(window) = super::backups::recoverable_window(state, &row, &spec).await? else {
        return Err(ApiError::conflict(format!(
            "cluster `{name}` has no successful full backup to clone from yet"
        )));
    };
    let whose = format!(" of `{name}`:");
    super::backups::require_within(&window, source.target_time, "source.target_time", &whose)?;
    Ok(row.site())
}

fn quota_exceeded(exceeded: Vec<ExceededLimit>) -> ApiError {
    let names: Vec<&str> = exceeded.iter().map(|e| e.limit).collect();
    ApiError::conflict(format!(
        "the tenant's quota does not allow this ({})",
        names.join(", ")
    ))
    .with_context(serde_json::json!({ "exceeded": exceeded }))
}

/// 409: the backups a deleted cluster of this name left behind still hold the name (PGO would
/// hand them to the new cluster; see `store::retained`).
fn name_reserved(name: &str, retained: &[store::retained::RetainedRow]) -> ApiError {
    let kept: Vec<String> = retained.iter().map(|r| r.describe()).collect();
    let until = retained.iter().map(|r| r.retained_until).max();
    ApiError::conflict(format!(
        "the name `{name}` is reserved by the backups kept after the deletion of {}; \
         choose another name, or wait until they expire",
        kept.join(", ")
    ))
    .with_context(serde_json::json!({
        "retained_backups": retained.iter().map(|r| serde_json::json!({
            "cluster_id": r.cluster_id,
            "deleted_at": r.deleted_at,
            "retained_until": r.retained_until,
        })).collect::<Vec<_>>(),
        "name_free_after": until,
    }))
}

/// Creates a cluster from the request `body` (a clone when it names a `source`, a standby when
/// it names `standby.source`).
pub async fn create(state: &AppState, access: &TenantAccess, mut body: Value) -> ApiResult<Queued> {
    let tenant = &access.tenant.name;
    if access.tenant.suspended {
        return Err(ApiError::conflict(format!(
            "tenant `{tenant}` is suspended: no new clusters"
        )));
    }
    let standby_source = standby::source_of(state, access, &mut body).await?;
    default_version_for_platform(state, &mut body);
    let spec = ClusterSpec::from_json(&body).map_err(ApiError::validation)?;
    check_platform_features(state, &spec)?;
    let mut site = Site::Home;
    if let Some(source) = &spec.source {
        site = check_clone_source(state, access, source).await?;
    }
    if let Some((row, source)) = &standby_source {
        standby::check_source(state, &spec, row, source)?;
        site = row.site().for_standby(state.settings.recovery_site);
    }
    let document = serde_json::to_value(&spec).map_err(ApiError::internal)?;
    let mut tx = store::begin(&state.db).await?;
    if let Err(exceeded) =
        store::quotas::lock_and_check(&mut tx, access.tenant.id, spec.usage()).await?
    {
        return Err(quota_exceeded(exceeded));
    }
    let retained = store::retained::reserving_name(&mut *tx, access.tenant.id, &spec.name).await?;
    if !retained.is_empty() {
        return Err(name_reserved(&spec.name, &retained));
    }
    let catalog = state.image_catalog();
    let image = catalog.image_for(spec.postgres_version);
    let usage = spec.usage();
    let inserted = store::clusters::insert(
        &mut tx,
        access.tenant.id,
        &spec.name,
        &document,
        usage,
        image,
        site,
    )
    .await;
    let cluster = inserted.map_err(|e| {
        if e.is_constraint("clusters_tenant_name_key") {
            ApiError::conflict(format!(
                "a cluster named `{}` already exists in tenant `{tenant}`",
                spec.name
            ))
        } else {
            e.into()
        }
    })?;
    if let Some((source, _)) = &standby_source {
        standby::link(&mut tx, state, access, &cluster, &source.name).await?;
    }
    let operation = actions::insert(
        &mut tx,
        state,
        access,
        &cluster,
        OperationKind::Create,
        Carrying::Nothing,
    )
    .await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(Queued::plain(operation))
}

/// A change of a cluster's desired spec, shared by PATCH and the endpoints that edit one part
/// of it (users): under the cluster's row lock, `change` turns the current spec into a merge
/// patch (or refuses), which is validated, quota-checked and queued as an `update` operation.
pub async fn change_spec(
    state: &AppState,
    access: &TenantAccess,
    name: &str,
    change: impl FnOnce(&ClusterSpec) -> ApiResult<Value>,
) -> ApiResult<SpecChange> {
    let mut tx = store::begin(&state.db).await?;
    let row = store::clusters::lock(&mut *tx, access.tenant.id, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster `{name}`")))?;
    let current = spec_of(&row)?;
    let patch = change(&current)?;
    let active = store::operations::active_for_cluster(&mut *tx, row.id).await?;
    check(
        ActionKind::Update,
        &facts(state, &row, &current, active.as_ref()),
    )?;
    let updated = current
        .apply_merge_patch(&patch)
        .map_err(ApiError::validation)?;
    check_platform_features(state, &updated)?;
    if updated == current {
        tx.commit().await.map_err(store::StoreError::from)?;
        return Ok(SpecChange::Unchanged(Box::new(row)));
    }
    let growth: ResourceUsage = updated.usage().minus(current.usage());
    if let Err(exceeded) = store::quotas::lock_and_check(&mut tx, access.tenant.id, growth).await? {
        return Err(quota_exceeded(exceeded));
    }
    let document = serde_json::to_value(&updated).map_err(ApiError::internal)?;
    let cluster = store::clusters::update_spec(&mut tx, row.id, &document, updated.usage()).await?;
    let previous = Carrying::PreviousSpec(&row.spec.0);
    let operation = actions::insert(
        &mut tx,
        state,
        access,
        &cluster,
        OperationKind::Update,
        previous,
    )
    .await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(SpecChange::Queued(Box::new(Queued {
        restart_required: Some(restart_required(&current, &updated)),
        ..Queued::plain(operation)
    })))
}

/// Deletes the cluster `name`: refused while `deletion_protection` is on or another operation
/// runs. Its backups follow its `deletion_policy`.
pub async fn delete(state: &AppState, access: &TenantAccess, name: &str) -> ApiResult<Queued> {
    let mut tx = store::begin(&state.db).await?;
    let row = store::clusters::lock(&mut *tx, access.tenant.id, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster `{name}`")))?;
    let spec = spec_of(&row)?;
    let active = store::operations::active_for_cluster(&mut *tx, row.id).await?;
    check(
        ActionKind::Delete,
        &facts(state, &row, &spec, active.as_ref()),
    )?;
    let kept_days = state.settings.deleted_backups_retention_days;
    let backups = match spec.deletion_policy {
        DeletionPolicy::KeepBackups => format!(
            "deletion_policy is keep_backups: the backup repository is kept for {kept_days} days after the cluster is gone, and the name `{name}` stays reserved for them",
        ),
        DeletionPolicy::DeleteBackups => "the backup repository is deleted with the cluster".into(),
    };
    let standbys = store::clusters::standbys_of(&mut *tx, access.tenant.id, name).await?;
    let standbys = if standbys.is_empty() {
        String::new()
    } else {
        format!(
            "; its standbys ({}) keep what they received and stay read-only until promoted",
            standbys.join(", ")
        )
    };
    let operation = actions::insert(
        &mut tx,
        state,
        access,
        &row,
        OperationKind::Delete,
        Carrying::Nothing,
    )
    .await?;
    store::operations::set_keep_backups_days(&mut *tx, operation.id, kept_days).await?;
    store::clusters::set_phase(&mut *tx, row.id, Phase::Deleting).await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(Queued {
        waiting_for: Some(format!(
            "a worker to start deleting the cluster; {backups}{standbys}"
        )),
        ..Queued::plain(operation)
    })
}

/// What the caller may do to each of `rows` now, and why not: the domain's rules over each
/// cluster's state, then the caller's role, then what this process's platform can do.
pub async fn allowed_actions_of(
    state: &AppState,
    access: &TenantAccess,
    rows: &[ClusterRow],
) -> ApiResult<Vec<AllowedActions>> {
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    let active = store::operations::active_for_clusters(&state.db, &ids).await?;
    let backed_up = store::backups::with_successful_full(&state.db, &ids).await?;
    rows.iter()
        .map(|row| {
            let spec = spec_of(row)?;
            let active = active.iter().find(|op| op.cluster_id == Some(row.id));
            let cluster = crate::domain::cluster::ClusterFacts {
                has_full_backup: backed_up.contains(&row.id),
                ..facts(state, row, &spec, active)
            };
            let mut allowed = allowed_actions(&cluster);
            refuse_by_role(&mut allowed, access);
            refuse_by_platform(&mut allowed, state, &spec);
            Ok(allowed)
        })
        .collect()
}

/// The permission each action needs.
fn permission(action: ActionKind) -> Action {
    match action {
        ActionKind::Delete => Action::DeleteCluster,
        ActionKind::Clone | ActionKind::CreateStandby => Action::CreateCluster,
        _ => Action::UpdateCluster,
    }
}

fn refuse_by_role(allowed: &mut AllowedActions, access: &TenantAccess) {
    for action in ActionKind::ALL {
        if !permissions::allows(access.role, permission(action)) {
            allowed.refuse(action, || {
                format!(
                    "your role in tenant `{}` ({}) does not allow this",
                    access.tenant.name,
                    access.tenant_role().as_str()
                )
            });
        }
    }
    if access.tenant.suspended {
        for action in [ActionKind::Clone, ActionKind::CreateStandby] {
            allowed.refuse(action, || {
                format!(
                    "tenant `{}` is suspended: no new clusters",
                    access.tenant.name
                )
            });
        }
    }
}

/// What this process's platform cannot do for the cluster (the API would answer 501).
fn refuse_by_platform(allowed: &mut AllowedActions, state: &AppState, spec: &ClusterSpec) {
    let Some(platform) = state.platform.as_ref() else {
        return; // an API-only process: the operation waits for a process with a driver
    };
    for (action, example) in day2_examples(spec) {
        if let Some(reason) = platform.unsupported_action(&example) {
            allowed.refuse(action, || reason);
        }
    }
    let clone = ClusterSpec {
        source: Some(ClusterSource {
            cluster: spec.name.clone(),
            target_time: None,
        }),
        ..spec.clone()
    };
    let standby = ClusterSpec {
        standby: Some(StandbySource {
            source: spec.name.clone(),
        }),
        ..spec.clone()
    };
    for (action, new_cluster) in [
        (ActionKind::Clone, clone),
        (ActionKind::CreateStandby, standby),
    ] {
        if let Some(reason) = platform.unsupported_features(&new_cluster) {
            allowed.refuse(action, || reason);
        }
    }
}

/// One instance of each day-2 action, to ask the platform whether it can carry it out.
fn day2_examples(spec: &ClusterSpec) -> [(ActionKind, ClusterAction); 8] {
    [
        (
            ActionKind::Backup,
            ClusterAction::Backup {
                backup_type: BackupType::Full,
            },
        ),
        (
            ActionKind::Restore,
            ClusterAction::Restore { target_time: None },
        ),
        (
            ActionKind::Switchover,
            ClusterAction::Switchover {
                target_instance: None,
            },
        ),
        (
            ActionKind::Upgrade,
            ClusterAction::Upgrade {
                to_version: spec.postgres_version + 1,
                to_image: None,
            },
        ),
        (
            ActionKind::MinorUpgrade,
            ClusterAction::MinorUpgrade {
                from_image: None,
                to_image: String::new(),
            },
        ),
        (
            ActionKind::RotatePassword,
            ClusterAction::RotatePassword {
                user: spec.owner.clone(),
            },
        ),
        (
            ActionKind::Extensions,
            ClusterAction::Extension {
                database: spec.database.clone(),
                name: String::new(),
                enable: true,
            },
        ),
        (ActionKind::Promote, ClusterAction::Promote),
    ]
}
