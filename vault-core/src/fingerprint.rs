//! The vault fingerprint (docs/FORMAT.md §3.3): a hash over everything a
//! depositor and a custodian rely on in the genesis record — vault id,
//! creation time, name, threshold, custodians and their share commitments,
//! the escrow public key and the key check. It is what people compare
//! (envelopes, `list`, `status`, restored backups) and what a depositor
//! pins (`--expect`): swapping the escrow key, or any of these, changes it.
//!
//! The random vault id alone is not a fingerprint: someone who rewrites the
//! file keeps it.

use std::fmt;

use crate::codec::Writer;
use crate::keys::sha256;
use crate::record::Genesis;
use crate::text::lines::{base32, normalize};

/// Domain label of a version 2 vault's fingerprint (§14.2).
const LABEL_V2: &[u8] = b"breakglass/v2/fingerprint";
/// Domain label of a version 1 vault's fingerprint.
const LABEL_V1: &[u8] = b"breakglass/v2/fingerprint-v1";
/// Symbols of the short form: 20 base32 symbols, 100 bits.
const SHORT_SYMBOLS: usize = 20;

/// A vault fingerprint: 32 bytes, shown to people in a short form of five
/// groups of four symbols and to machines as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a version 1 vault: SHA-256 over a label and the
    /// genesis fields from `vault_id` through `escrow_public`, then
    /// `key_check`, in their canonical encoding (§3.3). The sealed escrow
    /// key and the MAC are not covered: they are the master key's to check.
    pub fn of_v1(genesis: &Genesis) -> Self {
        let mut w = Writer::new();
        w.bytes(genesis.vault_id.as_bytes())
            .u64(genesis.time)
            .str(&genesis.actor)
            .str(&genesis.name)
            .u8(genesis.threshold)
            .u8(genesis.custodians.len() as u8);
        for c in &genesis.custodians {
            w.str(&c.name).bytes(&c.commitment);
        }
        w.bytes(&genesis.escrow_public).bytes(&genesis.key_check);
        Self(sha256(&[LABEL_V1, &w.finish()]))
    }

    /// The fingerprint of a vault by its genesis record: format 2 (§14.2)
    /// when the genesis is a format 2 one, else format 1 (§3.3).
    pub fn of(genesis: &Genesis) -> Self {
        match genesis.fingerprinted_v2() {
            Some(head) => Self(sha256(&[LABEL_V2, &head])),
            None => Self::of_v1(genesis),
        }
    }

    /// A fingerprint from its 32 bytes (as a receipt carries it).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// For people: the first 100 bits in Crockford base32, five groups of
    /// four (`7K3Q-9XW2-M4TB-0HC8-ZP6E`).
    pub fn short(&self) -> String {
        let symbols = base32().encode(&self.0);
        symbols.as_bytes()[..SHORT_SYMBOLS]
            .chunks(4)
            .map(|g| std::str::from_utf8(g).expect("base32 is ASCII"))
            .collect::<Vec<_>>()
            .join("-")
    }

    /// For machines: 64 lower-case hex digits.
    pub fn full(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// True when `expected` (a short or a full form, as typed: any case,
    /// spaces and dashes ignored, O read as 0 and I, L as 1 in the short
    /// form) names this fingerprint.
    pub fn matches(&self, expected: &Expected) -> bool {
        match expected {
            Expected::Short(s) => self.short().replace('-', "") == *s,
            Expected::Full(f) => f == &self.0,
            Expected::Recipient(r) => r.fingerprint == *self,
        }
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.short())
    }
}

/// A fingerprint a person or a script expects (`--expect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The short form: 20 symbols, normalised.
    Short(String),
    /// The full form.
    Full([u8; 32]),
    /// A recipient line: the fingerprint and the escrow key a depositor
    /// pinned (FORMAT.md §7.9).
    Recipient(crate::recipient::Recipient),
}

/// Text that is neither form of a fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a vault fingerprint: give its short form (five groups of four, e.g. \
     7K3Q-9XW2-M4TB-0HC8-ZP6E), its 64 hex digits, or the vault's recipient (breakglass1…)"
)]
pub struct NotAFingerprint;

impl std::str::FromStr for Expected {
    type Err = NotAFingerprint;

    fn from_str(text: &str) -> Result<Self, NotAFingerprint> {
        let trimmed = text.trim();
        if trimmed
            .get(..11)
            .is_some_and(|h| h.eq_ignore_ascii_case("breakglass1"))
        {
            return crate::recipient::Recipient::parse(trimmed)
                .map(Self::Recipient)
                .map_err(|_| NotAFingerprint);
        }
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if compact.len() == 64 && compact.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut full = [0u8; 32];
            for (i, byte) in full.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&compact[2 * i..2 * i + 2], 16)
                    .map_err(|_| NotAFingerprint)?;
            }
            return Ok(Self::Full(full));
        }
        let short = normalize(&compact);
        let alphabet = crate::text::lines::ALPHABET;
        if short.len() == SHORT_SYMBOLS && short.chars().all(|c| alphabet.contains(c)) {
            return Ok(Self::Short(short));
        }
        Err(NotAFingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escrow::SealedEscrowKey;
    use crate::record::Custodian;
    use crate::VaultId;

    fn genesis() -> Genesis {
        Genesis {
            vault_id: VaultId([7; 16]),
            time: 1_700_000_000,
            actor: "owner@host".into(),
            name: "Acme".into(),
            threshold: 2,
            custodians: vec![
                Custodian {
                    name: "alice".into(),
                    commitment: [1; 32],
                    public: None,
                },
                Custodian {
                    name: "bob".into(),
                    commitment: [2; 32],
                    public: None,
                },
            ],
            escrow_public: [3; 32],
            escrow_sealed: SealedEscrowKey {
                nonce: [4; 12],
                ciphertext: [5; 48],
            },
            key_check: [6; 32],
            proof: crate::record::Proof::Mac([8; 32]),
            v2: None,
        }
    }

    #[test]
    fn forms_are_stable() {
        let f = Fingerprint::of_v1(&genesis());
        assert_eq!(f.short().len(), 24);
        assert_eq!(f.short().matches('-').count(), 4);
        assert_eq!(f.full().len(), 64);
        // Pinned: a change to the hash input changes every printed
        // envelope and every pin, so it must be deliberate.
        assert_eq!(f.full(), PINNED);
    }

    /// Computed independently (Python's hashlib over the same canonical
    /// bytes), not by this code.
    const PINNED: &str = "9dadd5de6eca27c4e5ef7121b1951b4aeca7b08093a3cba87b2126df2c58ee94";

    #[test]
    fn covers_what_depositors_and_custodians_rely_on() {
        let base = Fingerprint::of_v1(&genesis());
        let changes: [fn(&mut Genesis); 10] = [
            |g| g.vault_id.0[0] ^= 1,
            |g| g.time += 1,
            |g| g.actor.push('x'),
            |g| g.name.push('x'),
            |g| g.threshold = 1,
            |g| g.custodians[1].name = "carol".into(),
            |g| g.custodians[0].commitment[31] ^= 1,
            |g| {
                g.custodians.pop();
            },
            |g| g.escrow_public[0] ^= 1,
            |g| g.key_check[5] ^= 1,
        ];
        for (i, change) in changes.into_iter().enumerate() {
            let mut g = genesis();
            change(&mut g);
            assert_ne!(
                Fingerprint::of_v1(&g),
                base,
                "change {i} kept the fingerprint"
            );
        }
        // Not covered: what only the master key can check.
        let mut g = genesis();
        g.escrow_sealed.ciphertext[0] ^= 1;
        g.proof = crate::record::Proof::Mac([9; 32]);
        assert_eq!(Fingerprint::of_v1(&g), base);
    }

    fn genesis_v2() -> Genesis {
        let mut g = genesis();
        for c in &mut g.custodians {
            c.public = Some([11; 32]);
        }
        g.v2 = Some(crate::record::GenesisV2 {
            generation: 2,
            origin: crate::record::Origin::Rekey,
            previous: [12; 32],
            carried: 5,
            contact: "call Maria".into(),
            location: "safe 2".into(),
            quorum_public: [13; 32],
        });
        g.proof = crate::record::Proof::Signature([14; 64]);
        g
    }

    /// Format 2 (§14.2) covers what format 1 does and the generation, the
    /// lineage, contact and location and every signature key; not the
    /// sealed escrow key or the signature.
    #[test]
    fn v2_covers_the_keys_and_the_lineage() {
        let base = Fingerprint::of(&genesis_v2());
        assert_ne!(base, Fingerprint::of_v1(&genesis_v2()));
        let changes: [fn(&mut Genesis); 14] = [
            |g| g.vault_id.0[0] ^= 1,
            |g| g.time += 1,
            |g| g.name.push('x'),
            |g| g.threshold = 1,
            |g| g.custodians[0].commitment[0] ^= 1,
            |g| g.custodians[1].public = Some([15; 32]),
            |g| g.escrow_public[0] ^= 1,
            |g| g.key_check[0] ^= 1,
            |g| g.v2.as_mut().unwrap().generation = 3,
            |g| g.v2.as_mut().unwrap().previous[0] ^= 1,
            |g| g.v2.as_mut().unwrap().carried = 6,
            |g| g.v2.as_mut().unwrap().contact.push('x'),
            |g| g.v2.as_mut().unwrap().location.push('x'),
            |g| g.v2.as_mut().unwrap().quorum_public[0] ^= 1,
        ];
        for (i, change) in changes.into_iter().enumerate() {
            let mut g = genesis_v2();
            change(&mut g);
            assert_ne!(Fingerprint::of(&g), base, "change {i} kept the fingerprint");
        }
        let mut g = genesis_v2();
        g.escrow_sealed.ciphertext[0] ^= 1;
        g.escrow_sealed.nonce[0] ^= 1;
        g.proof = crate::record::Proof::Signature([16; 64]);
        assert_eq!(Fingerprint::of(&g), base);
    }

    /// The golden vault's fingerprint, as printed on its envelopes: pinned
    /// forever, like the file.
    #[test]
    fn golden_vault_fingerprint_is_pinned() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/v1/golden.bg");
        let bytes = std::fs::read(path).unwrap();
        let vault = crate::vault::Vault::replay(&crate::log::parse(&bytes).unwrap()).unwrap();
        let f = vault.fingerprint();
        assert_eq!(f.short(), "ZV8B-5HJ7-N159-YXRP-176W");
        assert_eq!(
            f.full(),
            "fed0b2c647a84a9f771609cdc50b84d4b4be03fc654ca0c4f7b019b06d0cd924"
        );
    }

    #[test]
    fn expected_forms_parse_and_match() {
        let f = Fingerprint::of_v1(&genesis());
        let short: Expected = f.short().parse().unwrap();
        assert!(f.matches(&short));
        let typed: Expected = f.short().to_lowercase().replace('-', " ").parse().unwrap();
        assert!(f.matches(&typed));
        let full: Expected = f.full().to_uppercase().parse().unwrap();
        assert!(f.matches(&full));
        let other = Fingerprint::of_v1(&Genesis {
            name: "Other".into(),
            ..genesis()
        });
        assert!(!other.matches(&short) && !other.matches(&full));
        for bad in ["", "1234", "UUUU-UUUU-UUUU-UUUU-UUUU", &"0".repeat(63)] {
            assert_eq!(bad.parse::<Expected>(), Err(NotAFingerprint), "{bad}");
        }
    }
}
