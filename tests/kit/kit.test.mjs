// The recovery page in headless Chromium (tests/kit/run.sh prepares the
// vault, shares, photo and the command line's messages in WORK).
//
//   node kit.test.mjs PAGE.html WORK
//
// One scenario, checked step by step; each step prints cargo's
// `test kit::NAME ... ok` or `FAILED`, and a `test result:` line ends it.
// The page is opened from a file: every request that is not the page
// itself is refused and fails the test, as does any CSP violation.
import { chromium } from "playwright-core";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [pagePath, work] = process.argv.slice(2);
const pageUrl = pathToFileURL(pagePath).href;
const read = (name) => readFileSync(join(work, name), "utf8");
let passed = 0;
let failed = 0;
let broken = false;

async function step(name, fn) {
  if (broken) {
    console.log(`test kit::${name} ... FAILED (an earlier step failed)`);
    failed++;
    return;
  }
  try {
    await fn();
    console.log(`test kit::${name} ... ok`);
    passed++;
  } catch (e) {
    const said = await page.locator("#messages li").allTextContents().catch(() => []);
    console.log(`test kit::${name} ... FAILED\n${e && e.stack ? e.stack : e}\nthe page said: ${JSON.stringify(said)}\npage errors: ${JSON.stringify(problems)}`);
    failed++;
    broken = true;
  }
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

/* The command line's message, less its "breakglass: error: " prefix. */
function cliMessage(file) {
  return read(file).trim().replace(/^breakglass: error: /, "");
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const context = await browser.newContext({ acceptDownloads: true });
const page = await context.newPage();
const outside = [];
const problems = [];
page.on("request", (r) => {
  const u = r.url();
  if (u !== pageUrl && !u.startsWith("blob:") && !u.startsWith("data:")) outside.push(u);
});
await context.route("**/*", (route) => {
  const u = route.request().url();
  return u === pageUrl ? route.continue() : route.abort();
});
page.on("console", (m) => {
  if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text());
});
page.on("pageerror", (e) => problems.push(String(e)));

const messages = () => page.locator("#messages li").allTextContents();
const lastMessage = async () => (await messages())[0] || "";
/* The page's answer to an action: the next message it adds. */
async function nextMessage(action) {
  const before = await page.locator("#messages li").count();
  await action();
  await page.waitForFunction((n) => document.querySelectorAll("#messages li").length > n, before, { timeout: 60000 });
  return lastMessage();
}

let started = 0;
let unlockMs = 0;
await step("the_page_starts_offline", async () => {
  started = Date.now();
  await page.goto(pageUrl);
  await page.waitForFunction(() => document.getElementById("no-wasm").hidden, null, { timeout: 180000 });
});

await step("the_vault_is_opened_and_summarised", async () => {
  await page.setInputFiles("#vault-file", join(work, "vault.bg"));
  await page.waitForSelector("#vault-summary:not([hidden])");
  expect((await page.textContent("#vault-name")) === "Kit browser test", "vault name");
  expect((await page.textContent("#vault-threshold")) === "3 of 3", "threshold");
});

await step("a_share_of_another_vault_gets_the_command_lines_words", async () => {
  const m = await nextMessage(() => page.setInputFiles("#share-file", join(work, "foreign.share")));
  expect(m === cliMessage("foreign.txt"), `page: ${m}\ncommand line: ${cliMessage("foreign.txt")}`);
});

await step("a_file_past_the_share_budget_is_refused_unread", async () => {
  const m = await nextMessage(() => page.setInputFiles("#share-file", join(work, "huge.share")));
  expect(m === "share huge.share: not a share (100 KiB; a share is under 2 KiB) — choose the custodian's share file", m);
});

await step("a_wrong_passphrase_gets_the_command_lines_words_and_the_share_waits", async () => {
  const chosen = page.setInputFiles("#share-file", join(work, "alice.share"));
  await page.waitForSelector("#passphrase-box:not([hidden])");
  await page.fill("#passphrase", "not-alices-passphrase");
  const m = await nextMessage(() => page.click("#unlock"));
  expect(m === cliMessage("wrong.txt"), `page: ${m}\ncommand line: ${cliMessage("wrong.txt")}`);
  expect(!(await page.isHidden("#passphrase-box")), "the passphrase is asked again");
  expect((await page.inputValue("#passphrase")) === "", "the wrong passphrase is cleared");
  await page.fill("#passphrase", "alice-kit-passphrase");
  const t0 = Date.now();
  const ok = await nextMessage(() => page.click("#unlock"));
  unlockMs = Date.now() - t0;
  await chosen;
  expect(ok === "alice's share is accepted.", ok);
});

await step("a_photo_of_an_envelope_is_read", async () => {
  const chosen = page.setInputFiles("#share-file", join(work, "bob.png"));
  await page.waitForSelector("#passphrase-box:not([hidden])", { timeout: 180000 });
  expect(/bob's share \(bob\.png\)/.test(await page.textContent("#passphrase-label")), "asks bob's passphrase");
  await page.fill("#passphrase", "bob-kit-passphrase");
  const ok = await nextMessage(() => page.press("#passphrase", "Enter"));
  await chosen;
  expect(ok === "bob's share is accepted.", ok);
});

await step("a_typed_envelope_with_a_typo_is_fixed_after_confirmation", async () => {
  const lines = read("shares/carol.share").split("\n").filter((l) => l.slice(2, 3) === ":");
  const c = lines[2].split("");
  c[10] = c[10] === "Z" ? "Y" : "Z";
  const typo = c.join("");
  for (const [i, l] of lines.entries()) {
    await page.fill("#typed-line", i === 2 ? typo : l);
    await page.press("#typed-line", "Enter");
  }
  const log = await page.locator("#typed-log li").allTextContents();
  expect(/retype/.test(log[2]), `line 3 refused: ${log[2]}`);
  await page.click("#typed-done");
  await page.waitForSelector("#typed-fix:not([hidden])");
  const fix = (await page.locator("#typed-log li").allTextContents()).pop();
  expect(/^line 3 \(group 2, symbol 2\).*confirm the fix$/.test(fix), fix);
  const ok = await nextMessage(() => page.click("#typed-fix"));
  expect(ok === "carol's share is accepted.", ok);
  const q = await page.textContent("#quorum");
  expect(q === "3 of 3 shares accepted (alice, bob, carol): enough to unseal.", q);
});

let secretsShownAt = 0;
await step("the_unseal_is_saved_before_the_secret_is_shown", async () => {
  await page.fill("#search", "entra");
  await page.check('#entries input[data-label="entra-bg1"]');
  await page.fill("#reason", "INC-4242 IdP outage");
  await page.fill("#actor", "on-call");
  await page.click("#unseal");
  await page.waitForSelector("#step-save:not([hidden])");
  expect(await page.isHidden("#step-secrets"), "no secret before the save");
  expect(!(await page.content()).includes("Kit-Entra-Secret"), "no secret in the page before the save");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
  expect(download.suggestedFilename() === "vault.bg", download.suggestedFilename());
  await download.saveAs(join(work, "saved.bg"));
  await page.waitForSelector("#step-secrets:not([hidden])");
  secretsShownAt = Date.now();
  writeFileSync(join(work, "receipt.txt"), (await page.textContent("#receipt")) + "\n");
});

await step("the_current_secret_is_shown", async () => {
  const s = await page.textContent('#secrets pre[data-label="entra-bg1"]');
  expect(s === "Kit-Entra-Secret-43!", `shown: ${s}`);
});

await step("the_printout_has_the_receipt_and_not_the_secret", async () => {
  await page.emulateMedia({ media: "print" });
  expect(await page.isVisible("#receipt"), "the receipt is printed");
  expect(!(await page.isVisible("#secrets")), "the secrets are not printed");
  await page.emulateMedia({ media: "screen" });
  const r = await page.textContent("#receipt");
  expect(/^breakglass-receipt:v1:/.test(r), r);
});

await step("nothing_left_the_page", async () => {
  expect(outside.length === 0, `requests: ${outside.join(", ")}`);
  expect(problems.length === 0, `page errors: ${problems.join(" | ")}`);
});

if (unlockMs) console.log(`kit: alice's share opened with her passphrase (Argon2id, init's default parameters) in ${unlockMs} ms in Chromium`);
if (secretsShownAt) console.log(`kit: from page load to the secret on screen (three shares, two passphrases): ${secretsShownAt - started} ms`);
await browser.close();
console.log(`test result: ${failed ? "FAILED" : "ok"}. ${passed} passed; ${failed} failed; 0 ignored; 0 measured; 0 filtered out`);
process.exit(failed ? 1 : 0);
