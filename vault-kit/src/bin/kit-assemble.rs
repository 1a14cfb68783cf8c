//! `kit-assemble WASM OUT.html VERSION`: writes the recovery page around
//! the kit's WebAssembly (scripts/kit.sh runs it).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [wasm, out, version] = args.as_slice() else {
        eprintln!("usage: kit-assemble WASM OUT.html VERSION");
        return ExitCode::from(2);
    };
    let wasm = match std::fs::read(wasm) {
        Ok(w) if w.starts_with(b"\0asm") => w,
        Ok(_) => {
            eprintln!("kit-assemble: {wasm}: not WebAssembly");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("kit-assemble: {wasm}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let page = vault_kit::page::assemble(&wasm, version);
    if let Err(e) = std::fs::write(out, page) {
        eprintln!("kit-assemble: {out}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
