//! Name keys too common to look up, remembered between searches.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Keys found on more than `PROBE_LIMIT` files, by scope (an organisation,
/// `Some`, or every file, `None`), not read again for a while: renames and merges can take
/// a key below the limit again, so the memory lasts ten minutes. Bounded.
#[derive(Default)]
pub struct CommonKeys {
    known: Mutex<HashMap<(Option<Uuid>, String), Instant>>,
}

impl CommonKeys {
    const MAX_REMEMBERED: usize = 100_000;
    const REMEMBERED_FOR: Duration = Duration::from_secs(600);

    pub fn contains(&self, scope: Option<Uuid>, key: &str) -> bool {
        self.known
            .lock()
            .map(|known| {
                known
                    .get(&(scope, key.to_owned()))
                    .is_some_and(|since| since.elapsed() < Self::REMEMBERED_FOR)
            })
            .unwrap_or(false)
    }

    pub fn remember(&self, scope: Option<Uuid>, key: &str) {
        if let Ok(mut known) = self.known.lock() {
            if known.len() >= Self::MAX_REMEMBERED {
                known.retain(|_, since| since.elapsed() < Self::REMEMBERED_FOR);
            }
            if known.len() < Self::MAX_REMEMBERED {
                known.insert((scope, key.to_owned()), Instant::now());
            }
        }
    }
}
