//! The key-encryption keys of a pgplane process, from `PGPLANE_SECRETS_KEY_FILE` or
//! `PGPLANE_SECRETS_KEY`: one key per line (or comma-separated), `id:base64` of 32 random
//! bytes (`#` comments and blank lines allowed). The first key seals; every key opens. A rotation puts a new key first
//! and keeps the old one until `pgplane secrets rotate-key` has rewrapped everything.
//!
//! A value sealed under a key this process does not know makes it read the key file again
//! (at most once a second): another replica or the rotation command may already use a key
//! that was added to the file after this process started.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::envelope::{self, KEY_LEN, OpenError, Sealed};

/// Where the keys come from.
#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Inline,
}

#[derive(Clone)]
struct Keys {
    active: String,
    by_id: HashMap<String, [u8; KEY_LEN]>,
}

/// The key-encryption keys; cheap to share (`Arc`).
pub struct Keyring {
    source: Source,
    keys: RwLock<Keys>,
    last_reload: RwLock<Option<Instant>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        f.debug_struct("Keyring")
            .field("source", &self.source)
            .field("active", &self.active_id())
            .finish()
    }
}

/// Reads keys from `text` (the key file's format).
pub fn parse_keys(text: &str) -> Result<(String, HashMap<String, [u8; KEY_LEN]>), String> {
    let mut active = None;
    let mut by_id = HashMap::new();
    // Comments end lines (`#` is not in base64); entries are lines or comma-separated.
    let entries = text
        .lines()
        .flat_map(|line| line.split('#').next().unwrap_or("").split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty());
    for (number, line) in entries.enumerate() {
        let at = format!("entry {}", number + 1);
        let Some((id, encoded)) = line.split_once(':') else {
            return Err(format!("{at}: expected `id:base64-key`"));
        };
        let (id, encoded) = (id.trim(), encoded.trim());
        if id.is_empty()
            || id.len() > 40
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(format!(
                "{at}: the key id must be 1 to 40 characters of a-z, A-Z, 0-9, `-`, `_` and `.`"
            ));
        }
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| format!("{at}: key `{id}` is not base64"))?;
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|bytes: Vec<u8>| {
            format!(
                "{at}: key `{id}` has {} bytes; a key has {KEY_LEN} random bytes (`pgplane secrets generate-key` makes one)",
                bytes.len()
            )
        })?;
        if by_id.insert(id.to_string(), key).is_some() {
            return Err(format!("{at}: key id `{id}` appears twice"));
        }
        active.get_or_insert_with(|| id.to_string());
    }
    let active = active.ok_or("no key: expected at least one entry `id:base64-key`")?;
    Ok((active, by_id))
}

/// One line of a key file holding a new random key named `id`.
pub fn new_key_line(id: &str) -> String {
    format!("{id}:{}", STANDARD.encode(envelope::generate_key()))
}

impl Keyring {
    /// The keys in `path`.
    pub fn from_file(path: &Path) -> Result<Keyring, String> {
        let text = read_key_file(path)?;
        let (active, by_id) = parse_keys(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self::new(Source::File(path.to_path_buf()), active, by_id))
    }

    /// The keys in `text` (a variable's value).
    pub fn from_text(text: &str) -> Result<Keyring, String> {
        let (active, by_id) = parse_keys(text)?;
        Ok(Self::new(Source::Inline, active, by_id))
    }

    fn new(source: Source, active: String, by_id: HashMap<String, [u8; KEY_LEN]>) -> Keyring {
        Keyring {
            source,
            keys: RwLock::new(Keys { active, by_id }),
            last_reload: RwLock::new(None),
        }
    }

    /// The id of the key that seals.
    pub fn active_id(&self) -> String {
        self.read().active.clone()
    }

    /// The ids of every key, the sealing one first.
    pub fn key_ids(&self) -> Vec<String> {
        let keys = self.read();
        let mut ids: Vec<String> = keys.by_id.keys().cloned().collect();
        ids.sort_by_key(|id| (id != &keys.active, id.clone()));
        ids
    }

    /// Seals `plaintext`, stored at `context`, under the active key.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Sealed {
        let keys = self.read();
        envelope::seal(&keys.active, &keys.by_id[&keys.active], plaintext, context)
    }

    /// Seals a text secret.
    pub fn seal_str(&self, plaintext: &str, context: &str) -> Sealed {
        self.seal(plaintext.as_bytes(), context)
    }

    /// Opens `sealed`, stored at `context`.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, OpenError> {
        self.refresh_if_unknown(sealed.key_id());
        envelope::open(sealed, context, |id| self.key(id))
    }

    /// Opens a text secret.
    pub fn open_str(&self, sealed: &Sealed, context: &str) -> Result<String, OpenError> {
        let bytes = self.open(sealed, context)?;
        String::from_utf8(bytes).map_err(|_| OpenError::Malformed)
    }

    /// `sealed` moved under the active key, or `None` when it is already there.
    pub fn rewrap(&self, sealed: &Sealed) -> Result<Option<Sealed>, OpenError> {
        self.refresh_if_unknown(sealed.key_id());
        let keys = self.read().clone();
        if sealed.key_id() == keys.active {
            return Ok(None);
        }
        let lookup = |id: &str| keys.by_id.get(id).copied();
        envelope::rewrap(sealed, lookup, &keys.active, &keys.by_id[&keys.active]).map(Some)
    }

    fn key(&self, id: &str) -> Option<[u8; KEY_LEN]> {
        self.read().by_id.get(id).copied()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the key file again when `id` is unknown, at most once a second. The active key
    /// stays the one this process started with: which key seals changes with a restart, so
    /// that replicas move to a new key when they are rolled, not one by one mid-flight.
    fn refresh_if_unknown(&self, id: &str) {
        let Source::File(path) = &self.source else {
            return;
        };
        if self.read().by_id.contains_key(id) {
            return;
        }
        {
            let mut last = self
                .last_reload
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if last.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
                return;
            }
            *last = Some(Instant::now());
        }
        match read_key_file(path).and_then(|text| parse_keys(&text)) {
            Ok((_, by_id)) => {
                let mut keys = self
                    .keys
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                for (key_id, key) in by_id {
                    keys.by_id.entry(key_id).or_insert(key);
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read the secrets key file again"),
        }
    }
}

fn read_key_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_seals_and_every_key_opens() {
        let old = Keyring::from_text(&new_key_line("old")).unwrap();
        let sealed = old.seal_str("pw", "ctx");
        // The old key's line, as it was, below a new first line.
        let old_line = format!(
            "old:{}",
            STANDARD.encode(old.key("old").expect("the old key"))
        );
        let rotated = format!("# rotated\n{}\n\n{old_line}\n", new_key_line("new"));
        let both = Keyring::from_text(&rotated).unwrap();
        assert_eq!(both.active_id(), "new");
        assert_eq!(both.key_ids(), vec!["new".to_string(), "old".to_string()]);
        assert_eq!(both.open_str(&sealed, "ctx").unwrap(), "pw");
        let moved = both.rewrap(&sealed).unwrap().expect("moved to the new key");
        assert_eq!(moved.key_id(), "new");
        assert_eq!(both.rewrap(&moved).unwrap(), None);
        assert_eq!(
            old.open_str(&moved, "ctx"),
            Err(OpenError::UnknownKey("new".into()))
        );
    }

    #[test]
    fn a_key_file_with_a_mistake_is_refused_with_its_line() {
        for (text, expected) in [
            ("", "no key"),
            ("k1", "entry 1: expected `id:base64-key`"),
            ("k1:not base64!", "entry 1: key `k1` is not base64"),
            ("k1:c2hvcnQ=", "entry 1: key `k1` has 5 bytes"),
            ("bad id:AAAA", "entry 1: the key id"),
        ] {
            let error = parse_keys(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        let twice = format!("{}\n{}", new_key_line("k"), new_key_line("k"));
        assert!(
            parse_keys(&twice)
                .unwrap_err()
                .contains("entry 2: key id `k` appears twice")
        );
    }

    #[test]
    fn a_key_added_to_the_file_later_opens_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, new_key_line("k1")).unwrap();
        let running = Keyring::from_file(&path).unwrap();
        let k2_line = new_key_line("k2");
        std::fs::write(&path, format!("{k2_line}\n")).unwrap();
        let newer = Keyring::from_file(&path).unwrap();
        let sealed = newer.seal_str("secret", "ctx");
        assert_eq!(running.open_str(&sealed, "ctx").unwrap(), "secret");
        assert_eq!(
            running.active_id(),
            "k1",
            "the sealing key changes with a restart"
        );
    }
}
