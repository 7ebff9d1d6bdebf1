//! A table keyed by a bearer credential's own bytes: how a credential that was verified once is
//! recognised again without verifying it again.
//!
//! Why a hit needs no HMAC (the argument the README's security model repeats):
//! - an entry is inserted only after its credential passed the full check (a session token's
//!   HMAC under the token secret, an API key's digest found in the store), under exactly those
//!   bytes;
//! - a lookup hits only an entry whose stored bytes equal the presented bytes, all of them,
//!   compared in full ([`same_bytes`]); the hash only picks which entries to compare;
//! - so a hit means "this exact credential verified before", and a forged or altered credential,
//!   which differs in at least one byte from every stored one, never hits and goes the cold way.
//!
//! Everything that can change about a credential after it verified (expiry, revocation, the user
//! being disabled) is not answered by the table: the entry's own times are checked on every use,
//! and every write empties the table (see the cache's module comment).
//!
//! The hash is keyed with a random key drawn once per table, so nobody outside the process can
//! predict which credentials share a bucket; only verified credentials get in at all, so there is
//! no flooding to defend against either, and a fast hash over the bytes costs less than a
//! SipHash. The comparison is constant-time so the time a miss takes says nothing about how many
//! leading bytes of a stored credential the presented one shares.

use std::hash::BuildHasher;

use foldhash::SharedSeed;
use foldhash::fast::SeedableRandomState;
use hashbrown::HashTable;

pub struct BearerTable<V> {
    hasher: SeedableRandomState,
    entries: HashTable<(Box<[u8]>, V)>,
}

impl<V> BearerTable<V> {
    /// An empty table with a fresh key from the OS, mixed with foldhash's own per-process random
    /// seed (which alone keys the table if the OS has no randomness to give).
    pub fn new() -> Self {
        let mut key = [0u8; 8];
        let hasher = match getrandom::fill(&mut key) {
            Ok(()) => {
                SeedableRandomState::with_seed(u64::from_le_bytes(key), SharedSeed::global_random())
            }
            Err(_) => SeedableRandomState::random(),
        };
        Self {
            hasher,
            entries: HashTable::new(),
        }
    }

    /// The entry stored under exactly `credential`'s bytes.
    #[inline]
    pub fn get(&self, credential: &[u8]) -> Option<&V> {
        let hash = self.hasher.hash_one(credential);
        self.entries
            .find(hash, |(stored, _)| same_bytes(stored, credential))
            .map(|(_, value)| value)
    }

    /// Stores `value` under `credential`, replacing what was there.
    pub fn insert(&mut self, credential: &[u8], value: V) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(credential);
        match self
            .entries
            .find_mut(hash, |(stored, _)| same_bytes(stored, credential))
        {
            Some(entry) => entry.1 = value,
            None => {
                self.entries
                    .insert_unique(hash, (credential.into(), value), |(stored, _)| {
                        hasher.hash_one(&**stored)
                    });
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

impl<V> Default for BearerTable<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `a` and `b` hold the same bytes, in a time that depends only on their lengths (which
/// are not secret: every token of one installation has about the same length, every API key the
/// same). The differences are OR-ed together over every word rather than returned at the first
/// one, and the result passes through `black_box` so the compiler cannot turn the loop back into
/// an early exit.
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut difference = 0u64;
    let (a_words, a_tail) = a.as_chunks::<8>();
    let (b_words, b_tail) = b.as_chunks::<8>();
    for (x, y) in a_words.iter().zip(b_words) {
        difference |= u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y);
    }
    for (x, y) in a_tail.iter().zip(b_tail) {
        difference |= u64::from(x ^ y);
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_is_equality_of_every_byte() {
        let token = b"header.payload.signature-with-an-odd-tail";
        assert!(same_bytes(token, token));
        for i in 0..token.len() {
            let mut altered = *token;
            altered[i] ^= 1;
            assert!(!same_bytes(token, &altered), "byte {i}");
        }
        assert!(!same_bytes(token, &token[..token.len() - 1]));
        assert!(same_bytes(b"", b""));
    }

    #[test]
    fn only_the_exact_credential_finds_its_entry() {
        let mut table = BearerTable::new();
        table.insert(b"token-one", 1);
        table.insert(b"token-two", 2);
        assert_eq!(table.get(b"token-one"), Some(&1));
        assert_eq!(table.get(b"token-two"), Some(&2));
        for near in [
            &b"token-one "[..],
            b"token-on",
            b"token-onf",
            b"TOKEN-ONE",
            b"",
        ] {
            assert_eq!(table.get(near), None, "{near:?}");
        }
    }

    #[test]
    fn inserting_a_known_credential_replaces_its_entry() {
        let mut table = BearerTable::new();
        table.insert(b"token", 1);
        table.insert(b"token", 2);
        assert_eq!((table.get(b"token"), table.len()), (Some(&2), 1));
        table.clear();
        assert!(table.len() == 0 && table.get(b"token").is_none());
    }

    #[test]
    fn two_tables_hash_with_different_keys() {
        let one = BearerTable::<()>::new();
        let two = BearerTable::<()>::new();
        assert_ne!(
            one.hasher.hash_one(b"same token"),
            two.hasher.hash_one(b"same token")
        );
    }
}
