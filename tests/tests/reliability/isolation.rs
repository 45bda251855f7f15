//! Tenant isolation, swept from the OpenAPI document: every operation on a path naming a tenant
//! or a tenant's object is called with tenant B's names and ids, using tenant A's credentials
//! (an owner's token and an owner service key). Every answer must be 403 or 404, must not
//! mention any of B's ids, names or secrets, and B must be unchanged afterwards. New endpoints
//! are covered as they appear in the document.

use reqwest::Method;
use serde_json::{Map, Value, json};

use pgplane_tests::{TestApp, TestClient};

/// Everything tenant B owns that a leak could reveal, plus the values its paths take.
struct Victim {
    tenant: String,
    tenant_id: String,
    cluster: String,
    cluster_id: String,
    operation_id: String,
    member_email: String,
    member_id: String,
    tenant_key_id: String,
    tenant_key: String,
    personal_key_id: String,
}

impl Victim {
    /// The value a path parameter takes for B's objects.
    fn path_value(&self, path: &str, param: &str) -> String {
        match param {
            "tenant" => self.tenant.clone(),
            "cluster" => self.cluster.clone(),
            "user" if path.starts_with("/v1/users") => self.member_id.clone(),
            "user" => self.member_email.clone(),
            "id" if path.contains("/operations/") => self.operation_id.clone(),
            "id" if path.starts_with("/v1/me/") => self.personal_key_id.clone(),
            "id" => self.tenant_key_id.clone(),
            // A parameter added after this sweep was written: B's cluster name is the most
            // likely object name; the answer must still be 403/404.
            _ => self.cluster.clone(),
        }
    }

    /// Strings that must never appear in an answer to A.
    fn secrets(&self) -> Vec<&str> {
        vec![
            &self.tenant_id,
            &self.cluster_id,
            &self.operation_id,
            &self.member_email,
            &self.member_id,
            &self.tenant_key_id,
            &self.tenant_key,
            &self.personal_key_id,
        ]
    }
}

async fn victim(app: &TestApp) -> Victim {
    let admin = app.admin();
    let b = app.create_tenant("tenant-b").await;
    let member_email = "owner@tenant-b.example.com";
    let member = app.create_user(member_email).await;
    admin
        .put(
            &format!("/v1/tenants/tenant-b/members/{member_email}"),
            json!({"role": "owner"}),
        )
        .await
        .expect(201);
    let owner = app.client(&app.login(member_email).await);
    let operation = owner
        .post(
            "/v1/tenants/tenant-b/clusters",
            json!({"name": "secret-db"}),
        )
        .await
        .expect(202)
        .json();
    let cluster = owner
        .get("/v1/tenants/tenant-b/clusters/secret-db")
        .await
        .expect(200)
        .json();
    let tenant_key = owner
        .post(
            "/v1/tenants/tenant-b/api-keys",
            json!({"name": "ci", "role": "owner"}),
        )
        .await
        .expect(201)
        .json();
    let personal_key = owner
        .post("/v1/me/api-keys", json!({"name": "laptop"}))
        .await
        .expect(201)
        .json();
    Victim {
        tenant: "tenant-b".into(),
        tenant_id: b["id"].as_str().unwrap().into(),
        cluster: "secret-db".into(),
        cluster_id: cluster["id"].as_str().unwrap().into(),
        operation_id: operation["id"].as_str().unwrap().into(),
        member_email: member_email.into(),
        member_id: member["id"].as_str().unwrap().into(),
        tenant_key_id: tenant_key["id"].as_str().unwrap().into(),
        tenant_key: tenant_key["key"].as_str().unwrap().into(),
        personal_key_id: personal_key["id"].as_str().unwrap().into(),
    }
}

/// A minimal instance of `schema` (required properties only), so requests get past body
/// validation and reach the access check.
fn example(schema: &Value, spec: &Value) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return example(&spec["components"]["schemas"][name], spec);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(one) = schema["oneOf"]
        .as_array()
        .or(schema["anyOf"].as_array())
        .and_then(|o| o.first())
    {
        return example(one, spec);
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .find(|k| *k != "null")
            .cloned()
            .unwrap_or_default(),
        other => other.clone(),
    };
    match kind.as_str().unwrap_or("object") {
        "object" => {
            let mut out = Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                out.insert(name.into(), example(&schema["properties"][name], spec));
            }
            Value::Object(out)
        }
        "string" => match schema["format"].as_str() {
            Some("email") => json!("someone@example.com"),
            Some("uuid") => json!(uuid::Uuid::new_v4().to_string()),
            Some("date-time") => json!("2099-01-01T00:00:00Z"),
            _ => json!("probe1"),
        },
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        "array" => json!([]),
        _ => json!({}),
    }
}

/// Every `(method, path template, body)` of the document.
fn operations(spec: &Value) -> Vec<(Method, String, Option<Value>)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if ![
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ]
            .contains(&method)
            {
                continue;
            }
            let body = operation["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|media| example(&media["schema"], spec));
            out.push((method, path.clone(), body));
        }
    }
    out
}

fn fill(path: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&rest[..start]);
        out.push_str(&value(&rest[start + 1..end]));
        rest = &rest[end + 1..];
    }
    out + rest
}

async fn sweep(attacker: &TestClient, who: &str, b: &Victim, spec: &Value) -> usize {
    let mut checked = 0;
    for (method, template, body) in operations(spec) {
        let scoped = template.contains('{');
        if !scoped && method != Method::GET {
            continue; // creates in the caller's own scope
        }
        let path = fill(&template, |p| b.path_value(&template, p));
        let call = attacker
            .send(method.clone(), &path, body.clone(), &[])
            .await;
        let text = String::from_utf8_lossy(&call.body);
        // Paths without parameters (lists of "mine", /v1/me) may answer; they must not leak.
        assert!(
            call.status == 403 || call.status == 404 || (!scoped && call.status < 500),
            "{who}: {method} {path} answered {}: {text}",
            call.status
        );
        // An id the caller sent may be echoed in the 404; anything else of B's is a leak.
        for secret in b.secrets().into_iter().filter(|s| !path.contains(s)) {
            assert!(
                !text.contains(secret),
                "{who}: {method} {path} leaked `{secret}`: {text}"
            );
        }
        checked += 1;
    }
    checked
}

#[tokio::test]
async fn every_path_of_another_tenant_is_403_or_404_and_leaks_nothing() {
    let app = TestApp::spawn().await;
    let spec: Value =
        serde_json::from_str(include_str!("../../../openapi/openapi.json")).expect("spec");
    let b = victim(&app).await;
    let before = app
        .admin()
        .get("/v1/tenants/tenant-b/clusters/secret-db")
        .await
        .expect(200)
        .json();

    app.create_tenant("tenant-a").await;
    let a_owner = app.member("tenant-a", "owner").await;
    let a_key = a_owner
        .post(
            "/v1/tenants/tenant-a/api-keys",
            json!({"name": "ci", "role": "owner"}),
        )
        .await
        .expect(201)
        .json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let a_service = app.client(&a_key);

    let checked = sweep(&a_owner, "tenant A's owner", &b, &spec).await
        + sweep(&a_service, "tenant A's service key", &b, &spec).await;
    assert!(checked >= 2 * 20, "the sweep covered only {checked} calls");

    // B is as it was: its cluster, member and keys still work.
    let after = app
        .admin()
        .get("/v1/tenants/tenant-b/clusters/secret-db")
        .await
        .expect(200)
        .json();
    assert_eq!(before["spec"], after["spec"]);
    app.client(&b.tenant_key)
        .get("/v1/tenants/tenant-b/clusters")
        .await
        .expect(200);
    app.client(&app.login(&b.member_email).await)
        .get("/v1/tenants/tenant-b")
        .await
        .expect(200);
}
