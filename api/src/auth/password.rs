//! Password hashing with argon2id (PHC strings), plus a dummy verify so that a login for an
//! unknown email costs the same time as a wrong password.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use std::sync::LazyLock;

/// Shortest password accepted for a user.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (argon2 cost is linear in input; avoid hashing megabytes).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Hashes a password with argon2id and a random salt.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(Argon2::default()
        .hash_password(password.as_bytes())?
        .to_string())
}

/// True when `password` matches the PHC string `hash`; false for any malformed hash.
pub fn verify(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("pgplane-dummy-password-for-timing").unwrap_or_default());

/// Spends the time of one verification, for logins naming an unknown account.
pub fn verify_dummy(password: &str) {
    let _ = verify(password, &DUMMY_HASH);
}

/// Why a new password is refused, if it is.
pub fn check_strength(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("must be at most {MAX_PASSWORD_CHARS} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse battery!", &h));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_strength("short").is_err());
        assert!(check_strength(&"x".repeat(300)).is_err());
        assert!(check_strength("long enough pass").is_ok());
    }
}
