//! The OpenAPI 3.1 document. Paths come from the `#[utoipa::path]` annotations on handlers;
//! this module adds what is common to all of them: the bearer security scheme, the default
//! security requirement, and the error responses every operation can give.

use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder, Schema};
use utoipa::{Modify, OpenApi as _};

use crate::domain::cluster::extensions::ALLOWED_EXTENSIONS;
use crate::http::error::{PROBLEM_JSON, Problem};
use crate::http::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "pgplane",
        description = "Postgres as a service on Kubernetes (Crunchy Data PGO): tenants, quotas, users, clusters and operations. \
Authenticate with `Authorization: Bearer <token>` (from `POST /v1/auth/token`) or `Bearer <API key>`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(Problem)),
    modifiers(&Conventions),
    tags(
        (name = "auth", description = "Password login"),
        (name = "me", description = "The caller"),
        (name = "api-keys", description = "Personal and tenant service API keys"),
        (name = "tenants", description = "Tenants"),
        (name = "members", description = "Tenant members and roles"),
        (name = "quotas", description = "Tenant quotas and usage"),
        (name = "users", description = "Users (platform admins)"),
        (name = "audit", description = "Audit log"),
        (name = "clusters", description = "PostgreSQL clusters"),
        (name = "backups", description = "Backups, backup health and point-in-time restore"),
        (name = "insights", description = "The virtual DBA: top statements, findings and forecasts from each cluster's statistics"),
        (name = "operations", description = "Long-running operations (poll them)"),
        (name = "health", description = "Probes and metrics"),
    )
)]
pub struct ApiDoc;

/// The document before paths are merged in from the routers.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An access token from POST /v1/auth/token, or an API key (pgp_...)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Error responses every operation documents, added where the handler did not document its own.
const COMMON_ERRORS: [(&str, &str); 7] = [
    ("400", "Malformed request (bad JSON, query or path value)"),
    ("401", "Missing or invalid credentials"),
    ("403", "Authenticated, but the role does not allow this"),
    ("404", "Not found (also for other tenants' resources)"),
    ("422", "Invalid fields; `errors[]` names each one"),
    ("500", "Internal error"),
    (
        "503",
        "Unavailable for a moment (the metadata database is unreachable, or the request timed out); retry after `Retry-After`",
    ),
];

/// Responses of every operation that takes a request body.
const BODY_ERRORS: [(&str, &str); 2] = [
    (
        "413",
        "The request body is larger than the configured limit",
    ),
    ("415", "The request body is missing or not JSON"),
];

/// Applies the conventions to a finished document (after the routers merged their paths).
pub fn finish(mut openapi: OpenApi) -> OpenApi {
    for item in openapi.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let public = operation
                .security
                .as_ref()
                .is_some_and(|s| s.iter().all(is_empty_requirement));
            if operation.security.is_none() {
                operation.security = Some(vec![SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                )]);
            }
            let body_errors = operation
                .request_body
                .is_some()
                .then_some(BODY_ERRORS)
                .into_iter()
                .flatten();
            if let Some(RefOr::T(body)) = &mut operation.request_body {
                absent_not_null(body);
            }
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter {
                    bound_page_size(parameter);
                    close_extension_names(parameter);
                }
            }
            for (status, description) in COMMON_ERRORS.into_iter().chain(body_errors) {
                if public && matches!(status, "401" | "403") {
                    continue;
                }
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(
                                PROBLEM_JSON,
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("Problem")))
                                    .build(),
                            )
                            .build()
                            .into()
                    });
            }
        }
    }
    crate::openapi_links::add_links(&mut openapi);
    openapi
}

/// Every list's `page_size` says the range the server takes (`PageQuery::parse`), not the
/// `0..` of its Rust type.
fn bound_page_size(parameter: &mut Parameter) {
    if parameter.name != "page_size" || parameter.parameter_in != ParameterIn::Query {
        return;
    }
    if let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema {
        schema.minimum = Some(utoipa::Number::UInt(1));
        schema.maximum = Some(utoipa::Number::UInt(MAX_PAGE_SIZE as usize));
    }
    parameter.description.get_or_insert_with(|| {
        format!("Items per page (1-{MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE}).")
    });
}

/// The `{extension}` of a path is one of the allow-listed extensions (others are a 422).
fn close_extension_names(parameter: &mut Parameter) {
    if parameter.name != "extension" || parameter.parameter_in != ParameterIn::Path {
        return;
    }
    if let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema {
        schema.enum_values = Some(ALLOWED_EXTENSIONS.iter().map(|e| e.name.into()).collect());
    }
}

/// An optional body (`request_body = Option<T>`) may be left out, but it is never JSON `null`
/// (the server refuses that): the `null` utoipa adds to its schema is dropped.
fn absent_not_null(body: &mut RequestBody) {
    let is_null = |schema: &RefOr<Schema>| matches!(schema, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else {
            continue;
        };
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema
            && one_of.items.len() == 2
            && one_of.items.iter().any(is_null)
        {
            content.schema = one_of.items.iter().find(|s| !is_null(s)).cloned();
        }
    }
}

fn is_empty_requirement(requirement: &SecurityRequirement) -> bool {
    requirement == &SecurityRequirement::default()
}

fn operations_mut(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// `(method, path template) → operation id`, for the audit log and metrics.
pub fn operation_ids(
    openapi: &OpenApi,
) -> std::collections::HashMap<(axum::http::Method, String), String> {
    operations(openapi)
        .filter_map(|(key, operation)| Some((key, operation.operation_id.clone()?)))
        .collect()
}

/// The operations that declare no security (`security: [{}]`: probes, metrics, login): the
/// server ignores any credential sent to them, as the document promises.
pub fn public_operations(
    openapi: &OpenApi,
) -> std::collections::HashSet<(axum::http::Method, String)> {
    operations(openapi)
        .filter(|(_, operation)| {
            operation
                .security
                .as_ref()
                .is_some_and(|s| s.iter().all(is_empty_requirement))
        })
        .map(|(key, _)| key)
        .collect()
}

/// Every operation with its `(method, path template)`.
fn operations(
    openapi: &OpenApi,
) -> impl Iterator<Item = ((axum::http::Method, String), &Operation)> {
    use axum::http::Method;
    openapi.paths.paths.iter().flat_map(|(path, item)| {
        [
            (Method::GET, &item.get),
            (Method::PUT, &item.put),
            (Method::POST, &item.post),
            (Method::DELETE, &item.delete),
            (Method::PATCH, &item.patch),
        ]
        .into_iter()
        .filter_map(move |(method, operation)| Some(((method, path.clone()), operation.as_ref()?)))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::domain::cluster::ClusterSpec;
    use crate::domain::names::dns1123_label_error;

    /// The schema of `property` of component `schema` in the finished document.
    fn property(schema: &str, property: &str) -> jsonschema::Validator {
        let spec = serde_json::to_value(crate::http::openapi()).unwrap();
        let schema: Value = spec["components"]["schemas"][schema]["properties"][property].clone();
        assert!(schema.is_object(), "no {property} in the spec");
        jsonschema::draft202012::new(&schema).expect("the schema compiles")
    }

    const NAMES: [&str; 14] = [
        "a", "acme", "acme-2", "0abc", "a-b-c", "", "Acme", "-acme", "acme-", "ac_me", "ac.me",
        "ünï", " acme", "x9",
    ];

    #[test]
    fn the_spec_takes_the_tenant_names_the_server_takes() {
        let schema = property("TenantIn", "name");
        let long = ["a".repeat(63), "a".repeat(64)];
        for name in NAMES.iter().copied().chain(long.iter().map(String::as_str)) {
            assert_eq!(
                schema.is_valid(&json!(name)),
                dns1123_label_error(name).is_none(),
                "{name:?}"
            );
        }
    }

    #[test]
    fn the_spec_takes_the_cluster_names_the_server_takes() {
        let schema = property("ClusterRequest", "name");
        let long = ["a".repeat(37), "a".repeat(38)];
        for name in NAMES.iter().copied().chain(long.iter().map(String::as_str)) {
            assert_eq!(
                schema.is_valid(&json!(name)),
                ClusterSpec::from_json(&json!({"name": name})).is_ok(),
                "{name:?}"
            );
        }
    }
}
