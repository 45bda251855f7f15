//! The build decision as a pure function over file times, and `prepare` against a checkout laid
//! out in a temporary directory, with a `PATH` holding no Node at all or stand-in `node` and
//! `npm` scripts (no real npm runs here).

use std::ffi::OsString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use super::{Freshness, PortalOutcome, freshness, node_major, prepare};

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
}

#[test]
fn a_portal_never_built_is_missing() {
    assert_eq!(freshness(None, Some(at(1))), Freshness::Missing);
    assert_eq!(freshness(None, None), Freshness::Missing);
}

#[test]
fn a_source_changed_after_the_build_makes_it_stale() {
    assert_eq!(freshness(Some(at(10)), Some(at(11))), Freshness::Stale);
}

#[test]
fn a_build_at_or_after_the_newest_source_is_fresh() {
    assert_eq!(freshness(Some(at(10)), Some(at(9))), Freshness::Fresh);
    assert_eq!(freshness(Some(at(10)), Some(at(10))), Freshness::Fresh);
    assert_eq!(freshness(Some(at(10)), None), Freshness::Fresh);
}

#[test]
fn the_node_major_is_read_from_its_version() {
    assert_eq!(node_major("v20.20.2\n"), Some(20));
    assert_eq!(node_major("v18.19.0"), Some(18));
    assert_eq!(node_major("20.1.0"), None);
    assert_eq!(node_major(""), None);
}

/// A checkout's `web-client/` with sources written at `sources` and, when `built` is given, a
/// `dist/index.html` written at that time.
struct Checkout {
    root: tempfile::TempDir,
}

impl Checkout {
    fn new(sources: SystemTime, built: Option<SystemTime>) -> Self {
        let root = tempfile::tempdir().unwrap();
        let checkout = Self { root };
        let web = checkout.web_client();
        fs::create_dir_all(web.join("src")).unwrap();
        write_at(&web.join("package.json"), "{}", sources);
        write_at(&web.join("package-lock.json"), "{}", sources);
        write_at(&web.join("src/main.tsx"), "render()", sources);
        if let Some(built) = built {
            fs::create_dir_all(web.join("dist")).unwrap();
            write_at(&web.join("dist/index.html"), "<title>old</title>", built);
        }
        fs::create_dir_all(checkout.bin()).unwrap();
        checkout
    }

    fn web_client(&self) -> PathBuf {
        self.root.path().join("web-client")
    }

    /// The only directory on the `PATH` handed to `prepare`.
    fn bin(&self) -> PathBuf {
        self.root.path().join("bin")
    }

    /// Puts a stand-in program on the `PATH`. Written by a child process, so that no file this
    /// test process holds open for writing leaks into another test's child (ETXTBSY on exec).
    fn program(&self, name: &str, script: &str) {
        let file = self.bin().join(name);
        let status = Command::new("/bin/sh")
            .args(["-c", r#"printf '%s\n' "$1" > "$2" && chmod 755 "$2""#, "sh"])
            .arg(format!("#!/bin/sh\n{script}"))
            .arg(&file)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn node(&self, version: &str) {
        self.program("node", &format!("echo {version}"));
    }

    /// `npm ci` records the install; `npm run build` runs `build` (a shell snippet in
    /// web-client/).
    fn npm(&self, build: &str) {
        self.program(
            "npm",
            &format!(
                "echo \"npm $*\" >> ../npm-calls\n\
                 case \"$1\" in\n\
                 ci) /bin/mkdir -p node_modules && : > node_modules/.package-lock.json ;;\n\
                 run) {build} ;;\n\
                 esac"
            ),
        );
    }

    fn prepare(&self) -> (PortalOutcome, String) {
        let mut out = Vec::new();
        let path = OsString::from(self.bin());
        let log = self.root.path().join("portal-build.log");
        let outcome = prepare(&self.web_client(), Some(&path), &log, &mut out);
        (outcome, String::from_utf8(out).unwrap())
    }

    fn npm_calls(&self) -> String {
        fs::read_to_string(self.root.path().join("npm-calls")).unwrap_or_default()
    }

    fn dist(&self) -> PathBuf {
        self.web_client().join("dist")
    }
}

fn write_at(path: &Path, contents: &str, time: SystemTime) {
    fs::write(path, contents).unwrap();
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

const BUILDS: &str = "/bin/mkdir -p dist && echo '<title>pgplane</title>' > dist/index.html";

#[test]
fn without_node_a_portal_never_built_is_not_served_and_the_api_runs() {
    let checkout = Checkout::new(at(0), None);
    let (outcome, console) = checkout.prepare();
    assert_eq!(outcome.dir, None);
    let note = outcome.note.unwrap();
    assert!(note.contains("Node.js 20+"), "{note}");
    assert_eq!(console.lines().count(), 1, "{console}");
    assert!(
        console.starts_with("portal: not served: Node.js and npm were not found on PATH"),
        "{console}"
    );
}

#[test]
fn without_node_a_stale_build_is_served_as_it_is_and_says_so() {
    let checkout = Checkout::new(at(20), Some(at(10)));
    let (outcome, console) = checkout.prepare();
    assert_eq!(outcome.dir, Some(checkout.dist()));
    assert!(outcome.note.unwrap().contains("install Node.js 20+"));
    assert!(console.contains("serving the previous build"), "{console}");
}

#[test]
fn a_fresh_build_is_served_without_running_anything() {
    let checkout = Checkout::new(at(10), Some(at(20)));
    checkout.node("v20.20.2");
    checkout.npm("exit 1");
    let (outcome, console) = checkout.prepare();
    assert_eq!(
        outcome,
        PortalOutcome {
            dir: Some(checkout.dist()),
            note: None
        }
    );
    assert_eq!(console, "");
    assert_eq!(checkout.npm_calls(), "");
}

#[test]
fn a_portal_never_built_is_installed_and_built_with_progress_shown() {
    let checkout = Checkout::new(at(0), None);
    checkout.node("v20.20.2");
    checkout.npm(BUILDS);
    let (outcome, console) = checkout.prepare();
    assert_eq!(outcome.dir, Some(checkout.dist()), "{console}");
    assert_eq!(outcome.note, None);
    assert_eq!(
        checkout.npm_calls(),
        "npm ci --no-audit --no-fund\nnpm run build\n"
    );
    assert!(console.contains("is not built; building it with Node.js v20.20.2"));
    assert!(console.contains("portal: $ npm ci --no-audit --no-fund"));
    assert!(console.contains("portal: $ npm run build"));
    assert_eq!(
        console.matches("portal:   done in ").count(),
        2,
        "{console}"
    );
}

#[test]
fn a_stale_build_with_dependencies_installed_is_rebuilt_without_npm_ci() {
    let checkout = Checkout::new(at(20), Some(at(10)));
    let modules = checkout.web_client().join("node_modules");
    fs::create_dir_all(&modules).unwrap();
    write_at(&modules.join(".package-lock.json"), "{}", at(30));
    checkout.node("v22.1.0");
    checkout.npm(BUILDS);
    let (outcome, console) = checkout.prepare();
    assert_eq!(outcome.dir, Some(checkout.dist()), "{console}");
    assert_eq!(checkout.npm_calls(), "npm run build\n");
    assert!(console.contains("is older than its sources"), "{console}");
}

#[test]
fn a_failed_build_shows_npm_output_and_the_api_runs_without_the_portal() {
    let checkout = Checkout::new(at(0), None);
    checkout.node("v20.20.2");
    checkout.npm("echo 'src/App.tsx(3,1): error TS2322: nope' >&2; exit 2");
    let (outcome, console) = checkout.prepare();
    assert_eq!(outcome.dir, None);
    assert!(outcome.note.unwrap().contains("`npm run build` failed"));
    assert!(
        console.contains("portal:   | src/App.tsx(3,1): error TS2322: nope"),
        "{console}"
    );
    assert!(console.contains("portal: not served: `npm run build` failed"));
}

#[test]
fn a_failed_rebuild_keeps_serving_the_previous_build() {
    let checkout = Checkout::new(at(20), Some(at(10)));
    checkout.node("v20.20.2");
    checkout.npm("exit 1");
    let (outcome, console) = checkout.prepare();
    assert_eq!(outcome.dir, Some(checkout.dist()), "{console}");
    assert!(console.contains("serving the previous build"), "{console}");
}

#[test]
fn an_old_node_is_named_and_not_used() {
    let checkout = Checkout::new(at(0), None);
    checkout.node("v18.19.0");
    checkout.npm(BUILDS);
    let (outcome, console) = checkout.prepare();
    assert_eq!(outcome.dir, None);
    assert!(console.contains("found Node.js \"v18.19.0\""), "{console}");
    assert_eq!(checkout.npm_calls(), "");
}

#[test]
fn outside_a_checkout_it_says_where_to_run_from() {
    let root = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let web = root.path().join("web-client");
    let outcome = prepare(&web, None, &root.path().join("log"), &mut out);
    assert_eq!(outcome.dir, None);
    let console = String::from_utf8(out).unwrap();
    assert!(console.contains("PGPLANE_PORTAL_DIR"), "{console}");
}
