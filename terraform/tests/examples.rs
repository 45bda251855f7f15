//! Every example of `terraform/examples/` is valid for Terraform with this provider's schema
//! (`terraform validate`: attribute names, types, required attributes) and formatted as
//! `terraform fmt` writes it.
//!
//! It needs a Terraform executable, so it is ignored by default:
//! `TERRAFORM=$(command -v terraform) cargo test -p terraform-provider-pgplane --test examples -- --ignored`
//! (the provider is the one Cargo built for this test, installed by `dev_overrides`; nothing is
//! fetched from a registry).

use std::path::{Path, PathBuf};
use std::process::Command;

use terraform_provider_pgplane::docs;

/// The directories holding `.tf` files under `dir`.
fn modules(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut has_tf = false;
    for entry in std::fs::read_dir(dir).expect("examples directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            modules(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "tf") {
            has_tf = true;
        }
    }
    if has_tf {
        out.push(dir.to_path_buf());
    }
}

fn terraform(program: &Path, dir: &Path, home: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", home.join("terraform.rc"))
        .env("TF_DATA_DIR", dir.join(".terraform"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A directory of its own under the system's temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "terraform-provider-pgplane-examples-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
#[ignore = "needs Terraform: TERRAFORM=/path/to/terraform cargo test -p terraform-provider-pgplane --test examples -- --ignored"]
fn examples_are_valid_and_formatted() {
    let program =
        PathBuf::from(std::env::var_os("TERRAFORM").unwrap_or_else(|| "terraform".into()));
    let provider = Path::new(env!("CARGO_BIN_EXE_terraform-provider-pgplane"));
    let home = Scratch::new();
    std::fs::write(
        home.path().join("terraform.rc"),
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"pgplane/pgplane\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider.parent().expect("binary directory").display()
        ),
    )
    .expect("CLI configuration");

    let examples = docs::examples_dir();
    let mut dirs = Vec::new();
    modules(&examples, &mut dirs);
    assert!(!dirs.is_empty(), "no examples under {}", examples.display());
    let mut failures = Vec::new();
    for dir in dirs {
        let name = dir
            .strip_prefix(&examples)
            .unwrap_or(&dir)
            .display()
            .to_string();
        let (formatted, text) = terraform(
            &program,
            &dir,
            home.path(),
            &["fmt", "-check", "-diff", "-no-color"],
        );
        if !formatted {
            failures.push(format!("{name}: not as `terraform fmt` writes it:\n{text}"));
        }
        // A copy to validate in, so that nothing is written beside the examples; snippets
        // (resource.tf, data-source.tf) get the `required_providers` a configuration has.
        let work = home.path().join(name.replace('/', "_"));
        std::fs::create_dir_all(&work).expect("work directory");
        let mut requires_pgplane = false;
        for entry in std::fs::read_dir(&dir).expect("example directory") {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|ext| ext == "tf") {
                let text = std::fs::read_to_string(&path).expect("example");
                requires_pgplane |= text.contains("required_providers");
                std::fs::write(work.join(path.file_name().expect("file name")), text)
                    .expect("copy");
            }
        }
        if !requires_pgplane {
            std::fs::write(
                work.join("versions.tf"),
                "terraform {\n  required_providers {\n    pgplane = { source = \"pgplane/pgplane\" }\n  }\n}\n",
            )
            .expect("versions.tf");
        }
        let (valid, text) = terraform(&program, &work, home.path(), &["validate", "-no-color"]);
        if !valid {
            failures.push(format!("{name}: `terraform validate` failed:\n{text}"));
        }
        eprintln!("{name}: {}", if valid { "valid" } else { "INVALID" });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
