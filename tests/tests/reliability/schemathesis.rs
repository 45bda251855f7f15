//! API fuzzing with schemathesis (PyPI) against a pgplane on the local platform, whose tenant
//! has a running cluster (real PostgreSQL processes), so cluster, backup, connection, user,
//! extension and operation requests reach real code paths ([`FuzzWorld`] hands the fuzzer the
//! names and ids that exist). Every operation, every phase (examples, coverage, fuzzing, and
//! the stateful phase, which follows the document's links from create to read, update and
//! delete), as three callers: a platform admin, a tenant owner and a tenant viewer (whose 403s
//! are answers, not failures). No 5xx; every status, content type, header and body conforms
//! to the document; a call without credentials is refused (`ignored_auth`); schema-invalid
//! input is refused (`negative_data_rejection`); a deleted object is gone and a created one
//! can be read (`use_after_free`, `ensure_resource_availability`).
//!
//! Operations that change the world the others run in (suspending the tenant, shrinking its
//! quota, updating or deleting the cluster) run after every caller's first run; operations
//! that can lock the caller out (revoking its own key, disabling, demoting or deleting itself)
//! run last, each caller with a fresh credential of its own, whose ids the fuzzer is offered.
//! Each run's whole output is kept in `target/schemathesis/`.
//!
//! Examples per operation: `PGPLANE_FUZZ_EXAMPLES` (default [`CI_EXAMPLES`], sized for about
//! five minutes of CI on 2 cores); `scripts/fuzz` runs it with hundreds. `PGPLANE_FUZZ_SEED`
//! picks another seed. Needs the `st` command: `scripts/test` installs schemathesis into
//! `target/tools/schemathesis` and runs this test (`--ignored`); elsewhere set `SCHEMATHESIS`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::fuzz_world::{Credential, FuzzWorld, Role};

/// Examples per operation and phase in CI (`scripts/test`): the nine runs took about five
/// minutes on 2 cores with 60 (313 s with 75 on a quiet machine; 389 s with 60 while other
/// builds ran; 330 s with 60 in the last CI runs), plus about 40 s to stop pgplane and its
/// clusters. 45 leaves room in CI's 25 minutes for the Terraform provider's stage;
/// `scripts/fuzz` runs hundreds.
const CI_EXAMPLES: u32 = 45;

/// Most calls in one stateful scenario (schemathesis's default, 10, seldom got from a create
/// to a delete; 50 covers no more links than 30 in twice the time).
const STATEFUL_STEPS: u32 = 30;

/// Schemathesis's own default, for runs with few links to follow.
const DEFAULT_STATEFUL_STEPS: u32 = 10;

/// Operations that change the world the other operations run in: after every first run.
const WORLD: [&str; 4] = [
    "tenants.update",
    "tenants.quota.put",
    "clusters.update",
    "clusters.delete",
];

/// Operations that can lock the caller out: last, with a credential of its own.
const LOCKOUT: [&str; 6] = [
    "me.api_keys.revoke",
    "tenants.api_keys.revoke",
    "tenants.members.put",
    "tenants.members.delete",
    "users.update",
    "users.delete",
];

/// Operations whose answers link to [`WORLD`] operations (also fuzzed in the first runs), so
/// that the stateful phase can go from a create to an update and a delete of what it made.
const WORLD_CHAINS: [&str; 3] = ["tenants.create", "clusters.create", "clusters.get"];

/// The same for [`LOCKOUT`]: a user or key the fuzzer made is one it may remove.
const LOCKOUT_CHAINS: [&str; 3] = [
    "users.create",
    "me.api_keys.create",
    "tenants.api_keys.create",
];

/// Which operations a run fuzzes.
#[derive(Clone, Copy, PartialEq)]
enum Stage {
    /// Every operation but [`WORLD`] and [`LOCKOUT`].
    First,
    World,
    Lockout,
}

impl Stage {
    /// `(flag, operation ids)` for the schemathesis command line.
    fn selection(self) -> (&'static str, Vec<&'static str>) {
        match self {
            Stage::First => (
                "--exclude-operation-id",
                [WORLD.as_slice(), &LOCKOUT].concat(),
            ),
            Stage::World => (
                "--include-operation-id",
                [WORLD.as_slice(), &WORLD_CHAINS].concat(),
            ),
            Stage::Lockout => (
                "--include-operation-id",
                [LOCKOUT.as_slice(), &LOCKOUT_CHAINS].concat(),
            ),
        }
    }
}

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_headers_conformance,response_schema_conformance,negative_data_rejection,ignored_auth,\
use_after_free,ensure_resource_availability,missing_required_header,unsupported_method,\
unsupported_only_after_existence_and_validation";

/// How schema-invalid input may be refused: schemathesis's list, plus 412, since a stale
/// `If-Match` is answered before the body is read (RFC 9110, 13.2.2: preconditions are
/// evaluated "just before it would process the request content").
const NEGATIVE_REFUSALS: &str = r#"["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428", "429", "5xx"]"#;

/// A custom check (schemathesis hooks): `501` says the platform cannot do something the
/// request asked for, which is the last thing checked (existence, then permission, then the
/// body, then capability). So a 501 is a failure when the input was schema-invalid, or when
/// the tenant or cluster the path names is not there for the caller. Callers that may not
/// act at all (a viewer) are not allowed a 501 by `not_a_server_error` either.
const HOOKS: &str = r#"
import re

import requests
import schemathesis

OWNER = re.compile(r"^(/v1/tenants/[^/]+(?:/clusters/[^/]+)?)")


@schemathesis.check
def unsupported_only_after_existence_and_validation(ctx, response, case):
    if response.status_code != 501:
        return None
    if case.meta is not None and case.meta.generation.mode.is_negative:
        raise AssertionError("501 to schema-invalid input: refuse invalid input first")
    path = case.formatted_path
    owner = OWNER.match(path)
    if owner is None:
        return None
    base = response.request.url[: response.request.url.index(path)]
    seen = requests.get(
        base + owner.group(1),
        headers={"Authorization": response.request.headers.get("Authorization", "")},
        timeout=30,
    )
    if seen.status_code != 200:
        raise AssertionError(
            f"501 for {owner.group(1)}, which answers {seen.status_code}: "
            "existence and permission come before capability"
        )
    return None
"#;

fn schemathesis() -> PathBuf {
    if let Ok(path) = std::env::var("SCHEMATHESIS") {
        return path.into();
    }
    let local =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/schemathesis/bin/st");
    if local.exists() { local } else { "st".into() }
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

/// One schemathesis invocation: a caller and a selection of operations.
struct Run {
    label: String,
    credential: String,
    stage: Stage,
    /// `schemathesis.toml`: the dictionaries of what exists.
    config: String,
    /// Whether the caller may act, so that `501` (the platform cannot) is an answer it can get.
    may_act: bool,
}

/// Where each run's whole output is kept.
fn log_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/schemathesis")
}

/// What a run printed, and whether it passed.
struct Outcome {
    label: String,
    passed: bool,
    summary: String,
    output: String,
    took: Duration,
}

/// One worker: with two, schemathesis 4.32 now and then dies inside hypothesis (`SystemError: AST
/// constructor recursion depth mismatch`, threads describing lambdas at once), a tool error
/// that failed CI without any finding about pgplane.
fn run(base_url: &str, run: &Run, examples: u32, seed: u32) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("schemathesis.toml");
    let not_a_server_error = if run.may_act {
        r#"["2xx", "3xx", "4xx", "501"]"#
    } else {
        r#"["2xx", "3xx", "4xx"]"#
    };
    // Long chains where they can go somewhere: a caller that may act.
    let steps = if run.may_act {
        STATEFUL_STEPS
    } else {
        DEFAULT_STATEFUL_STEPS
    };
    // The stateful phase follows the links the document declares, not links schemathesis
    // guesses (hundreds, which spread its steps too thin to go deep along ours), with valid
    // input (an invalid create starts no chain) and chains long enough to reach a delete.
    let checks = format!(
        "[checks.not_a_server_error]\nexpected-statuses = {not_a_server_error}\n\n\
         [checks.negative_data_rejection]\nexpected-statuses = {NEGATIVE_REFUSALS}\n\n\
         [phases.stateful]\nmax-steps = {steps}\n\
         [phases.stateful.inference]\nalgorithms = []\n\
         [phases.stateful.generation]\nmode = \"positive\"\n"
    );
    std::fs::write(&config, format!("{checks}\n{}", run.config)).unwrap();
    let hooks = dir.path().join("hooks.py");
    std::fs::write(&hooks, HOOKS).unwrap();
    let mut command = Command::new(schemathesis());
    command
        .env("SCHEMATHESIS_HOOKS", &hooks)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{base_url}/openapi.json"))
        .args(["--url", base_url])
        .arg("-H")
        .arg(format!("Authorization: Bearer {}", run.credential))
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", &examples.to_string()])
        .args(["--seed", &seed.to_string(), "--workers", "1"])
        .args(["--no-color", "--request-timeout", "30"])
        .current_dir(dir.path());
    let (flag, operations) = run.stage.selection();
    for id in operations {
        command.args([flag, id]);
    }
    let started = Instant::now();
    let output = command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run schemathesis ({}): {e}; scripts/test installs it",
            schemathesis().display()
        )
    });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let summary = stdout
        .find("SUMMARY")
        .map(|at| stdout[stdout[..at].rfind('\n').map_or(0, |n| n + 1)..].to_string())
        .unwrap_or_else(|| stdout.clone());
    let passed = output.status.success();
    let output = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let log = log_dir().join(format!("{}.log", run.label.replace([' ', ','], "-")));
    let _ = std::fs::create_dir_all(log_dir());
    let _ = std::fs::write(&log, &output);
    Outcome {
        label: run.label.clone(),
        passed,
        summary,
        output,
        took: started.elapsed(),
    }
}

/// The test cases a summary says were generated (`Test cases: N generated, ...`).
fn generated(summary: &str) -> u64 {
    summary
        .lines()
        .filter(|line| line.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .find_map(|line| line.trim().split_once(" generated"))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs schemathesis: scripts/test installs it and runs this test"]
async fn schemathesis_finds_no_server_error_and_no_response_that_breaks_the_spec() {
    let started = Instant::now();
    let examples = env_number("PGPLANE_FUZZ_EXAMPLES", CI_EXAMPLES);
    let seed = env_number("PGPLANE_FUZZ_SEED", 9);
    let world = FuzzWorld::start().await;
    let owner = world.credential("owner", Role::Member("owner")).await;
    let viewer = world.credential("viewer", Role::Member("viewer")).await;
    let admin = world.app().admin_key.clone();
    let callers = [
        ("tenant viewer", &viewer.key, Role::Member("viewer"), false),
        ("tenant owner", &owner.key, Role::Member("owner"), true),
        ("platform admin", &admin, Role::PlatformAdmin, true),
    ];
    let mut runs = Vec::new();
    for stage in [Stage::First, Stage::World] {
        for (label, credential, _, may_act) in callers {
            let what = if stage == Stage::World {
                ", operations that change the world"
            } else {
                ""
            };
            runs.push(Run {
                label: format!("{label}{what}"),
                credential: credential.clone(),
                stage,
                config: world.dictionaries(None),
                may_act,
            });
        }
    }
    for (label, _, role, may_act) in callers {
        let me: Credential = world
            .credential(&format!("{}-lockout", label.replace(' ', "-")), role)
            .await;
        runs.push(Run {
            label: format!("{label}, operations that may lock it out"),
            credential: me.key.clone(),
            stage: Stage::Lockout,
            config: world.dictionaries(Some(&me)),
            may_act,
        });
    }
    println!(
        "schemathesis: {examples} examples per operation, seed {seed}; world ready in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let base_url = world.app().base_url.clone();
    let mut outcomes = Vec::new();
    for r in runs {
        let base_url = base_url.clone();
        let outcome = tokio::task::spawn_blocking(move || run(&base_url, &r, examples, seed))
            .await
            .unwrap();
        println!(
            "==> schemathesis as {} ({:.0} s):\n{}",
            outcome.label,
            outcome.took.as_secs_f64(),
            outcome.summary
        );
        outcomes.push(outcome);
    }
    let cases: u64 = outcomes.iter().map(|o| generated(&o.summary)).sum();
    println!(
        "schemathesis: {} runs, {cases} test cases, {} failed runs, in {:.0} s \
         ({examples} examples per operation)",
        outcomes.len(),
        outcomes.iter().filter(|o| !o.passed).count(),
        started.elapsed().as_secs_f64()
    );
    let stopping = Instant::now();
    world.world.stop().await;
    println!(
        "schemathesis: pgplane and its clusters stopped in {:.0} s",
        stopping.elapsed().as_secs_f64()
    );
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed).collect();
    assert!(
        failed.is_empty(),
        "schemathesis found failures as {}:\n{}",
        failed
            .iter()
            .map(|o| o.label.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        failed
            .iter()
            .map(|o| format!("=== {}\n{}", o.label, o.output))
            .collect::<String>()
    );
}
