//! Kubeconfigs of the control plane's identities (client certificates inline, so one file is
//! all a child process needs) and kube configurations read from them.

use super::pki::Pem;

/// A kubeconfig with the client certificate inline.
pub fn kubeconfig_yaml(url: &str, ca: &str, user: &str, client: &Pem) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let lines = [
        "apiVersion: v1".to_string(),
        "kind: Config".into(),
        "clusters:".into(),
        "- name: envtest".into(),
        "  cluster:".into(),
        format!("    server: {url}"),
        format!("    certificate-authority-data: {}", b64(ca)),
        "users:".into(),
        format!("- name: {user}"),
        "  user:".into(),
        format!("    client-certificate-data: {}", b64(&client.certificate)),
        format!("    client-key-data: {}", b64(&client.key)),
        "contexts:".into(),
        "- name: envtest".into(),
        "  context:".into(),
        "    cluster: envtest".into(),
        format!("    user: {user}"),
        "    namespace: default".into(),
        "current-context: envtest".into(),
    ];
    lines.join("\n") + "\n"
}

/// A kube config from kubeconfig YAML.
pub async fn config_from_yaml(yaml: &str) -> Result<kube::Config, String> {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(yaml).map_err(|e| e.to_string())?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|e| e.to_string())
}
