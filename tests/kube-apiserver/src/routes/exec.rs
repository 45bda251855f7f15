//! `pods/{name}/exec` over WebSocket, as `kubectl exec` and kube's `Api::exec` see it since
//! Kubernetes 1.30 (the apiserver terminates the WebSocket and speaks to the kubelet itself).
//!
//! Before the upgrade, the apiserver's own checks, as Status errors: no command (400), no
//! stream (400), Pod not found (404), no `container` for a multi-container Pod (400), a
//! container the Pod does not have (400), a completed Pod (400), and the kubelet's refusal of a
//! container that is not running (400 `unable to upgrade connection: container not found`,
//! which is what a client sees). A request without a WebSocket upgrade is 400 `Upgrade request
//! required`; so is a `POST` (the SPDY/3.1 form kubectl used before 1.30, not spoken here).
//!
//! The channel protocol (`k8s.io/apimachinery/pkg/util/httpstream/wsstream`): subprotocols
//! `v5.channel.k8s.io` (preferred; adds the client's close signal, channel 255) and
//! `v4.channel.k8s.io`; every binary frame starts with its channel byte: 1 stdout, 2 stderr,
//! 3 the error channel, which carries one JSON `metav1.Status` when the command ends. The
//! server first sends an empty frame per open channel (as wsstream does), then the output,
//! the Status and a Close frame. Older subprotocols (`channel.k8s.io`, `base64.*`, v2, v3) are
//! not offered (a deviation: the apiserver still accepts them); asking only for those is 400.
//!
//! The upgrade itself is done here (RFC 6455's handshake, then tokio-tungstenite over hyper's
//! upgraded connection) rather than by axum's `ws` feature, so the build holds one WebSocket
//! stack: the one kube's client uses.
//!
//! Deviations: stdin is accepted but never delivered to the command (handlers take no input),
//! `tty` changes nothing, and the command runs to completion before the first byte is sent.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::App;
use crate::error::ApiError;
use crate::exec::{ExecOutput, ExecRequest};
use crate::store::ObjKey;

/// The subprotocols served, in the server's order of preference.
pub(crate) const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
/// Frames larger than this are split (the kubelet copies in 32 KiB chunks).
const CHUNK: usize = 32 * 1024;

/// `PodExecOptions` from the query string.
#[derive(Debug, Default)]
struct ExecOptions {
    command: Vec<String>,
    container: Option<String>,
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

fn flag(v: &str) -> bool {
    matches!(v, "true" | "1")
}

fn options(raw: Option<&str>) -> ExecOptions {
    let mut o = ExecOptions::default();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "command" => o.command.push(v.into_owned()),
            "container" if !v.is_empty() => o.container = Some(v.into_owned()),
            "stdin" => o.stdin = flag(&v),
            "stdout" => o.stdout = flag(&v),
            "stderr" => o.stderr = flag(&v),
            _ => {}
        }
    }
    o
}

fn container_names(pod: &Value) -> Vec<String> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}

/// Whether the container has a running state in the Pod's status (what the kubelet needs).
fn container_running(pod: &Value, container: &str) -> bool {
    pod.pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|s| s["name"] == container && s.pointer("/state/running").is_some())
}

/// The apiserver's and kubelet's checks; `Ok` is the request a handler gets.
fn check(app: &App, ns: &str, name: &str, o: &ExecOptions) -> Result<ExecRequest, ApiError> {
    if o.command.is_empty() {
        return Err(ApiError::bad_request("you must specify at least 1 command"));
    }
    if !(o.stdin || o.stdout || o.stderr) {
        return Err(ApiError::bad_request(
            "you must specify at least one of stdin, stdout, stderr",
        ));
    }
    let def = crate::resources::find("", "v1", "pods")
        .ok_or_else(|| ApiError::internal("pods are not served"))?;
    let key = ObjKey::new(def.key(), ns, name);
    let pod = app
        .store
        .read(|s| s.get(&key))
        .ok_or_else(|| ApiError::not_found(def, name))?;
    let names = container_names(&pod);
    let container = match &o.container {
        Some(c) => c.clone(),
        None if names.len() == 1 => names[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    if !names.contains(&container) {
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {name}"
        )));
    }
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    if let Some(phase @ ("Succeeded" | "Failed")) = phase {
        return Err(ApiError::bad_request(format!(
            "cannot exec into a container in a completed pod; current phase is {phase}"
        )));
    }
    if !container_running(&pod, &container) {
        return Err(ApiError::bad_request(format!(
            "unable to upgrade connection: container not found (\"{container}\")"
        )));
    }
    Ok(ExecRequest {
        namespace: ns.to_string(),
        pod: name.to_string(),
        container,
        command: o.command.clone(),
        pod_object: (*pod).clone(),
    })
}

/// kubelet's Status for an exit code: `Success`, or `NonZeroExitCode` with the code as the
/// `ExitCode` cause (kube's and kubectl's exit-code parsing reads exactly that).
pub(crate) fn exit_status(command: &[String], exit_code: i32) -> Value {
    if exit_code == 0 {
        return json!({ "metadata": {}, "status": "Success" });
    }
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!(
            "command terminated with non-zero exit code: error executing command [{}], exit code {exit_code}",
            command.join(" ")
        ),
        "reason": "NonZeroExitCode",
        "details": { "causes": [{ "reason": "ExitCode", "message": exit_code.to_string() }] },
    })
}

/// What the kubelet reports (through containerd and runc) when the executable does not exist
/// in the container: the process never starts, so there is no exit code, only an internal
/// error (`apierrors.NewInternalError`) on the error channel. kubectl prints it as `error:
/// Internal error occurred: ...`; CRI-O and Docker differ (Docker reports exit code 126).
pub(crate) fn missing_executable_status(command: &[String]) -> Value {
    let exec_id = uuid::Uuid::new_v4().simple().to_string();
    let binary = command.first().map(String::as_str).unwrap_or_default();
    let error = format!(
        "error executing command in container: failed to exec in container: failed to start exec \"{exec_id}\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"{binary}\": executable file not found in $PATH: unknown"
    );
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("Internal error occurred: {error}"),
        "reason": "InternalError",
        "details": { "causes": [{ "message": error }] },
        "code": 500,
    })
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(data);
    Message::Binary(bytes.into())
}

/// Whether a header holds `token` in its comma-separated list (case-insensitive).
fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The client's `Sec-WebSocket-Key` when the request is a WebSocket upgrade (RFC 6455 §4.2.1:
/// a `GET` with `Connection: upgrade`, `Upgrade: websocket` and version 13).
fn websocket_key(request: &Request) -> Option<HeaderValue> {
    let headers = request.headers();
    let upgrade = request.method() == Method::GET
        && header_has_token(headers, header::CONNECTION, "upgrade")
        && header_has_token(headers, header::UPGRADE, "websocket")
        && headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    upgrade
        .then(|| headers.get(header::SEC_WEBSOCKET_KEY).cloned())
        .flatten()
}

/// The subprotocols the client offers, in its order.
fn offered_protocols(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Streams the outcome over the upgraded socket, then closes it.
async fn stream<S>(
    mut socket: WebSocketStream<S>,
    o: ExecOptions,
    output: Option<ExecOutput>,
    status: Value,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut frames = Vec::new();
    for (open, channel) in [(o.stdout, STDOUT), (o.stderr, STDERR), (true, ERROR)] {
        if open {
            frames.push(frame(channel, &[]));
        }
    }
    if let Some(out) = &output {
        for (open, channel, data) in [
            (o.stdout, STDOUT, &out.stdout),
            (o.stderr, STDERR, &out.stderr),
        ] {
            if open {
                frames.extend(data.chunks(CHUNK).map(|c| frame(channel, c)));
            }
        }
    }
    frames.push(frame(ERROR, status.to_string().as_bytes()));
    for f in frames {
        if socket.send(f).await.is_err() {
            return;
        }
    }
    let _ = socket.send(Message::Close(None)).await;
    // Drain until the client closes (it may still send a v5 close signal for stdin).
    let drain = async { while let Some(Ok(_)) = socket.next().await {} };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drain).await;
}

/// `GET`/`POST /api/v1/namespaces/{ns}/pods/{name}/exec`.
pub(crate) async fn serve(
    State(app): State<App>,
    Path((ns, name)): Path<(String, String)>,
    mut http_request: Request,
) -> Response {
    let o = options(http_request.uri().query());
    let request = match check(&app, &ns, &name, &o) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let Some(key) = websocket_key(&http_request) else {
        return ApiError::bad_request("Upgrade request required").into_response();
    };
    let offered = offered_protocols(http_request.headers());
    let Some(protocol) = PROTOCOLS.iter().find(|p| offered.iter().any(|o| o == *p)) else {
        return ApiError::bad_request(format!(
            "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server supports {PROTOCOLS:?}"
        ))
        .into_response();
    };
    let output = app.exec.run(&request);
    let status = match &output {
        Some(out) => exit_status(&request.command, out.exit_code),
        None => missing_executable_status(&request.command),
    };
    let upgraded = hyper::upgrade::on(&mut http_request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgraded.await else {
            return;
        };
        let socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        stream(socket, o, output, status).await;
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, "upgrade".to_string()),
            (header::UPGRADE, "websocket".to_string()),
            (
                header::SEC_WEBSOCKET_ACCEPT,
                derive_accept_key(key.as_bytes()),
            ),
            (header::SEC_WEBSOCKET_PROTOCOL, (*protocol).to_string()),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_match_the_kubelet() {
        let cmd = vec!["psql".to_string(), "-c".to_string(), "x".to_string()];
        assert_eq!(
            exit_status(&cmd, 0),
            json!({ "metadata": {}, "status": "Success" })
        );
        let failed = exit_status(&cmd, 2);
        assert_eq!(
            failed["message"],
            "command terminated with non-zero exit code: error executing command [psql -c x], exit code 2"
        );
        assert_eq!(failed["details"]["causes"][0]["message"], "2");
        let missing = missing_executable_status(&["foo".to_string()]);
        assert_eq!(missing["code"], 500);
        assert!(
            missing["message"]
                .as_str()
                .is_some_and(|m| m.contains("exec: \"foo\": executable file not found in $PATH"))
        );
    }

    #[test]
    fn options_keep_the_command_order() {
        let o = options(Some("command=a&stdout=true&command=b&container=c&stderr=1"));
        assert_eq!(o.command, ["a", "b"]);
        assert_eq!(o.container.as_deref(), Some("c"));
        assert!(o.stdout && o.stderr && !o.stdin);
    }
}
