//! One sign-in through a provider, from the redirect to its answer. What the callback must
//! check travels in a short-lived cookie of this browser (HttpOnly, SameSite=Lax, scoped to
//! `/v1/auth/oidc`): the `state` (the answer must come back to the browser that asked: no
//! login CSRF), the `nonce` (the ID token must be the one issued for this sign-in), the PKCE
//! verifier (an intercepted code is useless without it) and where to go afterwards.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

/// The cookie's name.
pub const COOKIE: &str = "pgplane_oidc";
/// How long a sign-in may take at the provider.
pub const MAX_AGE_SECONDS: i64 = 600;

/// A sign-in in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// A path of the portal.
    pub return_to: String,
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Pending {
    pub fn new(provider: &str, return_to: &str) -> Pending {
        Pending {
            provider: provider.to_string(),
            state: random(),
            nonce: random(),
            verifier: random(),
            return_to: safe_return_to(return_to),
        }
    }

    /// The PKCE challenge (S256) of the verifier.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }

    /// `Set-Cookie` holding it.
    pub fn cookie(&self, secure: bool) -> String {
        let value = [
            self.provider.as_str(),
            &self.state,
            &self.nonce,
            &self.verifier,
            &URL_SAFE_NO_PAD.encode(&self.return_to),
        ]
        .join(".");
        let secure = if secure { "; Secure" } else { "" };
        format!(
            "{COOKIE}={value}; Path=/v1/auth/oidc; Max-Age={MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax{secure}"
        )
    }

    /// The sign-in in a `Cookie` header, if any.
    pub fn from_cookies(header: &str) -> Option<Pending> {
        let value = crate::auth::session::cookie_value(header, COOKIE)?;
        let mut parts = value.split('.');
        let (provider, state, nonce, verifier, return_to) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let return_to = String::from_utf8(URL_SAFE_NO_PAD.decode(return_to).ok()?).ok()?;
        Some(Pending {
            provider: provider.to_string(),
            state: state.to_string(),
            nonce: nonce.to_string(),
            verifier: verifier.to_string(),
            return_to: safe_return_to(&return_to),
        })
    }

    /// Whether the provider's answer carries this sign-in's `state` (constant time).
    pub fn state_matches(&self, presented: &str) -> bool {
        crate::auth::session::same_secret(&self.state, presented)
    }
}

/// `Set-Cookie` that removes the sign-in cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/v1/auth/oidc; Max-Age=0; HttpOnly; SameSite=Lax")
}

/// A path of this site to go to after sign-in; anything else (another site, `//host`,
/// a scheme) becomes `/`.
pub fn safe_return_to(path: &str) -> String {
    let local = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control());
    if local { path.to_string() } else { "/".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_survives_its_cookie_and_checks_its_state() {
        let pending = Pending::new("corp", "/t/acme/clusters?x=1");
        let cookie = pending.cookie(false);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        let header = format!("other=1; {}", cookie.split(';').next().unwrap());
        let back = Pending::from_cookies(&header).unwrap();
        assert_eq!(back, pending);
        assert!(back.state_matches(&pending.state));
        assert!(!back.state_matches("forged"));
        assert_eq!(pending.challenge().len(), 43);
        assert_ne!(pending.state, pending.nonce);
    }

    #[test]
    fn only_a_path_of_this_site_is_a_place_to_return_to() {
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(safe_return_to(bad), "/", "{bad}");
        }
        assert_eq!(safe_return_to("/t/acme"), "/t/acme");
    }
}
