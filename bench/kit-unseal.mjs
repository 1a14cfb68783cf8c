// bench/kit.sh's browser half: RUNS unseals in fresh pages, one time per
// run (ms, from giving the vault file to the secret on screen) on stdout.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(join(process.cwd(), "x.js"));
const { chromium } = require(join(process.env.NODE_PATH, "playwright-core"));
const [pagePath, work, runs] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const times = [];
for (let i = 0; i < Number(runs); i++) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(pathToFileURL(pagePath).href);
  await page.waitForFunction(() => document.getElementById("no-wasm").hidden);
  const t0 = Date.now();
  await page.setInputFiles("#vault-file", join(work, "vault.bg"));
  await page.waitForSelector("#step-shares:not([hidden])");
  for (const who of ["alice", "bob", "carol"]) {
    const chosen = page.setInputFiles("#share-file", join(work, "shares", `${who}.share`));
    await page.waitForSelector("#passphrase-box:not([hidden])");
    await page.fill("#passphrase", `${who}-kit-passphrase`);
    await page.click("#unlock");
    await chosen;
    await page.waitForSelector("#passphrase-box[hidden]", { state: "attached" });
  }
  await page.check('#entries input[data-label="entra-bg1"]');
  await page.fill("#reason", "bench");
  await page.fill("#actor", "bench");
  await page.click("#unseal");
  await page.waitForSelector("#step-save:not([hidden])");
  await Promise.all([page.waitForEvent("download"), page.click("#save")]);
  await page.waitForSelector('#secrets pre[data-label="entra-bg1"]');
  times.push(Date.now() - t0);
  await context.close();
}
await browser.close();
console.log(times.join(" "));
