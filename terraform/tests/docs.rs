//! The committed registry docs (`terraform/docs/`) are what the provider's schema renders, and
//! every resource and data source has the examples the docs are made of.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use terraform_provider_pgplane::docs::{self, REGENERATE};
use terraform_provider_pgplane::{data_sources, resources};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`, by its path relative to `dir`.
fn files(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let relative = path
                    .strip_prefix(root)
                    .expect("under the root")
                    .to_path_buf();
                out.insert(relative, text);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The first line that differs, to show what changed.
fn first_difference(committed: &str, rendered: &str) -> String {
    let mut committed_lines = committed.lines();
    let mut rendered_lines = rendered.lines();
    for number in 1.. {
        match (committed_lines.next(), rendered_lines.next()) {
            (None, None) => break,
            (a, b) if a == b => continue,
            (a, b) => {
                return format!(
                    "line {number}:\n      committed: {}\n      rendered:  {}",
                    a.unwrap_or("(end of file)"),
                    b.unwrap_or("(end of file)")
                );
            }
        }
    }
    "line endings or trailing newline".into()
}

#[test]
fn committed_docs_are_what_the_schema_renders() {
    let rendered = docs::render(&docs::examples_dir());
    let committed = files(&crate_dir().join("docs"));
    let mut problems = Vec::new();
    for (path, text) in &rendered {
        match committed.get(path) {
            None => problems.push(format!("- {} is missing", path.display())),
            Some(old) if old != text => problems.push(format!(
                "- {} differs, {}",
                path.display(),
                first_difference(old, text)
            )),
            Some(_) => {}
        }
    }
    for path in committed.keys().filter(|p| !rendered.contains_key(*p)) {
        problems.push(format!(
            "- {} is not a page of the provider (a removed resource or data source?)",
            path.display()
        ));
    }
    assert!(
        problems.is_empty(),
        "terraform/docs/ is not what the provider's schema and terraform/examples/ render:\n{}\n\
         Regenerate them from the repository root with:\n    {REGENERATE}",
        problems.join("\n")
    );
}

#[test]
fn every_resource_and_data_source_has_an_example() {
    let examples = docs::examples_dir();
    let mut missing = Vec::new();
    let mut check = |relative: PathBuf| {
        if !examples.join(&relative).is_file() {
            missing.push(format!("terraform/examples/{}", relative.display()));
        }
    };
    check(docs::provider_example());
    for spec in resources::specs() {
        check(docs::resource_example(spec.type_name));
        if spec.import_id.is_some() {
            check(docs::import_example(spec.type_name));
        }
    }
    for spec in data_sources::specs() {
        check(docs::data_source_example(spec.type_name));
    }
    assert!(
        missing.is_empty(),
        "examples missing (the docs show them):\n  {}",
        missing.join("\n  ")
    );
}

/// The examples of a type use it: `resource "pgplane_x"` or `data "pgplane_x"`, and the
/// import example `terraform import pgplane_x.<name> ...`.
#[test]
fn each_example_declares_its_own_type() {
    let examples = docs::examples_dir();
    let read = |relative: &Path| std::fs::read_to_string(examples.join(relative)).ok();
    let mut wrong = Vec::new();
    for spec in resources::specs() {
        let name = spec.type_name;
        let relative = docs::resource_example(name);
        if let Some(text) = read(&relative)
            && !text.contains(&format!("resource \"{name}\" "))
        {
            wrong.push(format!("{} has no resource \"{name}\"", relative.display()));
        }
        let relative = docs::import_example(name);
        if let Some(text) = read(&relative)
            && !text.contains(&format!("terraform import {name}."))
        {
            wrong.push(format!(
                "{} has no `terraform import {name}.`",
                relative.display()
            ));
        }
        if spec.import_id.is_none() && examples.join(&relative).exists() {
            wrong.push(format!(
                "{} exists but {name} cannot be imported",
                relative.display()
            ));
        }
    }
    for spec in data_sources::specs() {
        let name = spec.type_name;
        let relative = docs::data_source_example(name);
        if let Some(text) = read(&relative)
            && !text.contains(&format!("data \"{name}\" "))
        {
            wrong.push(format!("{} has no data \"{name}\"", relative.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Each scenario (a directory of `terraform/examples/` other than `provider`, `resources` and
/// `data-sources`) is a root module with a README.
#[test]
fn scenarios_have_a_configuration_and_a_readme() {
    let examples = docs::examples_dir();
    let mut scenarios = 0;
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&examples).expect("terraform/examples") {
        let path = entry.expect("directory entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !path.is_dir() || ["provider", "resources", "data-sources"].contains(&name.as_ref()) {
            continue;
        }
        scenarios += 1;
        for file in ["main.tf", "README.md"] {
            if !path.join(file).is_file() {
                problems.push(format!("terraform/examples/{name}/{file} is missing"));
            }
        }
        let main = std::fs::read_to_string(path.join("main.tf")).unwrap_or_default();
        if !main.contains("source = \"pgplane/pgplane\"") {
            problems.push(format!(
                "terraform/examples/{name}/main.tf does not require pgplane/pgplane"
            ));
        }
    }
    assert!(scenarios >= 4, "only {scenarios} scenarios");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
