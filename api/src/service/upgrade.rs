//! Upgrades: to a newer major version (`pg_upgrade`), or to the newest approved image of the
//! cluster's major version. Which one a request means is decided here; whether the cluster may
//! take it now is the domain's rule, checked under the cluster's lock like every day-2 action.

use super::TenantAccess;
use super::actions::{self, Day2};
use crate::app::AppState;
use crate::domain::cluster::images::ImageCatalog;
use crate::domain::cluster::{ClusterAction, bounds};
use crate::problem::{ApiError, ApiResult};
use crate::store::{clusters::ClusterRow, operations::OperationRow};

/// Upgrades `row` to `postgres_version`, or (absent, or the version it runs) to the newest
/// approved image of its major version.
pub async fn upgrade(
    state: &AppState,
    access: &TenantAccess,
    row: &ClusterRow,
    postgres_version: Option<u32>,
) -> ApiResult<OperationRow> {
    let from = super::spec_of(row)?.postgres_version;
    let catalog = &state.image_catalog();
    let action = match postgres_version.filter(|to| *to != from) {
        Some(to) => {
            available_here(state, to)?;
            major_upgrade(catalog, &row.name, from, to)?
        }
        // Whether there is a newer image is the domain's rule, checked with the rest.
        None => ClusterAction::MinorUpgrade {
            from_image: row.postgres_image.clone(),
            to_image: catalog.image_for(from).unwrap_or_default().to_string(),
        },
    };
    let pinned = row.postgres_image.clone();
    let name = &row.name;
    actions::queue(state, access, Day2::new(name, action), |spec, row| {
        // What was decided above must still hold under the lock.
        if spec.postgres_version != from || row.postgres_image != pinned {
            return Err(ApiError::conflict(format!(
                "cluster `{name}` changed version while the upgrade was being queued: try again"
            )));
        }
        Ok(())
    })
    .await
}

/// A major the platform does not run is a field the tenant can correct, as on create.
fn available_here(state: &AppState, to: u32) -> ApiResult<()> {
    match state.platform.as_ref().and_then(|p| p.postgres_versions()) {
        Some(versions) if !versions.contains(&to) => {
            let available: Vec<String> = versions.iter().map(u32::to_string).collect();
            Err(ApiError::invalid_field(
                "postgres_version",
                format!(
                    "PostgreSQL {to} is not available on this platform; available: {}",
                    available.join(", ")
                ),
            ))
        }
        _ => Ok(()),
    }
}

fn major_upgrade(
    catalog: &ImageCatalog,
    name: &str,
    from: u32,
    to: u32,
) -> ApiResult<ClusterAction> {
    if !bounds::POSTGRES_VERSIONS.contains(&to) {
        return Err(ApiError::invalid_field(
            "postgres_version",
            format!(
                "must be a supported major version ({}-{})",
                bounds::POSTGRES_VERSIONS.start(),
                bounds::POSTGRES_VERSIONS.end()
            ),
        ));
    }
    if to < from {
        return Err(ApiError::invalid_field(
            "postgres_version",
            format!(
                "cluster `{name}` runs PostgreSQL {from}: pg_upgrade only moves to newer versions (clone from a backup taken on {to} instead)"
            ),
        ));
    }
    let to_image = catalog.image_for(to).map(String::from);
    if to_image.is_none() && !catalog.is_empty() {
        return Err(ApiError::invalid_field(
            "postgres_version",
            format!("the platform approves no image for PostgreSQL {to} yet"),
        ));
    }
    Ok(ClusterAction::Upgrade {
        to_version: to,
        to_image,
    })
}
