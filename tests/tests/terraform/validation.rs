//! What fails before anything is made: at plan time, the input checks of the module in
//! `terraform/tests/` under `terraform test` and the provider's own checks of the values
//! pgplane would refuse; at apply, what only pgplane checks (its problem's field errors). Each
//! is a diagnostic on the resource and attribute.

use std::path::Path;

use crate::provider_block;
use crate::terraform::Run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Terraform: scripts/test runs it"]
async fn terraform_test_plans_the_module_and_its_input_checks_refuse_bad_values() {
    let (world, tf) = crate::start("terraform test").await;
    let tf = tf.with_env("PGPLANE_TENANT", crate::harness::TENANT);
    // The module at the root of the working directory, its test files in `tests/`, where
    // `terraform test` looks for them.
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("../terraform/tests");
    let mut files = 0;
    for entry in std::fs::read_dir(&module)
        .expect("terraform/tests")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let contents = std::fs::read_to_string(entry.path()).expect("readable");
        if name.ends_with(".tftest.hcl") {
            tf.write(&format!("tests/{name}"), &contents);
            files += 1;
        } else if name.ends_with(".tf") {
            tf.write(&name, &contents);
        }
    }
    assert!(files > 0, "no .tftest.hcl in {}", module.display());

    let run = tf.run(&["test"]).await;
    tf.print("terraform test", &run.stdout);
    let run = run.expect(0);
    assert!(run.stdout.contains("Success!"), "{run}");
    assert!(run.stdout.contains(" 0 failed"), "{run}");
    // Plan-only: nothing was created.
    let clusters = world
        .app
        .admin()
        .get("/v1/tenants/acme/clusters")
        .await
        .expect(200)
        .json();
    assert_eq!(clusters["items"], serde_json::json!([]), "{clusters}");
    tf.print_timings();
    world.stop().await;
}

/// Resources the provider must refuse at plan, and the attribute each diagnostic names.
const INVALID: [(&str, &str, &str); 4] = [
    (
        "five_instances",
        "instances",
        r#"name = "five"
  instances = 5"#,
    ),
    ("uppercase_name", "name", r#"name = "Orders""#),
    (
        "bad_schedule",
        "full",
        r#"name = "schedule"
  backups = { enabled = true, schedules = { full = "every night" } }"#,
    ),
    (
        "bad_memory",
        "memory",
        r#"name = "memory"
  resources = { cpu = "250m", memory = "lots" }"#,
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Terraform: scripts/test runs it"]
async fn refused_values_are_diagnostics_on_the_attribute_at_plan_or_from_the_api() {
    let (world, tf) = crate::start("provider validation").await;
    let mut config = provider_block(&world.app.base_url);
    for (resource, _, arguments) in INVALID {
        let header = format!("resource \"pgplane_cluster\" \"{resource}\"");
        config.push_str(&format!(
            "\n{header} {{\n  tenant = \"acme\"\n  {arguments}\n}}\n"
        ));
    }
    tf.write("main.tf", &config);

    let plan = tf.run(&["plan"]).await;
    tf.print("the plan's diagnostics", &plan.stderr);
    let plan = plan.expect(1);
    for (resource, attribute, _) in INVALID {
        let diagnostic = diagnostic_of(&plan, &format!("pgplane_cluster.{resource}"));
        assert!(
            diagnostic.contains(attribute),
            "no `{attribute}` in the diagnostic on pgplane_cluster.{resource}:\n{diagnostic}"
        );
    }
    let clusters = world
        .app
        .admin()
        .get("/v1/tenants/acme/clusters")
        .await
        .expect(200)
        .json();
    assert_eq!(clusters["items"], serde_json::json!([]), "{clusters}");

    // What only pgplane knows (its parameter allow-list) is refused by the API at apply; the
    // problem's field error (`parameters.fsync`) lands on the attribute it names.
    let mut config = provider_block(&world.app.base_url);
    config.push_str(
        r#"
resource "pgplane_cluster" "unsafe" {
  tenant     = "acme"
  name       = "unsafe"
  resources  = { cpu = "250m", memory = "512Mi" }
  storage    = { size = "1Gi" }
  backups    = { enabled = false }
  parameters = { fsync = "off" }
}
"#,
    );
    tf.write("main.tf", &config);
    let apply = tf.run(&["apply", "-auto-approve"]).await;
    tf.print("the apply's diagnostics", &apply.stderr);
    let apply = apply.expect(1);
    // Terraform wraps the detail to its width: compare with the line breaks as spaces.
    let diagnostic = diagnostic_of(&apply, "pgplane_cluster.unsafe")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        diagnostic.contains("parameters = {")
            && diagnostic.contains("not a parameter pgplane allows"),
        "the API's field error is not on `parameters`:\n{diagnostic}"
    );
    let list = tf.run(&["state", "list"]).await;
    assert_eq!(
        list.stdout.trim(),
        "",
        "a refused create left state:\n{list}"
    );
    world
        .app
        .admin()
        .get("/v1/tenants/acme/clusters/unsafe")
        .await
        .expect(404);
    tf.print_timings();
    world.stop().await;
}

/// The error diagnostic Terraform printed for `address` (from `Error:` to the next one).
#[track_caller]
fn diagnostic_of(run: &Run, address: &str) -> String {
    let output = run.output();
    let found = output
        .split("Error: ")
        .skip(1)
        .find(|d| d.contains(&format!("with {address},")));
    match found {
        Some(diagnostic) => format!("Error: {diagnostic}"),
        None => panic!("no error diagnostic on {address}:\n{run}"),
    }
}
