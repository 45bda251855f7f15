//! The `terraform` command as these tests run it: the executable named by `TERRAFORM`, in a
//! working directory of its own (configuration, state, `TF_DATA_DIR`) under a temporary
//! directory, with the provider freshly built beside this test binary installed by a CLI
//! configuration's `dev_overrides`, so nothing is ever fetched from a registry and no
//! `terraform init` is needed. It never reads the machine's own CLI configuration.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// The provider's source address (`required_providers`), which the overrides point at.
const PROVIDER_SOURCE: &str = "pgplane/pgplane";
const PROVIDER_BINARY: &str = "terraform-provider-pgplane";

/// Longest any one command may run: a cluster's create or scale on the local platform takes
/// seconds; a hung provider must fail the test, not hang CI.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// Subcommands that take `-no-color` (added to each, so that output can be matched).
const COLORED: [&str; 8] = [
    "apply", "destroy", "import", "output", "plan", "refresh", "test", "validate",
];

/// One Terraform working directory: its configuration, its state, its data directory.
pub struct Terraform {
    /// Which test's directory this is, in front of every line it prints (tests run side by
    /// side).
    label: &'static str,
    root: tempfile::TempDir,
    program: PathBuf,
    env: Vec<(String, String)>,
    timings: Mutex<Vec<(String, Duration)>>,
}

/// A finished command.
pub struct Run {
    pub command: String,
    /// The exit status (`-1` when a signal ended it).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// A command still running (in a process group of its own, the provider with it).
pub struct Running {
    command: String,
    child: Child,
    pid: u32,
    started: Instant,
}

impl Terraform {
    /// A fresh working directory (`label` in front of what it prints) whose provider talks to
    /// `endpoint` with `api_key` (`PGPLANE_ENDPOINT` and `PGPLANE_API_KEY`; a configuration
    /// may set them too).
    pub fn new(label: &'static str, endpoint: &str, api_key: &str) -> Terraform {
        let root = tempfile::tempdir().expect("temporary directory");
        let cli_config = root.path().join("terraform.rc");
        std::fs::write(&cli_config, cli_configuration(&provider_dir())).expect("CLI config");
        std::fs::create_dir(root.path().join("work")).expect("working directory");
        let env = [
            ("TF_CLI_CONFIG_FILE", cli_config.display().to_string()),
            (
                "TF_DATA_DIR",
                root.path().join("data").display().to_string(),
            ),
            ("TF_IN_AUTOMATION", "1".into()),
            ("TF_INPUT", "0".into()),
            ("CHECKPOINT_DISABLE", "1".into()),
            ("PGPLANE_ENDPOINT", endpoint.into()),
            ("PGPLANE_API_KEY", api_key.into()),
        ];
        Terraform {
            label,
            root,
            program: program(),
            env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            timings: Mutex::new(Vec::new()),
        }
    }

    /// The same, with `name=value` in the environment of every command.
    pub fn with_env(mut self, name: &str, value: &str) -> Terraform {
        self.env.push((name.into(), value.into()));
        self
    }

    /// The directory commands run in (the root module; `terraform.tfstate` lands here).
    pub fn dir(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// Writes `contents` to `name` in the working directory (creating its directories).
    pub fn write(&self, name: &str, contents: &str) {
        let path = self.dir().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("directory");
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// Runs `terraform <args>` to its end and prints how long it took.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.start(args).finish(self).await
    }

    /// Starts `terraform <args>` in a process group of its own (it and its provider), as a
    /// shell starts a foreground job.
    pub fn start(&self, args: &[&str]) -> Running {
        let mut full: Vec<&str> = args.to_vec();
        if full.first().is_some_and(|sub| COLORED.contains(sub)) {
            full.insert(1, "-no-color");
        }
        let mut command = Command::new(&self.program);
        command
            .args(&full)
            .current_dir(self.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // Only what this directory says: no arguments, workspace or plugin cache from the
        // caller's environment (its TF_LOG and TF_LOG_PATH do pass, for debugging).
        for (name, _) in std::env::vars() {
            if (name.starts_with("TF_") && !name.starts_with("TF_LOG"))
                || name.starts_with("PGPLANE_")
            {
                command.env_remove(name);
            }
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("runs {}: {e}", self.program.display()));
        let pid = child.id().expect("a running child");
        Running {
            command: format!("terraform {}", args.join(" ")),
            child,
            pid,
            started: Instant::now(),
        }
    }

    /// Prints every command's duration so far, one line each.
    pub fn print_timings(&self) {
        let timings = self.timings.lock().unwrap();
        let lines: String = timings
            .iter()
            .map(|(command, took)| format!("{:>7.1} s  {command}\n", took.as_secs_f64()))
            .collect();
        println!("[{}] terraform commands:\n{lines}", self.label);
    }

    /// Prints `text` under `title`, labelled.
    pub fn print(&self, title: &str, text: &str) {
        println!("[{}] {title}:\n{}", self.label, text.trim_end());
    }
}

impl Running {
    /// Sends SIGINT to the whole process group, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        assert!(signal_group(self.pid, "INT"), "SIGINT to {}", self.command);
    }

    /// Waits for the command to end (at most [`COMMAND_TIMEOUT`]) and records its duration.
    pub async fn finish(self, terraform: &Terraform) -> Run {
        let Running {
            command,
            child,
            pid,
            started,
        } = self;
        let output = match tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output()).await {
            Ok(output) => output.unwrap_or_else(|e| panic!("{command}: {e}")),
            Err(_) => {
                signal_group(pid, "KILL");
                panic!("{command} still running after {COMMAND_TIMEOUT:?}: killed");
            }
        };
        let run = Run {
            command,
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
        };
        println!(
            "[{}] {}: {:.1} s (exit status {})",
            terraform.label,
            run.command,
            run.elapsed.as_secs_f64(),
            run.code
        );
        let mut timings = terraform.timings.lock().unwrap();
        timings.push((run.command.clone(), run.elapsed));
        run
    }
}

impl Run {
    /// Asserts the exit status, showing the whole output when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit status {code}:\n{self}");
        self
    }

    /// Standard output and standard error, together.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Standard output as JSON (`output -json`, `show -json`).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{self}"))
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "$ {} (exit status {}, {:.1} s)",
            self.command,
            self.code,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "--- stdout\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr\n{}", self.stderr.trim_end())
    }
}

/// Fails unless Terraform (`TERRAFORM`) and the provider binary are there.
pub fn preflight() {
    program();
    provider_dir();
}

/// Sends `signal` to the process group `pid` leads (with kill(1): the crate denies unsafe code).
fn signal_group(pid: u32, signal: &str) -> bool {
    std::process::Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pid}")])
        .status()
        .is_ok_and(|s| s.success())
}

/// The Terraform executable: `TERRAFORM` (scripts/test installs Terraform into
/// `target/tools/terraform` and sets it). These tests are run on purpose (`--ignored`), so
/// without it they fail rather than skip.
fn program() -> PathBuf {
    match std::env::var_os("TERRAFORM") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "TERRAFORM is not set: it names the terraform executable these tests run \
             (scripts/test installs one: TERRAFORM=target/tools/terraform/bin/terraform)"
        ),
    }
}

/// The directory holding the freshly built provider: the test binary is
/// `target/<profile>/deps/terraform-<hash>`, the provider `target/<profile>/<binary>`.
fn provider_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lies in target/<profile>/deps")
        .to_path_buf();
    let provider = dir.join(PROVIDER_BINARY);
    assert!(
        provider.is_file(),
        "{} is missing: build the provider first (`cargo build -p terraform-provider-pgplane`; \
         scripts/test builds every target)",
        provider.display()
    );
    dir
}

/// A CLI configuration that takes the provider from `dir` and everything else from nowhere.
fn cli_configuration(dir: &Path) -> String {
    format!(
        "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  \
         direct {{\n    exclude = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n",
        dir.display()
    )
}
