// Drives the dashboard of a running `levfarm serve` in Debian's headless Chromium through
// playwright-core: sign up, fund, open a position with a live quote, watch it update when
// the oracle moves the price, place a stop-loss from the form and watch it fire.
//
//   node dashboard.mjs BASE_URL ORACLE_TOKEN OUT_DIR
//
// Exits non-zero with a message on the first expectation that fails; screenshots go to
// OUT_DIR (01-open.png, 02-moved.png, 03-stopped.png, and failure.png on a failure).

import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(process.env.PLAYWRIGHT_NODE_MODULES + "/");
const { chromium } = require("playwright-core");

const [base, oracle, out] = process.argv.slice(2);
if (!base || !oracle || !out) {
  console.error("usage: node dashboard.mjs BASE_URL ORACLE_TOKEN OUT_DIR");
  process.exit(2);
}

async function push(price) {
  const r = await fetch(`${base}/v1/oracle/price`, {
    method: "POST",
    headers: { authorization: `Bearer ${oracle}`, "content-type": "application/json" },
    body: JSON.stringify({ price }),
  });
  if (!r.ok) throw new Error(`price push ${price}: ${r.status} ${await r.text()}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
const shot = (name) => page.screenshot({ path: path.join(out, name), fullPage: true });
const timeout = 15000;

try {
  await page.goto(base, { waitUntil: "domcontentloaded" });
  // Sign up: the token is shown once, and the account's name appears.
  await page.fill("#signup-name", "carol");
  await page.click("#signup");
  await page.waitForFunction(() => document.querySelector("#whoami")?.textContent.includes("carol"), null, { timeout });
  const token = (await page.textContent("#new-token")) || "";
  if (!token.includes("lf_")) throw new Error(`no token shown after sign-up: ${token}`);

  // Fund, then the live quote and the open.
  await page.click("#fund-usdc");
  await page.waitForFunction(() => /10[,\s]?000/.test(document.querySelector("#wallet")?.textContent || ""), null, { timeout });
  await page.fill("#open-equity", "1000");
  await page.fill("#open-leverage", "3");
  await page.waitForFunction(() => /2[,\s]?000/.test(document.querySelector("#quote")?.textContent || ""), null, { timeout });
  await page.click("#open");
  const card = page.locator(".position").first();
  await card.waitFor({ timeout });
  const id = await card.getAttribute("data-id");
  await page.waitForFunction((id) => document.querySelector(`.position[data-id="${id}"] .status`)?.textContent.trim() === "open", id, { timeout });
  const equityBefore = (await card.locator(".equity").textContent()).trim();
  // The portfolio panel: one open position, its debt on the main venue, the tokens' exposure.
  await page.waitForFunction(() => (document.querySelector("#portfolio-count")?.textContent || "").includes("1 open of 1"), null, { timeout });
  await page.waitForFunction(() => document.querySelector('#portfolio tr[data-venue="main"]') && document.querySelectorAll("#portfolio tr[data-token]").length === 2, null, { timeout });
  await shot("01-open.png");

  // The price moves: the card updates without a reload.
  await push("760");
  await page.waitForFunction(([id, before]) => {
    const e = document.querySelector(`.position[data-id="${id}"] .equity`);
    return e && e.textContent.trim() !== before;
  }, [id, equityBefore], { timeout });
  await page.waitForFunction(() => (document.querySelector("#price-now")?.textContent || "").includes("760.00"), null, { timeout });
  // The portfolio follows: its equity in positions is the card's.
  await page.waitForFunction((id) => {
    const e = document.querySelector(`.position[data-id="${id}"] .equity`)?.textContent.trim();
    return e && (document.querySelector("#portfolio")?.textContent || "").includes(e);
  }, id, { timeout });
  await shot("02-moved.png");

  // A trailing stop 30% under the high, which the fall to 690 does not reach: it ends with
  // the position.
  const positionField = page.locator("#order-position");
  if ((await positionField.evaluate((e) => e.tagName)) === "SELECT") await positionField.selectOption(id);
  else await positionField.fill(id);
  await page.selectOption("#order-kind", "trailing_stop");
  await page.selectOption("#order-trail-direction", "price_fall_bps");
  await page.fill("#order-trail-bps", "3000");
  await page.click("#place-order");
  await page.waitForFunction(() => [...document.querySelectorAll("#orders .order")].some((r) => r.textContent.includes("trailing stop 30.00% under the high")), null, { timeout });

  // A stop-loss below 700 from the form; 690 fires it.
  await page.selectOption("#order-kind", "stop_loss");
  await page.selectOption("#order-direction", "below");
  await page.fill("#order-price", "700");
  await page.click("#place-order");
  await page.locator("#orders .order").first().waitFor({ timeout });
  await push("690");
  await page.waitForFunction((id) => (document.querySelector(`.position[data-id="${id}"] .status`)?.textContent || "").includes("closed: stopped out"), id, { timeout });
  await page.waitForFunction(() => (document.querySelector("#orders .order .order-status")?.textContent || "").includes("done"), null, { timeout });
  await page.waitForFunction(() => [...document.querySelectorAll("#orders .order .order-status")].some((s) => s.textContent.includes("ended")), null, { timeout });
  await page.waitForFunction(() => document.querySelectorAll("#alerts .alert").length > 0, null, { timeout });
  await shot("03-stopped.png");
  if (errors.length) throw new Error(`the page logged errors: ${errors.join(" | ")}`);
  console.log(`dashboard ok: position ${id} opened, updated (${equityBefore} → moved), stopped out, its trailing stop ended`);
} catch (e) {
  await shot("failure.png").catch(() => {});
  console.error(`dashboard failed: ${e.message}${errors.length ? `\npage errors: ${errors.join(" | ")}` : ""}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
