//! The sealed form of one secret (envelope encryption): the secret is encrypted with a data key
//! of its own, and the data key is encrypted ("wrapped") with a key-encryption key. Both use
//! AES-256-GCM (ring) with a random 96-bit nonce; a fresh data key per secret keeps nonce reuse
//! out of reach however many secrets there are.
//!
//! Text form: `pgplane:v1:<key id>:<wrapped data key>:<ciphertext>` (URL-safe base64, each
//! part `nonce ‖ ciphertext ‖ tag`). The secret's ciphertext is bound to where it is stored
//! (its context, e.g. `clusters/<id>/password`), so a value copied to another row does not
//! open there; the wrapped data key is bound to its key id. Rotating the key-encryption key
//! rewraps the data key and leaves the ciphertext as it is.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// What every sealed value starts with.
pub const PREFIX: &str = "pgplane:v1:";

/// Length of every key: key-encryption keys and data keys.
pub const KEY_LEN: usize = 32;

/// A secret in its sealed text form, as it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed(String);

/// Why a sealed value does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the secret is sealed under key `{0}`, which is not configured")]
    UnknownKey(String),
    #[error(
        "the secret does not open with key `{0}` (another key of that name, or a damaged value)"
    )]
    DoesNotOpen(String),
    #[error("the stored value is not a sealed secret")]
    Malformed,
}

/// The parts of a sealed value.
struct Parts<'a> {
    key_id: &'a str,
    wrapped_key: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl Sealed {
    /// A stored value, if it has the sealed form (plaintext from before encryption does not).
    pub fn parse(text: impl Into<String>) -> Option<Sealed> {
        Self::try_from_stored(text.into()).ok()
    }

    /// A stored value as sealed, or back as it was when it is plaintext.
    pub fn try_from_stored(text: String) -> Result<Sealed, String> {
        if text.starts_with(PREFIX) {
            Ok(Sealed(text))
        } else {
            Err(text)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The id of the key-encryption key that wrapped this value's data key.
    pub fn key_id(&self) -> &str {
        self.0[PREFIX.len()..].split(':').next().unwrap_or("")
    }

    fn parts(&self) -> Result<Parts<'_>, OpenError> {
        let mut fields = self.0[PREFIX.len()..].split(':');
        let (Some(key_id), Some(wrapped), Some(ciphertext), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(OpenError::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| OpenError::Malformed)
        };
        Ok(Parts {
            key_id,
            wrapped_key: decode(wrapped)?,
            ciphertext: decode(ciphertext)?,
        })
    }
}

/// Seals `plaintext` for `context` under the key-encryption key `kek` named `key_id`.
pub fn seal(key_id: &str, kek: &[u8; KEY_LEN], plaintext: &[u8], context: &str) -> Sealed {
    let mut data_key = [0u8; KEY_LEN];
    fill_random(&mut data_key);
    let wrapped = encrypt(kek, wrap_aad(key_id).as_bytes(), &data_key);
    let ciphertext = encrypt(&data_key, context.as_bytes(), plaintext);
    data_key.fill(0);
    assemble(key_id, &wrapped, &ciphertext)
}

/// Opens `sealed` for `context`; `kek` finds a key-encryption key by id.
pub fn open(
    sealed: &Sealed,
    context: &str,
    kek: impl Fn(&str) -> Option<[u8; KEY_LEN]>,
) -> Result<Vec<u8>, OpenError> {
    let parts = sealed.parts()?;
    let mut data_key = unwrap_data_key(&parts, &kek)?;
    let plaintext = decrypt(&data_key, context.as_bytes(), &parts.ciphertext)
        .ok_or_else(|| OpenError::DoesNotOpen(parts.key_id.to_string()));
    data_key.fill(0);
    plaintext
}

/// The same secret with its data key wrapped under `to_key_id` instead (the ciphertext, and so
/// the secret and its context, unchanged).
pub fn rewrap(
    sealed: &Sealed,
    kek: impl Fn(&str) -> Option<[u8; KEY_LEN]>,
    to_key_id: &str,
    to_kek: &[u8; KEY_LEN],
) -> Result<Sealed, OpenError> {
    let parts = sealed.parts()?;
    let mut data_key = unwrap_data_key(&parts, &kek)?;
    let wrapped = encrypt(to_kek, wrap_aad(to_key_id).as_bytes(), &data_key);
    data_key.fill(0);
    Ok(assemble(to_key_id, &wrapped, &parts.ciphertext))
}

/// A new random key-encryption key.
pub fn generate_key() -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    fill_random(&mut key);
    key
}

fn unwrap_data_key(
    parts: &Parts<'_>,
    kek: &impl Fn(&str) -> Option<[u8; KEY_LEN]>,
) -> Result<[u8; KEY_LEN], OpenError> {
    let id = parts.key_id;
    let kek = kek(id).ok_or_else(|| OpenError::UnknownKey(id.to_string()))?;
    let data_key = decrypt(&kek, wrap_aad(id).as_bytes(), &parts.wrapped_key)
        .ok_or_else(|| OpenError::DoesNotOpen(id.to_string()))?;
    data_key
        .try_into()
        .map_err(|_| OpenError::DoesNotOpen(id.to_string()))
}

fn wrap_aad(key_id: &str) -> String {
    format!("pgplane-data-key:{key_id}")
}

fn assemble(key_id: &str, wrapped: &[u8], ciphertext: &[u8]) -> Sealed {
    Sealed(format!(
        "{PREFIX}{key_id}:{}:{}",
        URL_SAFE_NO_PAD.encode(wrapped),
        URL_SAFE_NO_PAD.encode(ciphertext)
    ))
}

fn fill_random(buffer: &mut [u8]) {
    // The operating system's generator; it fails only on a broken system, where sealing
    // anything would be wrong.
    SystemRandom::new()
        .fill(buffer)
        .expect("the operating system's random number generator failed");
}

/// `nonce ‖ ciphertext ‖ tag`.
fn encrypt(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let key = aead_key(key);
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce);
    let mut in_out = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut in_out,
    )
    .expect("AES-GCM seals any input of this size");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&in_out);
    out
}

fn decrypt(key: &[u8; KEY_LEN], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut in_out = ciphertext.to_vec();
    let plaintext = aead_key(key)
        .open_in_place(nonce, Aad::from(aad), &mut in_out)
        .ok()?;
    Some(plaintext.to_vec())
}

fn aead_key(key: &[u8; KEY_LEN]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte AES-256 key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; KEY_LEN] = [7; KEY_LEN];
    const B: [u8; KEY_LEN] = [9; KEY_LEN];

    fn keys(id: &str) -> Option<[u8; KEY_LEN]> {
        match id {
            "a" => Some(A),
            "b" => Some(B),
            _ => None,
        }
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_its_context() {
        let sealed = seal("a", &A, b"hunter2", "clusters/1/password");
        assert!(sealed.as_str().starts_with("pgplane:v1:a:"));
        assert!(!sealed.as_str().contains("hunter2"));
        assert_eq!(
            open(&sealed, "clusters/1/password", keys).unwrap(),
            b"hunter2"
        );
        assert_eq!(
            open(&sealed, "clusters/2/password", keys),
            Err(OpenError::DoesNotOpen("a".into()))
        );
        let wrong = |_: &str| Some(B);
        assert_eq!(
            open(&sealed, "clusters/1/password", wrong),
            Err(OpenError::DoesNotOpen("a".into()))
        );
        assert_eq!(
            open(&sealed, "clusters/1/password", |_| None),
            Err(OpenError::UnknownKey("a".into()))
        );
    }

    #[test]
    fn the_same_secret_seals_differently_each_time() {
        let one = seal("a", &A, b"same", "c");
        let two = seal("a", &A, b"same", "c");
        assert_ne!(one, two);
    }

    #[test]
    fn rewrapping_moves_the_data_key_to_the_new_key_and_keeps_the_ciphertext() {
        let sealed = seal("a", &A, b"s3cret", "ctx");
        let moved = rewrap(&sealed, keys, "b", &B).unwrap();
        assert_eq!(moved.key_id(), "b");
        assert_eq!(
            sealed.as_str().rsplit(':').next(),
            moved.as_str().rsplit(':').next()
        );
        let only_b = |id: &str| (id == "b").then_some(B);
        assert_eq!(open(&moved, "ctx", only_b).unwrap(), b"s3cret");
    }

    #[test]
    fn tampering_with_any_part_is_detected() {
        let sealed = seal("a", &A, b"value", "ctx");
        let text = sealed.as_str();
        for position in [PREFIX.len() + 3, text.len() - 2, text.len() / 2 + 20] {
            let mut bytes = text.as_bytes().to_vec();
            bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
            let tampered = Sealed::parse(String::from_utf8(bytes).unwrap()).unwrap();
            assert!(open(&tampered, "ctx", keys).is_err(), "at {position}");
        }
        assert_eq!(Sealed::parse("hunter2"), None);
        let truncated = Sealed::parse("pgplane:v1:a:xyz").unwrap();
        assert_eq!(open(&truncated, "ctx", keys), Err(OpenError::Malformed));
    }
}
