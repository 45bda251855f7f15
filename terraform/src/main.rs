//! `terraform-provider-pgplane`: Terraform starts it and speaks the plugin protocol to it;
//! `terraform-provider-pgplane docs <dir>` writes the registry documentation from its schema.

use tokio_util::sync::CancellationToken;

use terraform_provider_pgplane::{docs, provider::PgplaneProvider};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, dir] = args.as_slice()
        && command == "docs"
    {
        docs::write(std::path::Path::new(dir))?;
        return Ok(());
    }
    // Ctrl-C reaches the provider with Terraform (one process group): instead of dying in the
    // middle of an apply, stop waiting and hand back what exists, so Terraform saves it.
    let stop = CancellationToken::new();
    let interrupted = stop.clone();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            interrupted.cancel();
        }
    });
    tf_provider::serve("pgplane", PgplaneProvider::new(stop)).await
}
