//! The cluster API without a platform: validation, defaults, quota, one operation at a time,
//! cancellation, deletion protection, isolation. (The lifecycle against Kubernetes is tested
//! with the test API server in the `kubernetes` test binary.)

use pgplane_tests::TestApp;
use pgplane_tests::client::Method;
use serde_json::json;

async fn tenant_with_limit(app: &TestApp, name: &str, max_clusters: i64) {
    app.create_tenant(name).await;
    let quota = json!({"max_clusters": max_clusters, "max_instances": 300, "max_cpu_millis": 300_000, "max_memory_mib": 1_000_000, "max_storage_gib": 100_000});
    app.admin()
        .put(&format!("/v1/tenants/{name}/quota"), quota)
        .await
        .expect(200);
}

#[tokio::test]
async fn creating_a_cluster_answers_202_with_an_operation_and_fills_every_default() {
    let app = TestApp::spawn().await;
    tenant_with_limit(&app, "acme", 5).await;
    let dev = app.member("acme", "developer").await;
    let call = dev
        .post("/v1/tenants/acme/clusters", json!({"name": "orders"}))
        .await
        .expect(202);
    let operation = call.json();
    assert_eq!(operation["kind"], "create");
    assert_eq!(operation["state"], "pending");
    assert_eq!(operation["steps"][0]["name"], "queued");
    assert_eq!(
        call.header("location"),
        Some(format!(
            "/v1/operations/{}",
            operation["id"].as_str().unwrap()
        ))
    );
    let polled = dev
        .get(call.header("location").as_deref().unwrap())
        .await
        .expect(200)
        .json();
    assert_eq!(polled["id"], operation["id"]);

    let cluster = dev
        .get("/v1/tenants/acme/clusters/orders")
        .await
        .expect(200)
        .json();
    let spec = &cluster["spec"];
    for field in [
        "postgres_version",
        "instances",
        "resources",
        "storage",
        "backups",
        "pooler",
        "monitoring",
        "parameters",
        "database",
        "owner",
        "deletion_policy",
        "deletion_protection",
    ] {
        assert!(
            !spec[field].is_null(),
            "default for {field} missing: {spec}"
        );
    }
    assert_eq!(cluster["status"]["phase"], "pending");
    assert_eq!(cluster["status"]["generation"], 1);
    // The returned spec is accepted back unchanged: no perpetual diff for declarative clients.
    let same = dev
        .patch("/v1/tenants/acme/clusters/orders", spec.clone())
        .await;
    assert!(same.status == 200 || same.status == 409, "{}", same.status);
}

#[tokio::test]
async fn invalid_specs_are_422_naming_each_field() {
    let app = TestApp::spawn().await;
    tenant_with_limit(&app, "acme", 5).await;
    let problem = app.admin()
        .post("/v1/tenants/acme/clusters", json!({"name": "Bad_Name", "instances": 9, "resources": {"cpu": "lots"}, "shiny": true}))
        .await
        .expect_problem(422, None);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"name")
            && fields.contains(&"instances")
            && fields.contains(&"resources.cpu"),
        "{fields:?}"
    );
    app.admin()
        .post("/v1/tenants/acme/clusters", json!({}))
        .await
        .expect_problem(422, Some("name"));
    let clusters = app
        .admin()
        .get("/v1/tenants/acme/clusters")
        .await
        .expect(200)
        .json();
    assert_eq!(clusters["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_second_change_while_an_operation_runs_is_409_naming_it_with_retry_after() {
    let app = TestApp::spawn().await;
    tenant_with_limit(&app, "acme", 5).await;
    let created = app
        .admin()
        .post("/v1/tenants/acme/clusters", json!({"name": "orders"}))
        .await
        .expect(202)
        .json();
    let call = app
        .admin()
        .patch("/v1/tenants/acme/clusters/orders", json!({"instances": 2}))
        .await;
    assert!(call.header("retry-after").is_some());
    let problem = call.expect_problem(409, None);
    assert_eq!(problem["context"]["operation_id"], created["id"]);
    app.admin()
        .delete("/v1/tenants/acme/clusters/orders")
        .await
        .expect_problem(409, None);
}

#[tokio::test]
async fn cancelling_a_queued_create_removes_the_cluster_and_ends_the_operation() {
    let app = TestApp::spawn().await;
    tenant_with_limit(&app, "acme", 5).await;
    let created = app
        .admin()
        .post("/v1/tenants/acme/clusters", json!({"name": "orders"}))
        .await
        .expect(202)
        .json();
    let id = created["id"].as_str().unwrap();
    let viewer = app.member("acme", "viewer").await;
    viewer
        .post(&format!("/v1/operations/{id}/cancel"), json!({}))
        .await
        .expect_problem(403, None);
    let cancelled = app
        .admin()
        .post(&format!("/v1/operations/{id}/cancel"), json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(cancelled["state"], "cancelled");
    assert!(cancelled["finished_at"].is_string());
    app.admin()
        .get("/v1/tenants/acme/clusters/orders")
        .await
        .expect_problem(404, None);
    app.admin()
        .post(&format!("/v1/operations/{id}/cancel"), json!({}))
        .await
        .expect_problem(409, None);
    let quota = app
        .admin()
        .get("/v1/tenants/acme/quota")
        .await
        .expect(200)
        .json();
    assert_eq!(quota["usage"]["clusters"], 0);
}

#[tokio::test]
async fn one_hundred_concurrent_creates_against_a_limit_of_ten_give_exactly_ten() {
    let app = TestApp::spawn().await;
    tenant_with_limit(&app, "acme", 10).await;
    let admin = app.admin();
    let creates = (0..100).map(|i| {
        let admin = admin.clone();
        async move {
            admin
                .post(
                    "/v1/tenants/acme/clusters",
                    json!({"name": format!("c{i}"), "backups": {"enabled": false}}),
                )
                .await
        }
    });
    let calls = futures::future::join_all(creates).await;
    let accepted = calls.iter().filter(|c| c.status == 202).count();
    let refused = calls.iter().filter(|c| c.status == 409).count();
    assert_eq!(
        (accepted, refused),
        (10, 90),
        "statuses: {:?}",
        calls.iter().map(|c| c.status).collect::<Vec<_>>()
    );
    let listed = admin
        .get("/v1/tenants/acme/clusters?page_size=500")
        .await
        .expect(200)
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 10);
    let problem = calls.iter().find(|c| c.status == 409).unwrap().json();
    assert_eq!(problem["context"]["exceeded"][0]["limit"], "max_clusters");
}

#[tokio::test]
async fn deletion_protection_refuses_delete_at_once() {
    let app = TestApp::spawn().await;
    tenant_with_limit(&app, "acme", 5).await;
    let created = app
        .admin()
        .post(
            "/v1/tenants/acme/clusters",
            json!({"name": "orders", "deletion_protection": true}),
        )
        .await
        .expect(202)
        .json();
    app.admin()
        .post(
            &format!("/v1/operations/{}/cancel", created["id"].as_str().unwrap()),
            json!({}),
        )
        .await
        .expect(200);
    app.admin()
        .post(
            "/v1/tenants/acme/clusters",
            json!({"name": "orders", "deletion_protection": true}),
        )
        .await
        .expect(202);
    sqlx::query("update operations set state = 'succeeded', step = 'done', finished_at = now()")
        .execute(&app.db)
        .await
        .unwrap();
    let problem = app
        .admin()
        .delete("/v1/tenants/acme/clusters/orders")
        .await
        .expect_problem(409, None);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("deletion_protection")
    );
}

#[tokio::test]
async fn clusters_operations_and_connections_of_another_tenant_are_404() {
    let app = TestApp::spawn().await;
    tenant_with_limit(&app, "acme", 5).await;
    tenant_with_limit(&app, "globex", 5).await;
    let op = app
        .admin()
        .post("/v1/tenants/globex/clusters", json!({"name": "secret"}))
        .await
        .expect(202)
        .json();
    let op_id = op["id"].as_str().unwrap();
    let acme = app.member("acme", "owner").await;
    for (method, path) in [
        (Method::GET, "/v1/tenants/globex/clusters".to_string()),
        (
            Method::GET,
            "/v1/tenants/globex/clusters/secret".to_string(),
        ),
        (
            Method::PATCH,
            "/v1/tenants/globex/clusters/secret".to_string(),
        ),
        (
            Method::DELETE,
            "/v1/tenants/globex/clusters/secret".to_string(),
        ),
        (
            Method::GET,
            "/v1/tenants/globex/clusters/secret/connection?reveal=true".to_string(),
        ),
        (Method::GET, "/v1/tenants/globex/operations".to_string()),
        (Method::GET, format!("/v1/operations/{op_id}")),
        (Method::POST, format!("/v1/operations/{op_id}/cancel")),
        (Method::GET, "/v1/tenants/acme/clusters/secret".to_string()),
    ] {
        let body = matches!(method, Method::PATCH | Method::POST).then(|| json!({"instances": 2}));
        acme.send(method.clone(), &path, body, &[])
            .await
            .expect_problem(404, None);
    }
    let still = app
        .admin()
        .get(&format!("/v1/operations/{op_id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(still["state"], "pending");
}

#[tokio::test]
async fn connection_details_are_409_until_known_and_reveal_is_audited() {
    let app = TestApp::spawn().await;
    tenant_with_limit(&app, "acme", 5).await;
    app.admin()
        .post("/v1/tenants/acme/clusters", json!({"name": "orders"}))
        .await
        .expect(202);
    app.admin()
        .get("/v1/tenants/acme/clusters/orders/connection")
        .await
        .expect_problem(409, None);
    sqlx::query(
        "update clusters set connection = $1, connection_password = 'hunter2-long-secret'",
    )
    .bind(json!({"primary": {"host": "orders-primary.pgplane-acme.svc", "port": 5432}, "user": "orders", "database": "orders", "ca_certificate": "-----BEGIN CERTIFICATE-----"}))
    .execute(&app.db)
    .await
    .unwrap();
    let viewer = app.member("acme", "viewer").await;
    let plain = viewer
        .get("/v1/tenants/acme/clusters/orders/connection")
        .await
        .expect(200)
        .json();
    assert_eq!(
        plain["primary"]["uri"],
        "postgresql://orders@orders-primary.pgplane-acme.svc:5432/orders?sslmode=verify-full"
    );
    assert!(plain.get("password").is_none());
    viewer
        .get("/v1/tenants/acme/clusters/orders/connection?reveal=true")
        .await
        .expect_problem(403, None);
    let developer = app.member("acme", "developer").await;
    let revealed = developer
        .send(
            Method::GET,
            "/v1/tenants/acme/clusters/orders/connection?reveal=true",
            None,
            &[("x-request-id", "reveal-1")],
        )
        .await
        .expect(200)
        .json();
    assert_eq!(revealed["password"], "hunter2-long-secret");
    assert!(
        revealed["primary"]["uri"]
            .as_str()
            .unwrap()
            .contains(":hunter2-long-secret@")
    );
    let audit = app
        .admin()
        .get("/v1/tenants/acme/audit-events?action=clusters.connection.reveal")
        .await
        .expect(200)
        .json();
    let outcomes: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["allowed", "denied"]);
    assert_eq!(audit["items"][0]["request_id"], "reveal-1");
}

/// Every cluster the API returns carries `allowed_actions`: the server's own rules (phase,
/// suspension, the running operation, the caller's role), each refusal with its reason, so
/// clients need no copy of them.
#[tokio::test]
async fn every_cluster_carries_its_allowed_actions_with_the_reason_for_each_refusal() {
    let app = TestApp::spawn().await;
    tenant_with_limit(&app, "acme", 5).await;
    let dev = app.member("acme", "developer").await;
    let viewer = app.member("acme", "viewer").await;
    let create = dev
        .post("/v1/tenants/acme/clusters", json!({"name": "orders"}))
        .await
        .expect(202)
        .json();
    let create_id = create["id"].as_str().unwrap().to_owned();

    // While the create runs, the cluster is busy and not yet running.
    let busy = dev
        .get("/v1/tenants/acme/clusters/orders")
        .await
        .expect(200)
        .json();
    let allowed = &busy["allowed_actions"];
    assert_eq!(allowed["scale"]["allowed"], false, "{allowed}");
    assert!(
        allowed["scale"]["reason"]
            .as_str()
            .unwrap()
            .contains(&create_id),
        "the busy refusal names the running operation: {allowed}"
    );
    assert_eq!(allowed["backup"]["allowed"], false);
    assert!(
        allowed["backup"]["reason"]
            .as_str()
            .unwrap()
            .contains("needs a running cluster"),
        "{allowed}"
    );

    // The create finished and the cluster runs: what a developer may do now.
    sqlx::query(
        "update operations set state = 'succeeded', finished_at = now() where id = $1::uuid",
    )
    .bind(&create_id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("update clusters set phase = 'ready' where name = 'orders'")
        .execute(&app.db)
        .await
        .unwrap();
    let running = dev
        .get("/v1/tenants/acme/clusters/orders")
        .await
        .expect(200)
        .json();
    let allowed = &running["allowed_actions"];
    for action in [
        "update",
        "scale",
        "resize",
        "suspend",
        "backup",
        "rotate_password",
    ] {
        assert_eq!(allowed[action]["allowed"], true, "{action}: {allowed}");
        assert!(
            allowed[action].get("reason").is_none(),
            "{action}: {allowed}"
        );
    }
    assert_eq!(
        allowed["resume"],
        json!({"allowed": false, "reason": "cluster `orders` is not suspended"})
    );
    assert_eq!(allowed["delete"]["allowed"], true, "{allowed}");

    // A viewer reads the same cluster and may change nothing, told why.
    let listed = viewer
        .get("/v1/tenants/acme/clusters")
        .await
        .expect(200)
        .json();
    let seen = &listed["items"][0]["allowed_actions"];
    let actions = seen.as_object().unwrap();
    assert_eq!(actions.len(), 18, "one allowance per action: {seen}");
    for (action, allowance) in actions {
        assert_eq!(allowance["allowed"], false, "{action}: {seen}");
    }
    assert!(
        seen["scale"]["reason"]
            .as_str()
            .unwrap()
            .contains("(viewer) does not allow this"),
        "{seen}"
    );
}
