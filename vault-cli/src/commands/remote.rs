//! Remote custodians: `breakglass request` (operator), `breakglass
//! contribute` (each custodian, anywhere), and the contributions half of
//! `breakglass unseal --request`. A share never travels readable: it is
//! sealed (HPKE) to the request's key, which stays in a 0600 file on the
//! operator's machine and is destroyed when the request is finished or
//! found expired.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use vault_core::remote::{Asking, Purpose, Request, RequestKey};
use vault_core::share_text;
use vault_core::store::{self, Scope};
use vault_core::vault::{ShareProblem, Vault};
use zeroize::Zeroizing;

use crate::cli::{ContributeArgs, PurposeArg, RemoteArgs, RequestArgs};
use crate::commands::shares::{
    self, open_gathered, open_quorum, share_problem, source_name, text_problem, Gathered,
};
use crate::context::{self, rfc3339};
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Where a request's private key lives: beside the request.
pub fn key_path(request: &Path) -> PathBuf {
    let mut name = request.file_name().unwrap_or_default().to_os_string();
    name.push(".key");
    request.with_file_name(name)
}

/// Runs `request`.
pub fn request(a: RequestArgs) -> CliResult {
    let vault = super::load_scope(&a.vault, &Scope::Keys)?;
    let ttl = humantime::parse_duration(a.expires.trim())
        .map_err(|_| {
            CliError::usage(format!(
                "--expires {}: give a duration like 30m or 2h",
                a.expires
            ))
        })?
        .as_secs();
    let purpose = match a.purpose {
        PurposeArg::Unseal => Purpose::Unseal,
        PurposeArg::Drill => Purpose::Drill,
        PurposeArg::Rekey => Purpose::Rekey,
    };
    let asking = Asking {
        vault_id: *vault.id(),
        fingerprint: *vault.fingerprint().as_bytes(),
        generation: vault.generation(),
        operator: context::actor(),
        purpose,
    };
    let (req, key) = Request::new(&asking, a.reason.trim(), context::now(), ttl)?;
    let token = req.to_token();
    let words = req.words().join(" ");
    let text = format!(
        "{} request {} for vault '{}' ({}), generation {}\nFrom: {}\nReason: {}\nExpires: {}\n\
         Words: {words} (read them back to {} by phone before you contribute)\n\
         Custodian: breakglass contribute REQUEST --share YOUR.share --out contribution.txt\n{token}\n",
        capitalised(purpose.command()),
        req.short_id(),
        vault.name(),
        vault.fingerprint(),
        vault.generation(),
        req.operator,
        req.reason,
        rfc3339(req.expires),
        req.operator,
    );
    let keyfile = key.to_file_text(&req);
    let kpath = key_path(&a.out);
    store::write_new_file(&kpath, keyfile.as_bytes(), a.force)?;
    if let Err(e) = store::write_new_file(&a.out, text.as_bytes(), a.force) {
        let _ = destroy_key(&kpath);
        return Err(e.into());
    }
    if let Some(qr) = &a.qr {
        let png = crate::paper::qr::encode(token.as_bytes())
            .and_then(|s| s.to_png(8))
            .map_err(CliError::input)?;
        store::write_new_file(qr, &png, a.force)?;
    }
    if a.json {
        super::print_json(&json!({
            "request": a.out.display().to_string(),
            "key": kpath.display().to_string(),
            "id": vault_core::hex_upper(&req.id),
            "expires": rfc3339(req.expires),
            "for": purpose.command(),
            "words": words,
            "token": token,
        }));
    } else {
        println!(
            "Request {} written to {} (expires {}). Send it to the custodians; its private key \
             stays in {}.",
            req.short_id(),
            a.out.display(),
            rfc3339(req.expires),
            kpath.display()
        );
        println!(
            "Each custodian reads these words back to you by phone before contributing: {words}"
        );
        println!("{token}");
    }
    Ok(())
}

/// Reads a request from a file, or from the argument if it is the token.
fn read_request(arg: &str) -> CliResult<Request> {
    let text = if arg
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("breakglass-request:")
    {
        arg.to_owned()
    } else {
        let bytes = std::fs::read(arg).map_err(|e| CliError::input(format!("{arg}: {e}")))?;
        if crate::paper::scan::is_picture(&bytes) {
            crate::paper::scan::decode(Path::new(arg))
                .map_err(|e| CliError::input(format!("{arg}: {e}")))?
                .to_string()
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    Request::from_text(&text).map_err(|e| CliError::input(format!("request {arg}: {e}")))
}

/// Runs `contribute`.
pub fn contribute(a: ContributeArgs) -> CliResult {
    let req = read_request(&a.request)?;
    req.check_open(context::now())?;
    let mut input = Input::new();
    let text = input.share_text(&a.share)?;
    let source = source_name(&a.share);
    let body = share_text::decode(&text)
        .map_err(|e| CliError::input(format!("share {source}: {}", text_problem(&e))))?;
    if !body.identity.names_vault(&req.vault_id) {
        return Err(CliError::input(format!(
            "share {source}: belongs to vault {}, but the request is for vault {} — use your share for that vault",
            body.identity.vault_short(),
            req.vault_id.short()
        )));
    }
    req.check_share(&body)
        .map_err(|e| CliError::input(format!("share {source}: {e}")))?;
    let words = req.words().join(" ");
    eprintln!(
        "{} request {} for vault {}{}\n  from:    {}\n  reason:  {}\n  expires: {}\n  words:   {words}",
        capitalised(req.purpose.command()),
        req.short_id(),
        // The fingerprint the envelopes show (format 2), else the vault id.
        req.generation.map_or_else(
            || req.vault_id.fingerprint(),
            |(f, _)| vault_core::fingerprint::Fingerprint::from_bytes(f).to_string()
        ),
        req.generation
            .map_or(String::new(), |(_, g)| format!(", generation {g}")),
        if req.operator.is_empty() {
            "(not named: an older request)"
        } else {
            &req.operator
        },
        if req.reason.is_empty() {
            "(none given)"
        } else {
            &req.reason
        },
        rfc3339(req.expires)
    );
    let confirmed = if a.yes {
        true
    } else if input.is_terminal() {
        eprintln!(
            "Read the words above to the person who asked, by phone, before you go on: if they \
             see other words, the request was swapped on its way — stop and tell them."
        );
        input.confirm(&format!(
            "Did they confirm the words, and do you agree to this {}?",
            req.purpose.command()
        ))?
    } else {
        return Err(CliError::usage(
            "confirm with --yes when stdin is not a terminal",
        ));
    };
    if !confirmed {
        return Err(CliError::input("not confirmed: nothing was written"));
    }
    let passphrase = if body.is_protected() {
        Some(input.passphrase(&format!("Passphrase for your share ({source})"))?)
    } else {
        None
    };
    let share = match &a.vault {
        Some(v) => {
            let vault = super::load_scope(v, &Scope::Keys)?;
            if let Some((f, _)) = req.generation {
                if f != *vault.fingerprint().as_bytes() {
                    return Err(CliError::input(format!(
                        "request {}: made for vault fingerprint {}, but {} has fingerprint {} — \
                         do not contribute; ask the operator",
                        req.short_id(),
                        vault_core::fingerprint::Fingerprint::from_bytes(f).short(),
                        v.display(),
                        vault.fingerprint().short()
                    )));
                }
            }
            vault.check_share(&body, passphrase.as_ref()).map_err(|p| {
                CliError::input(format!("share {source}: {}", share_problem(&vault, &p)))
            })?
        }
        None => body
            .unlock(passphrase.as_ref())
            .map_err(|e| CliError::input(format!("share {source}: {e}")))?,
    };
    let token = req.contribute(&body, &share)?;
    store::write_new_file(&a.out, format!("{token}\n").as_bytes(), a.force)?;
    println!(
        "Contribution for request {} written to {}: send it to the operator. Only the request's key \
         opens it.",
        req.short_id(),
        a.out.display()
    );
    println!("{token}");
    Ok(())
}

/// An open request on the operator's machine: the request and its key.
pub struct OpenRequest {
    /// The request.
    pub request: Request,
    key: RequestKey,
    key_path: PathBuf,
}

impl OpenRequest {
    /// Loads a request and its key for `vault`; an expired request's key is
    /// destroyed and the request refused.
    pub fn load(vault: &Vault, path: &Path, purpose: Purpose) -> CliResult<Self> {
        let request = read_request(&path.display().to_string())?;
        if request.vault_id != *vault.id() {
            return Err(CliError::input(format!(
                "request {}: made for vault {}, not this one",
                path.display(),
                request.vault_id.short()
            )));
        }
        if request.purpose != purpose {
            return Err(CliError::input(format!(
                "request {}: the custodians contributed to a {}, not a {} — make a request with \
                 --for {}",
                path.display(),
                request.purpose.command(),
                purpose.command(),
                purpose.command()
            )));
        }
        if let Some((_, g)) = request.generation {
            if g != vault.generation() {
                return Err(CliError::input(format!(
                    "request {}: made for generation {g} of the vault, which is now generation {} \
                     (rekeyed since) — make a new request",
                    path.display(),
                    vault.generation()
                )));
            }
        }
        let key_path = key_path(path);
        if let Err(e) = request.check_open(context::now()) {
            // An expired request's key goes; one refused for another reason
            // (a clock behind the maker's) is kept for a later try.
            if matches!(e, vault_core::remote::RemoteError::Expired { .. }) {
                let _ = destroy_key(&key_path);
                return Err(CliError::input(format!(
                    "{e}; its key was destroyed — make a new request"
                )));
            }
            return Err(CliError::input(e.to_string()));
        }
        let key = read_key(&key_path, &request)?;
        Ok(Self {
            request,
            key,
            key_path,
        })
    }

    /// Opens and checks every contribution, naming the bad ones.
    pub fn gather<'v>(&self, vault: &'v Vault, files: &[PathBuf]) -> Gathered<'v> {
        let mut out = Gathered::new(vault);
        for file in files {
            let source = file.display().to_string();
            if let Err(why) = self.add_one(&mut out, file) {
                eprintln!("breakglass: contribution {source}: {why}");
                out.rejected.push(source);
            }
        }
        out
    }

    fn add_one(&self, gathered: &mut Gathered<'_>, file: &Path) -> Result<(), String> {
        let text = Zeroizing::new(std::fs::read_to_string(file).map_err(|e| e.to_string())?);
        let share = self
            .request
            .open(&self.key, &text)
            .map_err(|e| e.to_string())?;
        let vault = gathered.quorum.vault();
        let custodian = vault.custodian_name(share.index()).unwrap_or("?");
        match gathered.quorum.add_key_share(share) {
            Ok(_) => Ok(()),
            Err(ShareProblem::Duplicate { .. }) => Err(format!(
                "duplicate: custodian {custodian} already contributed"
            )),
            Err(p) => Err(format!(
                "custodian {custodian}: {}",
                shares::share_problem(vault, &p)
            )),
        }
    }

    /// Destroys the key: the request is finished and its contributions
    /// can never be opened again.
    pub fn finish(self) -> CliResult {
        destroy_key(&self.key_path)
            .map_err(|e| CliError::input(format!("{}: {e}", self.key_path.display())))
    }
}

fn read_key(path: &Path, request: &Request) -> CliResult<RequestKey> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        CliError::input(format!(
            "{}: {e} — the request's key is needed (it is destroyed once a request is finished)",
            path.display()
        ))
    })?);
    RequestKey::from_file_text(&text, request)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))
}

/// Overwrites the key file with zeros, syncs, and removes it.
fn destroy_key(path: &Path) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    let len = f.metadata()?.len() as usize;
    f.rewind()?;
    f.write_all(&vec![0u8; len])?;
    f.sync_all()?;
    drop(f);
    std::fs::remove_file(path)
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// Opens the vault with the shares given, or else with the contributions
/// to a request made `--for` this command; the request comes back with the
/// keys, to be finished (its key destroyed) once the command is done.
pub fn open_shares_or_request(
    vault: &Vault,
    path: &Path,
    shares: &[PathBuf],
    remote: &RemoteArgs,
    purpose: Purpose,
    input: &mut Input,
) -> CliResult<(
    vault_core::vault::Unsealed,
    Vec<String>,
    Option<OpenRequest>,
)> {
    let Some(request) = &remote.request else {
        let (u, used) = open_quorum(vault, path, shares, input)?;
        return Ok((u, used, None));
    };
    let request = OpenRequest::load(vault, request, purpose)?;
    let gathered = request.gather(vault, &remote.contributions);
    let (u, used) = open_gathered(path, &gathered)?;
    Ok((u, used, Some(request)))
}
