//! Portal sessions: the browser keeps a random 256-bit session id in a cookie scripts cannot
//! read (`HttpOnly`), sent only by same-site navigations and requests (`SameSite=Lax`), and
//! only over TLS when the portal is served over TLS (`Secure`). The server stores the id's
//! SHA-256. Requests authenticated by the cookie that change state must also carry the
//! session's CSRF token in `X-CSRF-Token`: a token derived from the session id, which the
//! portal learns from the sign-in answer (or `GET /v1/auth/session`) and another site cannot.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

/// The cookie's name.
pub const COOKIE: &str = "pgplane_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A new session id (what the cookie holds).
pub fn generate_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a session id.
pub fn hash(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

/// The CSRF token of the session `id`: another site can neither read the cookie nor derive
/// this from anything it sees.
pub fn csrf_token(id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"pgplane-csrf:")
        .chain_update(id.as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(digest)
}

/// Whether `presented` is the session's CSRF token, compared in constant time.
pub fn csrf_matches(id: &str, presented: &str) -> bool {
    same_secret(&csrf_token(id), presented)
}

/// Whether two secrets are equal, compared in constant time (no early exit an attacker could
/// time).
pub fn same_secret(expected: &str, presented: &str) -> bool {
    expected.len() == presented.len()
        && expected
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The session id in a request's `Cookie` headers, if any.
pub fn id_in(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(id_from_cookies)
        .map(str::to_string)
}

/// The session id in a `Cookie` header, if any.
pub fn id_from_cookies(header: &str) -> Option<&str> {
    cookie_value(header, COOKIE).filter(|value| !value.is_empty())
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.trim())
}

/// `Set-Cookie` for a new session lasting `max_age_seconds`.
pub fn set_cookie(id: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{secure}")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_belongs_to_its_session() {
        let (one, two) = (generate_id(), generate_id());
        assert_ne!(one, two);
        assert!(csrf_matches(&one, &csrf_token(&one)));
        assert!(!csrf_matches(&one, &csrf_token(&two)));
        assert!(!csrf_matches(&one, ""));
        assert_ne!(csrf_token(&one), one, "the token is not the session id");
    }

    #[test]
    fn the_session_id_is_found_among_other_cookies() {
        assert_eq!(
            id_from_cookies("a=1; pgplane_session=xyz; b=2"),
            Some("xyz")
        );
        assert_eq!(id_from_cookies("pgplane_session="), None);
        assert_eq!(id_from_cookies("other=1"), None);
        assert_eq!(id_from_cookies("pgplane_sessionx=1"), None);
    }

    #[test]
    fn the_cookie_is_http_only_same_site_lax_and_secure_over_tls() {
        let cookie = set_cookie("abc", 60, true);
        assert_eq!(
            cookie,
            "pgplane_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!set_cookie("abc", 60, false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }
}
