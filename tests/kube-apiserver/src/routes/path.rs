//! Turning a request path into what it addresses: a discovery document, or a resource
//! collection / object / subresource. Pure; no I/O.

use crate::resources::{self, ResourceDef};

/// A resource request target.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub def: &'static ResourceDef,
    /// `None` for cluster-scoped types and for all-namespace lists of namespaced types.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What a path addresses.
#[derive(Clone, Debug)]
pub(crate) enum Route {
    Version,
    Health,
    /// `/api`
    CoreVersions,
    /// `/api/v1`
    CoreResources,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/apis/{group}/{version}`
    GroupResources(String, String),
    Resource(Target),
    NotFound,
}

fn resource_target(group: &str, version: &str, rest: &[&str]) -> Route {
    let find = |plural: &str| resources::find(group, version, plural);
    let target = |def, namespace: Option<&str>, name: Option<&str>, sub: Option<&str>| {
        Route::Resource(Target {
            def,
            namespace: namespace.map(String::from),
            name: name.map(String::from),
            subresource: sub.map(String::from),
        })
    };
    // Namespaced form: namespaces/{ns}/{plural}[/{name}[/{sub}]] where plural is namespaced.
    if rest.len() >= 3
        && rest[0] == "namespaces"
        && let Some(def) = find(rest[2]).filter(|d| d.namespaced)
    {
        return match rest.len() {
            3 => target(def, Some(rest[1]), None, None),
            4 => target(def, Some(rest[1]), Some(rest[3]), None),
            5 => target(def, Some(rest[1]), Some(rest[3]), Some(rest[4])),
            _ => Route::NotFound,
        };
    }
    let Some(def) = rest.first().and_then(|p| find(p)) else {
        return Route::NotFound;
    };
    match (rest.len(), def.namespaced) {
        (1, _) => target(def, None, None, None),
        (2, false) => target(def, None, Some(rest[1]), None),
        (3, false) => target(def, None, Some(rest[1]), Some(rest[2])),
        _ => Route::NotFound,
    }
}

/// Parses a request path (without query string).
pub(crate) fn parse(path: &str) -> Route {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["api", "v1"] => Route::CoreResources,
        ["api", "v1", rest @ ..] => resource_target("", "v1", rest),
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group((*group).to_string()),
        ["apis", group, version] => {
            Route::GroupResources((*group).to_string(), (*version).to_string())
        }
        ["apis", group, version, rest @ ..] => resource_target(group, version, rest),
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> (String, Option<String>, Option<String>, Option<String>) {
        match parse(path) {
            Route::Resource(t) => (t.def.plural.to_string(), t.namespace, t.name, t.subresource),
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_and_cluster_scoped_paths_resolve() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            target("/api/v1/namespaces"),
            ("namespaces".into(), None, None, None)
        );
        assert_eq!(
            target("/api/v1/namespaces/a"),
            ("namespaces".into(), None, s("a"), None)
        );
        assert_eq!(
            target("/api/v1/namespaces/a/status"),
            ("namespaces".into(), None, s("a"), s("status"))
        );
        assert_eq!(
            target("/api/v1/namespaces/a/secrets"),
            ("secrets".into(), s("a"), None, None)
        );
        assert_eq!(
            target("/api/v1/namespaces/a/secrets/x"),
            ("secrets".into(), s("a"), s("x"), None)
        );
        assert_eq!(
            target("/api/v1/secrets"),
            ("secrets".into(), None, None, None)
        );
        assert_eq!(
            target(
                "/apis/postgres-operator.crunchydata.com/v1beta1/namespaces/a/postgresclusters/h/status"
            ),
            ("postgresclusters".into(), s("a"), s("h"), s("status"))
        );
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for p in [
            "/api/v1/widgets",
            "/apis/x/v1/things",
            "/api/v1/secrets/x",
            "/nope",
        ] {
            assert!(matches!(parse(p), Route::NotFound), "{p}");
        }
    }
}
