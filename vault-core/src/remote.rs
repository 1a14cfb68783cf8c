//! Remote custodians (docs/FORMAT.md §10): an unseal request carries a
//! fresh X25519 public key; each custodian seals their share to it with
//! HPKE, bound to the whole request; only the operator's private key opens
//! the contributions, and it is destroyed when the request is finished or
//! has expired. No server: requests and contributions are short text
//! tokens for chat or email.
//!
//! ```text
//! breakglass-request:v1:<base32(request body || check)>
//! breakglass-contribution:v1:<base32(contribution body || check)>
//! ```

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

use crate::codec::{DecodeError, Reader, Writer};
use crate::keys::{os_rng, random_bytes, sha256};
use crate::shamir::KeyShare;
use crate::share::ShareBody;
use crate::VaultId;

type RemoteKem = X25519HkdfSha256;

const REQUEST_PREFIX: &str = "breakglass-request:v1:";
const CONTRIBUTION_PREFIX: &str = "breakglass-contribution:v1:";
/// Longest time a request may stay open.
pub const MAX_TTL_SECS: u64 = 7 * 24 * 3600;
/// How far a checking machine's clock may be behind the maker's before a
/// request of the longest life is taken for one that says too much.
pub const CLOCK_GRACE_SECS: u64 = 3600;

/// Why a request or contribution is refused. Messages carry no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// No token of the expected kind in the text.
    #[error("no '{0}…' line found")]
    NoToken(&'static str),
    /// The token's check does not match: damaged in transit.
    #[error("the {0} is damaged (its check does not match): copy it again")]
    Damaged(&'static str),
    /// Fields out of rules.
    #[error("malformed {0}: {1}")]
    Malformed(&'static str, DecodeError),
    /// A contribution for another request.
    #[error("was made for another request ({0})")]
    ForeignRequest(String),
    /// The contribution does not open with this request's key: altered,
    /// or replayed from a request whose key is gone.
    #[error("does not open with this request's key (altered, or made for an earlier request)")]
    DoesNotOpen,
    /// The request has expired.
    #[error("request {id} expired at {expires} (Unix time)")]
    Expired {
        /// Request id (short).
        id: String,
        /// Expiry, Unix seconds.
        expires: u64,
    },
    /// The reason breaks the text rules.
    #[error(transparent)]
    Reason(#[from] crate::error::InputError),
    /// An expiry of zero or beyond [`MAX_TTL_SECS`].
    #[error("a request must expire between 1 second and 7 days from now")]
    Expiry,
    /// A request that stays open longer than [`MAX_TTL_SECS`], whatever
    /// it says about itself.
    #[error("request {id} stays open until {expires} (Unix time), more than 7 days after it was made or from now: breakglass refuses requests open longer than 7 days — ask the operator for a new one")]
    TooLong {
        /// Request id (short).
        id: String,
        /// Expiry, Unix seconds.
        expires: u64,
    },
    /// A share of another generation of the request's vault.
    #[error("this share is from generation {share} of the vault, the request is for generation {request}: {hint}")]
    OtherGeneration {
        /// The share's generation.
        share: u16,
        /// The request's generation.
        request: u32,
        /// What to do.
        hint: &'static str,
    },
    /// A share of another vault offered to this request.
    #[error("this share belongs to vault {share}, the request to vault {request}")]
    ShareOfOtherVault {
        /// The share's vault (short id).
        share: String,
        /// The request's vault (short id).
        request: String,
    },
}

fn base32() -> &'static data_encoding::Encoding {
    crate::text::lines::base32()
}

fn check(label: &[u8], body: &[u8]) -> [u8; 4] {
    let h = sha256(&[label, body]);
    [h[0], h[1], h[2], h[3]]
}

/// Encodes `body` as `prefix` + base32(body || check).
fn armor(prefix: &str, label: &[u8], body: &[u8]) -> String {
    let mut bytes = body.to_vec();
    bytes.extend_from_slice(&check(label, body));
    format!("{prefix}{}", base32().encode(&bytes))
}

/// Finds the token line in `text`, decodes and checks it.
fn dearmor(
    text: &str,
    prefix: &'static str,
    label: &[u8],
    what: &'static str,
) -> Result<Vec<u8>, RemoteError> {
    let token = text
        .lines()
        .map(str::trim)
        .find_map(|l| {
            l.get(..prefix.len())
                .filter(|p| p.eq_ignore_ascii_case(prefix))
                .map(|_| &l[prefix.len()..])
        })
        .ok_or(RemoteError::NoToken(prefix))?;
    let symbols: String = token
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    let bytes = base32()
        .decode(symbols.as_bytes())
        .map_err(|_| RemoteError::Damaged(what))?;
    if bytes.len() < 4 {
        return Err(RemoteError::Damaged(what));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 4);
    if check(label, body) != sum {
        return Err(RemoteError::Damaged(what));
    }
    Ok(body.to_vec())
}

/// What a request's contributions may be used for: shown to custodians
/// before they contribute and checked by the command that opens them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Reveal entries (`unseal`).
    Unseal,
    /// A quarterly test that reveals nothing (`drill`).
    Drill,
    /// New master key and shares (`rekey`).
    Rekey,
}

impl Purpose {
    fn code(self) -> u8 {
        match self {
            Self::Unseal => 1,
            Self::Drill => 2,
            Self::Rekey => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Unseal,
            2 => Self::Drill,
            3 => Self::Rekey,
            _ => return None,
        })
    }

    /// The command it is for.
    pub fn command(self) -> &'static str {
        match self {
            Self::Unseal => "unseal",
            Self::Drill => "drill",
            Self::Rekey => "rekey",
        }
    }
}

/// Which generation of which vault a request is for, who asks, and why
/// (request format 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asking {
    /// The vault.
    pub vault_id: VaultId,
    /// Its fingerprint now.
    pub fingerprint: [u8; 32],
    /// Its generation now.
    pub generation: u32,
    /// The operator's name (self-asserted, like every actor).
    pub operator: String,
    /// What the contributions are for.
    pub purpose: Purpose,
}

/// A request (public: everything in it may travel in the clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The vault to be unsealed.
    pub vault_id: VaultId,
    /// Random request id.
    pub id: [u8; 16],
    /// Creation time, Unix seconds.
    pub created: u64,
    /// Expiry, Unix seconds.
    pub expires: u64,
    /// Why (shown to custodians before they contribute).
    pub reason: String,
    /// Ephemeral X25519 public key.
    pub public: [u8; 32],
    /// The vault's fingerprint and generation when the request was made
    /// (format 2; `None` in a format-1 request).
    pub generation: Option<([u8; 32], u32)>,
    /// Who made it (format 2; empty in format 1).
    pub operator: String,
    /// What it is for (format 1: unseal).
    pub purpose: Purpose,
}

/// The operator's name as a request carries it: self-asserted, like every
/// actor, so cleaned rather than refused, down to what a reader accepts.
fn operator_name(given: &str) -> String {
    let cleaned = crate::vault::clean_actor(given);
    if crate::text_rules::input_problem(&cleaned, crate::record::limits::ACTOR, true).is_none() {
        return cleaned;
    }
    let plain: String = cleaned
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " @._-".contains(*c))
        .collect();
    plain.trim().to_owned()
}

/// The words both ends of a request read to each other (see
/// [`Request::words`]): 256 short, distinct English nouns, none the start
/// of another, so each word carries 8 bits.
pub const WORDS: [&str; 256] = [
    "acid", "acorn", "actor", "adult", "agent", "album", "alarm", "alley", "amber", "angle",
    "ankle", "apple", "apron", "arena", "armor", "arrow", "atlas", "attic", "award", "bacon",
    "badge", "bagel", "baker", "banjo", "barn", "basin", "beach", "beard", "bench", "berry",
    "bison", "blade", "blank", "blaze", "block", "bloom", "board", "bonus", "boot", "bread",
    "brick", "bride", "broom", "brush", "bucket", "cabin", "cable", "cactus", "camel", "canal",
    "candy", "canoe", "cargo", "carpet", "castle", "cedar", "chain", "chalk", "chess", "chief",
    "cider", "circus", "cliff", "clock", "cloud", "coast", "cobra", "cocoa", "comet", "coral",
    "cotton", "couch", "crab", "crane", "crown", "curry", "daisy", "dance", "delta", "denim",
    "desk", "diary", "dingo", "dock", "donkey", "dove", "dragon", "drum", "duck", "eagle", "easel",
    "echo", "elbow", "elder", "ember", "engine", "fabric", "falcon", "fence", "ferry", "fiber",
    "field", "finch", "flute", "fork", "fossil", "fox", "frost", "fudge", "gadget", "garden",
    "garlic", "gecko", "ghost", "giant", "ginger", "glove", "goat", "gold", "goose", "grape",
    "gravel", "guitar", "hammer", "harbor", "hazel", "helmet", "hero", "hippo", "honey", "hook",
    "horse", "hotel", "igloo", "index", "island", "ivory", "jacket", "jaguar", "jelly", "jewel",
    "judge", "juice", "kayak", "kettle", "koala", "ladder", "lagoon", "lamp", "lemon", "lens",
    "lily", "lion", "lizard", "llama", "locket", "lotus", "magnet", "mango", "maple", "marble",
    "meadow", "melon", "mirror", "mitten", "monkey", "moose", "motor", "mouse", "muffin", "nickel",
    "noodle", "oasis", "ocean", "olive", "onion", "orbit", "otter", "oyster", "paddle", "palace",
    "panda", "parrot", "peach", "pearl", "pebble", "pepper", "piano", "pickle", "pilot", "pine",
    "pizza", "planet", "plum", "pocket", "pony", "poppy", "potato", "puzzle", "quail", "quartz",
    "quilt", "rabbit", "radar", "radio", "raven", "razor", "ribbon", "river", "robin", "rocket",
    "ruby", "saddle", "salmon", "sandal", "satin", "scarf", "shark", "sheep", "shield", "silver",
    "skunk", "sloth", "snail", "spider", "spoon", "squid", "statue", "stove", "sugar", "summit",
    "swan", "table", "tiger", "toast", "tomato", "topaz", "torch", "tulip", "tunnel", "turtle",
    "valley", "velvet", "violin", "wagon", "walnut", "walrus", "whale", "wheat", "willow",
    "window", "wizard", "wolf", "yacht", "yogurt", "zebra",
];

/// The request's private key. Zeroized on drop.
pub struct RequestKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for RequestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestKey([REDACTED])")
    }
}

/// First line of a request-key file (docs/FORMAT.md §10.1).
pub const KEY_FILE_HEADER: &str = "breakglass request key v1";

/// A request-key file that is not the key of the request it is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not the key of this request")]
pub struct NotThisRequestsKey;

impl RequestKey {
    /// The key's bytes, for the 0600 key file.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.0.clone()
    }
    /// A key read back from its file.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self(Zeroizing::new(bytes.try_into().ok()?)))
    }

    /// The key file's text for `request` (docs/FORMAT.md §10.1): the
    /// header line, the request id and the key, each in upper-case hex.
    pub fn to_file_text(&self, request: &Request) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(160));
        text.push_str(KEY_FILE_HEADER);
        text.push_str("\nrequest: ");
        text.push_str(&crate::hex_upper(&request.id));
        text.push_str("\nkey: ");
        for b in self.0.iter() {
            text.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            text.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
        text.push('\n');
        text
    }

    /// Reads a key file written by [`RequestKey::to_file_text`], refusing
    /// one made for another request.
    pub fn from_file_text(text: &str, request: &Request) -> Result<Self, NotThisRequestsKey> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
                .unwrap_or("")
        };
        if !text.starts_with(KEY_FILE_HEADER) || field("request:") != crate::hex_upper(&request.id)
        {
            return Err(NotThisRequestsKey);
        }
        let bytes = Zeroizing::new(
            data_encoding::HEXUPPER
                .decode(field("key:").as_bytes())
                .map_err(|_| NotThisRequestsKey)?,
        );
        Self::from_bytes(&bytes).ok_or(NotThisRequestsKey)
    }
}

impl Request {
    /// A new request (format 2), open for `ttl_secs` from `now`.
    pub fn new(
        asking: &Asking,
        reason: &str,
        now: u64,
        ttl_secs: u64,
    ) -> Result<(Self, RequestKey), RemoteError> {
        crate::vault::check_reason(reason)?;
        if ttl_secs == 0 || ttl_secs > MAX_TTL_SECS {
            return Err(RemoteError::Expiry);
        }
        let mut id = [0u8; 16];
        random_bytes(&mut id);
        let (sk, pk) = RemoteKem::gen_keypair_with_rng(&mut os_rng());
        let key = RequestKey(Zeroizing::new(sk.to_bytes().into()));
        let request = Self {
            vault_id: asking.vault_id,
            id,
            created: now,
            expires: now + ttl_secs,
            reason: reason.to_owned(),
            public: pk.to_bytes().into(),
            generation: Some((asking.fingerprint, asking.generation)),
            operator: operator_name(&asking.operator),
            purpose: asking.purpose,
        };
        Ok((request, key))
    }

    /// Four words from the whole request (vault, id, times, reason,
    /// operator, purpose, generation, key), which the custodian reads back
    /// to the operator by phone before contributing: a request swapped on
    /// its way shows other words. They come from Argon2id at OWASP's floor
    /// (19 MiB, 2 passes: about 50 ms); as they cover the request's own
    /// vault and times, no table can be made ahead of time, and matching
    /// one request's words takes about 2³² runs once it is seen
    /// (docs/SECURITY.md says what this does not prevent).
    pub fn words(&self) -> [&'static str; 4] {
        use argon2::{Algorithm, Argon2, Params, Version};
        let params = Params::new(19 * 1024, 2, 1, Some(4)).expect("valid Argon2 costs");
        let input = self.encode_body();
        let mut out = [0u8; 4];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(&input, b"breakglass/v1/request-words", &mut out)
            .expect("valid Argon2 input");
        out.map(|b| WORDS[usize::from(b)])
    }

    /// Short id for people: the first 4 bytes in hex.
    pub fn short_id(&self) -> String {
        crate::hex_upper(&self.id[..4])
    }

    /// The reason recorded by an unseal through this request: the request
    /// id (8 bytes, hex), then the reason given at unseal, or else the
    /// request's own (docs/FORMAT.md §10).
    pub fn audit_reason(&self, given: &str) -> String {
        let reason = if given.is_empty() {
            &self.reason
        } else {
            given
        };
        let mut text = format!(
            "remote request {}: {reason}",
            crate::hex_upper(&self.id[..8])
        );
        // The prefix must not push a long reason past the record's limit.
        while text.len() > crate::record::limits::REASON {
            text.pop();
        }
        text.truncate(text.trim_end().len());
        text
    }

    fn encode_body(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(if self.generation.is_some() { 2 } else { 1 })
            .bytes(self.vault_id.as_bytes())
            .bytes(&self.id)
            .u64(self.created)
            .u64(self.expires)
            .str(&self.reason)
            .bytes(&self.public);
        if let Some((fingerprint, generation)) = &self.generation {
            w.bytes(fingerprint)
                .u32(*generation)
                .str(&self.operator)
                .u8(self.purpose.code());
        }
        w.finish()
    }

    /// The request as a one-line token.
    pub fn to_token(&self) -> String {
        armor(
            REQUEST_PREFIX,
            b"breakglass/v1/request",
            &self.encode_body(),
        )
    }

    /// Reads a request from text holding its token.
    pub fn from_text(text: &str) -> Result<Self, RemoteError> {
        let body = dearmor(text, REQUEST_PREFIX, b"breakglass/v1/request", "request")?;
        let bad = |e| RemoteError::Malformed("request", e);
        let mut r = Reader::new(&body);
        let at = r.pos();
        let format = r.u8("format").map_err(bad)?;
        if !(1..=2).contains(&format) {
            return Err(bad(r.invalid("format", at, "unknown request format")));
        }
        // What a request says is shown to a custodian: it follows the text
        // rules of new records (no control, reordering or invisible
        // characters that could hide or fake a line, such as the words).
        let text = |r: &mut Reader<'_>, field: &'static str, max: usize| {
            let at = r.pos();
            let value = r.str(field).map_err(bad)?;
            match crate::text_rules::input_problem(value, max, true) {
                Some(_) => Err(bad(r.invalid(
                    field,
                    at,
                    "not plain text of the allowed length",
                ))),
                None => Ok(value.to_owned()),
            }
        };
        let mut request = Self {
            vault_id: VaultId(r.array("vault id").map_err(bad)?),
            id: r.array("request id").map_err(bad)?,
            created: r.u64("created").map_err(bad)?,
            expires: r.u64("expires").map_err(bad)?,
            reason: text(&mut r, "reason", crate::record::limits::REASON)?,
            public: r.array("public key").map_err(bad)?,
            generation: None,
            operator: String::new(),
            purpose: Purpose::Unseal,
        };
        if format == 2 {
            let fingerprint = r.array("fingerprint").map_err(bad)?;
            let generation = r.u32("generation").map_err(bad)?;
            request.generation = Some((fingerprint, generation));
            request.operator = text(&mut r, "operator", crate::record::limits::ACTOR)?;
            let at = r.pos();
            let code = r.u8("purpose").map_err(bad)?;
            request.purpose = Purpose::from_code(code)
                .ok_or_else(|| bad(r.invalid("purpose", at, "unknown purpose")))?;
        }
        r.finish().map_err(bad)?;
        Ok(request)
    }

    /// Fails if the request has expired at `now`, or would stay open
    /// longer than [`MAX_TTL_SECS`] from when it says it was made or from
    /// `now` (a request's times are its maker's word).
    pub fn check_open(&self, now: u64) -> Result<(), RemoteError> {
        if now > self.expires {
            return Err(RemoteError::Expired {
                id: self.short_id(),
                expires: self.expires,
            });
        }
        // From now, an hour of grace for a clock behind the maker's.
        let from_now = now.saturating_add(MAX_TTL_SECS + CLOCK_GRACE_SECS);
        if self.expires > from_now || self.expires > self.created.saturating_add(MAX_TTL_SECS) {
            return Err(RemoteError::TooLong {
                id: self.short_id(),
                expires: self.expires,
            });
        }
        Ok(())
    }

    /// Fails if `body` is not a share of the vault and generation this
    /// request is for (a format-1 share or request names no generation).
    pub fn check_share(&self, body: &ShareBody) -> Result<(), RemoteError> {
        if !body.identity.names_vault(&self.vault_id) {
            return Err(RemoteError::ShareOfOtherVault {
                share: body.identity.vault_short(),
                request: self.vault_id.short(),
            });
        }
        let (Some((_, request)), Some(share)) = (self.generation, body.identity.generation())
        else {
            return Ok(());
        };
        match u32::from(share).cmp(&request) {
            std::cmp::Ordering::Equal => Ok(()),
            std::cmp::Ordering::Less => Err(RemoteError::OtherGeneration {
                share,
                request,
                hint: "the vault was rekeyed since this share was made, so it no longer opens the \
                       vault — use the envelope you received at the last rekey",
            }),
            std::cmp::Ordering::Greater => Err(RemoteError::OtherGeneration {
                share,
                request,
                hint: "the request was made before the last rekey — ask the operator for a new \
                       request",
            }),
        }
    }

    fn info(&self) -> Vec<u8> {
        let mut info = b"breakglass/v1/contribution".to_vec();
        info.extend_from_slice(self.vault_id.as_bytes());
        info.extend_from_slice(&self.id);
        info
    }

    /// A custodian's contribution: their key share sealed to this request.
    /// The caller has checked the share belongs to the request's vault and
    /// unlocked it with the custodian's passphrase.
    pub fn contribute(&self, body: &ShareBody, share: &KeyShare) -> Result<String, RemoteError> {
        self.check_share(body)?;
        let pk = <RemoteKem as Kem>::PublicKey::from_bytes(&self.public)
            .map_err(|_| RemoteError::Damaged("request"))?;
        let mut plain = Zeroizing::new(Vec::with_capacity(33));
        plain.push(share.index());
        plain.extend_from_slice(share.y());
        let (enc, ct) = hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, RemoteKem>(
            &OpModeS::Base,
            &pk,
            &self.info(),
            &plain,
            &self.encode_body(),
            &mut os_rng(),
        )
        .map_err(|_| RemoteError::Damaged("request"))?;
        let mut w = Writer::new();
        w.u8(1).bytes(&self.id).bytes(&enc.to_bytes()).blob(&ct);
        Ok(armor(
            CONTRIBUTION_PREFIX,
            b"breakglass/v1/contribution",
            &w.finish(),
        ))
    }

    /// Opens a contribution with the request's key: the share inside.
    pub fn open(&self, key: &RequestKey, text: &str) -> Result<KeyShare, RemoteError> {
        let body = dearmor(
            text,
            CONTRIBUTION_PREFIX,
            b"breakglass/v1/contribution",
            "contribution",
        )?;
        let bad = |e| RemoteError::Malformed("contribution", e);
        let mut r = Reader::new(&body);
        let at = r.pos();
        if r.u8("format").map_err(bad)? != 1 {
            return Err(bad(r.invalid("format", at, "unknown contribution format")));
        }
        let id: [u8; 16] = r.array("request id").map_err(bad)?;
        let enc: [u8; 32] = r.array("encapsulated key").map_err(bad)?;
        let ct = r.blob("ciphertext").map_err(bad)?;
        r.finish().map_err(bad)?;
        if id != self.id {
            return Err(RemoteError::ForeignRequest(crate::hex_upper(&id[..4])));
        }
        let sk = <RemoteKem as Kem>::PrivateKey::from_bytes(key.0.as_ref())
            .map_err(|_| RemoteError::DoesNotOpen)?;
        let enc = <RemoteKem as Kem>::EncappedKey::from_bytes(&enc)
            .map_err(|_| RemoteError::DoesNotOpen)?;
        let plain = Zeroizing::new(
            hpke::single_shot_open::<AesGcm256, HkdfSha256, RemoteKem>(
                &OpModeR::Base,
                &sk,
                &enc,
                &self.info(),
                ct,
                &self.encode_body(),
            )
            .map_err(|_| RemoteError::DoesNotOpen)?,
        );
        if plain.len() != 33 {
            return Err(RemoteError::DoesNotOpen);
        }
        let mut y = Zeroizing::new([0u8; 32]);
        y.copy_from_slice(&plain[1..]);
        KeyShare::new(plain[0], y).ok_or(RemoteError::DoesNotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MasterKey;
    use crate::shamir::split;
    use proptest::prelude::*;

    fn asking(vault_id: VaultId) -> Asking {
        Asking {
            vault_id,
            fingerprint: [7; 32],
            generation: 2,
            operator: "olga".into(),
            purpose: Purpose::Unseal,
        }
    }

    fn setup() -> (Request, RequestKey, ShareBody, KeyShare) {
        let id = VaultId([3; 16]);
        let share = split(&MasterKey::generate(), 2, 3).unwrap().remove(1);
        let body =
            ShareBody::seal(crate::share::ShareIdentity::V1(id), 2, 3, &share, None).unwrap();
        let (req, key) = Request::new(&asking(id), "IdP outage", 1000, 7200).unwrap();
        (req, key, body, share)
    }

    fn v2_body(generation: u16, share: &KeyShare) -> ShareBody {
        let identity = crate::share::ShareIdentity::V2 {
            vault_tag: [3; 5],
            generation,
            fingerprint: [7; 8],
        };
        ShareBody::seal(identity, 2, 3, share, None).unwrap()
    }

    #[test]
    fn a_format_1_request_still_reads_as_an_unseal_request() {
        let (mut req, _, _, _) = setup();
        req.generation = None;
        req.operator = String::new();
        let token = req.to_token();
        let read = Request::from_text(&token).unwrap();
        assert_eq!(read, req);
        assert_eq!(read.purpose, Purpose::Unseal);
    }

    /// A format-1 request token as the format-1 writer (62f915b) made it:
    /// read forever, as an unseal request naming no generation.
    #[test]
    fn a_golden_format_1_token_still_reads() {
        const GOLDEN_V1: &str =
            "breakglass-request:v1:041G60R30C1G60R30C1G60R30C1G2081040G2081040G\
            2081040G200000000003X000000000020200194P8M10DXTQ8RB7CM4GJ289144GJ289144GJ289144GJ2891\
            44GJ289144GJ289144GKXA4X6MG";
        let read = Request::from_text(GOLDEN_V1).unwrap();
        assert_eq!(
            read,
            Request {
                vault_id: VaultId([3; 16]),
                id: [1; 16],
                created: 1000,
                expires: 8200,
                reason: "IdP outage".into(),
                public: [9; 32],
                generation: None,
                operator: String::new(),
                purpose: Purpose::Unseal,
            }
        );
        assert_eq!(
            read.to_token(),
            GOLDEN_V1.split_whitespace().collect::<String>()
        );
    }

    #[test]
    fn purposes_round_trip_and_an_unknown_one_is_refused() {
        for purpose in [Purpose::Unseal, Purpose::Drill, Purpose::Rekey] {
            let a = Asking {
                purpose,
                ..asking(VaultId([3; 16]))
            };
            let (req, _) = Request::new(&a, "drill Q3", 1000, 60).unwrap();
            assert_eq!(Request::from_text(&req.to_token()).unwrap(), req);
        }
        let (req, _, _, _) = setup();
        let mut body = req.encode_body();
        *body.last_mut().unwrap() = 9;
        let token = armor(REQUEST_PREFIX, b"breakglass/v1/request", &body);
        assert!(matches!(
            Request::from_text(&token),
            Err(RemoteError::Malformed("request", _))
        ));
    }

    #[test]
    fn words_come_from_the_id_and_key_and_the_list_is_unambiguous() {
        let (req, _, _, _) = setup();
        assert_eq!(req.words(), req.clone().words());
        let (other, _) = Request::new(&asking(req.vault_id), "IdP outage", 1000, 7200).unwrap();
        assert_ne!(req.words(), other.words());
        let mut swapped = req.clone();
        swapped.public = other.public;
        assert_ne!(req.words(), swapped.words(), "another key, other words");
        for (i, a) in WORDS.iter().enumerate() {
            assert!((3..=7).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_lowercase()));
            for b in &WORDS[i + 1..] {
                assert!(!a.starts_with(b) && !b.starts_with(a), "{a} / {b}");
            }
        }
    }

    #[test]
    fn a_request_open_longer_than_7_days_is_refused_whatever_it_says() {
        let (mut req, _, _, _) = setup();
        req.check_open(1000).unwrap();
        req.expires = 1000 + 10 * 365 * 24 * 3600;
        assert!(matches!(
            req.check_open(1000),
            Err(RemoteError::TooLong { .. })
        ));
        // Made "later" than it was, to look fresh: from now, still too long.
        req.created = req.expires - 60;
        assert!(matches!(
            req.check_open(1000),
            Err(RemoteError::TooLong { .. })
        ));
        req.expires = 1000 + MAX_TTL_SECS;
        req.created = 1000;
        req.check_open(1000).unwrap();
    }

    #[test]
    fn a_share_of_another_generation_is_refused_before_anything_is_sealed() {
        let (req, _, _, share) = setup();
        assert_eq!(req.generation.map(|g| g.1), Some(2));
        req.contribute(&v2_body(2, &share), &share).unwrap();
        let stale = req.contribute(&v2_body(1, &share), &share).unwrap_err();
        assert!(
            stale
                .to_string()
                .contains("use the envelope you received at the last rekey"),
            "{stale}"
        );
        let newer = req.contribute(&v2_body(3, &share), &share).unwrap_err();
        assert!(
            newer
                .to_string()
                .contains("ask the operator for a new request"),
            "{newer}"
        );
    }

    #[test]
    fn request_roundtrips_as_a_token() {
        let (req, _, _, _) = setup();
        let token = req.to_token();
        assert!(token.starts_with("breakglass-request:v1:"));
        // Format 2 adds the fingerprint, generation, operator and purpose.
        assert!(token.len() < 260, "short enough to paste: {}", token.len());
        let text = format!("Please contribute\n{token}\n");
        assert_eq!(Request::from_text(&text).unwrap(), req);
        // Case, and O/I/L look-alikes, are forgiven as in share text.
        assert_eq!(Request::from_text(&token.to_lowercase()).unwrap(), req);
    }

    #[test]
    fn contribution_opens_only_with_its_request_key() {
        let (req, key, body, share) = setup();
        let c = req.contribute(&body, &share).unwrap();
        let got = req.open(&key, &c).unwrap();
        assert_eq!((got.index(), got.y()), (share.index(), share.y()));
        // Another request (another key and id): foreign.
        let (other, other_key) = Request::new(&asking(req.vault_id), "x", 1000, 60).unwrap();
        assert!(matches!(
            other.open(&other_key, &c),
            Err(RemoteError::ForeignRequest(_))
        ));
        // Same id, another key (a replay after the key is gone): does not open.
        let (_, wrong_key) = Request::new(&asking(req.vault_id), "x", 1000, 60).unwrap();
        assert_eq!(
            req.open(&wrong_key, &c).unwrap_err(),
            RemoteError::DoesNotOpen
        );
        // A request whose reason or expiry was changed in transit: does not open.
        let mut changed = req.clone();
        changed.expires += 3600;
        assert_eq!(
            changed.open(&key, &c).unwrap_err(),
            RemoteError::DoesNotOpen
        );
    }

    #[test]
    fn damaged_tokens_and_expiry() {
        let (req, key, body, share) = setup();
        let c = req.contribute(&body, &share).unwrap();
        let mut bad = c.clone().into_bytes();
        let n = bad.len();
        bad[n - 10] = if bad[n - 10] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(
            req.open(&key, &bad).unwrap_err(),
            RemoteError::Damaged("contribution")
        );
        assert!(matches!(
            req.open(&key, "hello"),
            Err(RemoteError::NoToken(_))
        ));
        req.check_open(8200).unwrap();
        assert!(matches!(
            req.check_open(8201),
            Err(RemoteError::Expired { .. })
        ));
        assert!(Request::new(&asking(req.vault_id), "x", 0, MAX_TTL_SECS + 1).is_err());
        let foreign_body = ShareBody::seal(
            crate::share::ShareIdentity::V1(VaultId([9; 16])),
            2,
            3,
            &share,
            None,
        )
        .unwrap();
        assert!(req.contribute(&foreign_body, &share).is_err());
    }

    /// A request's reason or operator that could fake or hide a line on
    /// the custodian's screen (the words, say) is refused when read: the
    /// maker's binary checks it, an attacker's need not (red-team finding).
    #[test]
    fn a_request_whose_text_could_fake_a_line_is_refused_when_read() {
        let (req, _, _, _) = setup();
        for (reason, operator) in [
            (
                "IdP outage\n  words:   acid acorn actor adult\u{1b}[8m",
                "olga",
            ),
            ("IdP outage", "olga\u{202e}"),
            ("IdP outage", "olga\r  expires: never"),
        ] {
            let forged = Request {
                reason: reason.into(),
                operator: operator.into(),
                ..req.clone()
            };
            assert!(
                matches!(
                    Request::from_text(&forged.to_token()),
                    Err(RemoteError::Malformed("request", _))
                ),
                "{reason:?} / {operator:?}"
            );
        }
        // The maker cleans a name instead of refusing it.
        let a = Asking {
            operator: "olga\u{202e}x".into(),
            ..asking(VaultId([3; 16]))
        };
        let (made, _) = Request::new(&a, "ok", 1000, 60).unwrap();
        assert_eq!(Request::from_text(&made.to_token()).unwrap(), made);
    }

    #[test]
    fn the_words_cover_the_whole_request_and_the_audit_reason_fits_a_record() {
        let (req, _, _, _) = setup();
        let changed = Request {
            reason: "another reason".into(),
            ..req.clone()
        };
        assert_ne!(req.words(), changed.words());
        let long = Request {
            reason: "x".repeat(crate::record::limits::REASON),
            ..req
        };
        assert!(crate::vault::check_reason(&long.audit_reason("")).is_ok());
    }

    proptest! {
        #[test]
        fn requests_round_trip(
            reason in "[a-zA-Z0-9 ]{0,60}",
            operator in "[a-z]{1,20}",
            generation in 1u32..,
            created in 0u64..(1 << 40),
            ttl in 1u64..=MAX_TTL_SECS,
            purpose in 1u8..=3,
        ) {
            let a = Asking {
                operator,
                generation,
                purpose: Purpose::from_code(purpose).unwrap(),
                ..asking(VaultId([5; 16]))
            };
            let (req, _) = Request::new(&a, reason.trim(), created, ttl).unwrap();
            prop_assert_eq!(Request::from_text(&req.to_token()).unwrap(), req);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = Request::from_text(&s);
            let _ = Request::from_text(&format!("breakglass-request:v1:{s}"));
            let (req, key, _, _) = setup();
            let _ = req.open(&key, &format!("breakglass-contribution:v1:{s}"));
        }
    }
}
