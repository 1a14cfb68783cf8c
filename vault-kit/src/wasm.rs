//! The exports the page's script calls. Memory crosses the boundary as
//! (pointer, length) pairs the script writes into buffers it asked for
//! with `kit_alloc`; an answer is one buffer: its JSON length and bytes
//! length (two little-endian u32), the JSON, then the bytes. Every buffer
//! is zeroized before it is freed.
#![allow(unsafe_code)]

use std::cell::RefCell;

use zeroize::Zeroize;

use crate::api::Session;

thread_local! {
    static SESSION: RefCell<Session> = RefCell::new(Session::default());
}

#[link(wasm_import_module = "env")]
extern "C" {
    /// The page's clock, in milliseconds (`performance.now()`).
    fn bg_now_ms() -> f64;
    /// Tells the page that the module stopped on an internal error (the
    /// text: where in the code, never a secret); the page says so and
    /// asks to reload.
    fn bg_panic(ptr: *const u8, len: usize);
}

/// Sends a panic's place and message to the page before the module stops.
fn report_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let place = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let what = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let text = format!("{what} ({place})");
            unsafe { bg_panic(text.as_ptr(), text.len()) };
        }));
    });
}

/// A buffer of `len` bytes for the script to fill.
#[no_mangle]
pub extern "C" fn kit_alloc(len: usize) -> *mut u8 {
    let mut v = vec![0u8; len];
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Zeroizes and frees a buffer from [`kit_alloc`] or [`kit_call`].
///
/// # Safety
/// `ptr` and `len` must be a buffer this module handed out, freed once.
#[no_mangle]
pub unsafe extern "C" fn kit_free(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    let mut v = Vec::from_raw_parts(ptr, len, len);
    v.zeroize();
}

/// Runs one call; the argument buffers are the caller's to free.
///
/// # Safety
/// Each (pointer, length) pair must be a buffer from [`kit_alloc`].
#[no_mangle]
pub unsafe extern "C" fn kit_call(
    op: *const u8,
    op_len: usize,
    arg: *const u8,
    arg_len: usize,
    bytes: *const u8,
    bytes_len: usize,
) -> *mut u8 {
    report_panics();
    let op = std::str::from_utf8(slice(op, op_len)).unwrap_or("");
    let arg = slice(arg, arg_len);
    let input = slice(bytes, bytes_len).to_vec();
    let answer = SESSION.with(|s| {
        s.borrow_mut()
            .call(op, arg, input, &mut || unsafe { bg_now_ms() })
    });
    let (json, bytes) = (&answer.json, &answer.bytes);
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(json);
    out.extend_from_slice(bytes);
    let mut out = out.into_boxed_slice();
    let p = out.as_mut_ptr();
    std::mem::forget(out);
    p
}

unsafe fn slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, len)
    }
}
