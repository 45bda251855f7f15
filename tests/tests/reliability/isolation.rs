//! Tenant isolation, swept from the OpenAPI document: every operation on a path naming a tenant
//! or a tenant's object is called with tenant B's names and ids, by every role of tenant A (an
//! owner, an admin, a developer and a viewer, by access token, and an owner service key).
//! Every answer must be 403 or 404, must not mention any of B's ids, names or secrets, and B
//! must be unchanged afterwards. New endpoints are covered as they appear in the document.
//! Queries, bodies, page tokens and idempotency keys that name B's objects inside A's own
//! scope: `isolation_inputs`.

use pgplane_tests::client::Method;
use serde_json::{Map, Value, json};

use pgplane_tests::{TestApp, TestClient};

/// Everything a tenant owns that a leak could reveal, plus the values its paths take.
pub struct Tenant {
    pub tenant: String,
    pub tenant_id: String,
    pub cluster: String,
    pub cluster_id: String,
    pub operation_id: String,
    pub member_email: String,
    pub member_id: String,
    pub tenant_key_id: String,
    pub tenant_key: String,
    pub personal_key_id: String,
    /// A second cluster, created with [`Tenant::idempotency_key`].
    pub second_cluster: String,
    pub second_operation_id: String,
    pub idempotency_key: String,
    /// `next_page_token` of the first page (one cluster) of the tenant's clusters.
    pub page_token: String,
    /// The owner, by the access token the idempotency key was used with (keys are scoped by
    /// credential).
    pub owner: TestClient,
}

impl Tenant {
    /// Creates `tenant` with an owner, two clusters (`<cluster>` and `<cluster>-2`), a tenant
    /// service key and a personal key of the owner's.
    pub async fn create(app: &TestApp, tenant: &str, cluster: &str) -> Tenant {
        let admin = app.admin();
        let created = app.create_tenant(tenant).await;
        let member_email = format!("owner@{tenant}.example.com");
        let member = app.create_user(&member_email).await;
        admin
            .put(
                &format!("/v1/tenants/{tenant}/members/{member_email}"),
                json!({"role": "owner"}),
            )
            .await
            .expect(201);
        let owner = app.client(&app.login(&member_email).await);
        let clusters = format!("/v1/tenants/{tenant}/clusters");
        let operation = owner
            .post(&clusters, json!({"name": cluster}))
            .await
            .expect(202)
            .json();
        let found = owner
            .get(&format!("{clusters}/{cluster}"))
            .await
            .expect(200)
            .json();
        let second_cluster = format!("{cluster}-2");
        let idempotency_key = format!("key-of-{tenant}");
        let second_operation = owner
            .send(
                Method::POST,
                &clusters,
                Some(json!({"name": second_cluster})),
                &[("idempotency-key", &idempotency_key)],
            )
            .await
            .expect(202)
            .json();
        let page = owner
            .get(&format!("{clusters}?page_size=1"))
            .await
            .expect(200)
            .json();
        let tenant_key = owner
            .post(
                &format!("/v1/tenants/{tenant}/api-keys"),
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
        Tenant {
            tenant: tenant.into(),
            tenant_id: text(&created["id"]),
            cluster: cluster.into(),
            cluster_id: text(&found["id"]),
            operation_id: text(&operation["id"]),
            member_email,
            member_id: text(&member["id"]),
            tenant_key_id: text(&tenant_key["id"]),
            tenant_key: text(&tenant_key["key"]),
            personal_key_id: text(&personal_key["id"]),
            second_cluster,
            second_operation_id: text(&second_operation["id"]),
            idempotency_key,
            page_token: text(&page["next_page_token"]),
            owner,
        }
    }

    /// The value a path parameter takes for this tenant's objects.
    pub fn path_value(&self, path: &str, param: &str) -> String {
        match param {
            "tenant" => self.tenant.clone(),
            "cluster" => self.cluster.clone(),
            "user" if path.starts_with("/v1/users") => self.member_id.clone(),
            "user" => self.member_email.clone(),
            "id" if path.contains("/operations/") => self.operation_id.clone(),
            "id" if path.starts_with("/v1/me/") => self.personal_key_id.clone(),
            "id" => self.tenant_key_id.clone(),
            // The cluster's application database and owner role are named after it.
            "database" | "role" => self.cluster.clone(),
            "extension" => "pgcrypto".into(),
            // A parameter added after this sweep was written: the cluster name is the most
            // likely object name; the answer must still be 403/404.
            _ => self.cluster.clone(),
        }
    }

    /// Strings that must never appear in an answer to another tenant, unless its request
    /// carried them (a 404 may echo the name it was asked for).
    pub fn secrets(&self) -> Vec<&str> {
        vec![
            &self.tenant,
            &self.tenant_id,
            &self.cluster,
            &self.cluster_id,
            &self.operation_id,
            &self.member_email,
            &self.member_id,
            &self.tenant_key_id,
            &self.tenant_key,
            &self.personal_key_id,
            &self.second_cluster,
            &self.second_operation_id,
            &self.page_token,
        ]
    }

    /// Asserts that `answer` to `request` (method, path and query, body) mentions none of
    /// this tenant's secrets that the request did not carry.
    #[track_caller]
    pub fn assert_not_in(&self, who: &str, request: &str, answer: &str) {
        for secret in self.secrets().into_iter().filter(|s| !request.contains(s)) {
            assert!(
                !answer.contains(secret),
                "{who}: {request} leaked `{secret}`: {answer}"
            );
        }
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_string()
}

/// Every role of `tenant` (a member of each role, by access token) and an owner service key.
pub async fn attackers(app: &TestApp, tenant: &str) -> Vec<(String, TestClient)> {
    let mut out = Vec::new();
    for role in ["owner", "admin", "developer", "viewer"] {
        let member = app.member(tenant, role).await;
        out.push((format!("{tenant}'s {role}"), member));
    }
    let key = out[0]
        .1
        .post(
            &format!("/v1/tenants/{tenant}/api-keys"),
            json!({"name": "ci", "role": "owner"}),
        )
        .await
        .expect(201)
        .json();
    out.push((
        format!("{tenant}'s owner service key"),
        app.client(&text(&key["key"])),
    ));
    out
}

/// A minimal instance of `schema` (required properties only), so requests get past body
/// validation and reach the access check.
pub fn example(schema: &Value, spec: &Value) -> Value {
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
pub fn operations(spec: &Value) -> Vec<(Method, String, Option<Value>)> {
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

/// `path` with each `{parameter}` replaced by `value(parameter)`.
pub fn fill(path: &str, value: impl Fn(&str) -> String) -> String {
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

/// The document as the server serves it.
pub fn spec() -> Value {
    serde_json::to_value(pgplane::http::openapi()).expect("spec")
}

async fn sweep(attacker: &TestClient, who: &str, b: &Tenant, spec: &Value) -> usize {
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
        b.assert_not_in(who, &format!("{method} {path}"), &text);
        checked += 1;
    }
    checked
}

/// `/metrics` declares no security and answers anyone: without the metrics token it names no
/// tenant and no cluster (the per-cluster backup series need the token).
#[tokio::test]
async fn public_metrics_name_no_tenant_or_cluster() {
    let app = TestApp::spawn().await;
    let b = Tenant::create(&app, "tenant-b", "secret-db").await;
    let metrics = app.anonymous().get("/metrics").await.expect(200);
    let text = String::from_utf8_lossy(&metrics.body);
    b.assert_not_in("anyone", "GET /metrics", &text);
}

#[tokio::test]
async fn every_path_of_another_tenant_is_403_or_404_for_every_role_and_leaks_nothing() {
    let app = TestApp::spawn().await;
    let spec = spec();
    let b = Tenant::create(&app, "tenant-b", "secret-db").await;
    let cluster = format!("/v1/tenants/tenant-b/clusters/{}", b.cluster);
    let before = app.admin().get(&cluster).await.expect(200).json();

    app.create_tenant("tenant-a").await;
    let attackers = attackers(&app, "tenant-a").await;
    let mut checked = 0;
    for (who, attacker) in &attackers {
        checked += sweep(attacker, who, &b, &spec).await;
    }
    assert!(
        checked >= attackers.len() * 40,
        "the sweep covered only {checked} calls"
    );

    // B is as it was: its cluster, member and keys still work.
    let after = app.admin().get(&cluster).await.expect(200).json();
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
