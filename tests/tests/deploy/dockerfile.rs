//! `deploy/Dockerfile`. No container engine runs here, so the image cannot be built in CI: the
//! Dockerfile is linted (hadolint) and its structure checked instead.

use crate::render::{repo, run};

/// One instruction: keyword (upper case) and its arguments, continuation lines joined.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, args) = current.split_once(' ').unwrap_or((&current, ""));
        out.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_string(),
        });
        current.clear();
    }
    out
}

/// A build stage: its base image, name and instructions.
struct Stage {
    base: String,
    name: String,
    body: Vec<Instruction>,
}

fn stages() -> Vec<Stage> {
    let text =
        std::fs::read_to_string(repo().join("deploy/Dockerfile")).expect("deploy/Dockerfile");
    let mut stages: Vec<Stage> = Vec::new();
    for i in instructions(&text) {
        if i.keyword == "FROM" {
            let words: Vec<&str> = i.args.split_whitespace().collect();
            let name = match words.as_slice() {
                [base, as_, name] if as_.eq_ignore_ascii_case("as") => (*base, *name),
                [base] => (*base, ""),
                _ => panic!("unexpected FROM {}", i.args),
            };
            stages.push(Stage {
                base: name.0.to_string(),
                name: name.1.to_string(),
                body: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.body.push(i);
        }
    }
    stages
}

fn args_of<'a>(stage: &'a Stage, keyword: &str) -> Vec<&'a str> {
    stage
        .body
        .iter()
        .filter(|i| i.keyword == keyword)
        .map(|i| i.args.as_str())
        .collect()
}

#[test]
fn the_image_builds_in_stages_and_runs_the_binary_as_a_numeric_non_root_user() {
    let stages = stages();
    let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["portal", "builder", "runtime"]);

    let builder = &stages[1];
    assert!(
        args_of(builder, "RUN")
            .iter()
            .any(|r| r.contains("cargo build --release --locked -p pgplane")),
        "the builder compiles the locked release binary"
    );
    let portal = &stages[0];
    let runs = args_of(portal, "RUN");
    assert!(
        runs.iter().any(|r| r.starts_with("npm ci")) && runs.contains(&"npm run build"),
        "the portal stage installs locked dependencies and builds web-client/: {runs:?}"
    );

    let runtime = stages.last().unwrap();
    assert!(
        runtime.base.starts_with("gcr.io/distroless/cc-debian12")
            || runtime.base.starts_with("debian:bookworm-slim"),
        "small runtime base: {}",
        runtime.base
    );
    let user = args_of(runtime, "USER");
    let user = user.last().expect("USER in the runtime stage");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric uid");
    assert!(uid > 0, "non-root: {user}");
    let entrypoint = args_of(runtime, "ENTRYPOINT");
    let entrypoint: Vec<String> =
        serde_json::from_str(entrypoint.last().expect("ENTRYPOINT")).expect("exec form");
    assert_eq!(entrypoint, ["/usr/local/bin/pgplane"]);

    // Every COPY --from names an earlier stage; the portal lands where pgplane looks for it.
    for (index, stage) in stages.iter().enumerate() {
        for copy in args_of(stage, "COPY") {
            if let Some(from) = copy.strip_prefix("--from=") {
                let source = from.split_whitespace().next().unwrap();
                assert!(
                    stages[..index].iter().any(|s| s.name == source),
                    "COPY --from={source} in {}",
                    stage.name
                );
            }
        }
    }
    let env = args_of(runtime, "ENV").join(" ");
    let portal_dir = env
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("PGPLANE_PORTAL_DIR="))
        .expect("ENV PGPLANE_PORTAL_DIR");
    assert!(
        args_of(runtime, "COPY")
            .iter()
            .any(|c| c.starts_with("--from=portal") && c.ends_with(&format!("{portal_dir}/"))),
        "the portal is copied to {portal_dir}"
    );
    assert!(
        env.contains("PGPLANE_LISTEN=0.0.0.0:"),
        "listens beyond loopback"
    );
}

#[test]
fn hadolint_finds_nothing_to_fix() {
    let dockerfile = repo().join("deploy/Dockerfile");
    let out = run("hadolint", &[&dockerfile.to_string_lossy()]);
    assert!(
        out.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_build_context_leaves_out_git_build_output_and_node_modules() {
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).expect(".dockerignore");
    let entries: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in [".git", "target", "**/node_modules"] {
        assert!(entries.contains(&needed), ".dockerignore lacks {needed}");
    }
}
