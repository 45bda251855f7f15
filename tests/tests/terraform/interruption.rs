//! Ctrl-C during an apply never orphans a cluster: once pgplane has accepted the create, the
//! cluster is in Terraform's state when Terraform exits, however the interrupted apply ends,
//! and a destroy from that state, while the create still runs, waits for it and removes the
//! cluster.

use std::time::{Duration, Instant};

use crate::harness::{TENANT, running_servers};
use crate::provider_block;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Terraform: scripts/test runs it"]
async fn an_apply_interrupted_after_the_create_keeps_the_cluster_in_state() {
    let (world, tf) = crate::start("interruption").await;
    let admin = world.app.admin();
    tf.write(
        "main.tf",
        &format!(
            r#"{}
resource "pgplane_cluster" "db" {{
  tenant          = "{TENANT}"
  name            = "interrupted"
  instances       = 1
  resources       = {{ cpu = "250m", memory = "512Mi" }}
  storage         = {{ size = "1Gi" }}
  backups         = {{ enabled = false }}
  deletion_policy = "delete_backups"
}}
"#,
            provider_block(&world.app.base_url)
        ),
    );

    // Ctrl-C as soon as pgplane lists the cluster (its create accepted, not yet ready).
    let apply = tf.start(&["apply", "-auto-approve"]);
    let path = format!("/v1/tenants/{TENANT}/clusters/interrupted");
    let started = Instant::now();
    while admin.get(&path).await.status != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the apply never created the cluster"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let phase = admin.get(&path).await.json()["status"]["phase"].clone();
    tf.print(
        "SIGINT to terraform's process group",
        &format!("the cluster's phase: {phase}"),
    );
    let interrupted = Instant::now();
    apply.interrupt();
    let run = apply.finish(&tf).await;
    let title = format!(
        "terraform exited {:.1} s after SIGINT (exit status {})",
        interrupted.elapsed().as_secs_f64(),
        run.code
    );
    tf.print(&title, &run.output());
    assert_ne!(run.code, 0, "the apply ended before the interrupt:\n{run}");

    // The cluster is in the state, so Terraform still manages it.
    let list = tf.run(&["state", "list"]).await;
    assert!(
        list.stdout.lines().any(|l| l == "pgplane_cluster.db"),
        "the interrupted apply orphaned the cluster:\n{list}\n{run}"
    );

    // The create goes on in pgplane. A destroy right away waits for it (pgplane refuses a
    // delete while the create runs) and then removes the cluster.
    tf.run(&["destroy", "-auto-approve"]).await.expect(0);
    admin.get(&path).await.expect(404);
    let left = running_servers(world.root.path());
    assert!(left.is_empty(), "servers still running: {left:?}");
    tf.print_timings();
    world.stop().await;
}
