//! `/metrics` after a lifecycle (create, update, delete, a transient Kubernetes error, a refused
//! tenant) exposes the job, operation, status-sync and cluster metrics; and the alert rules and
//! the dashboard in `deploy/observability/` parse as PromQL and use only metrics, labels and
//! label values that pgplane exposes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube_test_apiserver::{FaultKind, FaultTarget, Verb};
use pgplane_tests::client::Method;
use promql_parser::parser::{Expr, LabelModifier};
use promql_parser::util::{ExprVisitor, walk_expr};
use serde_json::{Value, json};

use crate::harness::World;

const TIMEOUT: Duration = Duration::from_secs(30);

/// One exposed sample: metric name and labels.
type Series = (String, BTreeMap<String, String>);

/// The samples of a Prometheus text exposition.
fn parse_exposition(text: &str) -> Vec<(Series, f64)> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once("=\"").expect("label=\"value\"");
                (k.to_string(), v.trim_end_matches('"').to_string())
            })
            .collect();
        out.push(((name.to_string(), labels), value.parse().expect("a number")));
    }
    out
}

struct Exposed(Vec<(Series, f64)>);

impl Exposed {
    /// The value of the one sample of `name` with (at least) these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<f64> = self
            .0
            .iter()
            .filter(|((n, l), _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(v))
            })
            .map(|(_, v)| *v)
            .collect();
        assert!(!found.is_empty(), "no sample {name} {labels:?}");
        found.iter().sum()
    }

    fn names(&self) -> BTreeSet<&str> {
        self.0.iter().map(|((n, _), _)| n.as_str()).collect()
    }

    /// Values of label `label` on series of `name`.
    fn label_values(&self, name: &str, label: &str) -> BTreeSet<&str> {
        self.0
            .iter()
            .filter(|((n, _), _)| n == name)
            .filter_map(|((_, l), _)| l.get(label).map(String::as_str))
            .collect()
    }
}

/// What Prometheus presents (`PGPLANE_METRICS_TOKEN`) to get the per-cluster backup series.
const METRICS_TOKEN: &str = "scrape-token-0123456789abcdef";

/// A scrape as the platform's Prometheus does it, with the metrics token.
async fn scrape(world: &World) -> Exposed {
    let bearer = format!("Bearer {METRICS_TOKEN}");
    let call = world
        .app
        .anonymous()
        .send(Method::GET, "/metrics", None, &[("authorization", &bearer)])
        .await
        .expect(200);
    Exposed(parse_exposition(
        &String::from_utf8(call.body).expect("UTF-8"),
    ))
}

/// `/metrics` without the token (or with another) names no tenant and no cluster; it still
/// counts the clusters whose backups are overdue.
async fn anonymous_scrapes_name_nobody(world: &World) {
    for headers in [vec![], vec![("authorization", "Bearer wrong-token")]] {
        let call = world
            .app
            .anonymous()
            .send(Method::GET, "/metrics", None, &headers)
            .await
            .expect(200);
        let text = String::from_utf8(call.body).expect("UTF-8");
        assert!(text.contains("pgplane_clusters_backup_overdue "), "{text}");
        for name in ["acme", "orders", "pgplane_cluster_backup_overdue{"] {
            assert!(
                !text.contains(name),
                "an anonymous scrape shows {name}:\n{text}"
            );
        }
    }
}

/// Every problem with one PromQL expression against what is exposed.
fn check_expr(expr: &str, exposed: &Exposed) -> Vec<String> {
    /// `(label, value, is an equality match)`.
    type Matcher = (String, String, bool);
    /// Selected metric names with their matchers, and the labels aggregations group by.
    struct Selectors(Vec<(String, Vec<Matcher>)>, Vec<String>);
    impl ExprVisitor for Selectors {
        type Error = ();
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
            let vs = match e {
                Expr::VectorSelector(vs) => Some(vs),
                Expr::MatrixSelector(ms) => Some(&ms.vs),
                _ => None,
            };
            if let Some(vs) = vs {
                let matchers = vs
                    .matchers
                    .matchers
                    .iter()
                    .filter(|m| m.name != "__name__")
                    .map(|m| {
                        let equal = m.op.to_string() == "=";
                        (m.name.clone(), m.value.clone(), equal)
                    })
                    .collect();
                self.0.push((vs.name.clone().unwrap_or_default(), matchers));
            }
            if let Expr::Aggregate(a) = e
                && let Some(LabelModifier::Include(labels)) = &a.modifier
            {
                self.1.extend(labels.labels.iter().cloned());
            }
            Ok(true)
        }
    }
    let parsed = match promql_parser::parser::parse(expr) {
        Ok(p) => p,
        Err(e) => return vec![format!("not PromQL: {e}")],
    };
    let mut found = Selectors(Vec::new(), Vec::new());
    walk_expr(&mut found, &parsed).expect("walk");
    let mut problems = Vec::new();
    if found.0.is_empty() {
        problems.push("selects no metric".to_string());
    }
    let names = exposed.names();
    for (name, matchers) in &found.0 {
        if !names.contains(name.as_str()) {
            problems.push(format!("{name} is not exposed"));
            continue;
        }
        for (label, value, equal) in matchers {
            let values = exposed.label_values(name, label);
            if values.is_empty() {
                problems.push(format!("{name} has no label {label}"));
            } else if *equal && !values.contains(value.as_str()) {
                problems.push(format!("{name}{{{label}=\"{value}\"}} is never exposed"));
            }
        }
    }
    // `by (label)`: a label of some selected metric (le for histograms), or a target label the
    // scrape adds.
    for label in &found.1 {
        let known = label == "le"
            || label == "pod"
            || found
                .0
                .iter()
                .any(|(n, _)| !exposed.label_values(n, label).is_empty());
        if !known {
            problems.push(format!("grouped by {label}, which no selected metric has"));
        }
    }
    problems
}

fn repo_file(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// `(name, expr)` of every alert rule.
fn alert_exprs() -> Vec<(String, String)> {
    let rules: Value =
        serde_saphyr::from_str(&repo_file("deploy/observability/prometheusrule.yaml"))
            .expect("prometheusrule.yaml is YAML");
    assert_eq!(rules["kind"], "PrometheusRule");
    let mut out = Vec::new();
    for group in rules["spec"]["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            let name = rule["alert"].as_str().expect("alert name").to_string();
            assert!(
                ["warning", "critical"]
                    .contains(&rule["labels"]["severity"].as_str().unwrap_or("")),
                "{name}: severity"
            );
            assert!(
                rule["annotations"]["summary"].is_string(),
                "{name}: summary"
            );
            out.push((name, rule["expr"].as_str().expect("expr").to_string()));
        }
    }
    out
}

/// `(panel title, expr)` of every dashboard query, Grafana's interval variable made concrete.
fn dashboard_exprs() -> Vec<(String, String)> {
    let dashboard: Value =
        serde_json::from_str(&repo_file("deploy/observability/grafana-dashboard.json"))
            .expect("the dashboard is JSON");
    assert!(dashboard["uid"].is_string() && dashboard["title"].is_string());
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().expect("title").to_string();
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for t in targets {
            let expr = t["expr"]
                .as_str()
                .expect("expr")
                .replace("$__rate_interval", "5m");
            out.push((title.clone(), expr));
        }
    }
    out
}

/// Create, update and delete a cluster, with one transient Kubernetes error on the way, and a
/// cluster whose tenant namespace belongs to someone else (refused: the operation fails).
async fn lifecycle(world: &World) -> Exposed {
    world.tenant("acme", 5).await;
    let api = world.app.admin();
    // The first apply of the PostgresCluster fails with a 500: a transient error, retried.
    world.kube.faults().set_target(FaultTarget {
        verbs: Some(vec![Verb::Patch]),
        resources: Some(vec!["postgresclusters".into()]),
        include_operator: false,
    });
    world.kube.faults().fail_next(1, FaultKind::InternalError);
    let op = api
        .post("/v1/tenants/acme/clusters", json!({"name": "orders"}))
        .await
        .expect(202)
        .json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let ready = scrape(world).await;
    anonymous_scrapes_name_nobody(world).await;
    backup_health_is_exposed(world, &ready).await;

    let op = api
        .patch("/v1/tenants/acme/clusters/orders", json!({"instances": 2}))
        .await
        .expect(202)
        .json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let op = api
        .delete("/v1/tenants/acme/clusters/orders")
        .await
        .expect(202)
        .json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    let foreign = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some("pgplane-globex".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(world.kube.client())
        .create(&PostParams::default(), &foreign)
        .await
        .expect("a namespace pgplane does not manage");
    world.tenant("globex", 5).await;
    let op = api
        .post("/v1/tenants/globex/clusters", json!({"name": "ledger"}))
        .await
        .expect(202)
        .json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "failed", "{done}");
    ready
}

/// Backup health per cluster: a new cluster is not overdue; one whose schedule has passed
/// without a backup (neither PGO's initial one nor another) is overdue; a manual backup clears
/// it.
async fn backup_health_is_exposed(world: &World, ready: &Exposed) {
    let orders = [("tenant", "acme"), ("cluster", "orders")];
    assert_eq!(ready.value("pgplane_cluster_backup_overdue", &orders), 0.0);

    for aging in [
        "update clusters set created_at = now() - interval '30 days' where name = 'orders'",
        "update backups set finished_at = now() - interval '30 days'
         where cluster_id = (select id from clusters where name = 'orders')",
    ] {
        sqlx::query(aging)
            .execute(&world.app.db)
            .await
            .expect("age the cluster and its backups");
    }
    let aged = scrape(world).await;
    assert_eq!(aged.value("pgplane_cluster_backup_overdue", &orders), 1.0);
    assert!(aged.value("pgplane_clusters_backup_overdue", &[]) >= 1.0);

    let op = world
        .app
        .admin()
        .post("/v1/tenants/acme/clusters/orders/backups", json!({}))
        .await
        .expect(202)
        .json();
    let done = world.finished(op["id"].as_str().unwrap(), TIMEOUT).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let backed_up = scrape(world).await;
    assert_eq!(
        backed_up.value("pgplane_cluster_backup_overdue", &orders),
        0.0
    );
    let last = backed_up.value(
        "pgplane_cluster_last_successful_backup_timestamp_seconds",
        &orders,
    );
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - last).abs() < 120.0,
        "last backup at {last}, now {now}"
    );
    assert!(
        backed_up.value(
            "pgplane_cluster_recoverable_window_start_timestamp_seconds",
            &orders
        ) <= last
    );
}

#[tokio::test]
async fn metrics_report_jobs_operations_the_sync_and_clusters_and_the_alerts_use_only_them() {
    let world = World::start(&["--metrics-token", METRICS_TOKEN]).await;
    let ready = lifecycle(&world).await;

    // With orders ready and nothing else going on.
    assert_eq!(ready.value("pgplane_clusters", &[("phase", "ready")]), 1.0);
    for phase in ["pending", "provisioning", "degraded", "failed", "deleting"] {
        assert_eq!(
            ready.value("pgplane_clusters", &[("phase", phase)]),
            0.0,
            "{phase}"
        );
    }
    for state in ["queued", "running", "scheduled"] {
        assert_eq!(
            ready.value("pgplane_jobs", &[("state", state)]),
            0.0,
            "{state}"
        );
    }
    assert_eq!(
        ready.value("pgplane_jobs_oldest_queued_age_seconds", &[]),
        0.0
    );

    let after = scrape(&world).await;
    assert_eq!(
        after.value("pgplane_clusters", &[("phase", "ready")]),
        0.0,
        "deleted"
    );
    for (kind, outcome) in [
        ("create", "succeeded"),
        ("update", "succeeded"),
        ("delete", "succeeded"),
        ("create", "failed"),
    ] {
        let finished = after.value(
            "pgplane_operations_finished_total",
            &[("kind", kind), ("outcome", outcome)],
        );
        assert!(finished >= 1.0, "{kind} {outcome}: {finished}");
    }
    for outcome in ["retry", "waiting", "failed"] {
        let attempts = after.value("pgplane_job_attempts_total", &[("outcome", outcome)]);
        assert!(attempts >= 1.0, "{outcome}: {attempts}");
    }
    for event in ["observed", "resynced"] {
        assert!(after.value("pgplane_sync_events_total", &[("event", event)]) >= 1.0);
    }
    assert!(after.value("pgplane_sync_event_lag_seconds_count", &[]) >= 1.0);
    for name in [
        "pgplane_sync_leader",
        "pgplane_sync_backlog_events",
        "pgplane_sync_event_errors_total",
        "pgplane_operations_oldest_active_age_seconds",
        "pgplane_metrics_sample_errors_total",
    ] {
        assert!(after.names().contains(name), "{name} is exposed");
    }

    // What either scrape exposed: the per-cluster series (certificates) need a cluster that
    // is still there.
    let seen = Exposed(ready.0.iter().chain(&after.0).cloned().collect());
    let orders = [("tenant", "acme"), ("cluster", "orders")];
    let expiry = ready.value(
        "pgplane_cluster_certificate_expiry_timestamp_seconds",
        &orders,
    );
    let in_a_year = (chrono::Utc::now() + chrono::Duration::days(365)).timestamp() as f64;
    assert!(
        (expiry - in_a_year).abs() < 3.0 * 86400.0,
        "PGO's certificate expires in a year: {expiry}"
    );
    assert_eq!(
        ready.value("pgplane_cluster_certificate_renewal_failing", &orders),
        0.0
    );
    let mut problems = Vec::new();
    for (source, exprs) in [
        ("alert", alert_exprs()),
        ("dashboard panel", dashboard_exprs()),
    ] {
        assert!(!exprs.is_empty());
        for (name, expr) in exprs {
            for p in check_expr(&expr, &seen) {
                problems.push(format!("{source} {name}: {p}\n    {expr}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_expression_check_catches_unknown_metrics_labels_and_values() {
    let exposed = Exposed(parse_exposition(
        "pgplane_jobs{state=\"queued\"} 0\npgplane_sync_leader 1\n",
    ));
    assert!(check_expr("max(pgplane_jobs{state=\"queued\"}) > 1", &exposed).is_empty());
    let bad = [
        "max(pgplane_job{state=\"queued\"})",
        "max(pgplane_jobs{phase=\"queued\"})",
        "max(pgplane_jobs{state=\"queud\"})",
        "sum by (tenant) (pgplane_jobs)",
        "max(pgplane_jobs{state=\"queued\"}",
        "1 > 0",
    ];
    for expr in bad {
        assert!(!check_expr(expr, &exposed).is_empty(), "accepted {expr}");
    }
}
