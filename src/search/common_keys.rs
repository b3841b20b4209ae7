//! Name keys too common to look up, remembered between searches.

use std::time::Duration;

use moka::sync::Cache;
use uuid::Uuid;

/// Keys found on more than `PROBE_LIMIT` files, by scope (an organisation,
/// `Some`, or every file, `None`), not read again for a while: renames and merges can take
/// a key below the limit again, so the memory lasts ten minutes. Bounded.
///
/// A `moka` cache (as for the verified tokens, `auth::tokens`): it expires
/// entries itself (time to live) and, when full, evicts by recency and
/// frequency instead of refusing new keys until old ones have expired.
pub struct CommonKeys {
    known: Cache<(Option<Uuid>, String), ()>,
}

impl CommonKeys {
    const MAX_REMEMBERED: u64 = 100_000;
    const REMEMBERED_FOR: Duration = Duration::from_secs(600);

    pub fn contains(&self, scope: Option<Uuid>, key: &str) -> bool {
        // `get`, not `contains_key`: a lookup counts towards the key's
        // popularity, which decides what is kept when the cache is full.
        self.known.get(&(scope, key.to_owned())).is_some()
    }

    pub fn remember(&self, scope: Option<Uuid>, key: &str) {
        self.known.insert((scope, key.to_owned()), ());
    }

    fn new(max: u64, remembered_for: Duration) -> Self {
        CommonKeys {
            known: Cache::builder()
                .max_capacity(max)
                .time_to_live(remembered_for)
                .build(),
        }
    }
}

impl Default for CommonKeys {
    fn default() -> Self {
        Self::new(Self::MAX_REMEMBERED, Self::REMEMBERED_FOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_remembered_by_scope() {
        let common = CommonKeys::default();
        let org = Some(Uuid::now_v7());
        assert!(!common.contains(org, "mhmd"));
        common.remember(org, "mhmd");
        assert!(common.contains(org, "mhmd"));
        assert!(!common.contains(None, "mhmd"), "another scope");
        assert!(!common.contains(org, "ahmd"), "another key");
    }

    #[test]
    fn keys_are_forgotten_after_a_while() {
        let common = CommonKeys::new(10, Duration::from_millis(50));
        common.remember(None, "mhmd");
        assert!(common.contains(None, "mhmd"));
        std::thread::sleep(Duration::from_millis(80));
        assert!(!common.contains(None, "mhmd"));
    }
}
