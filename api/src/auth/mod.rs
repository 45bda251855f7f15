//! Credential mechanics shared by the HTTP layer and the CLI: password hashing (argon2id),
//! access tokens (JWT with rotating keys), API keys (opaque, stored as SHA-256) and portal
//! sessions (an HttpOnly cookie, stored as SHA-256, with a CSRF token).
//! Nothing here touches the database or HTTP.

pub mod api_key;
pub mod jwt;
pub mod password;
pub mod session;
pub mod user_cache;
