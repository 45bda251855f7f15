//! One configuration's whole life, in one test to keep CI short: a tenant with its quota, a
//! member, a tenant API key and a cluster with its connection details as outputs; apply, use,
//! an empty plan, an in-place change, drift made through the API, import into a fresh state,
//! destroy. Every claim is checked through the API or a real client connection, not only
//! through what Terraform says.

use pgplane_tests::client::Method;
use serde_json::{Value, json};

use crate::harness::{LocalWorld, running_servers};
use crate::provider_block;
use crate::terraform::Terraform;

const TENANT: &str = "tfcorp";
const CLUSTER: &str = "orders";
const DBA: &str = "dba@tfcorp.example.com";

/// The cluster's arguments: small, no backups (no repository to wait for, nothing kept that
/// would stop the tenant's deletion), `instances` and `parameters` as given.
fn cluster_arguments(instances: u32, parameters: &str) -> String {
    format!(
        r#"  name            = "{CLUSTER}"
  instances       = {instances}
  resources       = {{ cpu = "250m", memory = "512Mi" }}
  storage         = {{ size = "1Gi" }}
  backups         = {{ enabled = false }}
  deletion_policy = "delete_backups"
  parameters      = {{ {parameters} }}
"#
    )
}

/// The whole configuration: everything one team needs, in a tenant of its own.
fn main_tf(endpoint: &str, instances: u32, parameters: &str) -> String {
    format!(
        r#"{provider}
resource "pgplane_tenant" "team" {{
  name         = "{TENANT}"
  display_name = "Terraform Corp"
}}

resource "pgplane_tenant_quota" "team" {{
  tenant          = pgplane_tenant.team.name
  max_clusters    = 2
  max_instances   = 4
  max_cpu_millis  = 2000
  max_memory_mib  = 4096
  max_storage_gib = 10
}}

resource "pgplane_member" "dba" {{
  tenant = pgplane_tenant.team.name
  user   = "{DBA}"
  role   = "developer"
}}

resource "pgplane_api_key" "ci" {{
  name   = "ci"
  tenant = pgplane_tenant.team.name
  role   = "viewer"
}}

resource "pgplane_cluster" "db" {{
  tenant          = pgplane_tenant.team.name
{cluster}
  # The quota first: it is what lets the cluster grow.
  depends_on = [pgplane_tenant_quota.team]
}}

data "pgplane_cluster_connection" "db" {{
  tenant  = pgplane_cluster.db.tenant
  cluster = pgplane_cluster.db.name
}}

output "cluster_id" {{
  value = pgplane_cluster.db.id
}}

output "uri" {{
  value     = data.pgplane_cluster_connection.db.uri
  sensitive = true
}}

output "ca_certificate" {{
  value     = data.pgplane_cluster_connection.db.ca_certificate
  sensitive = true
}}

output "ci_key" {{
  value     = pgplane_api_key.ci.key
  sensitive = true
}}
"#,
        provider = provider_block(endpoint),
        cluster = cluster_arguments(instances, parameters),
    )
}

/// The existing cluster, described as the configuration that imports it.
fn import_tf(endpoint: &str, instances: u32, parameters: &str) -> String {
    format!(
        r#"{provider}
import {{
  to = pgplane_cluster.imported
  id = "{TENANT}/{CLUSTER}"
}}

resource "pgplane_cluster" "imported" {{
  tenant = "{TENANT}"
{cluster}}}
"#,
        provider = provider_block(endpoint),
        cluster = cluster_arguments(instances, parameters),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Terraform: scripts/test runs it"]
async fn a_configuration_is_applied_used_changed_drifts_is_imported_and_destroyed() {
    let (world, tf) = crate::start("scenario").await;
    let admin = world.app.admin();
    let endpoint = &world.app.base_url;
    let cluster_path = format!("/v1/tenants/{TENANT}/clusters/{CLUSTER}");
    world.app.create_user(DBA).await;

    // Apply: every resource exists as configured, the cluster is ready when apply returns.
    tf.write("main.tf", &main_tf(endpoint, 1, ""));
    let apply = tf.run(&["apply", "-auto-approve"]).await.expect(0);
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 5 added, 0 changed, 0 destroyed."),
        "{apply}"
    );
    let tenant = admin
        .get(&format!("/v1/tenants/{TENANT}"))
        .await
        .expect(200)
        .json();
    assert_eq!(tenant["display_name"], "Terraform Corp", "{tenant}");
    let quota = admin
        .get(&format!("/v1/tenants/{TENANT}/quota"))
        .await
        .expect(200)
        .json();
    assert_eq!(quota["max_instances"], 4, "{quota}");
    assert_eq!(quota["max_cpu_millis"], 2000, "{quota}");
    let members = admin
        .get(&format!("/v1/tenants/{TENANT}/members"))
        .await
        .expect(200)
        .json();
    let dba = members["items"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["email"] == DBA));
    assert_eq!(
        dba.map(|m| &m["role"]),
        Some(&json!("developer")),
        "{members}"
    );
    let cluster = admin.get(&cluster_path).await.expect(200).json();
    assert_eq!(
        cluster["status"]["phase"], "ready",
        "apply returned early: {cluster}"
    );
    assert_eq!(cluster["status"]["ready_instances"], 1, "{cluster}");

    // The outputs: the cluster's id, a URI and CA that psql connects with over verified TLS,
    // a tenant key that reads the tenant and nothing else.
    let outputs = tf.run(&["output", "-json"]).await.expect(0).json();
    assert_eq!(
        outputs["cluster_id"]["value"],
        format!("{TENANT}/{CLUSTER}")
    );
    assert_eq!(
        outputs["uri"]["sensitive"], true,
        "the URI holds a password"
    );
    let uri = outputs["uri"]["value"].as_str().expect("uri output");
    assert!(
        uri.contains("sslmode=verify-full"),
        "uri without verify-full"
    );
    let ca = outputs["ca_certificate"]["value"]
        .as_str()
        .expect("CA output");
    assert_eq!(psql_select_1(&tf, uri, ca).await, "1");
    let ci_key = outputs["ci_key"]["value"].as_str().expect("key output");
    let ci = world.app.client(ci_key);
    ci.get(&cluster_path).await.expect(200);
    let elsewhere = ci.get("/v1/tenants/acme/clusters").await;
    assert!(matches!(elsewhere.status, 403 | 404), "{elsewhere:?}");

    // Nothing to do right after apply.
    let plan = tf.run(&["plan", "-detailed-exitcode"]).await;
    tf.print("plan right after apply", &plan.stdout);
    plan.expect(0);

    // In place: a replica and a parameter.
    tf.write("main.tf", &main_tf(endpoint, 2, r#"work_mem = "8MB""#));
    let apply = tf.run(&["apply", "-auto-approve"]).await.expect(0);
    assert!(
        apply
            .stdout
            .contains("Resources: 0 added, 1 changed, 0 destroyed."),
        "{apply}"
    );
    let cluster = admin.get(&cluster_path).await.expect(200).json();
    assert_eq!(cluster["spec"]["instances"], 2, "{cluster}");
    assert_eq!(cluster["status"]["ready_instances"], 2, "{cluster}");
    assert_eq!(
        cluster["spec"]["parameters"]["work_mem"], "8MB",
        "{cluster}"
    );
    tf.run(&["plan", "-detailed-exitcode"]).await.expect(0);

    // Drift: someone changes the parameter through the API; the plan puts it back.
    patch_and_wait(
        &world,
        &cluster_path,
        json!({"parameters": {"work_mem": "16MB"}}),
    )
    .await;
    let plan = tf.run(&["plan", "-detailed-exitcode"]).await;
    tf.print("plan after the API changed work_mem", &plan.stdout);
    let plan = plan.expect(2);
    assert!(
        plan.stdout
            .contains("pgplane_cluster.db will be updated in-place"),
        "{plan}"
    );
    assert!(plan.stdout.contains("work_mem"), "{plan}");
    assert!(plan.stdout.contains(r#""16MB" -> "8MB""#), "{plan}");
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{plan}"
    );

    // Import into a fresh state: a configuration that matches the cluster plans nothing.
    let fresh = Terraform::new("import", endpoint, &world.app.admin_key);
    fresh.write("main.tf", &import_tf(endpoint, 2, r#"work_mem = "16MB""#));
    let import = fresh.run(&["apply", "-auto-approve"]).await.expect(0);
    assert!(
        import
            .stdout
            .contains("Apply complete! Resources: 1 imported, 0 added, 0 changed, 0 destroyed."),
        "{import}"
    );
    let plan = fresh.run(&["plan", "-detailed-exitcode"]).await;
    fresh.print("plan after import", &plan.stdout);
    plan.expect(0);

    // Destroy: the cluster, its servers and the tenant are gone.
    let destroy = tf.run(&["destroy", "-auto-approve"]).await.expect(0);
    assert!(
        destroy
            .stdout
            .contains("Destroy complete! Resources: 5 destroyed."),
        "{destroy}"
    );
    admin.get(&cluster_path).await.expect(404);
    admin
        .get(&format!("/v1/tenants/{TENANT}"))
        .await
        .expect(404);
    let left = running_servers(world.root.path());
    assert!(left.is_empty(), "servers still running: {left:?}");

    tf.print_timings();
    fresh.print_timings();
    world.stop().await;
}

/// `SELECT 1` through psql with `uri` (verify-full) and the cluster's CA: its output.
async fn psql_select_1(tf: &Terraform, uri: &str, ca: &str) -> String {
    let ca_file = tf.dir().join("ca.crt");
    std::fs::write(&ca_file, ca).expect("CA file");
    let out = tokio::process::Command::new("psql")
        .args([uri, "-X", "-A", "-t", "-c", "SELECT 1"])
        .env("PGSSLROOTCERT", &ca_file)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .await
        .expect("psql runs (apt-get install postgresql-client)");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A JSON merge patch of the cluster as the platform admin, and the operation it started, once
/// it succeeded.
async fn patch_and_wait(world: &LocalWorld, path: &str, patch: Value) {
    let call = world
        .app
        .admin()
        .send_raw(
            Method::PATCH,
            path,
            "application/merge-patch+json",
            patch.to_string().into_bytes(),
        )
        .await
        .expect(202);
    let op = world.finished(&call.json()).await;
    assert_eq!(op["state"], "succeeded", "{op}");
}
