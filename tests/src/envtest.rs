//! A real Kubernetes control plane for tests ("envtest"): etcd, kube-apiserver and
//! kube-controller-manager from `KUBEBUILDER_ASSETS` (unpacked by `../shared/envtest/unpack`),
//! on loopback, with the PGO CRDs (v6.0.3) installed. Tests that make claims about Kubernetes
//! behaviour check them here; the in-process server (`tests/kube-apiserver`) is for injected
//! faults and speed.
//!
//! One control plane serves a whole test binary ([`shared`]): started lazily by the first test
//! that asks (a few seconds, printed once), never stopped by a test; each test works in its own
//! namespaces ([`unique_name`], [`ControlPlane::create_namespace`]). Its processes die with the
//! test binary (see [`processes`]). Without `KUBEBUILDER_ASSETS` [`shared`] prints why the test
//! is skipped and returns `None`; with it set to a directory that lacks the binaries it panics
//! (a misconfigured CI must not pass silently).
//!
//! Certificates are generated at start ([`pki`]): a CA, the serving certificate for
//! `127.0.0.1`/`localhost`, an admin client certificate in `system:masters`, and any other
//! identity on request ([`ControlPlane::client_as`]) so RBAC is the real thing. The
//! controller manager runs only the controllers in [`start::CONTROLLERS`] (garbage collection,
//! namespace deletion, quota usage, service accounts): no StatefulSet, Deployment or ReplicaSet
//! controller fights the simulated operator, and no kubelet runs Pods.
//!
//! The plane's own tokio runtime ([`ControlPlane::background`]) runs on a keeper thread, so
//! long-lived controllers shared by the tests (the simulated operator) outlive the runtime of
//! the test that started them; a `kube::Client` is bound to the runtime it was built in, so
//! every test builds its own ([`ControlPlane::client`]).

pub mod crds;
mod etcd;
pub mod kubeconfig;
mod pki;
pub mod processes;
pub mod start;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};

pub use crds::CRD_FILES;
use processes::Process;
pub use start::{CONTROLLERS, POSTGRESCLUSTER_COUNT};

/// The binaries a control plane needs in `KUBEBUILDER_ASSETS`.
pub const BINARIES: &[&str] = &["etcd", "kube-apiserver", "kube-controller-manager"];

/// How a control plane starts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Start the controller manager before installing the CRDs, as when PGO is installed on a
    /// running cluster: the quota controller then does not know PostgresClusters until its
    /// next discovery (30 s), and a quota made before that is never recounted for them until
    /// its full resync (5 min). The default installs the CRDs first.
    pub crds_after_controllers: bool,
}

/// `../shared` beside the repository (`PGPLANE_SHARED_DIR` overrides it).
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("PGPLANE_SHARED_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            // Beside the checkout; a clone made elsewhere uses this machine kind's copy.
            let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
            let machine = Path::new("/work/shared");
            if !beside.exists() && machine.exists() {
                machine.to_path_buf()
            } else {
                beside
            }
        }
    };
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// Where the PGO CRDs are read from.
pub fn crd_dir() -> PathBuf {
    shared_dir().join("reference/pgo-crds")
}

/// The `KUBEBUILDER_ASSETS` directory, or why the tier is skipped.
///
/// # Panics
/// When the variable names a directory without the binaries.
pub fn assets() -> Result<PathBuf, String> {
    let unpack = shared_dir().join("envtest/unpack");
    let Some(dir) = std::env::var_os("KUBEBUILDER_ASSETS").filter(|v| !v.is_empty()) else {
        return Err(format!(
            "KUBEBUILDER_ASSETS not set (export KUBEBUILDER_ASSETS=$({}))",
            unpack.display()
        ));
    };
    let dir = PathBuf::from(dir);
    for binary in BINARIES {
        assert!(
            dir.join(binary).is_file(),
            "KUBEBUILDER_ASSETS={} has no {binary} (unpack with {})",
            dir.display(),
            unpack.display()
        );
    }
    Ok(dir)
}

/// [`assets`], or `None` after printing why the running test is skipped (for a test that
/// starts a control plane of its own).
///
/// # Panics
/// Like [`assets`].
pub fn assets_or_skip() -> Option<PathBuf> {
    match assets() {
        Ok(dir) => Some(dir),
        Err(reason) => {
            say(&format!("envtest: {} skipped: {reason}", test_name()));
            None
        }
    }
}

/// Writes to stderr past libtest's output capture (it captures `print!`/`eprint!` only).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The running test's name (libtest names each test's thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string()
}

/// The control plane shared by this test binary, started on first use; `None` (after printing
/// the skip reason) without `KUBEBUILDER_ASSETS`.
///
/// # Panics
/// When the control plane cannot start (the error names the process and its last log lines).
pub fn shared() -> Option<&'static ControlPlane> {
    static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();
    static ANNOUNCED: Once = Once::new();
    let assets = assets_or_skip()?;
    let plane = SHARED.get_or_init(|| ControlPlane::start(&assets, Options::default()));
    match plane {
        Ok(plane) => {
            ANNOUNCED.call_once(|| say(&plane.summary()));
            Some(plane)
        }
        Err(e) => panic!("envtest: the control plane did not start: {e}"),
    }
}

/// `<prefix>-<6 random hex digits>`: a name no other test of the run uses (namespaces,
/// tenants, clusters).
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..6])
}

/// A running control plane; dropping it kills its processes (the shared one lives until the
/// test binary exits, and its processes with it).
pub struct ControlPlane {
    url: String,
    etcd_url: String,
    dir: PathBuf,
    kubeconfig: PathBuf,
    authority: pki::Authority,
    admin: kube::Config,
    version: String,
    steps: Vec<(&'static str, Duration)>,
    started_in: Duration,
    runtime: tokio::runtime::Handle,
    processes: std::sync::Arc<Mutex<Vec<Process>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ControlPlane {
    /// Starts a control plane of its own (most tests use [`shared`]); blocks until it is ready.
    /// Tries again on fresh ports when a process exits during the start (a port taken by
    /// another process between choosing and binding it).
    pub fn start(assets: &Path, options: Options) -> Result<ControlPlane, String> {
        let mut last = String::new();
        for _ in 0..3 {
            match ControlPlane::start_once(assets, options.clone()) {
                Ok(plane) => return Ok(plane),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn start_once(assets: &Path, options: Options) -> Result<ControlPlane, String> {
        let begun = Instant::now();
        let dir = processes::working_dir().map_err(|e| format!("working directory: {e}"))?;
        let authority = pki::Authority::new().map_err(|e| format!("CA: {e}"))?;
        let processes = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (result_tx, result_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (assets, crd_dir, boot_dir) = (assets.to_path_buf(), crd_dir(), dir.clone());
        let (boot_processes, ca) = (processes.clone(), authority.ca.clone());
        // The keeper thread spawns the processes (their parent-death signal is tied to it)
        // and drives the plane's runtime until the plane is dropped.
        std::thread::Builder::new()
            .name("envtest-control-plane".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = result_tx.send(Err(format!("runtime: {e}")));
                        return;
                    }
                };
                let authority = pki::Authority { ca };
                let booted = runtime.block_on(start::boot(
                    &assets,
                    &crd_dir,
                    &options,
                    &boot_dir,
                    &authority,
                    &boot_processes,
                ));
                let failed = booted.is_err();
                let _ = result_tx.send(booted.map(|b| (b, runtime.handle().clone())));
                if !failed {
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                }
            })
            .map_err(|e| format!("keeper thread: {e}"))?;
        let outcome = result_rx
            .recv()
            .map_err(|_| "the keeper thread ended during the start".to_string())
            .and_then(|r| r);
        let (booted, runtime) = match outcome {
            Ok(v) => v,
            Err(e) => {
                kill_all(&processes);
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        Ok(ControlPlane {
            url: booted.url,
            etcd_url: booted.etcd_url,
            dir,
            kubeconfig: booted.kubeconfig,
            authority,
            admin: booted.admin,
            version: booted.version,
            steps: booted.steps,
            started_in: begun.elapsed(),
            runtime,
            processes,
            stop: Some(stop),
        })
    }

    /// One line: version, start time and its steps.
    pub fn summary(&self) -> String {
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|(name, d)| format!("{name} {:.1} s", d.as_secs_f64()))
            .collect();
        format!(
            "envtest: kube-apiserver {} at {} ready in {:.1} s ({}); controllers: {CONTROLLERS}",
            self.version,
            self.url,
            self.started_in.as_secs_f64(),
            steps.join(", ")
        )
    }

    /// The apiserver's URL (`https://127.0.0.1:<port>`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// etcd's client URL (plain HTTP; its JSON gateway answers `/v3/...`).
    pub fn etcd_url(&self) -> &str {
        &self.etcd_url
    }

    /// The admin kubeconfig (for a child process: `KUBECONFIG=<this>`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The apiserver's `gitVersion`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// How long the start took.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The plane's runtime: tasks spawned on it outlive the test that spawned them (enter it
    /// before building a client for such a task).
    pub fn background(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// The admin (`system:masters`) configuration.
    pub fn config(&self) -> kube::Config {
        self.admin.clone()
    }

    /// A new admin client, bound to the current runtime.
    pub fn client(&self) -> kube::Client {
        self.client_with(|_| {})
    }

    /// A new admin client whose configuration `adjust` changed (headers, timeouts, retries).
    pub fn client_with(&self, adjust: impl FnOnce(&mut kube::Config)) -> kube::Client {
        let mut config = self.config();
        adjust(&mut config);
        kube::Client::try_from(config).expect("a kube client for the envtest apiserver")
    }

    /// A client authenticated as `user` in `groups` (a client certificate from the plane's
    /// CA), subject to RBAC.
    pub async fn client_as(&self, user: &str, groups: &[&str]) -> kube::Client {
        let cert = self
            .authority
            .client(user, groups)
            .expect("a client certificate");
        let yaml =
            kubeconfig::kubeconfig_yaml(&self.url, &self.authority.ca.certificate, user, &cert);
        let config = kubeconfig::config_from_yaml(&yaml)
            .await
            .expect("a config for the user");
        kube::Client::try_from(config).expect("a kube client")
    }

    /// Creates a namespace named [`unique_name`]`(prefix)` and returns its name.
    pub async fn create_namespace(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(self.client())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
        name
    }

    /// Compacts etcd's history up to its current revision (as the apiserver does every
    /// 5 minutes); returns that revision. Reads at an older resourceVersion that reach etcd
    /// then fail with 410 Expired.
    pub async fn compact(&self) -> Result<i64, String> {
        etcd::compact(&self.etcd_url).await
    }

    /// The last `lines` lines of a process's log (`etcd`, `kube-apiserver`,
    /// `kube-controller-manager`).
    pub fn log_tail(&self, process: &str, lines: usize) -> String {
        let procs = self.processes.lock().unwrap_or_else(|p| p.into_inner());
        procs
            .iter()
            .find(|p| p.name == process)
            .map(|p| p.log_tail(lines))
            .unwrap_or_default()
    }
}

fn kill_all(processes: &Mutex<Vec<Process>>) {
    let mut procs = processes.lock().unwrap_or_else(|p| p.into_inner());
    // Reverse start order: the controller manager and the apiserver before etcd.
    while let Some(mut p) = procs.pop() {
        p.kill();
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        kill_all(&self.processes);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("url", &self.url)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}
