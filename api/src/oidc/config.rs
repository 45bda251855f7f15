//! The identity providers pgplane trusts, from `PGPLANE_OIDC_PROVIDERS_FILE` (JSON):
//!
//! ```json
//! [{"name": "corp", "display_name": "Corp SSO", "issuer": "https://login.example.com",
//!   "client_id": "pgplane", "client_secret_file": "/etc/pgplane/oidc-corp-secret",
//!   "scopes": ["openid", "email", "profile", "groups"], "groups_claim": "groups",
//!   "audience": "pgplane-api"}]
//! ```
//!
//! `audience` is what the provider's access tokens for pgplane's API carry in `aud` (the API
//! accepts them when set); the client secret stays in its own file, never in the list.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One provider, as configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Names it in URLs and group rules: lower-case letters, digits and `-`.
    pub name: String,
    /// What the sign-in button says.
    #[serde(default)]
    pub display_name: Option<String>,
    pub issuer: String,
    pub client_id: String,
    /// A file holding the client secret.
    pub client_secret_file: PathBuf,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim of the ID token (and access token) listing the person's groups.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// `aud` of the provider's access tokens for pgplane's API; without it the API does not
    /// accept them (sign-in still works).
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(skip)]
    pub client_secret: String,
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

fn default_groups_claim() -> String {
    "groups".into()
}

/// Reads and checks the providers file (and each client secret file).
pub fn load(path: &Path) -> Result<Vec<ProviderConfig>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut providers: Vec<ProviderConfig> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut names = std::collections::BTreeSet::new();
    for provider in &mut providers {
        let name = provider.name.clone();
        let valid_name = !name.is_empty()
            && name.len() <= 40
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_name {
            return Err(format!(
                "provider `{name}`: the name must be 1-40 of a-z, 0-9 and `-`"
            ));
        }
        if !names.insert(name.clone()) {
            return Err(format!("provider `{name}` appears twice"));
        }
        let issuer = url::Url::parse(&provider.issuer)
            .map_err(|e| format!("provider `{name}`: issuer: {e}"))?;
        let loopback = issuer
            .host_str()
            .is_some_and(|h| h == "127.0.0.1" || h == "localhost" || h == "[::1]");
        if issuer.scheme() != "https" && !(issuer.scheme() == "http" && loopback) {
            return Err(format!(
                "provider `{name}`: the issuer must be https (plain http only on loopback, for tests)"
            ));
        }
        if !provider.scopes.iter().any(|s| s == "openid") {
            return Err(format!("provider `{name}`: scopes must include `openid`"));
        }
        let secret = std::fs::read_to_string(&provider.client_secret_file).map_err(|e| {
            format!(
                "provider `{name}`: cannot read the client secret file {}: {e}",
                provider.client_secret_file.display()
            )
        })?;
        provider.client_secret = secret.trim().to_string();
        if provider.client_secret.is_empty() {
            return Err(format!(
                "provider `{name}`: the client secret file is empty"
            ));
        }
    }
    Ok(providers)
}
