// Drives Converse.js in headless Chromium (Debian's, through playwright-core)
// for tests/clients. One JSON command per stdin line, one JSON answer per
// stdout line:
//   {"cmd": "open", "url": ...}            -> {"ok": true}
//   {"cmd": "text"}                        -> {"ok": true, "text": <body innerText>}
//   {"cmd": "messages"}                    -> {"ok": true, "messages": [{from, author, text}]}
//   {"cmd": "send", "text": ...}           -> types into the open MUC's composer, presses Enter
//   {"cmd": "screenshot", "path": ...}     -> full-page PNG
//   {"cmd": "quit"}
// Browser console lines and page errors go to stderr, which pytest keeps.
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const profile = mkdtempSync(join(tmpdir(), "isthmus-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const page = context.pages()[0] || await context.newPage();
page.on("console", (m) => process.stderr.write(`console.${m.type()}: ${m.text()}\n`));
page.on("pageerror", (e) => process.stderr.write(`pageerror: ${e}\n`));
// Only loopback: the page must not reach out (CDNs, avatars, link previews).
await context.route("**/*", (route) => {
  const host = new URL(route.request().url()).hostname;
  if (host === "127.0.0.1" || host === "localhost") return route.continue();
  process.stderr.write(`blocked non-loopback request: ${route.request().url()}\n`);
  return route.abort("blockedbyclient");
});

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

async function run(c) {
  switch (c.cmd) {
    case "open":
      await page.goto(c.url, { waitUntil: "load", timeout: 30000 });
      return {};
    case "text":
      return { text: await page.evaluate(() => document.body.innerText) };
    case "messages":
      // Each rendered message: data-from is the full MUC JID (room/nick).
      return {
        messages: await page.evaluate(() =>
          [...document.querySelectorAll(".chat-msg")].map((m) => ({
            from: m.getAttribute("data-from"),
            author: m.querySelector(".chat-msg__author")?.innerText.trim() ?? null,
            text: m.querySelector(".chat-msg__text")?.innerText.trim() ?? null,
          }))),
      };
    case "send": {
      const box = page.locator("converse-muc textarea.chat-textarea");
      await box.fill(c.text, { timeout: 10000 });
      await box.press("Enter");
      return {};
    }
    case "screenshot":
      await page.screenshot({ path: c.path, fullPage: true });
      return {};
    case "quit":
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      reply({ ok: true });
      process.exit(0);
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

reply({ ok: true, ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    reply({ ok: true, ...(await run(JSON.parse(line))) });
  } catch (e) {
    reply({ ok: false, error: String(e && e.stack || e) });
  }
}
await context.close();
rmSync(profile, { recursive: true, force: true });
