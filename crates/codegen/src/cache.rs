//! A bounded, thread-safe cache of compiled functions, keyed by the function's text, the compile options
//! and the target ISA. Evicting an entry drops its [`Executable`] handle; the machine code is freed when
//! the last handle (the cache's or a caller's) goes.

use crate::Executable;
use std::collections::HashMap;

/// Least-recently-used map from key text to executable.
pub(crate) struct Cache {
    capacity: usize,
    clock: u64,
    entries: HashMap<String, (Executable, u64)>,
}

impl Cache {
    pub fn new(capacity: usize) -> Cache {
        Cache { capacity: capacity.max(1), clock: 0, entries: HashMap::new() }
    }

    pub fn get(&mut self, key: &str) -> Option<Executable> {
        self.clock += 1;
        let now = self.clock;
        self.entries.get_mut(key).map(|(e, used)| {
            *used = now;
            e.clone()
        })
    }

    pub fn insert(&mut self, key: String, e: Executable) {
        self.clock += 1;
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            if let Some(oldest) = self.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone()) {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (e, self.clock));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}
