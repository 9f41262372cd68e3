//! A write overlay over the store: reads see the pending writes first, so one account's
//! pipeline (or a chunk of accounts) can be staged, dropped on failure, and committed as one
//! atomic [`Batch`].

use crate::engine::{decode, encode};
use crate::error::Result;
use crate::store::{Batch, Store};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;

/// Staged writes on top of a store, in layers (a savepoint per layer).
pub(crate) struct Tx<'a> {
    store: &'a dyn Store,
    layers: Vec<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl<'a> Tx<'a> {
    pub fn new(store: &'a dyn Store) -> Self {
        Tx {
            store,
            layers: vec![BTreeMap::new()],
        }
    }

    /// Raw read through the layers.
    pub fn raw(&self, k: &[u8]) -> Result<Option<Vec<u8>>> {
        for l in self.layers.iter().rev() {
            if let Some(v) = l.get(k) {
                return Ok(v.clone());
            }
        }
        Ok(self.store.get(k)?)
    }

    /// What this overlay has staged for `k`: `Some(None)` a delete, `None` nothing staged.
    pub fn staged(&self, k: &[u8]) -> Option<Option<Vec<u8>>> {
        self.layers.iter().rev().find_map(|l| l.get(k).cloned())
    }

    /// Typed read.
    pub fn get<T: DeserializeOwned>(&self, k: &[u8]) -> Result<Option<T>> {
        match self.raw(k)? {
            Some(v) => Ok(Some(decode(k, &v)?)),
            None => Ok(None),
        }
    }

    /// Typed write.
    pub fn put<T: Serialize>(&mut self, k: Vec<u8>, v: &T) {
        self.top().insert(k, Some(encode(v)));
    }

    /// Stage writes already encoded (another overlay's [`Tx::into_ops`]), in order.
    pub fn put_ops(&mut self, ops: Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        self.top().extend(ops);
    }

    /// The staged writes, layers flattened, in key order.
    pub fn into_ops(mut self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        self.take_batch().ops
    }

    /// Delete.
    pub fn delete(&mut self, k: Vec<u8>) {
        self.top().insert(k, None);
    }

    /// Every entry under `prefix`, pending writes included, in key order.
    pub fn scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .store
            .scan(prefix)?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        for l in &self.layers {
            for (k, v) in l.range(prefix.to_vec()..) {
                if !k.starts_with(prefix) {
                    break;
                }
                merged.insert(k.clone(), v.clone());
            }
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }

    fn top(&mut self) -> &mut BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        if self.layers.is_empty() {
            self.layers.push(BTreeMap::new());
        }
        let last = self.layers.len() - 1;
        &mut self.layers[last]
    }

    /// Open a savepoint.
    #[allow(dead_code)] // the lifecycle actions' multi-step staging; the tests
    pub fn savepoint(&mut self) {
        self.layers.push(BTreeMap::new());
    }

    /// Keep what was written since the savepoint.
    #[allow(dead_code)] // the lifecycle actions' multi-step staging; the tests
    pub fn release(&mut self) {
        if self.layers.len() > 1 {
            if let Some(top) = self.layers.pop() {
                self.top().extend(top);
            }
        }
    }

    /// Drop what was written since the savepoint.
    #[allow(dead_code)] // the lifecycle actions' multi-step staging; the tests
    pub fn rollback(&mut self) {
        if self.layers.len() > 1 {
            self.layers.pop();
        }
    }

    /// The staged writes as one batch (layers flattened), and the overlay emptied.
    pub fn take_batch(&mut self) -> Batch {
        let mut flat: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for l in self.layers.drain(..) {
            flat.extend(l);
        }
        self.layers.push(BTreeMap::new());
        Batch {
            ops: flat.into_iter().collect(),
        }
    }

    /// Commit everything staged, atomically.
    pub fn commit(mut self) -> Result<()> {
        let b = self.take_batch();
        if !b.ops.is_empty() {
            self.store.commit(b)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemStore;

    #[test]
    fn savepoints_roll_back_and_release() {
        let s = MemStore::new();
        let mut b = Batch::default();
        b.put(b"a\0x".to_vec(), encode(&1u32));
        s.commit(b).unwrap();
        let mut tx = Tx::new(&s);
        tx.put(b"a\0y".to_vec(), &2u32);
        tx.savepoint();
        tx.put(b"a\0z".to_vec(), &3u32);
        tx.delete(b"a\0x".to_vec());
        assert_eq!(tx.scan(b"a\0").unwrap().len(), 2);
        tx.rollback();
        assert_eq!(tx.scan(b"a\0").unwrap().len(), 2);
        assert_eq!(tx.get::<u32>(b"a\0x").unwrap(), Some(1));
        tx.savepoint();
        tx.put(b"a\0x".to_vec(), &9u32);
        tx.release();
        tx.commit().unwrap();
        let v: Vec<u32> = s
            .scan(b"a\0")
            .unwrap()
            .iter()
            .map(|(k, v)| decode(k, v).unwrap())
            .collect();
        assert_eq!(v, vec![9, 2]);
    }
}
