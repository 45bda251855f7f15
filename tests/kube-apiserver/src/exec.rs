//! Who answers `pods/exec`: a registry of handlers, asked newest first, each of which either
//! runs the command (an [`ExecOutput`]) or does not know it (`None`, the next one is asked).
//!
//! The server owns the protocol (checks, WebSocket channels, the exit Status); handlers only
//! model what a binary in a container prints. The simulated operator registers one for its
//! instance Pods; a test can register its own on top to override one command (e.g. make
//! `pgbackrest info` fail) without touching the operator. When no handler knows the command,
//! the server answers as containerd does for a missing binary (see `routes/exec.rs`).

use std::sync::{Arc, Mutex};

use serde_json::Value;

/// One exec request, after the server checked the Pod and container.
#[derive(Clone, Debug)]
pub struct ExecRequest {
    /// Namespace of the Pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container the command runs in (defaulted when the Pod has one container).
    pub container: String,
    /// The command line (`command` query parameters, in order).
    pub command: Vec<String>,
    /// The Pod as stored when the request arrived (labels, status), so a handler can answer
    /// by role or readiness without another request.
    pub pod_object: Value,
}

/// What a command printed and how it exited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Bytes written to stdout.
    pub stdout: Vec<u8>,
    /// Bytes written to stderr.
    pub stderr: Vec<u8>,
    /// The exit code (0 is success; kubelet reports any other as `NonZeroExitCode`).
    pub exit_code: i32,
}

impl ExecOutput {
    /// Exit 0 with `stdout`.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> Self {
        Self {
            stdout: stdout.into(),
            ..Self::default()
        }
    }

    /// Exit `code` with `stderr`.
    pub fn fail(code: i32, stderr: impl Into<Vec<u8>>) -> Self {
        Self {
            stderr: stderr.into(),
            exit_code: code,
            ..Self::default()
        }
    }

    /// Appends `stderr` (a NOTICE beside a successful result).
    pub fn with_stderr(mut self, stderr: impl Into<Vec<u8>>) -> Self {
        self.stderr.extend(stderr.into());
        self
    }
}

/// A handler: `Some` when it knows the command in that container, `None` to pass.
pub type ExecHandler = Arc<dyn Fn(&ExecRequest) -> Option<ExecOutput> + Send + Sync>;

/// Identifies a registered handler, to remove it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExecHandlerId(u64);

#[derive(Default)]
struct Registry {
    next: u64,
    handlers: Vec<(ExecHandlerId, ExecHandler)>,
}

/// The server's exec handlers (cloneable: the operator keeps one to unregister on drop).
#[derive(Clone, Default)]
pub struct ExecHandlers {
    inner: Arc<Mutex<Registry>>,
}

impl ExecHandlers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `handler`; it is asked before every handler added earlier.
    pub fn add(
        &self,
        handler: impl Fn(&ExecRequest) -> Option<ExecOutput> + Send + Sync + 'static,
    ) -> ExecHandlerId {
        let mut r = self.lock();
        r.next += 1;
        let id = ExecHandlerId(r.next);
        r.handlers.push((id, Arc::new(handler)));
        id
    }

    /// Removes a handler (no-op when already removed).
    pub fn remove(&self, id: ExecHandlerId) {
        self.lock().handlers.retain(|(h, _)| *h != id);
    }

    /// Runs `request` through the handlers, newest first. The handlers are called outside
    /// the registry's lock, so a handler may register or remove handlers.
    pub fn run(&self, request: &ExecRequest) -> Option<ExecOutput> {
        let handlers: Vec<ExecHandler> = self
            .lock()
            .handlers
            .iter()
            .rev()
            .map(|(_, h)| h.clone())
            .collect();
        handlers.iter().find_map(|h| h(request))
    }
}

impl std::fmt::Debug for ExecHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecHandlers")
            .field("handlers", &self.lock().handlers.len())
            .finish()
    }
}
