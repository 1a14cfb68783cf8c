//! Remote custodians: `breakglass request` (operator), `breakglass
//! contribute` (each custodian, anywhere), and the contributions half of
//! `breakglass unseal --request`. A share never travels readable: it is
//! sealed (HPKE) to the request's key, which stays in a 0600 file on the
//! operator's machine and is destroyed when the request is finished or
//! found expired.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use vault_core::remote::{Request, RequestKey};
use vault_core::share_text;
use vault_core::store::{self, Scope};
use vault_core::vault::{ShareProblem, Vault};
use zeroize::Zeroizing;

use crate::cli::{ContributeArgs, RequestArgs};
use crate::commands::shares::{self, share_problem, source_name, text_problem, Gathered};
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
    let (req, key) = Request::new(*vault.id(), a.reason.trim(), context::now(), ttl)?;
    let token = req.to_token();
    let text = format!(
        "Unseal request {} for vault '{}' ({})\nReason: {}\nExpires: {}\n\
         Custodian: breakglass contribute REQUEST --share YOUR.share --out contribution.txt\n{token}\n",
        req.short_id(),
        vault.name(),
        vault.id().fingerprint(),
        req.reason,
        rfc3339(req.expires)
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
    eprintln!(
        "Request {} for vault {}\n  reason:  {}\n  expires: {}",
        req.short_id(),
        req.vault_id.fingerprint(),
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
        input.confirm("Contribute your share to this request?")?
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
    pub fn load(vault: &Vault, path: &Path) -> CliResult<Self> {
        let request = read_request(&path.display().to_string())?;
        if request.vault_id != *vault.id() {
            return Err(CliError::input(format!(
                "request {}: made for vault {}, not this one",
                path.display(),
                request.vault_id.short()
            )));
        }
        let key_path = key_path(path);
        if let Err(e) = request.check_open(context::now()) {
            let _ = destroy_key(&key_path);
            return Err(CliError::input(format!(
                "{e}; its key was destroyed — make a new request"
            )));
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
