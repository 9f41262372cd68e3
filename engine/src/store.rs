//! Persistence behind the [`Store`] trait: an in-memory store (the test oracle) and a sled store
//! (the default). A commit is atomic and, for sled, durable when it returns.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::RwLock;

/// The on-disk format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_KEY: &[u8] = b"meta\0format_version";

/// Store failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed.
    #[error("{0}")]
    Backend(String),
    /// A record could not be decoded.
    #[error("corrupt record {key}: {reason}")]
    Corrupt {
        /// Key of the record.
        key: String,
        /// Why.
        reason: String,
    },
    /// The store was written by another format version.
    #[error("store format version {found}, this build reads {expected}")]
    Format {
        /// Found.
        found: String,
        /// Expected.
        expected: u32,
    },
}

/// Key-value pairs in key order, as returned by [`Store::scan`].
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// A set of writes applied atomically.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// Key → new value (`None` deletes).
    pub ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    /// Put a value.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, Some(value)));
    }
    /// Delete a key.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }
}

/// Ordered key-value persistence. The engine does no other I/O.
pub trait Store: Send + Sync {
    /// Read one key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every entry whose key starts with `prefix`, in key order.
    fn scan(&self, prefix: &[u8]) -> Result<Entries, StoreError>;
    /// Apply a batch atomically; durable when this returns.
    fn commit(&self, batch: Batch) -> Result<(), StoreError>;
    /// Apply several batches, each atomically, all durable when this returns (group commit: a
    /// store may flush once for all of them).
    fn commit_all(&self, batches: Vec<Batch>) -> Result<(), StoreError> {
        batches.into_iter().try_for_each(|b| self.commit(b))
    }
}

/// An in-memory store.
#[derive(Debug, Default)]
pub struct MemStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Backend("lock poisoned".into())
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map.read().map_err(poisoned)?.get(key).cloned())
    }
    fn scan(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        let map = self.map.read().map_err(poisoned)?;
        Ok(map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let mut map = self.map.write().map_err(poisoned)?;
        for (k, v) in batch.ops {
            match v {
                Some(v) => map.insert(k, v),
                None => map.remove(&k),
            };
        }
        Ok(())
    }
}

/// A sled-backed store.
pub struct SledStore {
    db: sled::Db,
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SledStore {
    /// Open (or create) a store in a folder and check its format version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = match sled::open(path) {
            Ok(db) => db,
            // sled 0.34 fails to open after a kill during snapshot generation: it takes the
            // half-written `snap.*.generating` file for the newest snapshot (sled issues #1527,
            // #1533; our kill tests hit it). That file is an unfinished cache of the log, never
            // the only copy of a commit: set it aside and recover from the previous snapshot and
            // the log.
            Err(sled::Error::Corruption { .. }) if set_aside_partial_snapshots(path) > 0 => {
                sled::open(path).map_err(backend)?
            }
            Err(e) => return Err(backend(e)),
        };
        match db.get(FORMAT_KEY).map_err(backend)? {
            None => {
                db.insert(FORMAT_KEY, FORMAT_VERSION.to_string().as_bytes())
                    .map_err(backend)?;
                db.flush().map_err(backend)?;
            }
            Some(v) if v.as_ref() == FORMAT_VERSION.to_string().as_bytes() => {}
            Some(v) => {
                return Err(StoreError::Format {
                    found: String::from_utf8_lossy(&v).into_owned(),
                    expected: FORMAT_VERSION,
                })
            }
        }
        Ok(SledStore { db })
    }
}

/// Move every `snap.*.generating` file in `path` out of sled's snapshot namespace (sled reads any
/// file named `snap.*`, the newest name first): renamed `partial-snap.*`, kept for
/// inspection. Returns how many.
fn set_aside_partial_snapshots(path: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            let to = path.join(format!("partial-{name}"));
            if std::fs::rename(e.path(), &to).is_ok() {
                tracing::warn!(file = %name, "store: set aside a partial sled snapshot after a crash");
                n += 1;
            }
        }
    }
    n
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key).map_err(backend)?.map(|v| v.to_vec()))
    }
    fn scan(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        self.db
            .scan_prefix(prefix)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(backend))
            .collect()
    }
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.commit_all(vec![batch])
    }
    fn commit_all(&self, batches: Vec<Batch>) -> Result<(), StoreError> {
        // One sled batch for the group: stronger than each-batch-atomic, and one log write.
        let mut b = sled::Batch::default();
        for (k, v) in batches.into_iter().flat_map(|batch| batch.ops) {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        self.db.apply_batch(b).map_err(backend)?;
        self.db.flush().map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(s: &dyn Store) {
        let mut b = Batch::default();
        b.put(b"a\x001".to_vec(), b"x".to_vec());
        b.put(b"a\x002".to_vec(), b"y".to_vec());
        b.put(b"b\x001".to_vec(), b"z".to_vec());
        s.commit(b).unwrap();
        let got: Vec<_> = s
            .scan(b"a\0")
            .unwrap()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(got, vec![b"x".to_vec(), b"y".to_vec()]);
        let mut b = Batch::default();
        b.delete(b"a\x001".to_vec());
        s.commit(b).unwrap();
        assert_eq!(s.get(b"a\x001").unwrap(), None);
        assert_eq!(s.get(b"b\x001").unwrap(), Some(b"z".to_vec()));
    }

    #[test]
    fn mem_and_sled_behave_alike() {
        exercise(&MemStore::new());
        let dir = std::env::temp_dir().join(format!("reckon-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        exercise(&SledStore::open(&dir).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
