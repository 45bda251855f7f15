//! `pgplane dev`'s portal: builds `web-client/` into `web-client/dist` before the server starts,
//! so that the URL `pgplane dev` prints shows the portal's sign-in page with no second step.
//!
//! It builds only when the built portal is missing or older than its sources (newest file time
//! of the inputs below against `dist/index.html`), and only with Node.js 20+ and npm on `PATH`.
//! Whatever happens, the API still starts: without Node, or when a build fails, it says why on
//! the console (one line, plus the tail of npm's output on a failure) and serves the previous
//! build when there is one, or no portal. npm's output goes to a log file in the data
//! directory, the console gets which command runs and how long it took. This module never
//! touches a directory given with `PGPLANE_PORTAL_DIR` (dev.rs does not call it then).

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Files and directories of `web-client/` whose change makes the built portal stale.
const INPUTS: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "postcss.config.cjs",
];
/// The oldest Node.js major the portal's toolchain (Vite 7, TypeScript 5) runs on.
const MIN_NODE_MAJOR: u32 = 20;
/// A step still running after this long is stopped (npm waiting on an unreachable registry).
const STEP_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How often a long step says it is still running.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// Lines of npm's output shown on the console when a step fails.
const FAILURE_TAIL_LINES: usize = 20;

/// What `pgplane dev` serves at `/`.
#[derive(Debug, PartialEq, Eq)]
pub struct PortalOutcome {
    /// The built portal, when there is one to serve.
    pub dir: Option<PathBuf>,
    /// Why there is none (or why it is an old build), for the summary under the URL.
    pub note: Option<String>,
}

/// How the built portal compares with its sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Never built (no `dist/index.html`).
    Missing,
    /// A source changed after the last build.
    Stale,
    /// Built after the newest source.
    Fresh,
}

/// Compares the build's time with the newest source's; a build with no known sources is fresh.
pub fn freshness(built: Option<SystemTime>, newest_source: Option<SystemTime>) -> Freshness {
    match (built, newest_source) {
        (None, _) => Freshness::Missing,
        (Some(built), Some(source)) if source > built => Freshness::Stale,
        (Some(_), _) => Freshness::Fresh,
    }
}

/// Makes sure `web_client/dist` is built and current, building it when it can; `path` is the
/// `PATH` to find `node` and `npm` on, `log` receives npm's output, `out` the progress lines.
pub fn prepare(
    web_client: &Path,
    path: Option<&OsStr>,
    log: &Path,
    out: &mut dyn Write,
) -> PortalOutcome {
    let dist = web_client.join("dist");
    let built = modified(&dist.join("index.html"));
    if !web_client.join("package.json").is_file() {
        if built.is_some() {
            return served(dist, None);
        }
        let why = format!(
            "no {} here; run pgplane dev from the repository root, or set PGPLANE_PORTAL_DIR",
            web_client.display()
        );
        say(out, &format!("portal: not served: {why}"));
        return not_served(why);
    }
    let inputs: Vec<PathBuf> = INPUTS.iter().map(|p| web_client.join(p)).collect();
    let state = freshness(built, newest_modified(&inputs));
    if state == Freshness::Fresh {
        return served(dist, None);
    }
    let node = match find_node(path) {
        Ok(node) => node,
        Err(why) => {
            let why = format!("{why}; install Node.js {MIN_NODE_MAJOR}+ and npm, then restart");
            return without_build(out, state, dist, &why);
        }
    };
    let what = match state {
        Freshness::Missing => "is not built",
        _ => "is older than its sources",
    };
    say(
        out,
        &format!(
            "portal: {} {what}; building it with Node.js {} (a minute or two the first time)",
            dist.display(),
            node.version
        ),
    );
    let _ = fs::remove_file(log);
    let modules = web_client.join("node_modules/.package-lock.json");
    let mut steps: Vec<&[&str]> = Vec::new();
    if freshness(
        modified(&modules),
        modified(&web_client.join("package-lock.json")),
    ) != Freshness::Fresh
    {
        steps.push(&["ci", "--no-audit", "--no-fund"]);
    }
    steps.push(&["run", "build"]);
    for args in steps {
        if let Err(why) = run_step(&node.npm, args, web_client, path, log, out) {
            return without_build(out, state, dist, &why);
        }
    }
    if modified(&dist.join("index.html")).is_none() {
        let why = format!("the build wrote no {}", dist.join("index.html").display());
        return without_build(out, Freshness::Missing, dist, &why);
    }
    served(dist, None)
}

/// No build this time: the previous build when there is one, otherwise no portal.
fn without_build(out: &mut dyn Write, state: Freshness, dist: PathBuf, why: &str) -> PortalOutcome {
    if state == Freshness::Missing || modified(&dist.join("index.html")).is_none() {
        say(out, &format!("portal: not served: {why}"));
        return not_served(why.to_string());
    }
    say(
        out,
        &format!("portal: serving the previous build, older than its sources: {why}"),
    );
    served(dist, Some(format!("previous build: {why}")))
}

fn served(dir: PathBuf, note: Option<String>) -> PortalOutcome {
    PortalOutcome {
        dir: Some(dir),
        note,
    }
}

fn not_served(why: String) -> PortalOutcome {
    PortalOutcome {
        dir: None,
        note: Some(why),
    }
}

/// Node.js and npm as found on `PATH`.
struct Node {
    npm: PathBuf,
    version: String,
}

fn find_node(path: Option<&OsStr>) -> Result<Node, String> {
    let path = path.unwrap_or_default();
    let (Some(node), Some(npm)) = (find_program("node", path), find_program("npm", path)) else {
        return Err("Node.js and npm were not found on PATH".into());
    };
    let output = Command::new(&node)
        .arg("--version")
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{} --version failed: {e}", node.display()))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    match node_major(&version) {
        Some(major) if major >= MIN_NODE_MAJOR => Ok(Node { npm, version }),
        _ => Err(format!("found Node.js {version:?} at {}", node.display())),
    }
}

/// The major of `node --version`'s answer (`v20.20.2` → 20).
fn node_major(version: &str) -> Option<u32> {
    version
        .trim()
        .strip_prefix('v')?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The first executable file called `name` in the directories of `path`.
fn find_program(name: &str, path: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|file| {
            fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs `npm <args>` in `dir` with its output appended to `log`, saying on `out` what runs and
/// how long it took; on failure returns why, after showing the end of the output.
fn run_step(
    npm: &Path,
    args: &[&str],
    dir: &Path,
    path: Option<&OsStr>,
    log: &Path,
    out: &mut dyn Write,
) -> Result<(), String> {
    let shown = format!("npm {}", args.join(" "));
    say(out, &format!("portal: $ {shown}   (in {})", dir.display()));
    let output = File::options()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|f| Ok((f.try_clone()?, f)))
        .map_err(|e| format!("cannot write {}: {e}", log.display()))?;
    let mut command = Command::new(npm);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(output.0)
        .stderr(output.1);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("`{shown}` did not start: {e}"))?;
    let mut next_heartbeat = HEARTBEAT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("`{shown}`: {e}")),
        }
        let elapsed = started.elapsed();
        if elapsed > STEP_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let how = format!("stopped after {} minutes", STEP_TIMEOUT.as_secs() / 60);
            return Err(failed(out, &shown, &how, started, log));
        }
        if elapsed >= next_heartbeat {
            say(
                out,
                &format!("portal:   still running ({} s)", elapsed.as_secs()),
            );
            next_heartbeat += HEARTBEAT;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !status.success() {
        return Err(failed(out, &shown, &status.to_string(), started, log));
    }
    say(
        out,
        &format!("portal:   done in {}", seconds(started.elapsed())),
    );
    Ok(())
}

/// Shows the end of npm's output and returns the one-line reason.
fn failed(out: &mut dyn Write, shown: &str, how: &str, started: Instant, log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    say(
        out,
        &format!(
            "portal:   `{shown}` failed after {} ({how}); its last lines:",
            seconds(started.elapsed())
        ),
    );
    for line in &lines[lines.len().saturating_sub(FAILURE_TAIL_LINES)..] {
        say(out, &format!("portal:   | {line}"));
    }
    format!("`{shown}` failed; its output is in {}", log.display())
}

fn seconds(elapsed: Duration) -> String {
    format!("{:.1} s", elapsed.as_secs_f64())
}

fn say(out: &mut dyn Write, line: &str) {
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of the files at or under `paths` (missing paths are skipped).
fn newest_modified(paths: &[PathBuf]) -> Option<SystemTime> {
    let mut newest = None;
    let mut pending: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = pending.pop() {
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        } else if let Ok(time) = meta.modified() {
            newest = newest.max(Some(time));
        }
    }
    newest
}

#[cfg(test)]
mod tests;
