//! Standby clusters (disaster recovery): created with `standby: {source}` in a create request,
//! they follow another cluster of the tenant by streaming replication, read-only, until
//! promoted (`POST .../promote`). A standby and its source run with certificates from the
//! tenant's CA; a source that does not yet gets them through an `update` operation queued with
//! the standby's creation. When the platform has a disaster-recovery site, a standby is placed
//! on the site its source is not on ([`crate::domain::cluster::Site::for_standby`]).

use serde_json::Value;

use super::TenantAccess;
use super::actions::{self, Carrying, Day2, busy, facts};
use super::spec_of;
use crate::app::AppState;
use crate::domain::cluster::{ActionKind, ClusterAction, ClusterSpec, OperationKind, check};
use crate::problem::{ApiError, ApiResult};
use crate::store::{self, clusters::ClusterRow, operations::OperationRow};

/// The source cluster a create request's `standby.source` names, with `postgres_version`,
/// `database`, `owner` and `users` defaulted to the source's: a standby is a physical copy, so
/// it holds the source's databases and roles, and after its promotion clients use them. `None`
/// for other requests; a malformed `standby` is left for the request validation to report.
pub async fn source_of(
    state: &AppState,
    access: &TenantAccess,
    body: &mut Value,
) -> ApiResult<Option<(ClusterRow, ClusterSpec)>> {
    let Some(name) = body
        .pointer("/standby/source")
        .and_then(Value::as_str)
        .map(String::from)
    else {
        return Ok(None);
    };
    let Some(row) = store::clusters::find(&state.db, access.tenant.id, &name).await? else {
        return Err(ApiError::invalid_field(
            "standby.source",
            format!("no cluster named `{name}` in this tenant"),
        ));
    };
    let spec = spec_of(&row)?;
    if let Some(object) = body.as_object_mut() {
        let users = serde_json::to_value(&spec.users).map_err(ApiError::internal)?;
        for (field, inherited) in [
            ("postgres_version", Value::from(spec.postgres_version)),
            ("database", Value::from(spec.database.clone())),
            ("owner", Value::from(spec.owner.clone())),
            ("users", users),
        ] {
            if object.get(field).is_none_or(Value::is_null) {
                object.insert(field.into(), inherited);
            }
        }
    }
    Ok(Some((row, spec)))
}

/// Whether `standby` can follow `source`: a running primary of the same major version, whose
/// database and owner it keeps.
pub fn check_source(
    state: &AppState,
    standby: &ClusterSpec,
    source_row: &ClusterRow,
    source: &ClusterSpec,
) -> ApiResult<()> {
    let name = &source.name;
    if let Some(followed) = &source.standby {
        return Err(ApiError::invalid_field(
            "standby.source",
            format!(
                "`{name}` is itself a standby of `{}`: follow `{}`, or promote `{name}` first",
                followed.source, followed.source
            ),
        ));
    }
    if standby.postgres_version != source.postgres_version {
        return Err(ApiError::invalid_field(
            "postgres_version",
            format!(
                "must be {}, the version of `{name}`: a standby is a physical copy of its source",
                source.postgres_version
            ),
        ));
    }
    for (field, wanted, given) in [
        ("database", &source.database, &standby.database),
        ("owner", &source.owner, &standby.owner),
    ] {
        if wanted != given {
            return Err(ApiError::invalid_field(
                field,
                format!(
                    "must be `{wanted}`, the {field} of `{name}`: a standby holds its source's databases and roles"
                ),
            ));
        }
    }
    check(
        ActionKind::CreateStandby,
        &facts(state, source_row, source, None),
    )?;
    Ok(())
}

/// In the create's transaction: the standby runs with the tenant's certificates, and so must
/// its source; a source without them yet is updated to use them (409 naming its running
/// operation if it has one).
pub async fn link(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    access: &TenantAccess,
    standby: &ClusterRow,
    source_name: &str,
) -> ApiResult<()> {
    store::clusters::use_tenant_certificates(&mut *tx, standby.id).await?;
    let source = store::clusters::lock(&mut *tx, standby.tenant_id, source_name)
        .await?
        .ok_or_else(|| {
            ApiError::invalid_field(
                "standby.source",
                format!("no cluster named `{source_name}` in this tenant"),
            )
        })?;
    if source.tenant_certificates {
        return Ok(());
    }
    if let Some(active) = store::operations::active_for_cluster(&mut *tx, source.id).await? {
        return Err(busy(&active));
    }
    let spec = spec_of(&source)?;
    store::clusters::use_tenant_certificates(&mut *tx, source.id).await?;
    let updated = store::clusters::update_spec(tx, source.id, &source.spec.0, spec.usage()).await?;
    let previous = Carrying::PreviousSpec(&source.spec.0);
    actions::insert(tx, state, access, &updated, OperationKind::Update, previous).await?;
    Ok(())
}

/// Promotes the standby `name`: queued like every day-2 action, with a warning of what becomes
/// of the cluster it followed.
pub async fn promote(
    state: &AppState,
    access: &TenantAccess,
    name: &str,
) -> ApiResult<(OperationRow, Option<String>)> {
    let mut source = None;
    let operation = actions::queue(
        state,
        access,
        Day2::new(name, ClusterAction::Promote),
        |spec, _| {
            source = spec.standby.as_ref().map(|s| s.source.clone());
            Ok(())
        },
    )
    .await?;
    let Some(source) = source else {
        return Ok((operation, None));
    };
    let source_row = store::clusters::find(&state.db, access.tenant.id, &source).await?;
    let warning = old_primary_warning(name, &source, source_row.as_ref());
    Ok((operation, Some(warning)))
}

/// What the caller must know about the cluster the standby followed.
fn old_primary_warning(standby: &str, source: &str, source_row: Option<&ClusterRow>) -> String {
    match source_row {
        Some(row) => format!(
            "`{source}` still exists ({}) and keeps accepting writes: whatever is written there after the promotion is not in `{standby}`, and `{standby}` will not follow `{source}` again. Stop the writes to `{source}` (suspend or delete it) before pointing clients at `{standby}`",
            row.phase
        ),
        None => format!(
            "`{source}` no longer exists: `{standby}` holds what it had received from it when it was lost"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_says_the_old_primary_still_takes_writes_or_is_gone() {
        let text = old_primary_warning("orders-dr", "orders", None);
        assert!(text.contains("`orders` no longer exists"), "{text}");
    }
}
