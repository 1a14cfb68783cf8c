"use strict";
/* The recovery page's script: it moves bytes between the page and
   vault-core (WebAssembly) and shows what vault-core says. Every check,
   message and record is vault-core's. Text from the vault file or a share
   is only ever set with textContent, never parsed as HTML. */
(function () {
  const $ = (id) => document.getElementById(id);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  let wasm = null;
  let vaultName = "vault.bg";
  let state = { need: 0, accepted: [] };

  /* ---------------------------------------------------------- the module */
  async function load() {
    const text = $("kit-wasm").textContent.trim();
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    const imports = {
      env: { bg_now_ms: () => performance.now(), bg_panic: panicked },
      wasi_snapshot_preview1: wasi,
    };
    const { instance } = await WebAssembly.instantiate(bytes, imports);
    wasm = instance.exports;
  }

  /* The module is built for WASI (wasm32-wasip1: the QR reader asks the
     clock, which the bare WebAssembly target cannot answer). These are
     the seven WASI functions it imports, and all they do: randomness from
     the browser's generator, the clock, an empty environment, no output.
     No file, socket or other system call exists in this page. */
  const ESUCCESS = 0, EBADF = 8, EINVAL = 28;
  function view() { return new DataView(wasm.memory.buffer); }
  const wasi = {
    random_get(ptr, len) {
      if (!(self.crypto && crypto.getRandomValues)) return EINVAL;
      const bytes = new Uint8Array(wasm.memory.buffer, ptr, len);
      for (let i = 0; i < len; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(len, i + 65536)));
      return ESUCCESS;
    },
    clock_time_get(id, _precision, out) {
      const ms = id === 0 ? Date.now() : performance.now();
      view().setBigUint64(out, BigInt(Math.round(ms * 1e6)), true);
      return ESUCCESS;
    },
    environ_sizes_get(count, size) {
      view().setUint32(count, 0, true);
      view().setUint32(size, 0, true);
      return ESUCCESS;
    },
    environ_get() { return ESUCCESS; },
    fd_write(_fd, _iovs, _n, written) {
      view().setUint32(written, 0, true);
      return EBADF;
    },
    proc_exit(code) { throw new Error(`the module exited (${code})`); },
    sched_yield() { return ESUCCESS; },
  };

  /* The module stopped on an internal error: it cannot go on. Nothing was
     written; the vault file on the stick is as it was. */
  function panicked(ptr, len) {
    const text = dec.decode(new Uint8Array(wasm.memory.buffer, ptr, len).slice());
    say(`The recovery kit stopped on an internal error (${text}). Nothing was written; reload the page to start again, or use the command line.`, "error");
  }

  function put(data) {
    const len = data.length;
    const ptr = len ? wasm.kit_alloc(len) : 0;
    if (len) new Uint8Array(wasm.memory.buffer, ptr, len).set(data);
    return [ptr, len];
  }

  function release(ptr, len) {
    if (len) wasm.kit_free(ptr, len);
  }

  /* One call into vault-core: JSON (and bytes) in, JSON (and bytes) out.
     Argument buffers are zeroized and freed on the way out. */
  function call(op, arg, bytes) {
    const o = put(enc.encode(op));
    const a = put(enc.encode(JSON.stringify(arg || {})));
    const b = put(bytes || new Uint8Array(0));
    let out;
    try {
      out = wasm.kit_call(o[0], o[1], a[0], a[1], b[0], b[1]);
    } finally {
      release(o[0], o[1]);
      release(a[0], a[1]);
      release(b[0], b[1]);
    }
    const head = new DataView(wasm.memory.buffer, out, 8);
    const jlen = head.getUint32(0, true);
    const blen = head.getUint32(4, true);
    const json = JSON.parse(dec.decode(new Uint8Array(wasm.memory.buffer, out + 8, jlen)));
    const file = new Uint8Array(wasm.memory.buffer, out + 8 + jlen, blen).slice();
    wasm.kit_free(out, 8 + jlen + blen);
    json.file = file;
    return json;
  }

  /* ---------------------------------------------------------- messages */
  function say(text, kind) {
    const li = document.createElement("li");
    li.textContent = text;
    li.className = kind || "";
    $("messages").prepend(li);
  }

  function showQuorum(answer) {
    if (answer.accepted) state.accepted = answer.accepted;
    if (answer.need) state.need = answer.need;
    const got = state.accepted.length;
    $("quorum").textContent = got >= state.need
      ? `${got} of ${state.need} shares accepted (${state.accepted.join(", ")}): enough to unseal.`
      : `${got} of ${state.need} shares accepted${got ? " (" + state.accepted.join(", ") + ")" : ""}.`;
    $("step-entries").hidden = got < state.need;
    updateUnsealButton();
  }

  /* A share was offered: accepted at once, or waiting for its passphrase. */
  function offered(answer, source) {
    if (!answer.ok) {
      say(answer.error, "error");
      return;
    }
    if (answer.protected) {
      $("passphrase-label").textContent = `Passphrase for ${answer.custodian}'s share (${source}):`;
      $("passphrase-box").hidden = false;
      $("passphrase").focus();
    } else {
      say(`${answer.custodian}'s share is accepted.`, "ok");
    }
    showQuorum(answer);
  }

  /* ---------------------------------------------------------- 1. vault */
  $("vault-file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    vaultName = f.name;
    const answer = f.size > MAX_VAULT_FILE
      ? { ok: false, error: `this vault file is ${Math.round(f.size / 1048576)} MiB: the recovery page opens vaults up to 512 MiB; use the breakglass command line, which reads any size` }
      : call("open", {}, new Uint8Array(await f.arrayBuffer()));
    if (!answer.ok) {
      $("vault-summary").hidden = true;
      $("step-shares").hidden = true;
      say(answer.error, "error");
      $("messages").hidden = false;
      return;
    }
    $("vault-name").textContent = answer.name;
    $("vault-fingerprint").textContent = answer.fingerprint;
    $("vault-generation").textContent = String(answer.generation);
    $("vault-threshold").textContent = `${answer.threshold} of ${answer.custodians.length}`;
    $("vault-custodians").textContent = answer.custodians.join(", ");
    $("vault-entries").textContent = String(answer.entries);
    $("vault-contact").textContent = [answer.contact, answer.location].filter(Boolean).join(" — ") || "-";
    $("vault-summary").hidden = false;
    $("step-shares").hidden = false;
    state = { need: answer.threshold, accepted: [] };
    if (answer.torn) say(`The vault file ends in ${answer.torn} bytes of an interrupted write: they are left out of the saved file.`, "");
    showQuorum({});
    search();
  });

  /* ---------------------------------------------------------- 2. shares */
  function isPicture(b) {
    return (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) ||
      (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff);
  }

  /* The largest picture read: 40 megapixels, as on the command line. */
  const MAX_PIXELS = 40000000;
  const MAX_PICTURE_FILE = 64 * 1048576;
  const MAX_SHARE_TEXT = 64 * 1024;
  const MAX_VAULT_FILE = 512 * 1048576;

  function pixels(source, w, h) {
    if (w * h > MAX_PIXELS) return null;
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(source, 0, 0);
    return ctx.getImageData(0, 0, w, h);
  }

  function offerPicture(source, img) {
    if (!img) {
      say(`share ${source}: this picture is larger than 40 megapixels: take it at a lower resolution`, "error");
      return;
    }
    const answer = call("offer_picture", { source, width: img.width, height: img.height }, new Uint8Array(img.data.buffer));
    img.data.fill(0);
    offered(answer, source);
  }

  $("share-file").addEventListener("change", async (ev) => {
    for (const f of Array.from(ev.target.files)) {
      // Budgets before anything is read: a photo file up to 64 MiB, a
      // share's text up to 64 KiB (vault-kit/src/kit.rs says the same).
      const head = new Uint8Array(await f.slice(0, 4).arrayBuffer());
      const picture = isPicture(head);
      if (f.size > (picture ? MAX_PICTURE_FILE : MAX_SHARE_TEXT)) {
        say(picture
          ? `share ${f.name}: this photo file is ${Math.round(f.size / 1048576)} MiB: take it at a lower resolution (at most 64 MiB)`
          : `share ${f.name}: not a share (${Math.round(f.size / 1024)} KiB; a share is under 2 KiB) — choose the custodian's share file`, "error");
        continue;
      }
      const bytes = new Uint8Array(await f.arrayBuffer());
      if (picture) {
        let bitmap;
        try {
          bitmap = await createImageBitmap(new Blob([bytes]));
        } catch (e) {
          say(`share ${f.name}: not a readable picture`, "error");
          continue;
        }
        offerPicture(f.name, pixels(bitmap, bitmap.width, bitmap.height));
        bitmap.close();
      } else {
        offered(call("offer_text", { source: f.name, text: dec.decode(bytes) }), f.name);
        bytes.fill(0);
      }
      if (!$("passphrase-box").hidden) await passphraseDone();
    }
    ev.target.value = "";
  });

  /* With several files chosen at once, each protected share waits here
     until its passphrase is given or it is set aside. */
  let resolvePassphrase = null;
  function passphraseDone() {
    return new Promise((resolve) => { resolvePassphrase = resolve; });
  }
  function closePassphrase() {
    $("passphrase").value = "";
    $("passphrase-box").hidden = true;
    if (resolvePassphrase) { const r = resolvePassphrase; resolvePassphrase = null; r(); }
  }

  function unlock() {
    const answer = call("unlock", { passphrase: $("passphrase").value });
    $("passphrase").value = "";
    if (!answer.ok) {
      say(answer.error, "error");
      $("passphrase").focus();
      return;
    }
    say(`${answer.custodian}'s share is accepted.`, "ok");
    closePassphrase();
    showQuorum(answer);
  }
  $("unlock").addEventListener("click", unlock);
  $("passphrase").addEventListener("keydown", (ev) => { if (ev.key === "Enter") unlock(); });
  $("unlock-cancel").addEventListener("click", () => {
    showQuorum(call("cancel", {}));
    say("The share was set aside.", "");
    closePassphrase();
  });

  let stream = null;
  $("camera-start").addEventListener("click", async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (e) {
      say("The camera could not be opened: choose a photo file instead.", "error");
      return;
    }
    const v = $("camera");
    v.srcObject = stream;
    v.hidden = false;
    await v.play();
    $("camera-capture").hidden = false;
    $("camera-stop").hidden = false;
  });
  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    $("camera").hidden = true;
    $("camera-capture").hidden = true;
    $("camera-stop").hidden = true;
  }
  $("camera-stop").addEventListener("click", stopCamera);
  $("camera-capture").addEventListener("click", () => {
    const v = $("camera");
    offerPicture("camera", pixels(v, v.videoWidth, v.videoHeight));
    if (!$("passphrase-box").hidden || state.accepted.length >= state.need) stopCamera();
  });

  function typedLog(text, kind) {
    const li = document.createElement("li");
    li.textContent = text;
    li.className = kind || "";
    $("typed-log").append(li);
  }
  $("typed-line").addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    const line = $("typed-line").value;
    $("typed-line").value = "";
    if (!line.trim()) return;
    const answer = call("type_line", { line });
    typedLog(answer.message, answer.kept ? "ok" : "error");
  });
  function typedOffered(answer) {
    $("typed-fix").hidden = true;
    if (!answer.ok) {
      typedLog(answer.error, "error");
      $("typed-fix").hidden = !/confirm the fix$/.test(answer.error);
      return;
    }
    $("typed-log").replaceChildren();
    offered(answer, "typed");
  }
  $("typed-done").addEventListener("click", () => typedOffered(call("finish_typed", {})));
  $("typed-fix").addEventListener("click", () => typedOffered(call("accept_fix", {})));
  $("typed-clear").addEventListener("click", () => {
    call("clear_typed", {});
    $("typed-log").replaceChildren();
    $("typed-fix").hidden = true;
  });

  $("paste-add").addEventListener("click", () => {
    const text = $("paste").value;
    $("paste").value = "";
    if (text.trim()) offered(call("offer_text", { source: "pasted", text }), "pasted");
  });

  /* ---------------------------------------------------------- 3. entries */
  const chosen = new Set();
  function search() {
    const answer = call("find", { text: $("search").value });
    if (!answer.ok) return;
    const list = $("entries");
    list.replaceChildren();
    for (const e of answer.entries) {
      const li = document.createElement("li");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = chosen.has(e.label);
      box.dataset.label = e.label;
      box.addEventListener("change", () => {
        if (box.checked) chosen.add(e.label); else chosen.delete(e.label);
        updateUnsealButton();
      });
      const label = document.createElement("label");
      const what = [e.kind, e.device, e.key_id && "key ID " + e.key_id].filter(Boolean).join(", ");
      label.textContent = ` ${e.label} (${what})`;
      label.prepend(box);
      li.append(label);
      list.append(li);
    }
    $("found").textContent = answer.total > answer.entries.length
      ? `${answer.total} entries match; the first ${answer.entries.length} are listed: narrow the search.`
      : `${answer.total} entries.`;
  }
  $("search").addEventListener("input", search);

  function updateUnsealButton() {
    $("unseal").disabled = !(state.accepted.length >= state.need && chosen.size > 0 &&
      $("reason").value.trim() && $("actor").value.trim());
  }
  $("reason").addEventListener("input", updateUnsealButton);
  $("actor").addEventListener("input", updateUnsealButton);

  /* ---------------------------------------------------------- 4. unseal */
  let revealed = null;
  let saved = null;
  $("unseal").addEventListener("click", () => {
    const answer = call("unseal", {
      labels: Array.from(chosen),
      reason: $("reason").value,
      actor: $("actor").value + " (recovery kit)",
      now: Math.floor(Date.now() / 1000),
    });
    if (!answer.ok) {
      $("unseal-error").textContent = answer.error;
      $("unseal-error").hidden = false;
      return;
    }
    $("unseal-error").hidden = true;
    $("unseal").disabled = true;
    revealed = answer;
    saved = answer.file;
    $("recorded").textContent = `The unseal is recorded as audit record #${answer.record}, signed by the shares of ${answer.custodians.join(", ")}.`;
    $("step-save").hidden = false;
    for (const id of ["step-vault", "step-shares", "step-entries"]) $(id).hidden = true;
  });

  $("save").addEventListener("click", () => {
    const url = URL.createObjectURL(new Blob([saved], { type: "application/octet-stream" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = vaultName;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    showSecrets();
  });

  /* ---------------------------------------------------------- 5. secrets */
  function showSecrets() {
    const box = $("secrets");
    box.replaceChildren();
    for (const e of revealed.entries) {
      const div = document.createElement("div");
      div.className = "secret";
      const h = document.createElement("h3");
      h.textContent = `${e.label} (${e.kind}, version ${e.version}, sealed ${new Date(e.sealed * 1000).toISOString().replace(".000", "")})`;
      div.append(h);
      if (e.username) {
        const u = document.createElement("p");
        u.textContent = `username: ${e.username}`;
        div.append(u);
      }
      const pre = document.createElement("pre");
      pre.className = "mono";
      pre.dataset.label = e.label;
      pre.textContent = e.secret;
      div.append(pre);
      box.append(div);
    }
    $("receipt").textContent = revealed.receipt;
    if (revealed.warnings.length) {
      $("warnings").textContent = revealed.warnings.join("\n");
      $("warnings").hidden = false;
    }
    revealed.entries = [];
    $("step-save").hidden = true;
    $("step-secrets").hidden = false;
  }
  $("print").addEventListener("click", () => window.print());

  load().then(() => { $("no-wasm").hidden = true; }, (e) => {
    $("no-wasm").textContent = "The recovery kit could not start: " + e;
  });
})();
