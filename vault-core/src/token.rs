//! Deposit tokens (docs/FORMAT.md §7.9): a deposit sealed on a machine
//! that has only the vault's recipient — a Mac at enrolment, a Windows
//! device after a LAPS rotation — carried as one text line, and appended
//! later by `ingest`.
//!
//! A token is the exported-key deposit (§7.8) without its `version`, which
//! only the appender can assign, behind the fingerprint it was sealed to
//! and a 4-byte check: `breakglass-deposit:v1:<base32(F ‖ sealed-meta ‖ enc
//! ‖ ciphertext ‖ check)>`.

use std::collections::HashMap;

use crate::entry::{EntryKind, EntrySecret};
use crate::error::{Field, InputError};
use crate::escrow::{BadPublicKey, Batch};
use crate::fingerprint::Fingerprint;
use crate::keys::{random_bytes, sha256};
use crate::recipient::Recipient;
use crate::record::{limits, Deposit, Record};
use crate::text::lines::{base32, normalize};
use crate::vault::{check_text, deposit_attributes, exported_info, validate_secret, DepositMeta};

/// What starts a token line.
pub const PREFIX: &str = "breakglass-deposit:v1:";
/// The longest token line read: room for the largest deposit.
pub const MAX_LINE: usize = 114_688;
/// Label of the token's check.
const CHECK_LABEL: &[u8] = b"breakglass/v1/deposit-token";

/// A sealed deposit waiting to be ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The fingerprint of the vault it was sealed to.
    pub fingerprint: Fingerprint,
    /// The escrow public key it was sealed to (from the recipient): ingest
    /// refuses a token sealed to another key, even under the vault's
    /// fingerprint (a forged recipient in an MDM profile).
    pub escrow_public: [u8; 32],
    /// The deposit, in the exported-key form, with `version` 0 (not yet
    /// assigned).
    pub deposit: Deposit,
}

/// Why a line is not a usable token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Longer than any token.
    #[error("is longer than any deposit token ({len} characters; at most {MAX_LINE})")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A character that is not in the token alphabet, or a cut line.
    #[error("is damaged (not a whole token): copy it again")]
    NotBase32,
    /// The check does not match: a character was changed.
    #[error("is damaged (its check does not match): copy it again")]
    BadCheck,
    /// The bytes are not a deposit.
    #[error("does not hold a valid deposit ({why})")]
    Body {
        /// What is wrong.
        why: String,
    },
}

/// One deposit to seal into a token.
pub struct TokenInput<'a> {
    /// Entry label.
    pub label: &'a str,
    /// Entry kind.
    pub kind: EntryKind,
    /// The secret.
    pub secret: &'a EntrySecret,
    /// Who, when, device and policy.
    pub meta: &'a DepositMeta,
}

/// Seals deposits to `recipient` without the vault file: one HPKE
/// encapsulation for all of them, a fresh deposit id each. Every input is
/// checked by the rules a deposit into the file follows (the label's
/// earlier kind is checked at ingest). Refused whole, naming the first bad
/// input's position, when any input is bad.
pub fn seal(
    recipient: &Recipient,
    inputs: &[TokenInput<'_>],
) -> Result<Vec<Token>, (usize, InputError)> {
    let batch = Batch::new(
        &recipient.escrow_public,
        &exported_info(&recipient.fingerprint),
    )
    .map_err(|e: BadPublicKey| (0, InputError::from(e)))?;
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| seal_one(recipient, &batch, input).map_err(|e| (i, e)))
        .collect()
}

fn seal_one(
    recipient: &Recipient,
    batch: &Batch,
    input: &TokenInput<'_>,
) -> Result<Token, InputError> {
    check_text(Field::Label, input.label, limits::LABEL)?;
    let secret = validate_secret(input.kind, input.secret)?;
    let attributes = deposit_attributes(&secret, input.meta)?;
    let mut deposit_id = [0u8; 16];
    random_bytes(&mut deposit_id);
    let mut deposit = Deposit {
        time: input.meta.time,
        actor: crate::vault::clean_actor(&input.meta.actor),
        label: input.label.to_owned(),
        kind: input.kind,
        version: 0,
        attributes,
        enc: batch.enc(),
        ciphertext: Vec::new(),
        deposit_id: Some(deposit_id),
    };
    deposit.ciphertext = batch.seal(
        &deposit.exported_aad(&recipient.fingerprint),
        &secret.encode(),
    );
    Ok(Token {
        fingerprint: recipient.fingerprint,
        escrow_public: recipient.escrow_public,
        deposit,
    })
}

fn check(token: &[u8]) -> [u8; 4] {
    let h = sha256(&[CHECK_LABEL, token]);
    [h[0], h[1], h[2], h[3]]
}

impl Token {
    /// The token's bytes: F ‖ the exported-key body less its version.
    fn bytes(&self) -> Vec<u8> {
        let body = Record::Deposit(Deposit {
            version: 1,
            ..self.deposit.clone()
        })
        .encode_body();
        [
            self.fingerprint.as_bytes(),
            &self.escrow_public[..],
            &body[4..],
        ]
        .concat()
    }

    /// The token as one line of text.
    pub fn to_line(&self) -> String {
        let mut bytes = self.bytes();
        let c = check(&bytes);
        bytes.extend_from_slice(&c);
        format!("{PREFIX}{}", base32().encode(&bytes))
    }

    /// Reads one token line (the prefix in any case; spaces, dashes and
    /// the usual look-alike letters forgiven, as everywhere people copy).
    pub fn parse(line: &str) -> Result<Self, TokenError> {
        let line = line.trim();
        if line.len() > MAX_LINE {
            return Err(TokenError::TooLong { len: line.len() });
        }
        let rest = strip_prefix(line).ok_or(TokenError::NotBase32)?;
        let bytes = base32()
            .decode(normalize(rest).as_bytes())
            .map_err(|_| TokenError::NotBase32)?;
        if bytes.len() < 64 + 4 {
            return Err(TokenError::NotBase32);
        }
        let (token, c) = bytes.split_at(bytes.len() - 4);
        if check(token) != c {
            return Err(TokenError::BadCheck);
        }
        let (f, rest) = token.split_at(32);
        let (escrow, rest) = rest.split_at(32);
        let body = [&1u32.to_be_bytes()[..], rest].concat();
        let Ok(Record::Deposit(mut deposit)) =
            Record::decode(crate::record::kind::DEPOSIT_EXPORTED, &body)
        else {
            let why = match Record::decode(crate::record::kind::DEPOSIT_EXPORTED, &body) {
                Err(e) => e.to_string(),
                Ok(_) => "not a deposit".into(),
            };
            return Err(TokenError::Body { why });
        };
        // New input: the strict text rules, not replay's older ones.
        check_strict(&deposit).map_err(|why| TokenError::Body { why })?;
        deposit.version = 0;
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(f);
        let mut escrow_public = [0u8; 32];
        escrow_public.copy_from_slice(escrow);
        Ok(Self {
            fingerprint: Fingerprint::from_bytes(fingerprint),
            escrow_public,
            deposit,
        })
    }
}

/// The rules new input follows (not replay's older ones), for every text
/// a token carries: label, actor and each known attribute.
fn check_strict(d: &Deposit) -> Result<(), String> {
    use crate::record::attr;
    let text = |field, value: &str, max| check_text(field, value, max).map_err(|e| e.to_string());
    text(Field::Label, &d.label, limits::LABEL)?;
    if !d.actor.is_empty() {
        text(Field::Device, &d.actor, limits::ACTOR).map_err(|e| format!("actor: {e}"))?;
    }
    for (tag, value) in &d.attributes {
        match *tag {
            attr::DEVICE | attr::ALSO_KNOWN_AS | attr::USER => {
                text(Field::Device, value, limits::ATTRIBUTE)?
            }
            attr::KEY_ID => match crate::recovery_key::check_key_id(value) {
                Ok(id) if id == *value => {}
                _ => return Err(format!("the key ID {value:?} is not 8 hexadecimal digits")),
            },
            _ => {}
        }
    }
    Ok(())
}

fn strip_prefix(line: &str) -> Option<&str> {
    let head = line.get(..PREFIX.len())?;
    head.eq_ignore_ascii_case(PREFIX)
        .then(|| &line[PREFIX.len()..])
}

/// The token lines of a text, with their 1-based line numbers; every
/// other line is ignored (token files may be concatenated, commented).
pub fn find(text: &str) -> impl Iterator<Item = (usize, Result<Token, TokenError>)> + '_ {
    text.lines()
        .enumerate()
        .filter(|(_, l)| strip_prefix(l.trim()).is_some())
        .map(|(i, l)| (i + 1, Token::parse(l)))
}

/// What ingest does with one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Appended as this version of its label.
    Append(Box<Record>),
    /// Already in the vault (or earlier in this ingest): nothing added.
    Skip(Skipped),
    /// Refused: nothing of this ingest is written.
    Refuse(Refusal),
}

/// Why a token adds nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// The vault holds this very deposit as record `record`, version
    /// `version` of its label (byte for byte; or, for a token of an earlier
    /// generation, the same deposit re-sealed by the rekey).
    Ingested {
        /// Its label.
        label: String,
        /// Its version there.
        version: u32,
        /// Its record number.
        record: usize,
    },
    /// The same token came earlier in this ingest, as token `first` (0-based).
    Repeated {
        /// The earlier token's position.
        first: usize,
    },
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Sealed to another vault (or one whose keys were replaced).
    #[error("was sealed to the vault with fingerprint {token}, but this vault is {vault}: it is for another vault, or this vault's keys were replaced")]
    OtherVault {
        /// The token's fingerprint, short form.
        token: String,
        /// The vault's, short form.
        vault: String,
    },
    /// Sealed under this vault's fingerprint but to another escrow key: the
    /// recipient the device was given was forged.
    #[error("carries this vault's fingerprint but was sealed to another escrow key: the recipient the device was given is not this vault's (forged or altered) — the vault cannot open it")]
    OtherEscrowKey,
    /// Sealed to this vault before a rekey retired that recipient.
    #[error("was sealed to generation {generation}'s recipient, which a rekey retired: re-seal it with the current recipient (breakglass recipient VAULT)")]
    EarlierGeneration {
        /// The generation it was sealed to.
        generation: u32,
        /// When that generation ended, Unix seconds.
        rekeyed: u64,
    },
    /// Its deposit id is already another deposit's, with other content: a
    /// forged or altered token (or the vault's deposit is).
    #[error("carries the deposit id of {held}, but not its content: one of them was forged or altered — nothing was ingested; compare them with the device's own copy")]
    ConflictingId {
        /// What holds the id: a record of the vault, or an earlier token.
        held: String,
    },
    /// The vault's rules refuse it (kind changed, nothing to rotate, …).
    #[error("{0}")]
    Input(#[from] InputError),
}

/// Decides, for each token in order, whether ingest appends it (with the
/// version it gets), skips it or refuses it. Appends happen only when no
/// token is refused (the caller writes the appends in one write). A token
/// is skipped only when the vault (or an earlier token) holds exactly the
/// same deposit: a token that shares a deposit id with other content is
/// refused, so a forged token cannot make the real one look ingested.
pub fn plan(vault: &crate::vault::Vault, tokens: &[Token]) -> Vec<Outcome> {
    let mut next: HashMap<&str, (u32, EntryKind)> = HashMap::new();
    let mut seen: HashMap<[u8; 16], usize> = HashMap::new();
    let vault_f = vault.fingerprint();
    let escrow = vault.genesis().escrow_public;
    tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let d = &t.deposit;
            let id = d.deposit_id.expect("tokens are exported-key deposits");
            let current = t.fingerprint == vault_f;
            if current && t.escrow_public != escrow {
                return Outcome::Refuse(Refusal::OtherEscrowKey);
            }
            let earlier = if current {
                None
            } else {
                earlier_generation(vault, t)
            };
            if !current && earlier.is_none() {
                return Outcome::Refuse(Refusal::OtherVault {
                    token: t.fingerprint.short(),
                    vault: vault_f.short(),
                });
            }
            if let Some(&first) = seen.get(&id) {
                return if tokens[first] == *t {
                    Outcome::Skip(Skipped::Repeated { first })
                } else {
                    Outcome::Refuse(Refusal::ConflictingId {
                        held: format!("token {} of this ingest", first + 1),
                    })
                };
            }
            seen.insert(id, i);
            if let Some(record) = vault.deposit_with_id(&id) {
                return held_already(vault, t, record, current);
            }
            if let Some((generation, rekeyed)) = earlier {
                return Outcome::Refuse(Refusal::EarlierGeneration {
                    generation,
                    rekeyed,
                });
            }
            match assign(vault, &mut next, d) {
                Ok(record) => Outcome::Append(Box::new(record)),
                Err(e) => Outcome::Refuse(Refusal::Input(e)),
            }
        })
        .collect()
}

/// A token whose deposit id the vault holds in `record`: skipped when it is
/// that very deposit, refused otherwise.
fn held_already(vault: &crate::vault::Vault, t: &Token, record: usize, current: bool) -> Outcome {
    let d = &t.deposit;
    let held = vault.entries().get(&d.label).and_then(|e| {
        let v = e.versions.iter().find(|v| v.record + 1 == record)?;
        let stored = vault.deposit_at(&d.label, v.version, v.offset)?;
        // A rekey re-seals (new enc and ciphertext) but keeps the metadata.
        let same = stored.sealed_meta() == d.sealed_meta()
            && (!current || (stored.enc == d.enc && stored.ciphertext == d.ciphertext));
        same.then_some(v.version)
    });
    match held {
        Some(version) => Outcome::Skip(Skipped::Ingested {
            label: d.label.clone(),
            version,
            record,
        }),
        None => Outcome::Refuse(Refusal::ConflictingId {
            held: format!("record #{record} of the vault"),
        }),
    }
}

/// The version a token's deposit gets, checking the label's kind against
/// the vault and against the tokens before it in this ingest.
fn assign<'t>(
    vault: &crate::vault::Vault,
    next: &mut HashMap<&'t str, (u32, EntryKind)>,
    d: &'t Deposit,
) -> Result<Record, InputError> {
    let version = match next.get(d.label.as_str()) {
        Some(&(_, held)) if held != d.kind => {
            return Err(InputError::KindMismatch {
                label: d.label.clone(),
                held,
                given: d.kind,
            })
        }
        Some(&(v, _)) => v,
        None => {
            let is_rotation = d.attribute(crate::record::attr::ROTATION).is_some();
            if is_rotation && !vault.entries().contains_key(&d.label) {
                return Err(InputError::NothingToRotate {
                    label: d.label.clone(),
                });
            }
            vault.next_version(&d.label, d.kind)?
        }
    };
    next.insert(&d.label, (version + 1, d.kind));
    Ok(Record::Deposit(Deposit {
        version,
        ..d.clone()
    }))
}

/// The earlier generation of this vault the token was sealed to, with the
/// time its rekey ended it.
fn earlier_generation(vault: &crate::vault::Vault, t: &Token) -> Option<(u32, u64)> {
    (1..vault.epoch()).find_map(|g| {
        let (genesis, rekeyed) = vault.earlier_epoch(g)?;
        (Fingerprint::of(genesis) == t.fingerprint).then_some((g, rekeyed))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn recipient() -> Recipient {
        let mk = crate::keys::MasterKey::generate();
        let (public, _) = crate::escrow::generate(&mk, &crate::VaultId([1; 16]));
        Recipient {
            fingerprint: Fingerprint::from_bytes([7; 32]),
            escrow_public: public,
        }
    }

    fn secret(s: &str) -> EntrySecret {
        EntrySecret {
            username: Zeroizing::new("admin".into()),
            secret: Zeroizing::new(s.as_bytes().to_vec()),
        }
    }

    fn tokens(n: usize) -> Vec<Token> {
        let s = secret("pw-1");
        let meta = DepositMeta {
            actor: "mdm@host".into(),
            time: 1_700_000_000,
            device: Some("MAC-1".into()),
            ..DepositMeta::default()
        };
        let inputs: Vec<TokenInput<'_>> = (0..n)
            .map(|_| TokenInput {
                label: "laps-pc1",
                kind: EntryKind::Password,
                secret: &s,
                meta: &meta,
            })
            .collect();
        seal(&recipient(), &inputs).unwrap()
    }

    #[test]
    fn a_token_line_round_trips_and_forgives_what_people_do() {
        let t = &tokens(1)[0];
        let line = t.to_line();
        assert!(line.starts_with(PREFIX));
        assert_eq!(Token::parse(&line).as_ref(), Ok(t));
        let lower = line.to_lowercase();
        assert_eq!(Token::parse(&lower).as_ref(), Ok(t));
        assert_eq!(Token::parse(&format!("  {line}\r")).as_ref(), Ok(t));
    }

    #[test]
    fn a_batch_shares_one_encapsulation_with_distinct_ids() {
        let ts = tokens(3);
        assert!(ts.iter().all(|t| t.deposit.enc == ts[0].deposit.enc));
        assert_ne!(ts[0].deposit.deposit_id, ts[1].deposit.deposit_id);
        assert_ne!(ts[0].deposit.ciphertext, ts[1].deposit.ciphertext);
    }

    #[test]
    fn a_changed_character_is_named_as_damage() {
        let line = tokens(1)[0].to_line();
        let mut bad_check = 0;
        for i in (PREFIX.len()..line.len()).step_by(7) {
            let mut changed = line.clone().into_bytes();
            changed[i] = if changed[i] == b'Z' { b'Y' } else { b'Z' };
            let err = Token::parse(std::str::from_utf8(&changed).unwrap()).unwrap_err();
            assert!(
                matches!(err, TokenError::BadCheck | TokenError::NotBase32),
                "{i}: {err}"
            );
            bad_check += usize::from(err == TokenError::BadCheck);
        }
        assert!(bad_check > 0);
        let cut = &line[..line.len() - 10];
        assert!(Token::parse(cut).is_err());
        assert!(matches!(
            Token::parse(&format!("{PREFIX}{}", "A".repeat(MAX_LINE))),
            Err(TokenError::TooLong { .. })
        ));
    }

    #[test]
    fn find_reads_token_lines_among_others() {
        let ts = tokens(2);
        let text = format!(
            "# from the MDM\n{}\nnot a token\n\n{}\n{PREFIX}ZZZZ\n",
            ts[0].to_line(),
            ts[1].to_line()
        );
        let found: Vec<_> = find(&text).collect();
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].0, 2);
        assert_eq!(found[1].0, 5);
        assert_eq!(found[2].0, 6);
        assert!(found[2].1.is_err());
    }

    #[test]
    fn bad_inputs_are_refused_with_their_position() {
        let good = secret("pw");
        let empty = secret("");
        let meta = DepositMeta::default();
        let inputs = [
            TokenInput {
                label: "a",
                kind: EntryKind::Password,
                secret: &good,
                meta: &meta,
            },
            TokenInput {
                label: "b",
                kind: EntryKind::Password,
                secret: &empty,
                meta: &meta,
            },
        ];
        let (at, err) = seal(&recipient(), &inputs).unwrap_err();
        assert_eq!(at, 1);
        assert_eq!(err, InputError::SecretEmpty);
        let bidi = TokenInput {
            label: "a\u{202e}b",
            kind: EntryKind::Password,
            secret: &good,
            meta: &meta,
        };
        assert!(seal(&recipient(), &[bidi]).is_err());
    }

    fn vault_file() -> (crate::vault::Vault, Vec<u8>, crate::vault::Created) {
        let spec = crate::vault::InitSpec::new("T", 2, ["a", "b"])
            .with_time(1)
            .with_kdf(crate::passphrase::KdfParams::FLOOR);
        let created = crate::vault::create(&spec, &[None, None]).unwrap();
        let bytes = created.bytes.clone();
        let v = crate::vault::Vault::replay(&crate::log::parse(&bytes).unwrap()).unwrap();
        (v, bytes, created)
    }

    fn append(bytes: &mut Vec<u8>, records: &[Record]) -> crate::vault::Vault {
        for r in records {
            let v = crate::vault::Vault::replay(&crate::log::parse(bytes).unwrap()).unwrap();
            bytes.extend_from_slice(
                &crate::log::encode_frame(v.head(), r.kind(), &r.encode_body()).0,
            );
        }
        crate::vault::Vault::replay(&crate::log::parse(bytes).unwrap()).unwrap()
    }

    fn appended(outcomes: &[Outcome]) -> Vec<Record> {
        outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Append(r) => Some((**r).clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn ingest_appends_in_order_skips_repeats_and_the_deposit_opens() {
        let (v, mut bytes, created) = vault_file();
        let (s1, s2) = (secret("pw-1"), secret("pw-2"));
        let meta = DepositMeta::default();
        let input = |secret| TokenInput {
            label: "laps-pc1",
            kind: EntryKind::Password,
            secret,
            meta: &meta,
        };
        let ts = seal(&v.recipient(), &[input(&s1), input(&s2)]).unwrap();
        let twice = [ts[0].clone(), ts[1].clone(), ts[0].clone()];
        let outcomes = plan(&v, &twice);
        assert_eq!(outcomes[2], Outcome::Skip(Skipped::Repeated { first: 0 }));
        let v = append(&mut bytes, &appended(&outcomes));
        assert_eq!(v.entries().get("laps-pc1").unwrap().versions.len(), 2);
        // Ingesting the same file again adds nothing, naming where each is.
        let again = plan(&v, &ts);
        assert_eq!(
            again[1],
            Outcome::Skip(Skipped::Ingested {
                label: "laps-pc1".into(),
                version: 2,
                record: 3
            })
        );
        // A quorum reads the newest.
        let shares: Vec<_> = created.shares[..2]
            .iter()
            .map(|s| {
                v.check_share(&crate::share_text::decode(&s.text).unwrap(), None)
                    .unwrap()
            })
            .collect();
        let un = v.open(&shares).unwrap();
        let shown = un.reveal(&v, "laps-pc1").unwrap().unwrap();
        assert_eq!(shown.secret.secret.as_slice(), b"pw-2");
        assert_eq!(shown.version, 2);
    }

    #[test]
    fn ingest_refuses_tokens_of_other_vaults_and_rule_breaks() {
        let (v, _, _) = vault_file();
        let (other, _, _) = vault_file();
        let s = secret("pw");
        let meta = DepositMeta {
            rotation: true,
            ..DepositMeta::default()
        };
        let rotate = TokenInput {
            label: "new",
            kind: EntryKind::Password,
            secret: &s,
            meta: &meta,
        };
        let foreign = seal(
            &other.recipient(),
            &[TokenInput {
                meta: &DepositMeta::default(),
                ..rotate
            }],
        )
        .unwrap();
        let own = seal(&v.recipient(), &[rotate]).unwrap();
        match &plan(&v, &foreign)[0] {
            Outcome::Refuse(Refusal::OtherVault { token, vault }) => {
                assert_eq!(token, &other.fingerprint().short());
                assert_eq!(vault, &v.fingerprint().short());
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(
            plan(&v, &own)[0],
            Outcome::Refuse(Refusal::Input(InputError::NothingToRotate {
                label: "new".into()
            }))
        );
    }

    #[test]
    fn a_token_with_spoofing_text_is_refused() {
        let t = &tokens(1)[0];
        for (tag, value) in [
            (crate::record::attr::KEY_ID, "\u{202e}gnp.exe"),
            (crate::record::attr::DEVICE, "pc\u{200b}1"),
            (crate::record::attr::USER, "a\u{202e}b"),
        ] {
            let mut bad = t.clone();
            bad.deposit.attributes.retain(|(t, _)| *t != tag);
            bad.deposit.attributes.push((tag, value.into()));
            bad.deposit.attributes.sort_by_key(|(t, _)| *t);
            let err = Token::parse(&bad.to_line()).unwrap_err();
            assert!(matches!(err, TokenError::Body { .. }), "{tag}: {err}");
        }
        let mut actor = t.clone();
        actor.deposit.actor = "x\u{202e}y".into();
        assert!(Token::parse(&actor.to_line()).is_err());
    }
}
