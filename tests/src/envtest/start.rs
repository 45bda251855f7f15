//! Starting one control plane: etcd, kube-apiserver, the PGO CRDs, kube-controller-manager,
//! each waited for by polling (no fixed sleeps), with the time each step took.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, ResourceQuota, ServiceAccount};
use kube::api::{Api, PostParams};

use super::Options;
use super::kubeconfig::{config_from_yaml, kubeconfig_yaml};
use super::pki::{Authority, service_account_keys};
use super::processes::{Process, free_port};

/// How long one component may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Poll interval of every readiness check.
const POLL: Duration = Duration::from_millis(50);
/// The controllers the tests need (garbage collection, namespace deletion, quota usage,
/// service accounts and their tokens, and the claim-protection finalizer's removal, without
/// which no deleted claim and no namespace holding one ever goes). The statefulset, deployment
/// and replicaset controllers are left out on purpose: the simulated operator writes
/// StatefulSets, Pods and their status itself, and a real controller would fight it.
pub const CONTROLLERS: &str = "garbage-collector-controller,namespace-controller,\
    resourcequota-controller,serviceaccount-token-controller,serviceaccount-controller,\
    persistentvolumeclaim-protection-controller";
/// The quota the start creates to know the quota controller counts PostgresClusters.
const PROBE_QUOTA: &str = "envtest-probe";
/// The resource name PostgresClusters are counted under in a ResourceQuota.
pub const POSTGRESCLUSTER_COUNT: &str = "count/postgresclusters.postgres-operator.crunchydata.com";

/// What a successful start produced.
pub struct Booted {
    pub url: String,
    pub etcd_url: String,
    pub kubeconfig: PathBuf,
    pub admin: kube::Config,
    pub version: String,
    pub steps: Vec<(&'static str, Duration)>,
}

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}

fn arg(name: &str, value: impl std::fmt::Display) -> String {
    format!("--{name}={value}")
}

/// Polls `probe` until it returns `Some`, failing after [`READY_TIMEOUT`] or as soon as one of
/// `processes` has exited.
pub(super) async fn ready<T, F, Fut>(
    what: &str,
    processes: &Mutex<Vec<Process>>,
    mut probe: F,
) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let last = match probe().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        {
            let mut procs = processes.lock().unwrap_or_else(|p| p.into_inner());
            for p in procs.iter_mut() {
                if let Some(exit) = p.exited() {
                    return Err(format!(
                        "{exit} while waiting for {what}; last lines of {}:\n{}",
                        p.log.display(),
                        p.log_tail(30)
                    ));
                }
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{what} not ready after {READY_TIMEOUT:?}: {last}"));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn spawn(
    processes: &Mutex<Vec<Process>>,
    name: &'static str,
    assets: &Path,
    args: Vec<String>,
    dir: &Path,
) -> Result<(), String> {
    let binary = assets.join(name);
    let process = Process::spawn(name, &binary, &args, dir)
        .map_err(|e| format!("starting {}: {e}", binary.display()))?;
    processes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(process);
    Ok(())
}

async fn start_etcd(
    assets: &Path,
    dir: &Path,
    processes: &Mutex<Vec<Process>>,
) -> Result<String, String> {
    let (client_port, peer_port) = (
        free_port().map_err(|e| e.to_string())?,
        free_port().map_err(|e| e.to_string())?,
    );
    let client_url = format!("http://127.0.0.1:{client_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let args = vec![
        arg("name", "default"),
        arg("data-dir", dir.join("etcd").display()),
        arg("listen-client-urls", &client_url),
        arg("advertise-client-urls", &client_url),
        arg("listen-peer-urls", &peer_url),
        arg("initial-advertise-peer-urls", &peer_url),
        arg("initial-cluster", format!("default={peer_url}")),
        arg("quota-backend-bytes", 1u64 << 30),
        "--unsafe-no-fsync".into(),
        arg("log-level", "warn"),
    ];
    spawn(processes, "etcd", assets, args, dir)?;
    let health = format!("{client_url}/health");
    ready("etcd", processes, || async {
        let body = crate::client::get(&health)
            .await
            .map_err(|e| e.to_string())?
            .text();
        body.contains("\"health\":\"true\"")
            .then_some(())
            .ok_or(body)
    })
    .await?;
    Ok(client_url)
}

/// Files the apiserver and the controller manager read.
struct Files {
    ca: PathBuf,
    serving_cert: PathBuf,
    serving_key: PathBuf,
    sa_key: PathBuf,
    sa_pub: PathBuf,
}

fn write_files(dir: &Path, authority: &Authority) -> Result<Files, String> {
    let serving = authority.serving().map_err(|e| e.to_string())?;
    let (sa_key, sa_pub) = service_account_keys().map_err(|e| e.to_string())?;
    Ok(Files {
        ca: write(dir, "ca.crt", &authority.ca.certificate)?,
        serving_cert: write(dir, "apiserver.crt", &serving.certificate)?,
        serving_key: write(dir, "apiserver.key", &serving.key)?,
        sa_key: write(dir, "sa.key", &sa_key)?,
        sa_pub: write(dir, "sa.pub", &sa_pub)?,
    })
}

async fn start_apiserver(
    assets: &Path,
    dir: &Path,
    etcd_url: &str,
    files: &Files,
    processes: &Mutex<Vec<Process>>,
) -> Result<u16, String> {
    let port = free_port().map_err(|e| e.to_string())?;
    let args = vec![
        arg("etcd-servers", etcd_url),
        arg("bind-address", "127.0.0.1"),
        arg("advertise-address", "127.0.0.1"),
        arg("secure-port", port),
        arg("tls-cert-file", files.serving_cert.display()),
        arg("tls-private-key-file", files.serving_key.display()),
        arg("client-ca-file", files.ca.display()),
        arg(
            "service-account-issuer",
            "https://kubernetes.default.svc.cluster.local",
        ),
        arg("service-account-key-file", files.sa_pub.display()),
        arg("service-account-signing-key-file", files.sa_key.display()),
        arg("service-cluster-ip-range", "10.96.0.0/16"),
        arg("authorization-mode", "Node,RBAC"),
        arg("allow-privileged", true),
        arg("profiling", false),
        // The `kubernetes` Service's endpoint cannot be a loopback address: without this the
        // apiserver logs a failed sync every ten seconds.
        arg("endpoint-reconciler-type", "none"),
    ];
    spawn(processes, "kube-apiserver", assets, args, dir)?;
    Ok(port)
}

async fn wait_apiserver(
    client: &kube::Client,
    processes: &Mutex<Vec<Process>>,
) -> Result<String, String> {
    ready("kube-apiserver /readyz", processes, || async {
        let request = http::Request::get("/readyz")
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        client
            .request_text(request)
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    let version = client
        .apiserver_version()
        .await
        .map_err(|e| format!("GET /version: {e}"))?;
    Ok(version.git_version)
}

async fn start_controller_manager(
    assets: &Path,
    dir: &Path,
    kubeconfig: &Path,
    files: &Files,
    processes: &Mutex<Vec<Process>>,
) -> Result<(), String> {
    let args = vec![
        arg("kubeconfig", kubeconfig.display()),
        arg("authentication-kubeconfig", kubeconfig.display()),
        arg("authorization-kubeconfig", kubeconfig.display()),
        arg("bind-address", "127.0.0.1"),
        arg("secure-port", 0),
        arg("leader-elect", false),
        arg("service-account-private-key-file", files.sa_key.display()),
        arg("root-ca-file", files.ca.display()),
        arg("use-service-account-credentials", false),
        arg("controllers", CONTROLLERS),
    ];
    spawn(processes, "kube-controller-manager", assets, args, dir)
}

/// Waits until the controller manager runs: the serviceaccount controller made `default` in
/// `default`, and the quota controller counts PostgresClusters (a probe quota in `default`
/// gets a usage for them). With `crds_installed == false` only the first is waited for.
async fn wait_controller_manager(
    client: &kube::Client,
    processes: &Mutex<Vec<Process>>,
    crds_installed: bool,
) -> Result<(), String> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    ready("the serviceaccount controller", processes, || async {
        match accounts.get_opt("default").await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err("no default ServiceAccount yet".into()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await?;
    if !crds_installed {
        return Ok(());
    }
    let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), "default");
    let probe = serde_json::json!({
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": { "name": PROBE_QUOTA },
        "spec": { "hard": { POSTGRESCLUSTER_COUNT: "1000" } },
    });
    let probe: ResourceQuota = serde_json::from_value(probe).map_err(|e| e.to_string())?;
    quotas
        .create(&PostParams::default(), &probe)
        .await
        .map_err(|e| format!("creating the probe quota: {e}"))?;
    ready(
        "the resourcequota controller counting PostgresClusters",
        processes,
        || async {
            let q = quotas.get(PROBE_QUOTA).await.map_err(|e| e.to_string())?;
            let used = q.status.and_then(|s| s.used).unwrap_or_default();
            used.contains_key(POSTGRESCLUSTER_COUNT)
                .then_some(())
                .ok_or_else(|| "no usage yet".to_string())
        },
    )
    .await
}

/// Starts everything in order (see [`Options`]); the children land in `processes`.
pub async fn boot(
    assets: &Path,
    crd_dir: &Path,
    options: &Options,
    dir: &Path,
    authority: &Authority,
    processes: &Mutex<Vec<Process>>,
) -> Result<Booted, String> {
    let mut steps = Vec::new();
    let mut at = Instant::now();
    let mut step = |name: &'static str, steps: &mut Vec<(&'static str, Duration)>| {
        steps.push((name, at.elapsed()));
        at = Instant::now();
    };
    let etcd_url = start_etcd(assets, dir, processes).await?;
    step("etcd", &mut steps);

    let files = write_files(dir, authority)?;
    let port = start_apiserver(assets, dir, &etcd_url, &files, processes).await?;
    let url = format!("https://127.0.0.1:{port}");
    let admin_cert = authority
        .client("envtest-admin", &["system:masters"])
        .map_err(|e| e.to_string())?;
    let yaml = kubeconfig_yaml(
        &url,
        &authority.ca.certificate,
        "envtest-admin",
        &admin_cert,
    );
    let kubeconfig = write(dir, "admin.kubeconfig", &yaml)?;
    let admin = config_from_yaml(&yaml).await?;
    let client = kube::Client::try_from(admin.clone()).map_err(|e| e.to_string())?;
    let version = wait_apiserver(&client, processes).await?;
    step("kube-apiserver", &mut steps);

    if options.crds_after_controllers {
        start_controller_manager(assets, dir, &kubeconfig, &files, processes).await?;
        wait_controller_manager(&client, processes, false).await?;
        step("kube-controller-manager", &mut steps);
        super::crds::install(&client, crd_dir, processes).await?;
        step("PGO CRDs", &mut steps);
    } else {
        super::crds::install(&client, crd_dir, processes).await?;
        step("PGO CRDs", &mut steps);
        start_controller_manager(assets, dir, &kubeconfig, &files, processes).await?;
        wait_controller_manager(&client, processes, true).await?;
        step("kube-controller-manager", &mut steps);
    }
    // Namespaces are served by now; touch one so a failure here names the cause.
    Api::<Namespace>::all(client)
        .get("default")
        .await
        .map_err(|e| format!("GET namespace default: {e}"))?;
    Ok(Booted {
        url,
        etcd_url,
        kubeconfig,
        admin,
        version,
        steps,
    })
}
