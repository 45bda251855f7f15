//! The operations of the committed OpenAPI document, for tests that sweep every route.

use pgplane_tests::client::Method;
use serde_json::Value;

/// The tenant the sweeps create; path parameters name it unless a test says otherwise.
pub const TENANT: &str = "acme";

/// One operation of the spec.
pub struct Operation {
    pub method: Method,
    /// The path template, e.g. `/v1/tenants/{tenant}/clusters/{cluster}`.
    pub template: String,
    pub path_params: Vec<String>,
    pub query_params: Vec<String>,
    pub has_body: bool,
}

impl Operation {
    /// The template with each path parameter replaced by `value(name)`.
    pub fn path(&self, value: impl Fn(&str) -> String) -> String {
        self.path_params
            .iter()
            .fold(self.template.clone(), |path, name| {
                path.replace(&format!("{{{name}}}"), &value(name))
            })
    }

    pub fn is_mutation(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }
}

/// A valid value for each path parameter of the spec (that may or may not exist).
pub fn valid_path_value(name: &str) -> String {
    match name {
        "tenant" => TENANT.into(),
        "cluster" => "orders".into(),
        "database" => "app".into(),
        "extension" => "pg_trgm".into(),
        "role" => "reporting".into(),
        "user" => pgplane_tests::app::ADMIN_EMAIL.into(),
        "id" => uuid::Uuid::now_v7().to_string(),
        "provider" => "corp".into(),
        other => panic!("no valid value for path parameter `{other}`: add one to the sweep"),
    }
}

/// Every operation of `openapi/openapi.json` as committed.
pub fn operations() -> Vec<Operation> {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(file).expect("the spec"))
        .expect("the committed spec is JSON");
    let mut operations = Vec::new();
    for (template, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let params = |place: &str| -> Vec<String> {
                operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == place)
                    .map(|p| p["name"].as_str().expect("parameter name").to_string())
                    .collect()
            };
            operations.push(Operation {
                method: method.to_uppercase().parse().expect("method"),
                template: template.clone(),
                path_params: params("path"),
                query_params: params("query"),
                has_body: operation.get("requestBody").is_some(),
            });
        }
    }
    operations
}
