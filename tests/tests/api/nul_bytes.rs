//! No input makes a 500: a NUL character (U+0000), which PostgreSQL cannot store, is refused
//! wherever text enters (every path and query parameter of the spec, every JSON string and key)
//! with a problem naming where it was; a value the database refuses anyway is a 4xx.

use pgplane::http::error::ApiError;
use pgplane::store::StoreError;
use pgplane_tests::client::Method;
use pgplane_tests::{TestApp, TestClient};
use serde_json::json;

use super::spec_sweep::{self, TENANT, valid_path_value};

/// What a parameter holds when it is the one under test (`a\0b`, percent-encoded).
const WITH_NUL: &str = "a%00b";

/// One request of the sweep: an operation of the spec with one parameter holding a NUL.
struct Probe {
    method: Method,
    path: String,
    parameter: String,
    has_body: bool,
}

/// For every operation of the committed spec, one probe per path parameter and per query
/// parameter, that parameter holding a NUL and the path parameters otherwise valid.
fn probes() -> Vec<Probe> {
    let mut probes = Vec::new();
    for op in spec_sweep::operations() {
        let probe = |path: String, parameter: &String| Probe {
            method: op.method.clone(),
            path,
            parameter: parameter.clone(),
            has_body: op.has_body,
        };
        for name in &op.path_params {
            let path = op.path(|p| {
                if p == name {
                    WITH_NUL.to_string()
                } else {
                    valid_path_value(p)
                }
            });
            probes.push(probe(path, name));
        }
        for name in &op.query_params {
            let path = format!("{}?{name}={WITH_NUL}", op.path(valid_path_value));
            probes.push(probe(path, name));
        }
    }
    probes
}

#[tokio::test]
async fn a_nul_in_any_path_or_query_parameter_of_the_spec_is_a_400_naming_it_for_every_caller() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    let probes = probes();
    assert!(probes.len() > 60, "only {} probes", probes.len());
    let callers: [(&str, TestClient); 3] = [
        ("platform admin", app.admin()),
        ("tenant developer", app.member(TENANT, "developer").await),
        ("anonymous", app.anonymous()),
    ];
    let mut failures = Vec::new();
    for probe in &probes {
        for (who, client) in &callers {
            let body = probe.has_body.then(|| json!({}));
            let call = client
                .send(probe.method.clone(), &probe.path, body, &[])
                .await;
            let problem = call.json();
            let is_problem = call
                .header("content-type")
                .is_some_and(|ct| ct.starts_with("application/problem+json"));
            let names_it = problem["errors"]
                .as_array()
                .is_some_and(|es| es.iter().any(|e| e["field"] == probe.parameter.as_str()));
            if call.status != 400 || !is_problem || !names_it {
                failures.push(format!(
                    "{} {} as {who} (`{}` holds a NUL): {} {problem}",
                    probe.method, probe.path, probe.parameter, call.status
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} requests were not a 400 problem naming the parameter:\n{}",
        failures.len(),
        probes.len() * callers.len(),
        failures.join("\n")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_nul_in_a_json_string_or_key_is_a_422_naming_the_field() {
    let app = TestApp::spawn().await;
    app.create_tenant(TENANT).await;
    let admin = app.admin();
    app.anonymous()
        .post(
            "/v1/auth/token",
            json!({"email": "a\u{0}b@x.y", "password": "whatever it is"}),
        )
        .await
        .expect_problem(422, Some("email"));
    admin
        .post("/v1/me/api-keys", json!({"name": "x\u{0}"}))
        .await
        .expect_problem(422, Some("name"));
    admin
        .post(
            &format!("/v1/tenants/{TENANT}/clusters"),
            json!({"name": "orders\u{0}", "instances": 1}),
        )
        .await
        .expect_problem(422, Some("name"));
    admin
        .post(
            &format!("/v1/tenants/{TENANT}/clusters"),
            json!({"name": "orders", "users": [{"name": "app", "databases": ["x\u{0}"]}]}),
        )
        .await
        .expect_problem(422, Some("users[0].databases[0]"));
    admin
        .post("/v1/tenants", json!({"name": "t2", "a\u{0}": 1}))
        .await
        .expect_problem(422, Some("a\\u0000"));
    // An escaped backslash before `u0000` is text, not a NUL.
    admin
        .post(
            "/v1/tenants",
            json!({"name": "t2", "display_name": "\\u0000"}),
        )
        .await
        .expect(201);
    app.stop().await;
}

#[tokio::test]
async fn a_value_the_database_refuses_is_a_400_not_a_500() {
    let app = TestApp::spawn().await;
    for (sql, value) in [
        ("select $1::text", "a\u{0}b"), // 22021: invalid byte sequence for UTF8
        ("select $1::int", "many"),     // 22P02: invalid text representation
        ("select $1::smallint", "99999"), // 22003: numeric value out of range
    ] {
        let err = sqlx::query(sql)
            .bind(value)
            .fetch_one(&app.db)
            .await
            .expect_err(sql);
        let store = StoreError::from(err);
        assert!(store.is_invalid_value(), "{sql}: {store}");
        assert_eq!(ApiError::from(store).status_code(), 400, "{sql}");
    }
    app.stop().await;
}
