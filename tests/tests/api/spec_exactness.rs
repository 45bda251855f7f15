//! The spec says what the server does: ranges, enums and parameters it declares are the ones
//! the server takes, and refusals name the parameter in words a client knows.

use pgplane_tests::TestApp;
use serde_json::{Value, json};

use super::spec_sweep::{self, TENANT, valid_path_value};

fn committed_spec() -> Value {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

#[tokio::test]
async fn every_list_takes_the_page_sizes_its_spec_declares_and_refuses_the_others() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    let spec = committed_spec();
    let admin = app.admin();
    let mut lists = 0;
    for op in spec_sweep::operations() {
        if !op.query_params.iter().any(|p| p == "page_size") {
            continue;
        }
        lists += 1;
        let schema = spec["paths"][&op.template][op.method.as_str().to_lowercase()]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "page_size")
            .unwrap()["schema"]
            .clone();
        assert_eq!(
            (schema["minimum"].as_u64(), schema["maximum"].as_u64()),
            (Some(1), Some(500)),
            "{} {}: {schema}",
            op.method,
            op.template
        );
        let path = op.path(|p| match p {
            "cluster" => "no-such-cluster".into(),
            other => valid_path_value(other),
        });
        for (size, ok) in [(0, false), (1, true), (500, true), (501, false)] {
            let call = admin.get(&format!("{path}?page_size={size}")).await;
            if ok {
                assert!(
                    call.status == 200 || call.status == 404,
                    "{path}?page_size={size}: {}",
                    call.status
                );
            } else {
                call.expect_problem(400, Some("page_size"));
            }
        }
    }
    assert!(lists >= 6, "only {lists} lists");
    app.stop().await;
}

#[tokio::test]
async fn audit_filters_are_declared_as_the_server_takes_them() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    let spec = committed_spec();
    let params = |path: &str| -> Vec<Value> {
        spec["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .clone()
    };
    for path in ["/v1/audit-events", "/v1/tenants/{tenant}/audit-events"] {
        let outcome = params(path)
            .into_iter()
            .find(|p| p["name"] == "outcome")
            .unwrap();
        assert_eq!(
            outcome["schema"]["enum"],
            json!(["allowed", "denied", "failed"]),
            "{path}"
        );
    }
    // The tenant filter exists on the platform-wide list only.
    assert!(
        params("/v1/audit-events")
            .iter()
            .any(|p| p["name"] == "tenant")
    );
    assert!(
        !params("/v1/tenants/{tenant}/audit-events")
            .iter()
            .any(|p| p["name"] == "tenant" && p["in"] == "query")
    );
    let admin = app.admin();
    for outcome in ["allowed", "denied", "failed"] {
        admin
            .get(&format!("/v1/audit-events?outcome={outcome}"))
            .await
            .expect(200);
    }
    admin
        .get("/v1/audit-events?outcome=maybe")
        .await
        .expect_problem(400, Some("outcome"));
    app.stop().await;
}

#[tokio::test]
async fn a_bad_path_or_body_value_is_named_in_words_not_rust_types() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    let admin = app.admin();
    for path in [
        "/v1/me/api-keys/not-a-uuid".to_string(),
        "/v1/operations/not-a-uuid".to_string(),
        format!("/v1/tenants/{TENANT}/api-keys/not-a-uuid"),
    ] {
        let method = if path.starts_with("/v1/operations") {
            pgplane_tests::client::Method::GET
        } else {
            pgplane_tests::client::Method::DELETE
        };
        let problem = admin
            .send(method, &path, None, &[])
            .await
            .expect_problem(400, Some("id"));
        assert_eq!(
            problem["errors"][0]["message"], "must be a UUID",
            "{problem}"
        );
    }
    let quota = json!({"max_clusters": 1.5, "max_instances": -1, "max_cpu_millis": "many",
        "max_memory_mib": 1, "max_storage_gib": 1});
    let problem = admin
        .put(&format!("/v1/tenants/{TENANT}/quota"), quota)
        .await
        .expect_problem(422, Some("max_clusters"));
    let text = problem.to_string();
    assert!(text.contains("a whole number"), "{problem}");
    // An integer written with a zero fraction is that integer, as JSON Schema says.
    let quota = admin
        .put(
            &format!("/v1/tenants/{TENANT}/quota"),
            json!({"max_clusters": 5.0, "max_instances": 1e1, "max_cpu_millis": 4000,
                "max_memory_mib": 8192.0, "max_storage_gib": 100}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        (
            quota["max_clusters"].clone(),
            quota["max_instances"].clone()
        ),
        (json!(5), json!(10))
    );
    admin
        .get("/v1/tenants?page_size=-1")
        .await
        .expect_problem(400, Some("page_size"));
    admin
        .post("/v1/tenants", json!({"name": ["a"]}))
        .await
        .expect_problem(422, Some("name"));
    for problem in [
        admin
            .put(&format!("/v1/tenants/{TENANT}/quota"), json!([1]))
            .await
            .json(),
        admin
            .post("/v1/tenants", json!({"name": {"a": 1}}))
            .await
            .json(),
    ] {
        let text = problem.to_string();
        for rust in ["u32", "i32", "i64", "struct ", "sequence", "a map"] {
            assert!(!text.contains(rust), "`{rust}` in {problem}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_body_the_spec_requires_is_required_and_only_those() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    app.create_user("someone@example.com").await;
    let spec = committed_spec();
    let admin = app.admin();
    let mut optional = Vec::new();
    for op in spec_sweep::operations()
        .into_iter()
        .filter(|op| op.has_body)
    {
        let body = &spec["paths"][&op.template][op.method.as_str().to_lowercase()]["requestBody"];
        if body["required"] != true {
            optional.push(op.template.rsplit('/').next().unwrap().to_string());
            // Left out, never `null`: the schema does not offer null.
            assert!(
                !body.to_string().contains("\"null\""),
                "{}: {body}",
                op.template
            );
            continue;
        }
        if op.path_params.iter().any(|p| p == "cluster") {
            continue; // needs a real cluster; the actions below are the optional ones
        }
        let path = op.path(|p| match p {
            "user" => "someone@example.com".into(),
            other => valid_path_value(other),
        });
        admin
            .send(op.method.clone(), &path, None, &[])
            .await
            .expect_problem(415, None);
    }
    optional.sort();
    assert_eq!(
        optional,
        [
            "backups",
            "promote",
            "restore",
            "rotate-password",
            "switchover",
            "upgrade"
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn extension_names_are_the_closed_list_the_server_takes() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    super::fixtures::insert_cluster(&app, TENANT, "orders", 1).await;
    let spec = committed_spec();
    let allowed: Vec<String> = pgplane::domain::cluster::extensions::ALLOWED_EXTENSIONS
        .iter()
        .map(|e| e.name.to_string())
        .collect();
    let template =
        "/v1/tenants/{tenant}/clusters/{cluster}/databases/{database}/extensions/{extension}";
    for method in ["put", "delete"] {
        let declared = spec["paths"][template][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "extension")
            .unwrap()["schema"]["enum"]
            .clone();
        assert_eq!(declared, json!(allowed), "{method}");
    }
    let path =
        format!("/v1/tenants/{TENANT}/clusters/orders/databases/orders/extensions/not-listed");
    app.admin()
        .put(&path, json!({}))
        .await
        .expect_problem(422, Some("extension"));
    app.admin()
        .delete(&path)
        .await
        .expect_problem(422, Some("extension"));
    app.stop().await;
}
