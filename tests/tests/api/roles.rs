//! Roles through the API: the permission table (unit-tested in `domain::permissions`) applied
//! to each tenant route, and the owner rules for members.

use pgplane_tests::client::Method;
use pgplane_tests::{TestApp, TestClient};
use serde_json::{Value, json};

struct Probe {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    /// Allowed for owner, admin, developer, viewer.
    allowed: [bool; 4],
}

fn probes() -> Vec<Probe> {
    let p = |method, path, body, allowed| Probe {
        method,
        path,
        body,
        allowed,
    };
    vec![
        p(
            Method::GET,
            "/v1/tenants/acme",
            None,
            [true, true, true, true],
        ),
        p(
            Method::PATCH,
            "/v1/tenants/acme",
            Some(json!({"display_name": "Acme"})),
            [true, true, false, false],
        ),
        p(
            Method::PATCH,
            "/v1/tenants/acme",
            Some(json!({"suspended": false})),
            [false, false, false, false],
        ),
        p(
            Method::DELETE,
            "/v1/tenants/acme",
            None,
            [false, false, false, false],
        ),
        p(
            Method::GET,
            "/v1/tenants/acme/members",
            None,
            [true, true, true, true],
        ),
        p(
            Method::GET,
            "/v1/tenants/acme/quota",
            None,
            [true, true, true, true],
        ),
        p(
            Method::PUT,
            "/v1/tenants/acme/quota",
            Some(
                json!({"max_clusters": 5, "max_instances": 5, "max_cpu_millis": 5000, "max_memory_mib": 5000, "max_storage_gib": 50}),
            ),
            [false, false, false, false],
        ),
        p(
            Method::GET,
            "/v1/tenants/acme/api-keys",
            None,
            [true, true, false, false],
        ),
        p(
            Method::POST,
            "/v1/tenants/acme/api-keys",
            Some(json!({"name": "k", "role": "viewer"})),
            [true, true, false, false],
        ),
        p(
            Method::GET,
            "/v1/tenants/acme/audit-events",
            None,
            [true, true, false, false],
        ),
        p(Method::GET, "/v1/users", None, [false, false, false, false]),
        p(
            Method::GET,
            "/v1/audit-events",
            None,
            [false, false, false, false],
        ),
    ]
}

#[tokio::test]
async fn each_tenant_role_may_do_exactly_what_the_permission_table_allows() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let roles = ["owner", "admin", "developer", "viewer"];
    let mut clients: Vec<TestClient> = Vec::new();
    for role in roles {
        clients.push(app.member("acme", role).await);
    }
    for probe in probes() {
        for (i, client) in clients.iter().enumerate() {
            let call = client
                .send(probe.method.clone(), probe.path, probe.body.clone(), &[])
                .await;
            let allowed = (200..300).contains(&call.status);
            assert_eq!(
                allowed,
                probe.allowed[i],
                "{} {} as {}: {} {}",
                probe.method,
                probe.path,
                roles[i],
                call.status,
                String::from_utf8_lossy(&call.body)
            );
            if !allowed {
                call.expect_problem(403, None);
            }
        }
    }
}

#[tokio::test]
async fn admins_manage_members_but_only_owners_grant_or_remove_ownership() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    let owner = app.member("acme", "owner").await;
    let admin = app.member("acme", "admin").await;
    app.create_user("dev@example.com").await;
    let added = admin
        .put(
            "/v1/tenants/acme/members/dev@example.com",
            json!({"role": "developer"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(added["role"], "developer");
    // Emails are case-insensitive, as everywhere in pgplane (a Terraform configuration may
    // spell one as the company directory does).
    admin
        .put(
            "/v1/tenants/acme/members/Dev@Example.COM",
            json!({"role": "viewer"}),
        )
        .await
        .expect(200);
    admin
        .put(
            "/v1/tenants/acme/members/dev@example.com",
            json!({"role": "owner"}),
        )
        .await
        .expect_problem(403, None);
    owner
        .put(
            "/v1/tenants/acme/members/dev@example.com",
            json!({"role": "owner"}),
        )
        .await
        .expect(200);
    admin
        .delete("/v1/tenants/acme/members/dev@example.com")
        .await
        .expect_problem(403, None);
    owner
        .delete("/v1/tenants/acme/members/dev@example.com")
        .await
        .expect(204);
    owner
        .delete("/v1/tenants/acme/members/dev@example.com")
        .await
        .expect_problem(404, None);
    admin
        .put(
            "/v1/tenants/acme/members/nobody@example.com",
            json!({"role": "viewer"}),
        )
        .await
        .expect_problem(404, None);
    admin
        .put(
            "/v1/tenants/acme/members/dev@example.com",
            json!({"role": "root"}),
        )
        .await
        .expect_problem(422, Some("role"));
    let viewer = app.member("acme", "viewer").await;
    viewer
        .put(
            "/v1/tenants/acme/members/dev@example.com",
            json!({"role": "viewer"}),
        )
        .await
        .expect_problem(403, None);
}

#[tokio::test]
async fn the_last_owner_cannot_be_removed_or_demoted() {
    let app = TestApp::spawn().await;
    app.create_tenant("acme").await;
    app.create_user("only@example.com").await;
    app.admin()
        .put(
            "/v1/tenants/acme/members/only@example.com",
            json!({"role": "owner"}),
        )
        .await
        .expect(201);
    app.admin()
        .put(
            "/v1/tenants/acme/members/only@example.com",
            json!({"role": "admin"}),
        )
        .await
        .expect_problem(409, None);
    app.admin()
        .delete("/v1/tenants/acme/members/only@example.com")
        .await
        .expect_problem(409, None);
    let members = app
        .admin()
        .get("/v1/tenants/acme/members")
        .await
        .expect(200)
        .json();
    assert_eq!(members["items"][0]["role"], "owner");
}
