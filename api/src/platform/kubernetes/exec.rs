//! Running a command in a cluster's primary Pod (`kubectl exec`): how pgplane reads what PGO's
//! status does not carry (the backups in the repository, from `pgbackrest info`) and does what
//! PGO has no field for (`CREATE EXTENSION`, with `psql` over the local socket as `postgres`).
//! Needs `create` on `pods/exec` in the tenant namespaces.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, ListParams};
use tokio::io::AsyncReadExt;

use super::errors::classify;
use super::labels::{PGO_CLUSTER, PGO_INSTANCE, PGO_ROLE};
use crate::platform::PlatformError;

/// The container of an instance Pod that runs PostgreSQL (and has `psql` and `pgbackrest`).
pub const DATABASE_CONTAINER: &str = "database";

/// What a finished command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl ExecOutput {
    /// The command's own explanation of a failure: its stderr, or its exit code.
    pub fn failure(&self) -> String {
        let stderr = self.stderr.trim();
        if stderr.is_empty() {
            format!("exit code {}", self.exit_code)
        } else {
            stderr.to_string()
        }
    }
}

/// The cluster's Pods matching `selector` (a label selector added to the cluster's own).
pub async fn cluster_pods(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
    selector: &str,
) -> Result<Vec<Pod>, PlatformError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let selector = format!("{PGO_CLUSTER}={cluster},{selector}");
    let listed = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| classify(&e))?;
    Ok(listed.items)
}

/// The cluster's PostgreSQL instance Pods.
pub async fn instance_pods(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
) -> Result<Vec<Pod>, PlatformError> {
    cluster_pods(client, namespace, cluster, PGO_INSTANCE).await
}

/// The name of the cluster's primary Pod (Patroni's `master`/`primary` role label, which a
/// standby cluster's leader carries too); `None` while no instance leads (stopped, restoring,
/// failing over).
pub async fn primary_pod(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
) -> Result<Option<String>, PlatformError> {
    let selector = format!("{PGO_ROLE} in (master,primary)");
    let pods = cluster_pods(client, namespace, cluster, &selector).await?;
    Ok(pods.into_iter().find_map(|pod| pod.metadata.name))
}

/// Runs `argv` in the `database` container of the cluster's primary; a cluster without a
/// running primary is a transient condition (it is starting, restoring or failing over).
pub async fn in_primary(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
    argv: &[&str],
) -> Result<ExecOutput, PlatformError> {
    let Some(pod) = primary_pod(client, namespace, cluster).await? else {
        return Err(PlatformError::Transient(format!(
            "{cluster} has no running primary to run `{}` in",
            argv.first().copied().unwrap_or_default()
        )));
    };
    run(client, namespace, &pod, argv).await
}

/// Runs one SQL statement with `psql` in the cluster's primary, connected to `database` over
/// the local socket as `postgres`: unaligned, tuples only, stopping at the first error. The
/// database travels as its own argument, never inside SQL.
pub async fn psql_in_primary(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
    database: &str,
    sql: &str,
) -> Result<ExecOutput, PlatformError> {
    let argv = [
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-At",
        "-d",
        database,
        "-c",
        sql,
    ];
    in_primary(client, namespace, cluster, &argv).await
}

/// Runs `argv` in the `database` container of `pod` and collects its output and exit code.
pub async fn run(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    argv: &[&str],
) -> Result<ExecOutput, PlatformError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = AttachParams::default()
        .container(DATABASE_CONTAINER)
        .stdin(false)
        .stdout(true)
        .stderr(true);
    let mut process = pods
        .exec(pod, argv.iter().map(|a| a.to_string()), &params)
        .await
        .map_err(|e| classify(&e))?;
    let status = process.take_status();
    let (mut stdout, mut stderr) = (process.stdout(), process.stderr());
    let read_out = async {
        let mut text = String::new();
        if let Some(s) = stdout.as_mut() {
            s.read_to_string(&mut text).await.map(|_| text)
        } else {
            Ok(text)
        }
    };
    let read_err = async {
        let mut text = String::new();
        if let Some(s) = stderr.as_mut() {
            s.read_to_string(&mut text).await.map(|_| text)
        } else {
            Ok(text)
        }
    };
    let (out, err) = tokio::join!(read_out, read_err);
    let io = |e: std::io::Error| PlatformError::Transient(format!("exec in {pod}: {e}"));
    let (stdout, stderr) = (out.map_err(io)?, err.map_err(io)?);
    let status = match status {
        Some(status) => status.await,
        None => None,
    };
    let exit_code = exit_code(status.as_ref()).map_err(|message| {
        PlatformError::Transient(format!(
            "exec in {pod} ended without an exit code: {message}"
        ))
    })?;
    let _ = process.join().await;
    Ok(ExecOutput {
        stdout,
        stderr,
        exit_code,
    })
}

/// The exit code in the Status the kubelet sends when a command ends: `Success` is 0, a
/// `NonZeroExitCode` failure carries the code as its `ExitCode` cause; anything else (no
/// status, another failure) means the command did not run to its end.
fn exit_code(
    status: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
) -> Result<i32, String> {
    let Some(status) = status else {
        return Err("the connection closed before the command's status".into());
    };
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    if status.reason.as_deref() == Some("NonZeroExitCode") {
        let code = status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|causes| {
                causes
                    .iter()
                    .find(|c| c.reason.as_deref() == Some("ExitCode"))
            })
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.parse().ok());
        if let Some(code) = code {
            return Ok(code);
        }
    }
    Err(status
        .message
        .clone()
        .unwrap_or_else(|| format!("{status:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;

    fn status(json: serde_json::Value) -> Status {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn exit_codes_come_from_the_kubelet_status() {
        assert_eq!(
            exit_code(Some(&status(
                serde_json::json!({"metadata": {}, "status": "Success"})
            ))),
            Ok(0)
        );
        let failed = status(serde_json::json!({
            "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": "command terminated with non-zero exit code: exit code 2",
            "details": {"causes": [{"reason": "ExitCode", "message": "2"}]},
        }));
        assert_eq!(exit_code(Some(&failed)), Ok(2));
        let other = status(serde_json::json!({
            "metadata": {}, "status": "Failure", "message": "container not found",
        }));
        assert_eq!(exit_code(Some(&other)), Err("container not found".into()));
        assert!(exit_code(None).is_err());
    }
}
