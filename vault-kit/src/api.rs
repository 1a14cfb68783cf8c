//! The page's calls: an operation name, a JSON argument and a byte
//! argument (the vault file, a photo's pixels) in; a JSON answer and bytes
//! (the new vault file) out. Every answer is `{"ok": true, ...}` or
//! `{"ok": false, "error": "..."}` with the same words as the command line.

use secrecy::SecretString;
use serde_json::{json, Value};
use zeroize::{Zeroize, Zeroizing};

use crate::kit::{Kit, Offered, Refused};

/// The largest JSON argument of a call (a passphrase of 1 MiB, escaped).
pub const MAX_ARG: usize = 8 << 20;

/// The page's state: no vault yet, or one.
#[derive(Default)]
pub struct Session {
    kit: Option<Kit>,
}

/// An answer: JSON for the page, and bytes when there is a file to save.
/// The JSON may hold secrets: it is zeroized when dropped.
pub struct Answer {
    /// The JSON text.
    pub json: Zeroizing<Vec<u8>>,
    /// The new vault file, or empty.
    pub bytes: Vec<u8>,
}

/// Zeroizes every string in `v` (passphrases and shares in an argument,
/// secrets in an answer) before it is dropped.
fn wipe(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(a) => a.iter_mut().for_each(wipe),
        Value::Object(m) => m.values_mut().for_each(wipe),
        _ => {}
    }
}

impl Answer {
    fn of(value: Result<Value, Refused>) -> Self {
        let mut value = match value {
            Ok(Value::Object(mut map)) => {
                map.insert("ok".into(), Value::Bool(true));
                Value::Object(map)
            }
            Ok(other) => json!({"ok": true, "value": other}),
            Err(Refused(error)) => json!({"ok": false, "error": error}),
        };
        let json = Zeroizing::new(serde_json::to_vec(&value).unwrap_or_default());
        wipe(&mut value);
        Answer {
            json,
            bytes: Vec::new(),
        }
    }
}

impl Session {
    /// Runs one call. `clock_ms` is the page's clock (milliseconds), asked
    /// between picture-search attempts.
    pub fn call(
        &mut self,
        op: &str,
        arg: &[u8],
        bytes: Vec<u8>,
        clock_ms: &mut dyn FnMut() -> f64,
    ) -> Answer {
        if arg.len() > MAX_ARG {
            return Answer::of(Err(Refused(format!(
                "the page sent a call of {} MiB: at most {} MiB",
                arg.len() >> 20,
                MAX_ARG >> 20
            ))));
        }
        let mut arg: Value = match serde_json::from_slice(arg) {
            Ok(v) => v,
            Err(_) => return Answer::of(Err(Refused("the page sent a malformed call".into()))),
        };
        let answer = self.run(op, &arg, bytes, clock_ms);
        wipe(&mut arg);
        answer
    }

    fn run(
        &mut self,
        op: &str,
        arg: &Value,
        bytes: Vec<u8>,
        clock_ms: &mut dyn FnMut() -> f64,
    ) -> Answer {
        let bytes = Zeroizing::new(bytes);
        if op == "open" {
            return Answer::of(self.open(bytes.to_vec()));
        }
        let Some(kit) = self.kit.as_mut() else {
            return Answer::of(Err(Refused("load the vault file first".into())));
        };
        if op == "unseal" {
            return unseal(kit, arg);
        }
        Answer::of(match op {
            "find" => Ok(find(kit, str_arg(arg, "text"))),
            "offer_text" => kit
                .offer_text(str_arg(arg, "source"), str_arg(arg, "text"))
                .map(|o| offered(kit, &o)),
            "offer_picture" => {
                let start = clock_ms();
                let mut out_of_time =
                    || clock_ms() - start >= vault_core::scan::SEARCH_DEADLINE.as_millis() as f64;
                let (w, h) = (u32_arg(arg, "width"), u32_arg(arg, "height"));
                kit.offer_picture(str_arg(arg, "source"), w, h, &bytes, &mut out_of_time)
                    .map(|o| offered(kit, &o))
            }
            "unlock" => {
                let passphrase = SecretString::from(str_arg(arg, "passphrase").to_owned());
                kit.unlock(Some(passphrase)).map(|c| {
                    let mut v = progress(kit);
                    v["custodian"] = json!(c);
                    v
                })
            }
            "cancel" => {
                kit.cancel_pending();
                Ok(progress(kit))
            }
            "type_line" => {
                let (kept, message) = kit.type_line(str_arg(arg, "line"));
                Ok(json!({"kept": kept, "message": message, "lines": kit.typed_lines()}))
            }
            "finish_typed" => kit.finish_typed().map(|o| offered(kit, &o)),
            "accept_fix" => kit.accept_fix().map(|o| offered(kit, &o)),
            "clear_typed" => {
                kit.clear_typed();
                Ok(json!({}))
            }
            _ => Err(Refused(format!("unknown call {op}"))),
        })
    }

    fn open(&mut self, bytes: Vec<u8>) -> Result<Value, Refused> {
        self.kit = None;
        let kit = Kit::open(bytes)?;
        let v = kit.vault();
        let summary = json!({
            "name": v.name(),
            "id": v.id().hex(),
            "fingerprint": v.fingerprint().short(),
            "format": v.format(),
            "generation": v.generation(),
            "threshold": v.threshold(),
            "custodians": v.custodians().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            "contact": v.contact(),
            "location": v.location(),
            "entries": v.entries().len(),
            "records": v.record_count(),
            "torn": kit.torn(),
        });
        self.kit = Some(kit);
        Ok(summary)
    }
}

fn str_arg<'a>(arg: &'a Value, name: &str) -> &'a str {
    arg.get(name).and_then(Value::as_str).unwrap_or("")
}

fn u32_arg(arg: &Value, name: &str) -> u32 {
    arg.get(name)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0)
}

fn find(kit: &Kit, text: &str) -> Value {
    let (listed, total) = kit.find(text);
    let entries: Vec<Value> = listed
        .iter()
        .map(|e| {
            json!({
                "label": e.label,
                "kind": e.kind,
                "device": e.device,
                "key_id": e.key_id,
                "time": e.time,
            })
        })
        .collect();
    json!({"entries": entries, "total": total})
}

/// Where the quorum stands: who was accepted, how many are needed, and
/// whose share waits for a passphrase.
fn progress(kit: &Kit) -> Value {
    json!({
        "accepted": kit.accepted(),
        "need": kit.vault().threshold(),
        "pending": kit.pending(),
    })
}

fn offered(kit: &Kit, o: &Offered) -> Value {
    let mut v = progress(kit);
    v["custodian"] = json!(o.custodian);
    v["protected"] = json!(o.protected);
    v
}

fn unseal(kit: &mut Kit, arg: &Value) -> Answer {
    let labels: Vec<String> = arg
        .get("labels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let now = arg.get("now").and_then(Value::as_u64).unwrap_or(0);
    let done = kit.unseal(&labels, str_arg(arg, "reason"), str_arg(arg, "actor"), now);
    let done = match done {
        Ok(d) => d,
        Err(e) => return Answer::of(Err(e)),
    };
    let entries: Vec<Value> = done
        .revealed
        .iter()
        .map(|r| {
            json!({
                "label": r.label,
                "kind": r.kind.name(),
                "version": r.version,
                "sealed": r.time,
                "username": r.secret.username.as_str(),
                "secret": r.secret_text().as_str(),
                "encoding": if r.kind.is_text() { "text" } else { "base64" },
            })
        })
        .collect();
    let mut answer = Answer::of(Ok(json!({
        "record": done.receipt.record,
        "receipt": done.receipt.to_line(),
        "custodians": done.custodians,
        "warnings": done.warnings,
        "entries": entries,
    })));
    answer.bytes = done.file;
    answer
}
