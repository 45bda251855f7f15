//! Users whose account was read recently, so a request with a token does not read the `users`
//! table again (it was one of three queries on every authenticated read). Entries live
//! `ttl` (two seconds by default): a user disabled, deleted or demoted through another replica
//! loses access at most that long after the change; through this replica at once, because the
//! user endpoints call [`UserCache::forget`]. Bounded: when full, it starts over.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// What authentication needs of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedUser {
    pub id: Uuid,
    pub email: String,
    pub is_platform_admin: bool,
    pub disabled: bool,
}

pub struct UserCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<Uuid, (Instant, CachedUser)>>,
}

impl UserCache {
    pub const DEFAULT_TTL: Duration = Duration::from_secs(2);
    const CAPACITY: usize = 10_000;

    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            capacity: Self::CAPACITY,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The user as read less than `ttl` ago, if so.
    pub fn get(&self, id: Uuid) -> Option<CachedUser> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, user)| user.clone())
    }

    pub fn insert(&self, user: CachedUser) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(user.id, (Instant::now(), user));
    }

    /// Drops what is known of `id` (its account changed).
    pub fn forget(&self, id: Uuid) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(admin: bool) -> CachedUser {
        CachedUser {
            id: Uuid::from_u128(7),
            email: "a@example.com".into(),
            is_platform_admin: admin,
            disabled: false,
        }
    }

    #[test]
    fn an_entry_is_served_until_it_expires_or_is_forgotten() {
        let cache = UserCache::new(Duration::from_millis(50));
        cache.insert(user(true));
        assert_eq!(cache.get(Uuid::from_u128(7)), Some(user(true)));
        cache.forget(Uuid::from_u128(7));
        assert_eq!(cache.get(Uuid::from_u128(7)), None);
        cache.insert(user(false));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(Uuid::from_u128(7)), None, "expired");
    }

    #[test]
    fn a_zero_ttl_caches_nothing_and_a_full_cache_starts_over() {
        let off = UserCache::new(Duration::ZERO);
        off.insert(user(false));
        assert_eq!(off.get(Uuid::from_u128(7)), None);

        let mut small = UserCache::new(Duration::from_secs(60));
        small.capacity = 2;
        for i in 0..3 {
            small.insert(CachedUser {
                id: Uuid::from_u128(i),
                ..user(false)
            });
        }
        assert_eq!(small.entries.lock().unwrap().len(), 1);
        assert!(small.get(Uuid::from_u128(2)).is_some());
    }
}
