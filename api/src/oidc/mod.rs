//! Single sign-on through OpenID Connect providers ([`config`]): the portal signs in with the
//! authorization-code flow with PKCE, `state` and `nonce` (`http::sso`), and the API accepts the
//! providers' access tokens ([`provider`] verifies both). Who a provider's subject is, and what
//! their groups grant, is `service::sso`.

pub mod config;
pub mod http;
pub mod login;
pub mod provider;

use std::sync::Arc;

pub use provider::{OidcError, Provider};

/// The configured providers and how people may sign in.
pub struct Oidc {
    providers: Vec<Arc<Provider>>,
    /// Where browsers reach pgplane (the redirect URI's base), when providers are configured.
    pub public_url: Option<String>,
    /// Whether email + password sign-in is allowed.
    pub password_login: bool,
}

impl Oidc {
    /// From configuration (reading the providers file and their client secrets).
    pub fn from_config(config: &crate::config::SsoConfig) -> Result<Oidc, String> {
        let providers = match &config.oidc_providers_file {
            Some(path) => config::load(path)?,
            None => Vec::new(),
        };
        if !providers.is_empty() && config.public_url.is_none() {
            return Err("PGPLANE_PUBLIC_URL is required with identity providers (their redirect URI is under it)".into());
        }
        if !config.password_login && providers.is_empty() {
            return Err(
                "PGPLANE_PASSWORD_LOGIN=false needs an identity provider: nobody could sign in"
                    .into(),
            );
        }
        let client = Arc::new(http::HttpClient::new()?);
        Ok(Oidc {
            providers: providers
                .into_iter()
                .map(|p| Arc::new(Provider::new(p, client.clone())))
                .collect(),
            public_url: config
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            password_login: config.password_login,
        })
    }

    pub fn providers(&self) -> &[Arc<Provider>] {
        &self.providers
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<Provider>> {
        self.providers.iter().find(|p| p.config.name == name)
    }

    /// The provider whose access tokens carry `issuer`, if the API accepts them.
    pub fn accepting_access_tokens_from(&self, issuer: &str) -> Option<&Arc<Provider>> {
        self.providers
            .iter()
            .find(|p| p.config.issuer == issuer && p.config.audience.is_some())
    }

    /// The redirect URI registered with `provider`.
    pub fn redirect_uri(&self, provider: &str) -> Option<String> {
        let base = self.public_url.as_ref()?;
        Some(format!("{base}/v1/auth/oidc/{provider}/callback"))
    }
}

/// The `iss` claim of a JWT, unverified: only to pick who verifies it.
pub fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_string)
}
