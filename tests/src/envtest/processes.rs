//! The control plane's child processes and their files.
//!
//! Every child is started with `PR_SET_PDEATHSIG(SIGKILL)`: the kernel kills it when the thread
//! that spawned it ends, which for the shared control plane is a keeper thread that lives as long
//! as the test binary (a `static` is never dropped, so a `Drop` guard alone would leave etcd and
//! the apiserver running after `cargo test`). A plane that is dropped kills its children itself.
//! Working directories live under `$TMPDIR/pgplane-envtest/<pid>-<n>`; directories of test
//! binaries that are no longer running are removed at the next start.

use std::fs::File;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A loopback port nothing listens on right now (the caller starts a process on it; a race
/// with another process is caught by the start's retry).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn root() -> PathBuf {
    std::env::temp_dir().join("pgplane-envtest")
}

/// A new working directory for one control plane of this process; removes those of processes
/// that have exited.
pub fn working_dir() -> std::io::Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let root = root();
    std::fs::create_dir_all(&root)?;
    for entry in std::fs::read_dir(&root)?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let pid = name.split('-').next().unwrap_or_default();
        let alive = !pid.is_empty() && Path::new("/proc").join(pid).exists();
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = root.join(format!("{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A running child with its log file.
pub struct Process {
    pub name: &'static str,
    pub child: Child,
    pub log: PathBuf,
}

impl Process {
    /// Starts `binary` with `args`, stdout and stderr appended to `<dir>/<name>.log`, killed by
    /// the kernel when the calling thread ends.
    pub fn spawn(
        name: &'static str,
        binary: &Path,
        args: &[String],
        dir: &Path,
    ) -> std::io::Result<Process> {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log)?;
        let err = out.try_clone()?;
        let parent = std::process::id() as libc::pid_t;
        let mut command = Command::new(binary);
        command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
        #[expect(
            unsafe_code,
            reason = "children die with the test process (PR_SET_PDEATHSIG)"
        )]
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let child = command.spawn()?;
        Ok(Process { name, child, log })
    }

    /// `Some(description)` when the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited ({status})", self.name)),
            Ok(None) => None,
            Err(e) => Some(format!("{}: {e}", self.name)),
        }
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Kills the process and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
