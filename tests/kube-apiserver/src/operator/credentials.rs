//! Credential material the simulated operator writes: passwords, SCRAM-SHA-256 verifiers (real
//! ones, as PostgreSQL stores them), placeholder PEM certificates, URI escaping, and the short
//! hashes PGO uses as revisions.

use base64::Engine;
use rand::RngExt;
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A random 24-character password from PGO's policies: `AlphaNumeric` when
/// `spec.users[].password.type` says so, else `ASCII` (PGO's default, which includes
/// punctuation such as `@`, `:` and `/` that URIs must escape).
pub(crate) fn password(alphanumeric: bool) -> String {
    const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const ASCII: &[u8] =
        b"()*+,-./:;<=>?@[]^_{|}ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let alphabet = if alphanumeric { ALPHANUMERIC } else { ASCII };
    let mut rng = rand::rng();
    (0..24)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// PBKDF2-HMAC-SHA-256 with a 32-byte output (one block).
fn pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(password, &first);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac(password, &u);
        for (o, x) in out.iter_mut().zip(u) {
            *o ^= x;
        }
    }
    out
}

/// A SCRAM-SHA-256 verifier for `password`, in PostgreSQL's `pg_authid` format.
pub(crate) fn scram_verifier(password: &str) -> String {
    const ITERATIONS: u32 = 4096;
    let salt: [u8; 16] = rand::rng().random();
    let salted = pbkdf2(password.as_bytes(), &salt, ITERATIONS);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        B64.encode(salt),
        B64.encode(stored_key),
        B64.encode(server_key)
    )
}

/// Whether `verifier` (PostgreSQL's `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`)
/// was built from `password`: what a SCRAM login checks. Tests use it to tell that a rotated
/// password replaced the old one (the old password no longer matches).
pub fn scram_verifier_matches(verifier: &str, password: &str) -> bool {
    let parsed = (|| {
        let rest = verifier.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        Some((
            iterations.parse::<u32>().ok()?,
            B64.decode(salt).ok()?,
            B64.decode(stored).ok()?,
            B64.decode(server).ok()?,
        ))
    })();
    let Some((iterations, salt, stored, server)) = parsed else {
        return false;
    };
    let salted = pbkdf2(password.as_bytes(), &salt, iterations);
    let client_key = hmac(&salted, b"Client Key");
    Sha256::digest(client_key)[..] == stored[..] && hmac(&salted, b"Server Key")[..] == server[..]
}

/// A PEM block with random content: well-formed armor, not a parseable certificate.
pub(crate) fn placeholder_pem(label: &str) -> String {
    let body: Vec<u8> = (0..384).map(|_| rand::rng().random()).collect();
    let encoded = B64.encode(body);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// PEM of a CA, a server certificate it signed (valid for a year, as PGO's leaf certificates
/// are: `internal/pki`'s `defaultCertificateExpiration`) and the server's key, as PGO's
/// `reconcileClusterCertificate` writes into `<cluster>-cluster-cert`. The names are PGO's
/// Services; clients of the simulation never verify them.
pub(crate) fn cluster_certificate(cluster: &str, namespace: &str) -> [String; 3] {
    use chrono::Datelike;
    let issue = || -> Result<[String; 3], rcgen::Error> {
        let ca_key = rcgen::KeyPair::generate()?;
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "postgres-operator-ca");
        let ca_pem = ca.self_signed(&ca_key)?.pem();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate()?;
        let mut leaf =
            rcgen::CertificateParams::new(vec![format!("{cluster}-primary.{namespace}.svc")])?;
        let today = chrono::Utc::now().date_naive();
        let (month, day) = (today.month() as u8, today.day().min(28) as u8);
        leaf.not_before = rcgen::date_time_ymd(today.year(), month, day);
        leaf.not_after = rcgen::date_time_ymd(today.year() + 1, month, day);
        let leaf_pem = leaf.signed_by(&key, &issuer)?.pem();
        Ok([ca_pem, leaf_pem, key.serialize_pem()])
    };
    issue().unwrap_or_else(|_| {
        [
            placeholder_pem("CERTIFICATE"),
            placeholder_pem("CERTIFICATE"),
            placeholder_pem("EC PRIVATE KEY"),
        ]
    })
}

/// Percent-encodes a URI user or password as Go's `url.UserPassword` does (PGO builds `uri`
/// with it): RFC 3986 unreserved characters and `$&+,;=` stay as they are.
pub(crate) fn escape_userinfo(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'$'
            | b'&'
            | b'+'
            | b','
            | b';'
            | b'=' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Percent-encodes everything but RFC 3986 unreserved characters (Go's `url.QueryEscape`
/// for the characters PGO's passwords use).
pub(crate) fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A short stable hash, shaped like PGO's revision strings.
pub(crate) fn revision(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn pbkdf2_matches_a_known_vector() {
        // PBKDF2-HMAC-SHA256("password", "salt", 1) from RFC 7914's companion vectors.
        let out = pbkdf2(b"password", b"salt", 1);
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
    }

    #[test]
    fn userinfo_escaping_matches_go() {
        assert_eq!(escape_userinfo("a@b:c/d?e"), "a%40b%3Ac%2Fd%3Fe");
        assert_eq!(escape_userinfo("$&+,;=-._~"), "$&+,;=-._~");
        assert_eq!(
            escape_userinfo("()*[]{|}^<>"),
            "%28%29%2A%5B%5D%7B%7C%7D%5E%3C%3E"
        );
        assert!(password(true).chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(password(false).len(), 24);
    }

    #[test]
    fn verifier_has_postgres_shape() {
        let v = scram_verifier("secret");
        assert!(scram_verifier_matches(&v, "secret"));
        assert!(!scram_verifier_matches(&v, "other"));
        assert!(v.starts_with("SCRAM-SHA-256$4096:"), "{v}");
        assert_eq!(v.matches('$').count(), 2);
    }
}
