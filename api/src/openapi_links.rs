//! OpenAPI links: how the answer of one operation names the object the next one takes
//! (create → read → update → delete). Clients can follow them, and schemathesis's stateful
//! phase chains calls through them, so a fuzzer reaches the objects it created instead of
//! guessing names. Declared over operation ids; a link whose source, status or target is not
//! in the document is a bug this module's tests catch, never a silently dropped link.

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::{OpenApi, RefOr};

/// One link: from `source`'s answers with any of `statuses` to `target`, filling the target's
/// parameters (`location.name`) from runtime expressions over the source's request and answer.
#[derive(Clone, Copy)]
struct Link {
    source: &'static str,
    statuses: &'static [&'static str],
    target: &'static str,
    parameters: &'static [(&'static str, &'static str)],
}

const TENANT_FROM_BODY: &[(&str, &str)] = &[("path.tenant", "$response.body#/name")];
const TENANT_FROM_PATH: &[(&str, &str)] = &[("path.tenant", "$request.path.tenant")];
const USER_FROM_BODY: &[(&str, &str)] = &[("path.user", "$response.body#/id")];
const OPERATION_FROM_BODY: &[(&str, &str)] = &[("path.id", "$response.body#/id")];
/// A cluster named by the operation a create, update or action answered with.
const CLUSTER_OF_OPERATION: &[(&str, &str)] = &[
    ("path.tenant", "$request.path.tenant"),
    ("path.cluster", "$response.body#/cluster"),
];
/// The cluster the request named in its path.
const CLUSTER_FROM_PATH: &[(&str, &str)] = &[
    ("path.tenant", "$request.path.tenant"),
    ("path.cluster", "$request.path.cluster"),
];
const CLUSTER_FROM_BODY: &[(&str, &str)] = &[
    ("path.tenant", "$request.path.tenant"),
    ("path.cluster", "$response.body#/name"),
];
const TENANT_KEY_FROM_BODY: &[(&str, &str)] = &[
    ("path.tenant", "$request.path.tenant"),
    ("path.id", "$response.body#/id"),
];
const MEMBER_FROM_PATH: &[(&str, &str)] = &[
    ("path.tenant", "$request.path.tenant"),
    ("path.user", "$request.path.user"),
];
const ROLE_FROM_PATH: &[(&str, &str)] = &[
    ("path.tenant", "$request.path.tenant"),
    ("path.cluster", "$request.path.cluster"),
    ("path.role", "$request.path.role"),
];
const EXTENSION_FROM_PATH: &[(&str, &str)] = &[
    ("path.tenant", "$request.path.tenant"),
    ("path.cluster", "$request.path.cluster"),
    ("path.database", "$request.path.database"),
    ("path.extension", "$request.path.extension"),
];

/// `link(source, statuses, parameters, targets)` for each target.
macro_rules! links {
    ($(($source:literal, $statuses:expr, $parameters:expr, [$($target:literal),+ $(,)?])),+ $(,)?) => {
        &[$($(Link { source: $source, statuses: $statuses, target: $target, parameters: $parameters },)+)+]
    };
}

/// Operations that answer 202 with an operation to poll (or cancel).
const ACTIONS: [&str; 13] = [
    "clusters.create",
    "clusters.update",
    "clusters.delete",
    "clusters.backups.create",
    "clusters.restore",
    "clusters.switchover",
    "clusters.upgrade",
    "clusters.promote",
    "clusters.rotate_password",
    "clusters.extensions.enable",
    "clusters.extensions.disable",
    "clusters.users.put",
    "clusters.users.delete",
];

const LINKS: &[Link] = links![
    // Tenants, and what lives in a new tenant.
    (
        "tenants.create",
        &["201"],
        TENANT_FROM_BODY,
        [
            "tenants.get",
            "tenants.update",
            "tenants.delete",
            "tenants.quota.get",
            "tenants.quota.put",
            "tenants.members.list",
            "tenants.api_keys.create",
            "clusters.create",
            "clusters.list",
        ]
    ),
    (
        "tenants.update",
        &["200"],
        TENANT_FROM_BODY,
        ["tenants.get", "tenants.delete"]
    ),
    (
        "tenants.quota.put",
        &["200"],
        TENANT_FROM_PATH,
        ["tenants.quota.get", "clusters.create"]
    ),
    // Users and memberships.
    (
        "users.create",
        &["201"],
        USER_FROM_BODY,
        ["users.get", "users.update", "users.delete"]
    ),
    (
        "users.update",
        &["200"],
        USER_FROM_BODY,
        ["users.get", "users.delete"]
    ),
    (
        "tenants.members.put",
        &["200", "201"],
        MEMBER_FROM_PATH,
        ["tenants.members.delete"]
    ),
    (
        "tenants.members.put",
        &["200", "201"],
        TENANT_FROM_PATH,
        ["tenants.members.list"]
    ),
    // API keys.
    (
        "me.api_keys.create",
        &["201"],
        OPERATION_FROM_BODY,
        ["me.api_keys.revoke"]
    ),
    (
        "tenants.api_keys.create",
        &["201"],
        TENANT_KEY_FROM_BODY,
        ["tenants.api_keys.revoke"]
    ),
    (
        "tenants.api_keys.create",
        &["201"],
        TENANT_FROM_PATH,
        ["tenants.api_keys.list"]
    ),
    // Clusters: a create's operation names the cluster.
    (
        "clusters.create",
        &["202"],
        CLUSTER_OF_OPERATION,
        [
            "clusters.get",
            "clusters.update",
            "clusters.delete",
            "clusters.connection.get",
            "clusters.backups.list",
            "clusters.backups.create",
            "clusters.users.list",
            "clusters.rotate_password",
        ]
    ),
    (
        "clusters.update",
        &["200"],
        CLUSTER_FROM_BODY,
        ["clusters.get", "clusters.delete"]
    ),
    (
        "clusters.get",
        &["200"],
        CLUSTER_FROM_BODY,
        ["clusters.update", "clusters.delete"]
    ),
    (
        "clusters.users.put",
        &["200", "202"],
        ROLE_FROM_PATH,
        ["clusters.users.delete"]
    ),
    (
        "clusters.users.put",
        &["200", "202"],
        CLUSTER_FROM_PATH,
        ["clusters.users.list"]
    ),
    (
        "clusters.extensions.enable",
        &["202"],
        EXTENSION_FROM_PATH,
        ["clusters.extensions.disable"]
    ),
    (
        "operations.cancel",
        &["200"],
        OPERATION_FROM_BODY,
        ["operations.get"]
    ),
];

/// Adds [`LINKS`] and, for every operation that answers 202 with an operation, links to
/// polling and cancelling it.
pub fn add_links(openapi: &mut OpenApi) {
    let polling = ACTIONS.iter().flat_map(|source| {
        ["operations.get", "operations.cancel"]
            .into_iter()
            .map(move |target| Link {
                source,
                statuses: &["202"],
                target,
                parameters: OPERATION_FROM_BODY,
            })
    });
    for link in LINKS.iter().copied().chain(polling) {
        add(openapi, &link);
    }
}

fn add(openapi: &mut OpenApi, link: &Link) {
    let operation = openapi
        .paths
        .paths
        .values_mut()
        .flat_map(|item| {
            [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ]
        })
        .flatten()
        .find(|operation| operation.operation_id.as_deref() == Some(link.source));
    // A missing source is caught by the tests below; the document stays valid meanwhile.
    let Some(operation) = operation else { return };
    for status in link.statuses {
        let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) else {
            continue;
        };
        let built = link
            .parameters
            .iter()
            .fold(LinkBuilder::new().operation_id(link.target), |b, (k, v)| {
                b.parameter(*k, *v)
            })
            .build();
        response.links.insert(link.target.to_string(), built.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn operations(spec: &Value) -> Vec<(&str, &Value)> {
        spec["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| Some((op["operationId"].as_str()?, op)))
            .collect()
    }

    #[test]
    fn every_link_joins_a_documented_answer_to_an_operation_that_takes_its_parameters() {
        let spec = serde_json::to_value(crate::http::openapi()).unwrap();
        let operations = operations(&spec);
        let find = |id: &str| {
            operations
                .iter()
                .find(|(found, _)| *found == id)
                .unwrap_or_else(|| panic!("no operation `{id}`"))
                .1
        };
        for link in LINKS {
            let source = find(link.source);
            let target = find(link.target);
            for status in link.statuses {
                let links = &source["responses"][*status]["links"];
                assert!(
                    links[link.target].is_object(),
                    "{} answers no {status} carrying a link to {}",
                    link.source,
                    link.target
                );
            }
            for (parameter, expression) in link.parameters {
                let (location, name) = parameter.split_once('.').unwrap();
                let declared = target["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["in"] == location && p["name"] == name);
                assert!(declared, "{} takes no {parameter}", link.target);
                if let Some(source_parameter) = expression.strip_prefix("$request.path.") {
                    let declared = source["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p["in"] == "path" && p["name"] == source_parameter);
                    assert!(
                        declared,
                        "{} has no path parameter {source_parameter}",
                        link.source
                    );
                }
            }
        }
        for action in ACTIONS {
            assert!(
                find(action)["responses"]["202"]["links"]["operations.get"].is_object(),
                "{action} answers no 202 linked to its operation"
            );
        }
    }
}
