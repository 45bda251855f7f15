//! Discovery documents (`/api`, `/api/v1`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`,
//! aggregated discovery v2 on `/api` and `/apis`) and `/version`, generated from the resource
//! table so `kube::discovery` and `kubectl api-resources` see exactly what is served.

use axum::response::Response;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::resources::{RESOURCES, ResourceDef, group_versions};
use crate::routes::json_response;

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

/// The Kubernetes version this server claims to be.
pub const SERVED_KUBERNETES_VERSION: (&str, &str) = ("1", "33");

pub(crate) fn version() -> Response {
    let (major, minor) = SERVED_KUBERNETES_VERSION;
    json_response(
        200,
        &json!({
            "major": major,
            "minor": minor,
            "gitVersion": format!("v{major}.{minor}.0+kube-test-apiserver"),
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "n/a (Rust)",
            "compiler": "rustc",
            "platform": "linux/amd64",
        }),
        &[],
    )
}

pub(crate) fn core_versions() -> Response {
    json_response(
        200,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1" }],
        }),
        &[],
    )
}

fn group_json(group: &str) -> Value {
    let versions: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({ "groupVersion": format!("{g}/{v}"), "version": v }))
        .collect();
    json!({
        "name": group,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

fn named_groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for (g, _) in group_versions() {
        if !g.is_empty() && !groups.contains(&g) {
            groups.push(g);
        }
    }
    groups
}

pub(crate) fn groups() -> Response {
    let groups: Vec<Value> = named_groups().into_iter().map(group_json).collect();
    json_response(
        200,
        &json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups }),
        &[],
    )
}

pub(crate) fn group(group: &str) -> Result<Response, ApiError> {
    if !named_groups().contains(&group) {
        return Err(ApiError::path_not_found(&format!("/apis/{group}")));
    }
    let mut body = group_json(group);
    body["kind"] = Value::from("APIGroup");
    body["apiVersion"] = Value::from("v1");
    Ok(json_response(200, &body, &[]))
}

fn served<'a>(group: &'a str, version: &'a str) -> impl Iterator<Item = &'static ResourceDef> + 'a {
    RESOURCES
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

pub(crate) fn resources(group: &str, version: &str) -> Result<Response, ApiError> {
    let mut list = Vec::new();
    for r in served(group, version) {
        list.push(json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": VERBS,
            "shortNames": r.short_names,
        }));
        if r.status_subresource {
            list.push(json!({
                "name": format!("{}/status", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": STATUS_VERBS,
            }));
        }
    }
    if list.is_empty() {
        let path = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        return Err(ApiError::path_not_found(&path));
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Ok(json_response(
        200,
        &json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list }),
        &[],
    ))
}

/// Whether a request asks for aggregated discovery (v2).
pub(crate) fn wants_aggregated(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("as=APIGroupDiscoveryList"))
}

/// Aggregated discovery for the core group (`core == true`, served on `/api`) or all named groups.
pub(crate) fn aggregated(core: bool) -> Response {
    let groups: Vec<&str> = if core { vec![""] } else { named_groups() };
    let items: Vec<Value> = groups
        .into_iter()
        .map(|g| {
            let versions: Vec<Value> = group_versions()
                .into_iter()
                .filter(|(gg, _)| *gg == g)
                .map(|(_, v)| {
                    let resources: Vec<Value> = served(g, v)
                        .map(|r| {
                            let gvk = json!({ "group": r.group, "version": r.version, "kind": r.kind });
                            let subresources: Vec<Value> = if r.status_subresource {
                                vec![json!({ "subresource": "status", "responseKind": gvk, "verbs": STATUS_VERBS })]
                            } else {
                                Vec::new()
                            };
                            json!({
                                "resource": r.plural,
                                "responseKind": gvk,
                                "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": r.singular,
                                "verbs": VERBS,
                                "shortNames": r.short_names,
                                "subresources": subresources,
                            })
                        })
                        .collect();
                    json!({ "version": v, "freshness": "Current", "resources": resources })
                })
                .collect();
            json!({ "metadata": { "name": g }, "versions": versions })
        })
        .collect();
    let mut response = json_response(
        200,
        &json!({ "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items }),
        &[],
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    ) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, v);
    }
    response
}
