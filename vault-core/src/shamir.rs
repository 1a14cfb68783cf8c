//! Splitting the master key k-of-n and combining it again
//! (docs/FORMAT.md §5.2), with blahaj (Shamir over GF(256)).
//!
//! blahaj does not store the threshold in a share and silently returns a
//! wrong secret for too few, duplicated or altered shares. This module is
//! the fence around it: shares carry their index explicitly, the caller
//! checks each against its commitment first, duplicates are refused here,
//! and the combined key must pass the vault's key check.

use blahaj::{Share, Sharks};
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::keys::{os_rng, sha256, MasterKey};
use crate::VaultId;

/// One share of the master key: the x coordinate (1..=255, the custodian's
/// index) and the 32 y bytes. Zeroized on drop; `Debug` shows the index only.
#[derive(Clone)]
pub struct KeyShare {
    index: u8,
    y: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyShare {{ index: {}, y: [REDACTED] }}", self.index)
    }
}

impl KeyShare {
    /// A share from its parts. Index 0 would be the secret itself: refused.
    pub fn new(index: u8, y: Zeroizing<[u8; 32]>) -> Option<Self> {
        (index != 0).then_some(Self { index, y })
    }
    /// The share's index (its x coordinate).
    pub fn index(&self) -> u8 {
        self.index
    }
    /// The 32 secret bytes.
    pub fn y(&self) -> &[u8; 32] {
        &self.y
    }

    /// The commitment stored in the vault: SHA-256 over a label, the vault
    /// id, the index and the share bytes.
    pub fn commitment(&self, vault_id: &VaultId) -> [u8; 32] {
        sha256(&[
            b"breakglass/v1/share-commitment",
            vault_id.as_bytes(),
            &[self.index],
            self.y.as_ref(),
        ])
    }

    /// Constant-time comparison with a stored commitment.
    pub fn matches(&self, vault_id: &VaultId, commitment: &[u8; 32]) -> bool {
        self.commitment(vault_id).ct_eq(commitment).into()
    }
}

/// Why shares could not be split or combined.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShamirError {
    /// k and n out of range (2 ≤ k ≤ n ≤ 255).
    #[error("invalid threshold {k} of {n}: need 2 ≤ k ≤ n ≤ 255")]
    BadThreshold {
        /// Threshold asked for.
        k: usize,
        /// Number of shares asked for.
        n: usize,
    },
    /// Two shares with one index.
    #[error("two shares have index {0}")]
    Duplicate(u8),
    /// Fewer distinct shares than the threshold.
    #[error("need {need} shares, got {got}")]
    TooFew {
        /// The threshold.
        need: usize,
        /// Distinct shares given.
        got: usize,
    },
}

/// Splits `mk` into `n` shares, any `k` of which recover it. Share i has
/// index i (1-based).
pub fn split(mk: &MasterKey, k: usize, n: usize) -> Result<Vec<KeyShare>, ShamirError> {
    if !(2..=255).contains(&k) || n < k || n > 255 {
        return Err(ShamirError::BadThreshold { k, n });
    }
    let dealer = Sharks(k as u8).dealer_rng(mk.expose(), &mut os_rng());
    Ok(dealer
        .take(n)
        .map(|share| {
            let bytes = Zeroizing::new(Vec::from(&share));
            let mut y = Zeroizing::new([0u8; 32]);
            y.copy_from_slice(&bytes[1..]);
            KeyShare { index: bytes[0], y }
        })
        .collect())
}

/// Rebuilds share `index` from `k` shares of the same key (FORMAT.md
/// §14.6), with no field arithmetic written here: over GF(2^8) addition is
/// XOR, so q(x) = p(x XOR index) is a polynomial of the same degree with
/// q(0) = p(index), and blahaj's recover over the points
/// (x_i XOR index, y_i) returns it. The caller MUST check the result
/// against the custodian's commitment before using it.
pub fn share_at(k: usize, shares: &[KeyShare], index: u8) -> Result<KeyShare, ShamirError> {
    if index == 0 {
        return Err(ShamirError::TooFew { need: k, got: 0 });
    }
    if let Some(s) = shares.iter().find(|s| s.index == index) {
        return Ok(s.clone());
    }
    let moved: Vec<KeyShare> = shares
        .iter()
        .map(|s| KeyShare {
            index: s.index ^ index,
            y: s.y.clone(),
        })
        .collect();
    let y = combine(k, &moved)?;
    Ok(KeyShare {
        index,
        y: Zeroizing::new(*y.expose()),
    })
}

/// Combines shares into a candidate master key. The caller MUST check the
/// result against the vault's key check: Shamir alone cannot tell a right
/// key from a wrong one.
pub fn combine(k: usize, shares: &[KeyShare]) -> Result<MasterKey, ShamirError> {
    let mut seen = [false; 256];
    for s in shares {
        if std::mem::replace(&mut seen[s.index as usize], true) {
            return Err(ShamirError::Duplicate(s.index));
        }
    }
    if shares.len() < k || k < 2 {
        return Err(ShamirError::TooFew {
            need: k,
            got: shares.len(),
        });
    }
    let points: Vec<Share> = shares
        .iter()
        .map(|s| {
            let mut bytes = Zeroizing::new(Vec::with_capacity(33));
            bytes.push(s.index);
            bytes.extend_from_slice(s.y.as_ref());
            Share::try_from(bytes.as_slice()).expect("33 bytes make a share")
        })
        .collect();
    let secret =
        Zeroizing::new(
            Sharks(k as u8)
                .recover(&points)
                .map_err(|_| ShamirError::TooFew {
                    need: k,
                    got: shares.len(),
                })?,
        );
    Ok(MasterKey::from_slice(&secret).expect("shares of a 32-byte key recover 32 bytes"))
}

#[cfg(test)]
mod share_at_tests {
    use super::*;

    #[test]
    fn every_share_is_rebuilt_from_any_k_others() {
        let mk = MasterKey::generate();
        for (k, n) in [(2, 2), (2, 5), (3, 5), (5, 7)] {
            let shares = split(&mk, k, n).unwrap();
            for j in 1..=n as u8 {
                let others: Vec<KeyShare> = shares
                    .iter()
                    .filter(|s| s.index() != j)
                    .rev()
                    .take(k)
                    .cloned()
                    .collect();
                if others.len() < k {
                    continue;
                }
                let rebuilt = share_at(k, &others, j).unwrap();
                assert_eq!(rebuilt.index(), j);
                assert_eq!(rebuilt.y(), shares[j as usize - 1].y(), "k={k} n={n} j={j}");
            }
        }
    }

    #[test]
    fn too_few_shares_do_not_rebuild_the_right_share() {
        let mk = MasterKey::generate();
        let shares = split(&mk, 3, 5).unwrap();
        // Two shares of a 3-of-5 key: blahaj returns *something*; the
        // commitment check is what refuses it.
        let two = [shares[0].clone(), shares[1].clone()];
        if let Ok(s) = share_at(2, &two, 4) {
            assert_ne!(s.y(), shares[3].y());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
        (0u32..(1 << n))
            .filter(|m| m.count_ones() as usize == k)
            .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect())
            .collect()
    }

    #[test]
    fn refuses_bad_thresholds() {
        let mk = MasterKey::generate();
        for (k, n) in [(1, 3), (0, 0), (4, 3), (2, 256), (256, 256)] {
            assert_eq!(
                split(&mk, k, n).unwrap_err(),
                ShamirError::BadThreshold { k, n }
            );
        }
        assert_eq!(split(&mk, 255, 255).unwrap().len(), 255);
    }

    #[test]
    fn duplicates_and_too_few_are_errors() {
        let mk = MasterKey::generate();
        let s = split(&mk, 2, 3).unwrap();
        assert_eq!(
            combine(2, &[s[0].clone(), s[0].clone()]).unwrap_err(),
            ShamirError::Duplicate(1)
        );
        assert_eq!(
            combine(2, &[s[1].clone()]).unwrap_err(),
            ShamirError::TooFew { need: 2, got: 1 }
        );
    }

    #[test]
    fn commitment_binds_vault_index_and_bytes() {
        let mk = MasterKey::generate();
        let s = split(&mk, 2, 2).unwrap();
        let id = VaultId([1; 16]);
        let c = s[0].commitment(&id);
        assert!(s[0].matches(&id, &c));
        assert!(!s[1].matches(&id, &c));
        assert!(!s[0].matches(&VaultId([2; 16]), &c));
        let mut y = *s[0].y();
        y[31] ^= 1;
        assert!(!KeyShare::new(1, Zeroizing::new(y))
            .unwrap()
            .matches(&id, &c));
    }

    #[test]
    fn debug_hides_share_bytes() {
        let share = KeyShare::new(3, Zeroizing::new([0xAB; 32])).unwrap();
        assert_eq!(format!("{share:?}"), "KeyShare { index: 3, y: [REDACTED] }");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Every k-subset recovers the key; every (k-1)-subset, padded to k
        /// with a forged point or combined under a lower threshold, does not.
        #[test]
        fn every_k_subset_opens_and_no_k_minus_1_subset_does(k in 2usize..=5, extra in 0usize..=2, key in any::<[u8; 32]>()) {
            let n = k + extra;
            let mk = MasterKey::from_slice(&key).unwrap();
            let shares = split(&mk, k, n).unwrap();
            prop_assert_eq!(shares.iter().map(|s| s.index()).collect::<Vec<_>>(), (1..=n as u8).collect::<Vec<_>>());
            for subset in subsets(n, k) {
                let picked: Vec<KeyShare> = subset.iter().map(|&i| shares[i].clone()).collect();
                prop_assert_eq!(*combine(k, &picked).unwrap().expose(), key);
            }
            for subset in subsets(n, k - 1) {
                let picked: Vec<KeyShare> = subset.iter().map(|&i| shares[i].clone()).collect();
                let too_few = combine(k, &picked).unwrap_err();
                prop_assert_eq!(too_few, ShamirError::TooFew { need: k, got: k - 1 });
                if k > 2 {
                    // blahaj under a lower threshold returns *something*: it
                    // must not be the key (this is why the key check exists).
                    let wrong = combine(k - 1, &picked).unwrap();
                    prop_assert_ne!(*wrong.expose(), key);
                }
            }
        }

        #[test]
        fn more_than_k_consistent_shares_still_open(key in any::<[u8; 32]>()) {
            let mk = MasterKey::from_slice(&key).unwrap();
            let shares = split(&mk, 3, 5).unwrap();
            prop_assert_eq!(*combine(3, &shares).unwrap().expose(), key);
        }
    }
}
