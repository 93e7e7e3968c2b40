// The web console in a real browser (playwright-core + Debian's chromium),
// against a running gateway and WhatsApp simulator. Configured by env vars:
//
//   WADESK_URL      gateway base URL, e.g. http://127.0.0.1:8080
//   SIM_ADMIN       simulator admin base URL, e.g. http://127.0.0.1:9090
//   EMAIL, PASSWORD an account that can sign in to the console
//   SHOTS           directory for screenshots (created)
//   VIRTUAL_NUMBER  number of the virtual phone that scans the QR code
//   PEER_NUMBER     a second virtual phone to message with
//   FORWARD_NUMBER  a third virtual phone messages are forwarded to
//                   (default: PEER_NUMBER + 1)
//   WEBHOOK_URL     a loopback webhook receiver
//   BULK_NUMBERS    comma-separated numbers for the campaign
//   CHROMIUM        browser binary (default /usr/bin/chromium)
//
// The link preview steps serve a web page on 127.0.0.1 themselves: the
// gateway must be allowed to fetch loopback (fetch.allow_ranges 127.0.0.0/8).
//
// Prints one line per passed step and "N passed, 0 failed" at the end; on the
// first failure it saves failure.png, prints the reason and exits 1.

import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import jsQR from "jsqr";
import { PNG } from "pngjs";

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`console test: set ${name}`);
    process.exit(2);
  }
  return v;
}

const BASE = need("WADESK_URL").replace(/\/$/, "");
const SIM = need("SIM_ADMIN").replace(/\/$/, "");
const EMAIL = need("EMAIL");
const PASSWORD = need("PASSWORD");
const SHOTS = need("SHOTS");
const VIRTUAL = need("VIRTUAL_NUMBER");
const PEER = need("PEER_NUMBER");
const FORWARD = process.env.FORWARD_NUMBER || String(BigInt(PEER) + 1n);
const WEBHOOK_URL = need("WEBHOOK_URL");
const BULK = need("BULK_NUMBERS").split(",").map((s) => s.trim()).filter(Boolean);
const ORIGIN = new URL(BASE).origin;
const T = 30_000;

mkdirSync(SHOTS, { recursive: true });

let passed = 0;
function pass(what) {
  passed += 1;
  console.log(`ok ${passed} - ${what}`);
}

class Failure extends Error {}
function check(cond, message) {
  if (!cond) throw new Failure(message);
}

async function waitFor(what, fn, timeout = T, every = 500) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Failure(`timed out after ${timeout / 1000} s waiting for ${what}${last ? ` (last error: ${last.message ?? last})` : ""}`);
}

async function sim(method, path, body, raw = false) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = raw ? body : JSON.stringify(body);
    init.headers["content-type"] = raw ? "text/plain" : "application/json";
  }
  const res = await fetch(`${SIM}${path}`, init);
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, text };
}

async function createVirtual(number) {
  const r = await sim("POST", `/admin/phones/${number}`);
  check(r.status < 300 || r.status === 409, `simulator: creating virtual phone ${number} answered ${r.status} ${r.text}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1, locale: "en-GB", timezoneId: "UTC" });
const page = await context.newPage();
page.setDefaultTimeout(T);

// Nothing but the gateway may be contacted, and the page must run clean under its CSP.
const outside = [];
const problems = [];
await context.route("**/*", (route) => {
  const u = route.request().url();
  if (u.startsWith(`${ORIGIN}/`) || u.startsWith("data:") || u.startsWith("blob:")) return route.continue();
  outside.push(u);
  return route.abort();
});
page.on("pageerror", (e) => problems.push(`uncaught error: ${e.message}`));
page.on("console", (m) => {
  if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
});

/** A screenshot into SHOTS (toasts cleared); `tall` grows the window to the whole page first. */
async function shot(name, p = page, tall = false) {
  await p.evaluate(() => document.querySelector(".toasts")?.replaceChildren());
  const size = p.viewportSize();
  if (tall && size) {
    const height = await p.evaluate(() => document.documentElement.scrollHeight);
    await p.setViewportSize({ width: size.width, height: Math.min(Math.max(height, size.height), 2400) });
    await p.evaluate(() => window.scrollTo(0, 0));
    await p.waitForTimeout(150);
  }
  await p.screenshot({ path: join(SHOTS, name) });
  if (tall && size) await p.setViewportSize(size);
}

async function go(hash) {
  await page.goto(`${BASE}/${hash}`);
}

async function nav(label) {
  const toggle = page.locator(".nav-toggle");
  if (await toggle.isVisible()) await toggle.click();
  await page.locator(`#nav a[data-nav="${label}"]`).click();
}

/** Marks the document; `stillSameDocument` proves no reload happened since. */
async function markDocument() {
  await page.evaluate(() => {
    window.__wadeskMark = 1;
  });
}
async function stillSameDocument(what) {
  const same = await page.evaluate(() => window.__wadeskMark === 1);
  check(same, `${what}: the page was reloaded`);
}

/** The text of the first element `loc` matches, "" when there is none (never waits for one). */
async function textOf(loc) {
  try {
    return (await loc.count()) ? (await loc.first().innerText({ timeout: 1000 })).trim() : "";
  } catch {
    return "";
  }
}

/** What the page says went wrong: the banner, else the first field error. */
async function pageError() {
  const b = await bannerText();
  if (b) return b;
  return textOf(page.locator(".field-error:not(:empty)"));
}

async function bannerText() {
  return (await textOf(page.locator("#banner .banner"))).replace(/\s+/g, " ");
}

// ---- Files to upload, made here ----

/** A PNG of `width` x `height`, each pixel [r, g, b, a] from `pixel(x, y)`. */
function pngFile(width, height, pixel) {
  const img = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) img.data.set(pixel(x, y), (width * y + x) << 2);
  }
  return PNG.sync.write(img);
}

/** A WAV of `seconds` of silence (8 kHz, 16-bit mono): audio, but no OGG/Opus. */
function wavFile(seconds) {
  const n = 8000 * seconds;
  const b = Buffer.alloc(44 + 2 * n);
  b.write("RIFF", 0);
  b.writeUInt32LE(36 + 2 * n, 4);
  b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write("data", 36);
  b.writeUInt32LE(2 * n, 40);
  return b;
}

const OGG_CRC = Array.from({ length: 256 }, (_, i) => {
  let r = i << 24;
  for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
  return r >>> 0;
});

/** An OGG/Opus voice note of `seconds` of silence (RFC 7845: OpusHead, OpusTags, 20 ms silent frames, 1 s a page). */
function opusFile(seconds) {
  const preSkip = 312;
  let seq = 0;
  const page = (packets, granule, flags) => {
    const head = Buffer.alloc(27 + packets.length);
    head.write("OggS", 0);
    head[5] = flags;
    head.writeBigInt64LE(BigInt(granule), 6);
    head.writeUInt32LE(0x77616473, 14);
    head.writeUInt32LE(seq++, 18);
    head[26] = packets.length;
    packets.forEach((p, i) => (head[27 + i] = p.length));
    const out = Buffer.concat([head, ...packets]);
    let crc = 0;
    for (const byte of out) crc = ((crc << 8) ^ OGG_CRC[((crc >>> 24) ^ byte) & 0xff]) >>> 0;
    out.writeUInt32LE(crc, 22);
    return out;
  };
  const opusHead = Buffer.alloc(19);
  opusHead.write("OpusHead", 0);
  opusHead[8] = 1;
  opusHead[9] = 1;
  opusHead.writeUInt16LE(preSkip, 10);
  opusHead.writeUInt32LE(48000, 12);
  const pages = [page([opusHead], 0, 2), page([Buffer.concat([Buffer.from("OpusTags"), Buffer.alloc(8)])], 0, 0)];
  const silence = Buffer.from([0xf8, 0xff, 0xfe]);
  for (let s = 1; s <= seconds; s++) pages.push(page(Array(50).fill(silence), preSkip + s * 48000, s === seconds ? 4 : 0));
  return Buffer.concat(pages);
}

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

let phoneId = "";
let token = "";
let sentId = "";
let peerMsgId = "";
let replyId = "";

const scenarios = [
  [
    "sign in",
    async () => {
      await go("#/phones");
      await page.locator("form.auth-form").waitFor();
      check(/#\/sign-in/.test(page.url()), `an unsigned visit to #/phones should show sign-in, URL is ${page.url()}`);
      await page.fill('input[name="email"]', EMAIL);
      await page.fill('input[name="password"]', `${PASSWORD}-wrong`);
      await page.click('form.auth-form button[type="submit"]');
      const err = page.locator("#auth-error");
      await waitFor("the sign-in error", async () => (await err.innerText()).trim().length > 0);
      const msg = (await err.innerText()).trim();
      check(!(await page.locator("#account-name").count()), "a wrong password signed in");
      pass(`wrong password refused: "${msg}"`);
      await shot("01-sign-in.png");
      await page.fill('input[name="password"]', PASSWORD);
      await page.click('form.auth-form button[type="submit"]');
      await page.locator("#account-name").waitFor();
      await waitFor("the phones page after sign-in", async () => /#\/phones/.test(page.url()));
      pass(`signed in as ${(await page.locator("#account-name").innerText()).trim()}, back on #/phones`);
    },
  ],
  [
    "add a phone and link it by QR",
    async () => {
      await page.locator('a:has-text("Add a phone")').first().click();
      await page.fill('input[name="name"]', "Shop");
      await page.click('form button[type="submit"]');
      const canvas = page.locator('#qr-canvas[data-qr="shown"]');
      await canvas.waitFor({ timeout: 45_000 });
      phoneId = decodeURIComponent(new URL(page.url()).hash.split("/")[2] ?? "");
      check(phoneId.startsWith("ph_"), `no phone id in ${page.url()}`);
      const box = await canvas.boundingBox();
      check(box && box.width >= 264, `the QR code is ${box?.width} px wide, want at least 264`);
      pass(`phone Shop (${phoneId}) created; QR code shown, ${Math.round(box.width)} px`);
      await shot("02-add-phone-qr.png");
      await createVirtual(VIRTUAL);
      await markDocument();
      let scanned = false;
      let lastAnswer = "";
      for (let attempt = 0; attempt < 4 && !scanned; attempt++) {
        const png = PNG.sync.read(await canvas.screenshot());
        const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
        check(code && code.data, "the QR code on the page could not be decoded");
        let r = await sim("POST", `/admin/phones/${VIRTUAL}/scan`, code.data, true);
        if (r.status >= 300) r = await sim("POST", `/admin/phones/${VIRTUAL}/scan`, { qr: code.data });
        lastAnswer = `${r.status} ${r.text}`;
        scanned = r.status < 300;
        if (!scanned) await page.waitForTimeout(1500);
      }
      check(scanned, `the simulator refused the scan: ${lastAnswer}`);
      pass(`virtual phone ${VIRTUAL} scanned the decoded QR code`);
      await page.locator('#pair[data-pair-state="connected"]').waitFor({ timeout: 45_000 });
      check((await page.locator("#pair h2").innerText()).includes("Connected"), "no Connected heading");
      await stillSameDocument("pairing");
      pass("the page shows Connected by itself");
      await shot("02b-connected.png");
    },
  ],
  [
    "phones list",
    async () => {
      await nav("phones");
      const row = page.locator(`.phone-row[data-phone-id="${phoneId}"]`);
      await row.waitFor();
      await waitFor("Shop connected", async () => (await row.getAttribute("data-status")) === "connected");
      const text = await row.innerText();
      check(text.includes("Shop"), `the row does not name Shop: ${text}`);
      check(text.replace(/\D/g, "").includes(VIRTUAL), `the row does not show ${VIRTUAL}: ${text}`);
      const usage = row.locator(".usage[data-used]");
      await usage.waitFor({ timeout: 10_000 }).catch(() => undefined);
      const used = (await usage.count()) ? ` (trial: ${(await usage.innerText()).trim()})` : "";
      pass(`Phones lists Shop as connected with +${VIRTUAL}${used}`);
      await shot("03-phones.png");
      await row.locator(".phone-name a").click();
      await page.locator(".details").first().waitFor();
      await shot("03b-phone.png");
      pass("the phone page shows its connection");
    },
  ],
  [
    "send a text; it is read",
    async () => {
      await createVirtual(PEER);
      await nav("send");
      await page.locator('form[data-kind="text"]').waitFor();
      const text = `Hello from the console ${Date.now()}`;
      await page.fill('input[name="to"]', PEER);
      await page.fill('textarea[name="message"]', text);
      await page.click('form[data-kind="text"] button[type="submit"]');
      const result = page.locator("#send-results .result").first();
      await waitFor("the send result", async () => (await result.count()) > 0 || (await pageError()), T);
      if (!(await result.count())) throw new Failure(`the send failed: ${await pageError()}`);
      sentId = (await result.getAttribute("data-message-id")) ?? "";
      pass(`text sent, message id ${sentId}`);
      await shot("04-send.png");
      const got = await waitFor(`the text at ${PEER}`, async () => {
        const r = await sim("GET", `/admin/phones/${PEER}/messages`);
        return Array.isArray(r.json) && r.json.find((m) => m.text === text);
      });
      pass(`virtual phone ${PEER} received it (id ${got.id})`);
      await nav("messages");
      const row = page.locator(`.msg[data-message-id="${sentId}"]`);
      await row.waitFor();
      await markDocument();
      const r = await sim("POST", `/admin/phones/${PEER}/read`, { ids: [got.id] });
      check(r.status < 300, `simulator read answered ${r.status} ${r.text}`);
      await waitFor("the read ticks", async () => (await row.getAttribute("data-status")) === "read" && (await row.locator('.ticks[data-status="read"]').count()) === 1);
      await stillSameDocument("read receipt");
      pass("its ticks turned read in Messages without a reload");
    },
  ],
  [
    "an inbound message appears live",
    async () => {
      const text = `Hi from the peer ${Date.now()}`;
      await markDocument();
      const r = await sim("POST", `/admin/phones/${PEER}/send`, { to: VIRTUAL, text });
      check(r.status < 300, `simulator send answered ${r.status} ${r.text}`);
      const row = page.locator(".msg.in", { hasText: text });
      await row.waitFor();
      await stillSameDocument("inbound message");
      peerMsgId = (await row.getAttribute("data-message-id")) ?? "";
      check(!r.json?.id || r.json.id === peerMsgId, `the page shows the peer's message as ${peerMsgId}, the simulator sent ${r.json?.id}`);
      pass("the peer's message appeared in Messages live");
      // The chats panel follows a moment later (its unread badge is checked below).
      await page.locator(`#chat-list .chat-item[data-chat="${PEER}"] .chat-unread`).waitFor({ timeout: 5000 }).catch(() => undefined);
      await shot("05-messages.png");
    },
  ],
  [
    "chats: unread, reading, typing and the composer",
    async () => {
      // Before the chat is opened, the chats panel (ListChats) counts the peer's message unread.
      const item = page.locator(`#chat-list .chat-item[data-chat="${PEER}"]`);
      await waitFor(`+${PEER} with an unread badge in the chats panel`, async () => Number(await item.getAttribute("data-unread")) > 0 && (await item.locator(".chat-unread").count()) === 1);
      const unread = await item.getAttribute("data-unread");
      check(!(await page.locator("#composer").count()), "a composer shows with no chat open");
      pass(`the chats panel lists +${PEER} with an unread badge (${unread}) before the chat is opened`);

      // Opening it marks it read: the badge goes, and the peer's phone sees its message read.
      await markDocument();
      await item.click();
      await waitFor("the chat opened", async () => new URL(page.url()).hash.includes(`chat=${PEER}`));
      await page.locator(`.msg[data-message-id="${peerMsgId}"]`).waitFor();
      const opened = page.locator(`#chat-list .chat-item[data-chat="${PEER}"]`);
      const readError = page.locator("#read-note .read-error");
      await waitFor("the unread badge gone", async () => (await opened.getAttribute("data-unread")) === "0" || (await readError.count()) > 0);
      if (await readError.count()) throw new Failure(`marking the chat read failed: ${await textOf(readError)}`);
      check((await opened.locator(".chat-unread").count()) === 0, "the opened chat still shows an unread badge");
      await stillSameDocument("opening the chat");
      pass("opening the chat cleared its unread badge");
      const read = await waitFor(`${peerMsgId} read at ${PEER}`, async () => {
        const r = await sim("GET", `/admin/phones/${PEER}/sent`);
        return Array.isArray(r.json) && r.json.find((m) => m.id === peerMsgId && m.status === "read");
      });
      pass(`virtual phone ${PEER} shows its message ${read.id} read`);

      // Typing in the composer: the peer sees "composing", then "paused" 3 s after the last key.
      const box = page.locator("#composer textarea");
      const composerError = page.locator("#composer .composer-error:not(:empty)");
      const states = async () => {
        const r = await sim("GET", `/admin/phones/${PEER}/chat-states`);
        return Array.isArray(r.json) ? r.json : [];
      };
      await box.click();
      await box.pressSequentially("Typing from the console", { delay: 15 });
      const composing = await waitFor(`"composing" at ${PEER}`, async () => {
        if (await composerError.count()) throw new Failure(`the composer says: ${await textOf(composerError)}`);
        return (await states()).find((st) => st.from === VIRTUAL && st.state === "composing");
      });
      pass(`typing in the composer shows ${PEER} that ${VIRTUAL} is composing`);
      await waitFor(`"paused" at ${PEER} after 3 s`, async () => (await states()).find((st) => st.from === VIRTUAL && st.state === "paused" && st.at_ms >= composing.at_ms), 15_000);
      pass("3 s without a keystroke: paused");

      // Reply from the chat: the quote goes into the composer; Shift+Enter is a new line, Enter sends.
      const peerMsg = page.locator(`.msg[data-message-id="${peerMsgId}"]`);
      await peerMsg.locator("button.msg-reply").click();
      const quote = page.locator(`#composer .composer-quote[data-reply-to="${peerMsgId}"]`);
      await quote.waitFor();
      check(await box.evaluate((el) => el === document.activeElement), "Reply did not put the focus into the composer");
      const first = `From the chat ${Date.now()}`;
      await box.fill(first);
      await box.press("Shift+Enter");
      await box.pressSequentially("second line");
      const text = `${first}\nsecond line`;
      check((await box.inputValue()) === text, `Shift+Enter did not start a new line: ${JSON.stringify(await box.inputValue())}`);
      await box.press("Enter");
      const mine = page.locator(".msg.out", { hasText: first });
      await waitFor("the sent text in the chat", async () => (await mine.count()) > 0 || (await composerError.count()) > 0);
      if (!(await mine.count())) throw new Failure(`sending from the composer failed: ${await textOf(composerError)}`);
      check((await box.inputValue()) === "" && (await quote.count()) === 0, "the composer still holds the text or the quote after sending");
      await mine.locator(`.quote[data-quote="${peerMsgId}"]`).waitFor();
      const chatId = (await mine.getAttribute("data-message-id")) ?? "";
      await stillSameDocument("sending from the composer");
      pass(`Enter sent the two lines from the composer as a reply (${chatId}); the chat shows it at once`);
      const got = await waitFor(`the composer's text at ${PEER}`, async () => {
        const r = await sim("GET", `/admin/phones/${PEER}/messages`);
        return Array.isArray(r.json) && r.json.find((m) => m.id === chatId);
      });
      check(got.text === text, `${PEER} received ${JSON.stringify(got.text)}, not ${JSON.stringify(text)}`);
      check(got.quoted_id === peerMsgId, `${PEER} received it quoting ${got.quoted_id}, not ${peerMsgId}`);
      pass(`virtual phone ${PEER} received it, quoting ${peerMsgId}`);
      await page.locator(`#chat-list .chat-item[data-chat="${PEER}"] .chat-last`, { hasText: "second line" }).waitFor().catch(() => undefined);
      await shot("05d-chat.png");

      // The same chat on a 390 px screen.
      const mobile = await context.newPage();
      await mobile.setViewportSize({ width: 390, height: 844 });
      await mobile.goto(`${BASE}/#/messages/${encodeURIComponent(phoneId)}?chat=${PEER}`);
      await mobile.locator(`.msg[data-message-id="${chatId}"]`).waitFor();
      const mbox = mobile.locator("#composer textarea");
      await mbox.waitFor();
      const overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 1, `the chat is ${overflow} px wider than a 390 px screen`);
      const inView = await mbox.evaluate((el) => {
        const r = el.getBoundingClientRect();
        return r.bottom <= window.innerHeight && r.top >= 0;
      });
      check(inView, "the composer is not in view on a 390 px screen");
      await shot("05e-mobile-chat.png", mobile);
      await mobile.close();
      pass("the chat fits a 390 px screen with its composer in view");

      // Back to all chats for the steps below.
      await nav("messages");
      await page.locator(`.msg[data-message-id="${peerMsgId}"] a.msg-reply`).waitFor();
    },
  ],
  [
    "reactions and a reply",
    async () => {
      const peerMsg = page.locator(`.msg[data-message-id="${peerMsgId}"]`);
      await peerMsg.locator("button.msg-react").click();
      const pop = peerMsg.locator(".react-pop");
      await pop.waitFor();
      check((await pop.locator("button[data-emoji]").count()) === 7, "the reaction popover does not offer 6 emojis and Remove");
      await pop.locator('button[data-emoji="👍"]').click();
      const mine = peerMsg.locator('.reaction[data-from="you"][data-emoji="👍"]');
      const popError = pop.locator(".react-error:not(:empty)");
      await waitFor("the 👍 chip", async () => (await mine.count()) > 0 || (await popError.count()) > 0);
      if (!(await mine.count())) throw new Failure(`reacting failed: ${await textOf(popError)}`);
      pass("reacted 👍 to the peer's message from its React popover; the chip shows under it");
      const got = await waitFor(`the 👍 reaction at ${PEER}`, async () => {
        const r = await sim("GET", `/admin/phones/${PEER}/messages`);
        return Array.isArray(r.json) && r.json.find((m) => m.kind === "reaction" && m.text === "👍" && m.reacted_to === peerMsgId);
      });
      pass(`virtual phone ${PEER} received the 👍 reaction to ${peerMsgId} (id ${got.id})`);

      await markDocument();
      const r = await sim("POST", `/admin/phones/${PEER}/send`, { to: VIRTUAL, react_to: sentId, emoji: "❤️" });
      check(r.status < 300, `simulator reaction answered ${r.status} ${r.text}`);
      await page.locator(`.msg[data-message-id="${sentId}"] .reaction[data-emoji="❤️"][data-from="${PEER}"]`).waitFor();
      await stillSameDocument("the peer's reaction");
      pass("the peer's ❤️ appeared under the console's own text without a reload");

      await peerMsg.locator("a.msg-reply").click();
      await page.locator('form[data-kind="text"]').waitFor();
      const to = await page.inputValue('input[name="to"]');
      const replyTo = await page.inputValue('input[name="reply_to"]');
      check(to.replace(/\D/g, "") === PEER && replyTo === peerMsgId, `Reply opened Send with to "${to}" and reply_to "${replyTo}"`);
      await page.fill('textarea[name="message"]', "Thanks!");
      await page.click('form[data-kind="text"] button[type="submit"]');
      const result = page.locator("#send-results .result").first();
      await waitFor("the reply's send result", async () => (await result.count()) > 0 || (await pageError()));
      if (!(await result.count())) throw new Failure(`the reply failed: ${await pageError()}`);
      replyId = (await result.getAttribute("data-message-id")) ?? "";
      pass(`Reply opened Send pre-filled (to +${PEER}, reply_to ${peerMsgId}); "Thanks!" sent as ${replyId}`);
      const reply = await waitFor(`the reply at ${PEER}`, async () => {
        const res = await sim("GET", `/admin/phones/${PEER}/messages`);
        return Array.isArray(res.json) && res.json.find((m) => m.id === replyId);
      });
      check(reply.quoted_id === peerMsgId, `the simulator shows the reply quoting ${reply.quoted_id}, not ${peerMsgId}`);
      pass(`virtual phone ${PEER} received it as a reply quoting ${peerMsgId}`);

      await nav("messages");
      await page.locator(`.msg[data-message-id="${replyId}"] .quote[data-quote="${peerMsgId}"]`).waitFor();
      await page.locator(`.msg[data-message-id="${sentId}"] .reaction[data-emoji="❤️"]`).waitFor();
      await shot("05b-reactions.png");
      pass("Messages shows the reply quoting the peer's message, and the reactions under theirs");
    },
  ],
  [
    "edits and deletions for everyone",
    async () => {
      const peerMessages = async () => {
        const r = await sim("GET", `/admin/phones/${PEER}/messages`);
        return Array.isArray(r.json) ? r.json : [];
      };
      // The console edits its own "Thanks!".
      const own = page.locator(`.msg[data-message-id="${replyId}"]`);
      await own.locator("button.msg-edit").click();
      const dlg = page.locator("dialog.msg-dialog[open]");
      await dlg.waitFor();
      const input = dlg.locator('textarea[name="text"]');
      check((await input.inputValue()) === "Thanks!", `the editor holds "${await input.inputValue()}", not "Thanks!"`);
      await page.keyboard.press("Escape");
      await dlg.waitFor({ state: "detached" });
      check((await own.getAttribute("data-text")) === "Thanks!" && !(await own.getAttribute("data-edited")), "Escape changed the message");
      const edited = `Thanks a lot! ${Date.now()}`;
      await own.locator("button.msg-edit").click();
      await input.fill(edited);
      await dlg.locator('button[type="submit"]').click();
      const dlgError = dlg.locator(".dialog-error:not(:empty)");
      await waitFor("the edit saved", async () => (await dlg.count()) === 0 || (await dlgError.count()) > 0);
      if (await dlg.count()) throw new Failure(`the edit failed: ${await textOf(dlgError)}`);
      await waitFor("the edited bubble", async () => (await textOf(own.locator(".msg-text"))) === edited && (await own.locator(".msg-edited").count()) === 1);
      pass(`edited the console's own "Thanks!" in the page; the bubble shows the new text, marked edited`);
      const got = await waitFor(`the edit at ${PEER}`, async () => (await peerMessages()).find((m) => m.id === replyId && m.text === edited && m.earlier_texts?.includes("Thanks!")));
      pass(`virtual phone ${PEER} shows it edited (earlier texts: ${JSON.stringify(got.earlier_texts)})`);
      await waitFor("the stored edit", async () => (await own.getAttribute("data-pending")) === null && (await own.locator(".msg-earlier").count()) === 1);
      await own.locator(".msg-earlier summary").click();
      check((await textOf(own.locator(".earlier-list li"))).includes("Thanks!"), "the earlier text is not listed under the edited message");

      await own.locator("button.msg-delete").click();
      const confirm = page.locator("dialog.msg-dialog[open]");
      await confirm.locator('button:has-text("Delete for everyone")').click();
      await waitFor("the deletion done", async () => (await confirm.count()) === 0 || (await confirm.locator(".dialog-error:not(:empty)").count()) > 0);
      if (await confirm.count()) throw new Failure(`deleting failed: ${await textOf(confirm.locator(".dialog-error"))}`);
      await waitFor("the deleted bubble", async () => (await textOf(own.locator(".msg-deleted"))) === "This message was deleted" && (await own.locator(".msg-text").count()) === 0);
      pass(`deleted it for everyone in the page; the bubble says "This message was deleted"`);
      await waitFor(`the deletion at ${PEER}`, async () => (await peerMessages()).find((m) => m.id === replyId && m.revoked === true));
      pass(`virtual phone ${PEER} shows it revoked`);

      // The peer edits, then deletes, its own message: the page follows live.
      const peerMsg = page.locator(`.msg[data-message-id="${peerMsgId}"]`);
      await markDocument();
      const peerText = `Edited by the peer ${Date.now()}`;
      let r = await sim("POST", `/admin/phones/${PEER}/send`, { to: VIRTUAL, edit_of: peerMsgId, text: peerText });
      check(r.status < 300, `simulator edit answered ${r.status} ${r.text}`);
      await waitFor("the peer's edit", async () => (await textOf(peerMsg.locator(".msg-text"))) === peerText && (await peerMsg.locator(".msg-edited").count()) === 1);
      check((await peerMsg.locator("button.msg-edit, button.msg-delete").count()) === 0, "the peer's message offers Edit or Delete");
      await stillSameDocument("the peer's edit");
      pass("the peer's edit of its message showed live, marked edited");
      await peerMsg.locator(".msg-earlier summary").click();
      await shot("05c-edits.png");
      r = await sim("POST", `/admin/phones/${PEER}/send`, { to: VIRTUAL, revoke: peerMsgId });
      check(r.status < 300, `simulator revoke answered ${r.status} ${r.text}`);
      await waitFor("the peer's deletion", async () => (await textOf(peerMsg.locator(".msg-deleted"))) === "This message was deleted" && (await peerMsg.locator(".msg-text").count()) === 0);
      await stillSameDocument("the peer's deletion");
      pass(`the peer's deletion showed live: "This message was deleted"`);
    },
  ],
  [
    "contact cards, polls and forwards",
    async () => {
      const received = async (number) => {
        const r = await sim("GET", `/admin/phones/${number}/messages`);
        return Array.isArray(r.json) ? r.json : [];
      };
      // Submits `form` and answers the new result's message id (results are listed newest first).
      const results = page.locator("#send-results .result");
      const send = async (form, what) => {
        const before = await results.count();
        await form.locator('button[type="submit"]').click();
        await waitFor(what, async () => (await results.count()) > before || (await pageError()));
        if ((await results.count()) === before) throw new Failure(`${what} failed: ${await pageError()}`);
        return (await results.first().getAttribute("data-message-id")) ?? "";
      };

      // Contact cards: the page's own check, then the API's 400, both under the cards.
      await nav("send");
      await page.locator('.tab[data-tab="contact"]').click();
      const cform = page.locator('form[data-kind="contact"]');
      await cform.waitFor();
      await page.fill('input[name="to"]', PEER);
      const cards = cform.locator(".contact-edit");
      const cardsError = cform.locator('[data-field="contacts"] .field-error');
      await cards.nth(0).locator('input[name="contact_number"]').fill("919812345678");
      await cform.locator('button[type="submit"]').click();
      await waitFor("the nameless card refused", async () => (await textOf(cardsError)).includes("card 1 has no name"));
      check((await results.count()) === 0, "a card without a name was sent");
      pass(`a card without a name is refused in the page, under the cards: "${await textOf(cardsError)}"`);
      await cards.nth(0).locator('input[name="contact_name"]').fill("Asha Rao");
      await cards.nth(0).locator('input[name="contact_number"]').fill("12");
      await cform.locator('button[type="submit"]').click();
      await waitFor("the API's 400 for a bad number", async () => /not a phone number/.test(await textOf(cardsError)) || (await bannerText()));
      check(!(await bannerText()), `the API's refusal went to the banner: ${await bannerText()}`);
      pass(`the API's 400 for a number it does not take shows under the cards: "${await textOf(cardsError)}"`);
      await cards.nth(0).locator('input[name="contact_number"]').fill("919812345678");
      await cards.nth(0).locator("button.add-number").click();
      await cards.nth(0).locator('input[name="contact_number"]').nth(1).fill("+91 98123 45679");
      await cform.locator("button.add-card").click();
      await cards.nth(1).locator('input[name="contact_name"]').fill("Meera");
      await cards.nth(1).locator('input[name="contact_number"]').fill("447700900123");
      const contactId = await send(cform, "sending the contact cards");
      pass(`two contact cards sent (${contactId})`);
      const gotCards = await waitFor(`the cards at ${PEER}`, async () => (await received(PEER)).find((m) => m.id === contactId));
      check(gotCards.kind === "contact", `${PEER} received a ${gotCards.kind}, not a contact`);
      const cardsSeen = JSON.stringify((gotCards.contacts ?? []).map((c) => [c.name, c.numbers]));
      check(
        cardsSeen === JSON.stringify([["Asha Rao", ["919812345678", "919812345679"]], ["Meera", ["447700900123"]]]),
        `${PEER} decoded the cards as ${cardsSeen}`,
      );
      pass(`virtual phone ${PEER} decoded both vCards: ${cardsSeen}`);
      await shot("04b-send-contact.png");

      // A poll: a repeated option is refused in the page; Enter in the last option adds one.
      await page.locator('.tab[data-tab="poll"]').click();
      const pform = page.locator('form[data-kind="poll"]');
      await pform.waitFor();
      check((await page.inputValue('input[name="to"]')).replace(/\D/g, "") === PEER, "To was not kept when switching to Poll");
      const question = `Lunch on Friday? ${Date.now()}`;
      await pform.locator('input[name="question"]').fill(question);
      const options = pform.locator('input[name="option"]');
      await options.nth(0).fill("Pizza");
      await options.nth(1).fill("Pizza");
      await pform.locator('button[type="submit"]').click();
      const optionsError = pform.locator('[data-field="options"] .field-error');
      await waitFor("the repeated option refused", async () => (await textOf(optionsError)).includes("given twice"));
      pass(`a repeated option is refused in the page, under the options: "${await textOf(optionsError)}"`);
      await options.nth(1).fill("Salad");
      await options.nth(1).press("Enter");
      await waitFor("a third option", async () => (await options.count()) === 3);
      check(await options.nth(2).evaluate((el) => el === document.activeElement), "Enter in the last option did not focus the new one");
      await page.keyboard.type("Soup");
      await pform.locator('select[name="selectable_count"]').selectOption("2");
      const pollId = await send(pform, "sending the poll");
      pass(`poll sent (${pollId}): 3 options, voters may choose up to 2`);
      const gotPoll = await waitFor(`the poll at ${PEER}`, async () => (await received(PEER)).find((m) => m.id === pollId));
      check(gotPoll.kind === "poll", `${PEER} received a ${gotPoll.kind}, not a poll`);
      const pollSeen = JSON.stringify(gotPoll.poll);
      check(
        gotPoll.poll?.question === question && JSON.stringify(gotPoll.poll.options) === JSON.stringify(["Pizza", "Salad", "Soup"]) && gotPoll.poll.selectable === 2,
        `${PEER} decoded the poll as ${pollSeen}`,
      );
      pass(`virtual phone ${PEER} decoded the poll: ${pollSeen}`);

      // Messages: the cards and the poll; the peer votes and the tallies follow live.
      await nav("messages");
      const cardMsg = page.locator(`.msg[data-message-id="${contactId}"]`);
      const pollMsg = page.locator(`.msg[data-message-id="${pollId}"]`);
      await pollMsg.locator(".poll").waitFor();
      check((await cardMsg.locator(".contact-card").count()) === 2, "the contact message does not show two cards");
      const numberLink = cardMsg.locator('a.contact-number[data-number="919812345678"]');
      check(/#\/send\/.*to=919812345678/.test((await numberLink.getAttribute("href")) ?? ""), "a card's number does not link to Send");
      check((await textOf(pollMsg.locator(".poll-rule"))) === "Choose up to 2", `the poll says "${await textOf(pollMsg.locator(".poll-rule"))}"`);
      const votes = async (name) => pollMsg.locator(`.poll-option[data-option="${name}"]`).getAttribute("data-votes");
      check((await votes("Pizza")) === "0" && (await votes("Soup")) === "0", "the new poll shows votes");
      check((await pollMsg.locator("button.msg-forward").count()) === 0, "the poll offers Forward");
      pass("Messages shows both cards (numbers link to Send) and the poll, no votes yet, without Forward");
      await markDocument();
      const r = await sim("POST", `/admin/phones/${PEER}/send`, { to: VIRTUAL, vote: { poll: pollId, options: ["Pizza", "Soup"] } });
      check(r.status < 300, `simulator vote answered ${r.status} ${r.text}`);
      await waitFor("the tallies", async () => (await votes("Pizza")) === "1" && (await votes("Soup")) === "1" && (await votes("Salad")) === "0");
      const voters = (await pollMsg.locator('.poll-option[data-option="Pizza"]').getAttribute("title")) ?? "";
      check(voters.replace(/\D/g, "").includes(PEER), `the Pizza option's tooltip does not name ${PEER}: "${voters}"`);
      check((await page.locator('.msg[data-type="poll_vote"]').count()) === 0, "the vote shows as a message of its own");
      await stillSameDocument("the vote");
      pass(`the peer's vote (Pizza, Soup) showed in the poll's tallies live, the voter in the tooltip, no bubble of its own`);
      await pollMsg.scrollIntoViewIfNeeded();
      await shot("05f-cards-polls.png");

      // Forward the cards to a third phone; a number the API refuses stays in the dialog.
      await createVirtual(FORWARD);
      await cardMsg.locator("button.msg-forward").click();
      const dlg = page.locator("dialog.forward-dialog[open]");
      await dlg.waitFor();
      const to = dlg.locator('input[name="to"]');
      const dlgError = dlg.locator(".dialog-error:not(:empty)");
      await to.fill("12");
      await dlg.locator('button[type="submit"]').click();
      await waitFor("the bad number refused", async () => (await dlgError.count()) > 0 || (await dlg.count()) === 0);
      check(await dlg.count(), "forwarding to 12 was accepted");
      pass(`forwarding to a bad number is refused in the dialog: "${await textOf(dlgError)}"`);
      await to.fill(FORWARD);
      await dlg.locator('button[type="submit"]').click();
      await waitFor("the forward done", async () => (await dlg.count()) === 0 || (await dlgError.count()) > 0);
      if (await dlg.count()) throw new Failure(`forwarding failed: ${await textOf(dlgError)}`);
      const copy = page.locator(`.msg.out[data-peer="${FORWARD}"][data-type="contact"]`).first();
      await copy.waitFor();
      check((await copy.getAttribute("data-forwarded")) === "true" && (await copy.locator(".msg-forwarded").count()) === 1, "the forwarded copy is not labelled Forwarded");
      pass(`forwarded the cards from Messages to +${FORWARD}; the copy shows at once, labelled Forwarded`);
      const gotCopy = await waitFor(`the forward at ${FORWARD}`, async () => (await received(FORWARD)).find((m) => m.kind === "contact" && m.forwarded === true));
      const copySeen = JSON.stringify((gotCopy.contacts ?? []).map((c) => c.name));
      check(copySeen === JSON.stringify(["Asha Rao", "Meera"]), `${FORWARD} received the cards of ${copySeen}`);
      pass(`virtual phone ${FORWARD} received the cards marked forwarded (${copySeen})`);
    },
  ],
  [
    "stickers, voice notes and uploads",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "wadesk-console-"));
      const file = (name, bytes) => {
        const path = join(dir, name);
        writeFileSync(path, bytes);
        return path;
      };
      // Flat artwork on a transparent background (what stickers are), a small photo, and audio.
      const sticker = file("sticker.png", pngFile(160, 120, (x, y) => ((x - 80) ** 2 + (y - 60) ** 2 < 55 ** 2 ? [18, 140, 110, 255] : [0, 0, 0, 0])));
      const photoBytes = pngFile(64, 48, (x, y) => [x * 4, y * 5, 128, 255]);
      const photo = file("photo.png", photoBytes);
      const big = file("big.png", Buffer.alloc(6 * 1024 * 1024));
      const notes = file("notes.txt", Buffer.from("A text file is no image.\n".repeat(20)));
      const wav = file("note.wav", wavFile(1));
      const ogg = file("note.ogg", opusFile(3));
      const received = async (number) => {
        const r = await sim("GET", `/admin/phones/${number}/messages`);
        return Array.isArray(r.json) ? r.json : [];
      };
      const results = page.locator("#send-results .result");
      const send = async (form, what) => {
        const before = await results.count();
        await form.locator('button[type="submit"]').click();
        await waitFor(what, async () => (await results.count()) > before || (await pageError()), 45_000);
        if ((await results.count()) === before) throw new Failure(`${what} failed: ${await pageError()}`);
        return (await results.first().getAttribute("data-message-id")) ?? "";
      };
      /** Submits `form` and answers the error under its file field (nothing may be sent). */
      const refused = async (form, what) => {
        const before = await results.count();
        const err = form.locator('[data-field="file"] .field-error');
        await form.locator('button[type="submit"]').click();
        await waitFor(what, async () => (await textOf(err)) || (await bannerText()) || (await results.count()) > before, 45_000);
        check((await results.count()) === before, `${what}: it was sent`);
        check(!(await bannerText()), `${what}: the refusal went to the banner: ${await bannerText()}`);
        return textOf(err);
      };

      // A sticker from an uploaded PNG: the gateway makes it a WebP, the peer's phone downloads it.
      await nav("send");
      await page.locator('.tab[data-tab="sticker"]').click();
      const sform = page.locator('form[data-kind="sticker"]');
      await sform.waitFor();
      await page.fill('input[name="to"]', PEER);
      await sform.locator('input[name="source"][value="upload"]').check();
      check(!(await sform.locator('input[name="url"]').isVisible()), "the URL field still shows after choosing Upload a file");
      const sfile = sform.locator('input[name="file"]');
      await sfile.setInputFiles(big);
      let err = await refused(sform, "the 6 MB sticker refused");
      check(/larger than WhatsApp's 5 MB limit/.test(err), `a 6 MB sticker: "${err}"`);
      pass(`a 6 MB file is refused as a sticker before it is uploaded, under the file: "${err}"`);
      await sfile.setInputFiles(sticker);
      const stickerId = await send(sform, "sending the sticker");
      const upload = (await results.first().getAttribute("data-media-id")) ?? "";
      check(upload.startsWith("md_"), `the sticker's result names no upload: "${await textOf(results.first())}"`);
      pass(`a PNG uploaded (${upload}) and sent as a sticker (${stickerId})`);
      const gotSticker = await waitFor(`the sticker at ${PEER}`, async () => (await received(PEER)).find((m) => m.id === stickerId));
      check(gotSticker.kind === "sticker", `${PEER} received a ${gotSticker.kind}, not a sticker`);
      check(gotSticker.media_mime === "image/webp", `${PEER} received the sticker as ${gotSticker.media_mime}, not image/webp`);
      check(gotSticker.media_downloaded_sha256, `${PEER} could not download the sticker's file`);
      pass(`virtual phone ${PEER} received a sticker (image/webp) and downloaded its file`);
      await shot("04c-send-sticker.png");

      // An image by upload (the choice of Upload stays): the peer's phone gets exactly the file.
      await page.locator('.tab[data-tab="image"]').click();
      const iform = page.locator('form[data-kind="image"]');
      await iform.waitFor();
      check(await iform.locator('input[name="source"][value="upload"]').isChecked(), "Upload a file was not kept when switching to Image");
      const ifile = iform.locator('input[name="file"]');
      await ifile.setInputFiles(notes);
      err = await refused(iform, "the text file refused");
      check(/^file: /.test(err), `uploading a text file: "${err}"`);
      pass(`uploading a text file is refused under the file, naming it: "${err}"`);
      await ifile.setInputFiles(photo);
      await iform.locator('textarea[name="caption"]').fill("Uploaded from the console");
      const imageId = await send(iform, "sending the image");
      pass(`an image uploaded and sent (${imageId})`);
      const gotImage = await waitFor(`the image at ${PEER}`, async () => (await received(PEER)).find((m) => m.id === imageId));
      check(gotImage.kind === "image", `${PEER} received a ${gotImage.kind}, not an image`);
      check(gotImage.media_downloaded_sha256 === sha256(photoBytes), `${PEER} downloaded a file with SHA-256 ${gotImage.media_downloaded_sha256}, the upload's is ${sha256(photoBytes)}`);
      pass(`virtual phone ${PEER} downloaded the very file uploaded (SHA-256 ${sha256(photoBytes).slice(0, 12)}…)`);

      // Voice notes: a WAV is refused under the file (the send names media_id); OGG/Opus goes with its length.
      await page.locator('.tab[data-tab="voice"]').click();
      const vform = page.locator('form[data-kind="voice"]');
      await vform.waitFor();
      const vfile = vform.locator('input[name="file"]');
      await vfile.setInputFiles(wav);
      err = await refused(vform, "the WAV voice note refused");
      check(/^media_id: /.test(err) && /OGG\/Opus/.test(err), `a WAV voice note: "${err}"`);
      pass(`a WAV voice note is refused under the file: "${err}"`);
      await vfile.setInputFiles(ogg);
      const voiceId = await send(vform, "sending the voice note");
      const head = await textOf(results.first().locator(".result-head"));
      check((await results.first().getAttribute("data-seconds")) === "3" && head.includes("0:03"), `the voice note's result says "${head}"`);
      pass(`an OGG/Opus voice note sent (${voiceId}); the result says "${head}"`);
      const gotVoice = await waitFor(`the voice note at ${PEER}`, async () => (await received(PEER)).find((m) => m.id === voiceId));
      check(gotVoice.kind === "voice" && gotVoice.seconds === 3, `${PEER} received a ${gotVoice.kind} of ${gotVoice.seconds} s, not a voice note of 3 s`);
      pass(`virtual phone ${PEER} received a voice note of 3 s`);
      await shot("04d-send-voice.png");

      // Messages: the sent sticker shows as a sticker, its file fetched back through the phone's session.
      await nav("messages");
      const stickerMsg = page.locator(`.msg[data-message-id="${stickerId}"]`);
      await stickerMsg.waitFor();
      await stickerMsg.scrollIntoViewIfNeeded();
      const img = stickerMsg.locator("img.media-sticker");
      const width = await waitFor("the sticker drawn", async () => {
        if (await stickerMsg.locator(".media-missing").count()) throw new Failure(`the sticker is not available: ${await textOf(stickerMsg.locator(".media-missing"))}`);
        return (await img.count()) && img.evaluate((el) => (el.complete ? el.naturalWidth : 0));
      });
      check(width === 512, `the sticker is drawn ${width} px wide, not 512 (the WebP the gateway made)`);
      pass("Messages draws the sent sticker (the 512x512 WebP)");
      await shot("05g-sticker.png");
      rmSync(dir, { recursive: true, force: true });
    },
  ],
  [
    "link previews",
    async () => {
      // A product page with Open Graph tags and an image, served here; any other path is a 404.
      const image = pngFile(240, 160, (x, y) => [40 + x / 2, 120 + y / 3, 200 - x / 2, 255]);
      const hits = [];
      const server = createServer((req, res) => {
        hits.push(req.url);
        if (req.url === "/p/42") {
          res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
          res.end(`<!doctype html><html><head><title>Shop</title>
<meta property="og:title" content="Red running shoes">
<meta property="og:description" content="Light, with a thick sole.">
<meta property="og:image" content="/img/shoes.png">
</head><body><h1>Red running shoes</h1></body></html>`);
        } else if (req.url === "/img/shoes.png") {
          res.writeHead(200, { "content-type": "image/png" });
          res.end(image);
        } else {
          res.writeHead(404, { "content-type": "text/plain" });
          res.end("not found");
        }
      });
      await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
      const site = `http://127.0.0.1:${server.address().port}`;
      try {
        const received = async (number) => {
          const r = await sim("GET", `/admin/phones/${number}/messages`);
          return Array.isArray(r.json) ? r.json : [];
        };
        const results = page.locator("#send-results .result");
        const send = async (form, what) => {
          const before = await results.count();
          await form.locator('button[type="submit"]').click();
          await waitFor(what, async () => (await results.count()) > before || (await pageError()), 45_000);
          if ((await results.count()) === before) throw new Failure(`${what} failed: ${await pageError()}`);
          return (await results.first().getAttribute("data-message-id")) ?? "";
        };

        await nav("send");
        await page.locator('.tab[data-tab="text"]').click();
        const tform = page.locator('form[data-kind="text"]');
        await tform.waitFor();
        await page.fill('input[name="to"]', PEER);
        const box = tform.locator('input[name="link_preview"]');
        const hint = tform.locator('[data-field="link_preview"] .hint');
        check(!(await box.isChecked()), "Show a link preview is ticked by default");
        const link = `${site}/p/42`;
        const text = `Back in stock: ${link} (${Date.now()})`;
        await tform.locator('textarea[name="message"]').fill(text);
        await box.check();
        await waitFor("the hint naming the link", async () => (await textOf(hint)) === `The first link will be previewed: ${link}`);
        pass(`"Show a link preview" is off by default; ticked, its hint names the link: "${await textOf(hint)}"`);

        const id = await send(tform, "sending the text with a preview");
        const result = results.first();
        const shown = (await textOf(result.locator(".link-preview"))).replace(/\s+/g, " ");
        check((await result.getAttribute("data-link-preview")) === "sent", `the result says no preview was sent: "${await textOf(result)}"`);
        check(
          shown.includes("Red running shoes") && shown.includes("Light, with a thick sole.") && shown.includes(link) && (await result.locator('.link-preview[data-thumbnail="true"]').count()) === 1,
          `the result shows the preview as "${shown}"`,
        );
        check(hits.includes("/p/42") && hits.includes("/img/shoes.png"), `the gateway fetched ${JSON.stringify(hits)}`);
        pass(`text sent with a preview (${id}); the result shows it: "${shown}"`);
        const got = await waitFor(`the text at ${PEER}`, async () => (await received(PEER)).find((m) => m.id === id));
        const lp = got.link_preview;
        check(got.text === text, `${PEER} received ${JSON.stringify(got.text)}, not ${JSON.stringify(text)}`);
        check(
          lp && lp.url === link && lp.title === "Red running shoes" && lp.description === "Light, with a thick sole." && lp.thumbnail_bytes > 0 && lp.thumbnail_jpeg === true,
          `${PEER} was shown the preview ${JSON.stringify(lp)}`,
        );
        pass(`virtual phone ${PEER} was shown the preview with a JPEG thumbnail (${lp.thumbnail_bytes} bytes)`);

        // A link to a missing page: the text goes, without a preview, and the result says why.
        check(await box.isChecked(), "Show a link preview was unticked by the send");
        const missing = `${site}/p/gone`;
        const text2 = `And this one: ${missing} (${Date.now()})`;
        await tform.locator('textarea[name="message"]').fill(text2);
        await waitFor("the hint naming the new link", async () => (await textOf(hint)) === `The first link will be previewed: ${missing}`);
        await shot("04e-send-link-preview.png", page, true);
        const id2 = await send(tform, "sending the text with a dead link");
        const result2 = results.first();
        const why = (await textOf(result2.locator(".notice"))).replace(/\s+/g, " ");
        check((await result2.getAttribute("data-link-preview")) === "none" && (await result2.locator(".link-preview").count()) === 0, `the result says "${await textOf(result2)}"`);
        check(why.startsWith("Sent without a preview: ") && why.includes("404"), `the result's notice says "${why}"`);
        check(!(await bannerText()), `a banner shows: ${await bannerText()}`);
        pass(`text sent (${id2}) with a link to a 404: "${why}"`);
        const got2 = await waitFor(`the second text at ${PEER}`, async () => (await received(PEER)).find((m) => m.id === id2));
        check(got2.text === text2 && got2.link_preview === null, `${PEER} received ${JSON.stringify(got2.text)} with the preview ${JSON.stringify(got2.link_preview)}`);
        pass(`virtual phone ${PEER} received the text without a preview`);
        await shot("04f-send-no-preview.png", page, true);
      } finally {
        server.close();
      }
    },
  ],
  [
    "calls and a contact's typing",
    async () => {
      // The phone's page: its Calls section starts off, the reply box disabled.
      await nav("phones");
      await page.locator(`.phone-row[data-phone-id="${phoneId}"] .phone-name a`).click();
      const form = page.locator("#calls-form");
      await form.waitFor();
      const reject = form.locator('input[name="reject_calls"]');
      const reply = form.locator('textarea[name="reply"]');
      const state = page.locator("#calls-state .pill");
      check(!(await reject.isChecked()) && (await reply.isDisabled()), "a new phone declines calls, or offers a reply with declining off");
      check((await state.getAttribute("data-status")) === "ringing", `the Calls section says "${await textOf(state)}" for a new phone`);
      pass(`the phone's page has a Calls section: "${await textOf(state)}", the reply box disabled`);

      // Declining with a reply: one over 4096 characters is refused under the field; then saved.
      await reject.check();
      check(await reply.isEnabled(), "turning declining on did not enable the reply box");
      const replyError = form.locator('[data-field="reply"] .field-error');
      await reply.fill("x".repeat(4097));
      check((await textOf(form.locator("#call-reply-count"))).startsWith("4097 / 4096"), `the count says "${await textOf(form.locator("#call-reply-count"))}"`);
      await form.locator('button[type="submit"]').click();
      await waitFor("the long reply refused", async () => (await textOf(replyError)) || (await bannerText()));
      check(/^reply: .*4096/.test(await textOf(replyError)), `a 4097-character reply: "${await textOf(replyError)}" ${await bannerText()}`);
      check((await state.getAttribute("data-status")) === "ringing", "the long reply was saved");
      pass(`a 4097-character reply is refused under the field: "${await textOf(replyError)}"`);
      const answer = `Sorry, we can't take calls here: write to us instead. ${Date.now()}`;
      await reply.fill(answer);
      await form.locator('button[type="submit"]').click();
      await waitFor("the call settings saved", async () => (await state.getAttribute("data-status")) === "declining" || (await pageError()));
      if ((await state.getAttribute("data-status")) !== "declining") throw new Failure(`saving the call settings failed: ${await pageError()}`);
      pass(`declining saved with a reply: "${await textOf(state)}"`);
      // The REST read, with the page's session (a read may be served from the gateway's short-lived phone cache).
      let stored = "";
      await waitFor(`GET /api/phones/${phoneId}/calls with the new settings`, async () => {
        stored = await page.evaluate(async (id) => {
          const r = await fetch(`/api/phones/${encodeURIComponent(id)}/calls`, { headers: { Accept: "application/json" } });
          return `${r.status} ${await r.text()}`;
        }, phoneId);
        const body = JSON.parse(stored.slice(4));
        return stored.startsWith("200 ") && body.settings?.reject_calls === true && body.settings?.reply === answer;
      }, 10_000).catch((e) => {
        throw new Failure(`${e.message}; it answers ${stored}`);
      });
      pass(`GET /api/phones/${phoneId}/calls: reject_calls true, the reply stored`);
      await page.reload();
      await form.waitFor();
      check((await reject.isChecked()) && (await reply.inputValue()) === answer, "after a reload the page does not show the stored call settings");
      pass("after a reload the page shows the stored settings (GetCallSettings)");

      // The peer calls (video): declined as it rings, listed live, and the peer gets the reply.
      await markDocument();
      const placed = await sim("POST", `/admin/phones/${PEER}/call`, { to: VIRTUAL, video: true });
      check(placed.status < 300 && placed.json?.call_id, `simulator call answered ${placed.status} ${placed.text}`);
      const callId = placed.json.call_id;
      const row = page.locator(`#recent-calls .call-row[data-call-id="${callId}"]`);
      await row.waitFor();
      await waitFor("the call declined and replied to", async () => (await row.getAttribute("data-status")) === "declined" && (await row.getAttribute("data-replied")));
      const rowText = (await textOf(row)).replace(/\s+/g, " ");
      check(rowText.replace(/\D/g, "").includes(PEER) && rowText.includes("Video call") && rowText.includes("Declined, replied"), `the call's row says "${rowText}"`);
      await stillSameDocument("the call");
      pass(`the peer's video call (${callId}) showed under Recent calls live: "${rowText}"`);
      await waitFor(`${callId} rejected at ${PEER}`, async () => {
        const r = await sim("GET", `/admin/phones/${PEER}/calls`);
        return Array.isArray(r.json) && r.json.find((c) => c.call_id === callId && c.rejected === true);
      });
      pass(`virtual phone ${PEER} sees its call ${callId} rejected`);
      const repliedId = await row.getAttribute("data-replied");
      const got = await waitFor(`the reply at ${PEER}`, async () => {
        const r = await sim("GET", `/admin/phones/${PEER}/messages`);
        return Array.isArray(r.json) && r.json.find((m) => m.text === answer);
      });
      check(got.id === repliedId, `${PEER} received the reply as ${got.id}, the call says it was ${repliedId}`);
      pass(`virtual phone ${PEER} received the reply (${got.id})`);
      await shot("03c-phone-calls.png", page, true);

      // The peer types in the open chat: "typing…" under its name and in its chat's preview, gone on "paused".
      await nav("messages");
      await page.locator(`#chat-list .chat-item[data-chat="${PEER}"]`).click();
      await waitFor("the chat opened", async () => new URL(page.url()).hash.includes(`chat=${PEER}`));
      const typing = page.locator("#chat-typing");
      const preview = page.locator(`#chat-list .chat-item[data-chat="${PEER}"] .chat-typing-preview`);
      await typing.waitFor({ state: "attached" });
      check((await textOf(typing)) === "", `the chat says "${await textOf(typing)}" before the peer types`);
      await markDocument();
      const typeAs = async (st) => {
        const r = await sim("POST", `/admin/phones/${PEER}/typing`, { to: VIRTUAL, state: st });
        check(r.status < 300, `simulator typing (${st}) answered ${r.status} ${r.text}`);
      };
      await typeAs("composing");
      await waitFor('"typing…" under the chat\'s name', async () => (await textOf(typing)) === "typing…");
      await waitFor('"typing…" in the chat\'s preview', async () => (await textOf(preview)) === "typing…");
      pass('the peer typing shows "typing…" under the chat\'s name and in its chat\'s preview');
      await shot("05h-typing.png");
      await typeAs("recording");
      await waitFor('"recording audio…"', async () => (await textOf(typing)) === "recording audio…");
      pass('recording a voice note shows "recording audio…"');
      await typeAs("paused");
      await waitFor("the typing line cleared", async () => (await textOf(typing)) === "" && (await preview.count()) === 0);
      await stillSameDocument("typing");
      pass('"paused" clears it, in the chat and its preview');
    },
  ],
  [
    "contacts: checking numbers, a contact, blocking",
    async () => {
      // The peer's profile, as WhatsApp would show it: an about text and a business profile.
      const about = "Fresh fish every morning, 6 to 11 🐟";
      const business = { name: "Harbour Fish", description: "Fresh fish from the harbour, delivered daily.", email: "hello@harbour.example", website: ["https://harbour.example"], address: "12 Quay Road, Kochi", category: "Grocery Store" };
      const picture = pngFile(96, 96, (x, y) => [20 + x, 120 + y, 160, 255]).toString("base64");
      const set = await sim("POST", `/admin/phones/${PEER}/profile`, { about, business, picture });
      check(set.status < 300, `simulator profile answered ${set.status} ${set.text}`);

      await nav("contacts");
      const form = page.locator("#check-form");
      await form.waitFor();
      const numbers = page.locator("#check-numbers");
      const count = page.locator("#check-count");
      const fieldError = form.locator('[data-field="numbers"] .field-error');
      // A number the API refuses is named under the box, with the entry it is.
      await numbers.fill(`${PEER}\nnot-a-number`);
      await page.click("#check-submit");
      await waitFor("the refused number", async () => (await textOf(fieldError)) || (await bannerText()));
      const refused = await textOf(fieldError);
      check(/^numbers\[1\]: /.test(refused) && refused.includes("“not-a-number”"), `a bad number: "${refused}" ${await bannerText()}`);
      check(!(await page.locator("#check-summary").count()), "a refused check shows results");
      pass(`a bad number is refused under the box: "${refused}"`);

      // Pasted as from a spreadsheet: a column and a row, spaces and dashes, one number twice.
      const absent = ["919800000001", "447700900123"];
      const spaced = `+${PEER.slice(0, 2)} ${PEER.slice(2, 7)}-${PEER.slice(7)}`;
      await numbers.fill(`${VIRTUAL}\n${spaced}, ${absent[0]}\n${absent[1]}\n${PEER}\n`);
      check((await count.getAttribute("data-count")) === "4" && (await textOf(count)).includes("1 repeat left out"), `the count says "${await textOf(count)}"`);
      pass(`the box counts the numbers pasted: "${await textOf(count)}"`);
      await page.click("#check-submit");
      const summary = page.locator("#check-summary");
      await waitFor("the check's results", async () => (await summary.count()) || (await pageError()), 45_000);
      if (!(await summary.count())) throw new Failure(`the check failed: ${await pageError()}`);
      check((await summary.getAttribute("data-on")) === "2" && (await summary.getAttribute("data-total")) === "4", `the summary says "${await textOf(summary)}"`);
      check((await textOf(summary)).startsWith("2 of 4"), `the summary says "${await textOf(summary)}"`);
      const rows = page.locator("#check-table tbody tr");
      const verdicts = await rows.evaluateAll((trs) => trs.map((tr) => `${tr.dataset.number}=${tr.dataset.onWhatsapp}`));
      const want = [`${VIRTUAL}=yes`, `${PEER}=yes`, `${absent[0]}=no`, `${absent[1]}=no`];
      check(JSON.stringify(verdicts) === JSON.stringify(want), `the rows are ${verdicts.join(", ")}, want ${want.join(", ")}`);
      const peerRow = page.locator(`#check-table tr[data-number="${PEER}"]`);
      check((await textOf(peerRow.locator(".check-business"))).includes(business.name), `the peer's business cell says "${await textOf(peerRow.locator(".check-business"))}"`);
      pass(`"${(await textOf(summary)).split("\n")[0]}": ${verdicts.join(", ")}; the peer's row names ${business.name}`);

      // The filter, and copying the numbers on WhatsApp.
      const filter = page.locator("#check-filter");
      await filter.selectOption("no");
      check(JSON.stringify(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.number))) === JSON.stringify(absent), "Not on WhatsApp shows other rows");
      await filter.selectOption("yes");
      check(JSON.stringify(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.number))) === JSON.stringify([VIRTUAL, PEER]), "On WhatsApp shows other rows");
      await filter.selectOption("");
      check((await rows.count()) === 4, "All does not show the four rows");
      pass("the filter shows only the numbers on WhatsApp, or only the others");
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: ORIGIN });
      await page.click("#check-copy");
      const copied = await page.evaluate(() => navigator.clipboard.readText());
      check(copied === `${VIRTUAL}\n${PEER}`, `"Copy numbers on WhatsApp" copied ${JSON.stringify(copied)}`);
      pass("Copy numbers on WhatsApp copies the two numbers, one a line");
      await shot("14-contacts-check.png", page, true);

      // The peer's card, from its row.
      await peerRow.locator("a.check-number").click();
      const cardEl = page.locator(`#contact-card[data-number="${PEER}"]`);
      await waitFor("the contact card", async () => (await cardEl.count()) || (await pageError()), 45_000);
      if (!(await cardEl.count())) throw new Failure(`looking up ${PEER} failed: ${await pageError()}`);
      check((await textOf(cardEl.locator(".contact-about"))) === about, `the card's about says "${await textOf(cardEl.locator(".contact-about"))}"`);
      check((await textOf(cardEl.locator(".contact-business"))) === business.description, `the card's business says "${await textOf(cardEl.locator(".contact-business"))}"`);
      const cardText = await textOf(cardEl);
      check(cardText.includes(business.name) && cardText.includes(business.email) && cardText.includes(business.address), `the card says "${cardText.replace(/\s+/g, " ")}"`);
      check((await cardEl.locator("a.contact-picture-link").count()) === 1, "the card does not link to the peer's picture");
      check((await cardEl.getAttribute("data-blocked")) === "false", "the peer shows blocked before it was");
      check(new URL(page.url()).hash.includes(`number=${PEER}`), `the URL does not name the contact: ${page.url()}`);
      pass(`the contact card shows the peer's about text and business profile (${business.name}, ${business.email})`);

      // Following its presence: the simulator's peer comes online.
      await page.click("#contact-follow");
      await page.locator("#contact-follow[disabled]").waitFor();
      await markDocument();
      const online = await sim("POST", `/admin/phones/${PEER}/presence`, { available: true });
      check(online.status < 300, `simulator presence answered ${online.status} ${online.text}`);
      await waitFor("the peer online on its card", async () => (await page.locator("#contact-presence").getAttribute("data-presence")) === "online");
      await stillSameDocument("presence");
      pass("following the peer's presence: it shows Online live (presence.update)");

      // Block, then unblock from the blocked list; the simulator's blocklist follows.
      const blockedMap = async () => (await sim("GET", `/admin/phones/${VIRTUAL}/profile`)).json?.blocked ?? {};
      check(!(PEER in (await blockedMap())), "the peer is blocked before the test blocks it");
      await page.click("#contact-block");
      await page.locator('dialog[open] button:has-text("Block")').click();
      await waitFor("the card blocked", async () => (await cardEl.getAttribute("data-blocked")) === "true" || (await pageError()));
      if ((await cardEl.getAttribute("data-blocked")) !== "true") throw new Failure(`blocking failed: ${await pageError()}`);
      await waitFor(`${PEER} in ${VIRTUAL}'s blocklist at the simulator`, async () => PEER in (await blockedMap()));
      const listed = page.locator(`#blocked-list .blocked-row[data-number="${PEER}"]`);
      await listed.waitFor();
      pass(`blocked: the card says so, the simulator's blocklist of ${VIRTUAL} holds ${PEER}, and Blocked numbers lists it`);
      await shot("14b-contact.png", page, true);
      await listed.locator('button:has-text("Unblock")').click();
      await waitFor("the blocked list empty", async () => (await listed.count()) === 0 && (await page.locator("#blocked-list .empty").count()) === 1);
      await waitFor("the card unblocked", async () => (await cardEl.getAttribute("data-blocked")) === "false");
      await waitFor(`${PEER} out of the simulator's blocklist`, async () => !(PEER in (await blockedMap())));
      pass("unblocked from Blocked numbers: the list is empty, the card and the simulator agree");
    },
  ],
  [
    "the phone's profile and presence",
    async () => {
      await nav("phones");
      await page.locator(`.phone-row[data-phone-id="${phoneId}"] .phone-name a`).click();
      const form = page.locator("#profile-form");
      await form.waitFor();
      const name = page.locator("#profile-name-input");
      const about = page.locator("#profile-about-input");
      await waitFor("the profile read", async () => (await name.isEnabled()) && (await textOf(page.locator("#profile-name"))) !== "" || (await pageError()));
      check(await name.isEnabled(), `the profile was not read: ${await textOf(page.locator("#profile-preview"))} ${await pageError()}`);
      pass(`the phone's page shows its profile: "${await textOf(page.locator("#profile-name"))}"`);
      const profileAt = async () => (await sim("GET", `/admin/phones/${VIRTUAL}/profile`)).json ?? {};

      // An about text too long is refused under its box, in the API's words.
      await about.fill("x".repeat(140));
      await form.locator('button[type="submit"]').click();
      const aboutError = form.locator('[data-field="about"] .field-error');
      await waitFor("the long about refused", async () => (await textOf(aboutError)) || (await bannerText()));
      check(/^about: .*139/.test(await textOf(aboutError)), `a 140-character about: "${await textOf(aboutError)}" ${await bannerText()}`);
      pass(`a 140-character about is refused under its box: "${await textOf(aboutError)}"`);

      const newName = "Shop Kochi";
      const newAbout = "Open 9 to 6, Monday to Saturday";
      await name.fill(newName);
      await about.fill(newAbout);
      await form.locator('button[type="submit"]').click();
      await waitFor("the profile saved", async () => (await textOf(page.locator("#profile-about"))) === newAbout || (await pageError()));
      check((await textOf(page.locator("#profile-about"))) === newAbout && (await textOf(page.locator("#profile-name"))) === newName, `after saving the profile shows "${await textOf(page.locator("#profile-preview"))}" ${await pageError()}`);
      const after = await waitFor("the new about and name at the simulator", async () => {
        const p = await profileAt();
        return p.about === newAbout && Object.values(p.push_names ?? {}).includes(newName) && p;
      });
      pass(`name and about saved: the simulator's profile of ${VIRTUAL} says "${after.about}", pushed as "${newName}"`);

      // A picture from a URL (served here), then removed.
      const image = pngFile(320, 200, (x, y) => [20 + x / 3, 140, 90 + y / 2, 255]);
      const server = createServer((req, res) => {
        if (req.url === "/logo.png") {
          res.writeHead(200, { "content-type": "image/png" });
          res.end(image);
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        await page.fill("#profile-picture-input", `http://127.0.0.1:${server.address().port}/logo.png`);
        await form.locator('button[type="submit"]').click();
        await waitFor("the picture set", async () => (await page.locator("#profile-picture a").count()) || (await pageError()), 45_000);
        if (!(await page.locator("#profile-picture a").count())) throw new Failure(`setting the picture failed: ${await pageError()}`);
        const pic = await waitFor("a picture at the simulator", async () => (await profileAt()).picture);
        pass(`picture set from a URL: the simulator holds a ${pic.size}-byte picture; the page links to it`);
      } finally {
        server.close();
      }

      // Presence: offline, then online.
      const presenceState = page.locator("#presence-state .pill");
      await page.click("#presence-offline");
      await waitFor("shown offline", async () => (await presenceState.getAttribute("data-status").catch(() => null)) === "offline" || (await pageError()));
      check((await presenceState.getAttribute("data-status")) === "offline", `Show offline: ${await pageError()}`);
      await page.click("#presence-online");
      await waitFor("shown online", async () => (await presenceState.getAttribute("data-status").catch(() => null)) === "online" || (await pageError()));
      check((await presenceState.getAttribute("data-status")) === "online", `Show online: ${await pageError()}`);
      pass(`Show offline, then Show online: "${await textOf(presenceState)}"`);
      await page.evaluate(() => window.scrollTo(0, document.querySelector("#profile-section").getBoundingClientRect().top + window.scrollY - 72));
      await shot("03d-phone-profile.png");

      await page.click("#profile-remove-picture");
      await page.locator('dialog[open] button:has-text("Remove picture")').click();
      await waitFor("the picture removed", async () => (await page.locator("#profile-picture a").count()) === 0 || (await pageError()));
      await waitFor("no picture at the simulator", async () => (await profileAt()).picture === null);
      pass("Remove picture: the page and the simulator show none");
    },
  ],
  [
    "a phone that is not connected",
    async () => {
      // A second phone, never linked: the contact and profile calls answer 404 "not connected".
      const made = await page.evaluate(async () => {
        const r = await fetch("/api/phones", { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify({ name: "Spare" }) });
        return `${r.status} ${await r.text()}`;
      });
      check(made.startsWith("200 ") || made.startsWith("201 "), `creating the phone Spare answered ${made}`);
      const spare = JSON.parse(made.slice(4)).phone?.phone_id;
      check(spare, `no phone id in ${made}`);
      try {
        await go(`#/contacts/${spare}`);
        await page.locator("#check-form").waitFor();
        check((await textOf(page.locator("#contacts-phone-state"))).includes("Spare is not linked"), `the page says "${await textOf(page.locator("#contacts-phone-state"))}"`);
        await page.fill("#check-numbers", PEER);
        await page.click("#check-submit");
        const note = page.locator("#check-results .notice");
        await waitFor("the not-connected notice", async () => (await note.count()) || (await bannerText()));
        check((await textOf(note)).includes("Spare is not connected"), `checking on Spare: "${await textOf(note)}" ${await bannerText()}`);
        check(!(await bannerText()), `an error banner: ${await bannerText()}`);
        check((await textOf(page.locator("#blocked-list"))).includes("not connected"), `the blocklist says "${await textOf(page.locator("#blocked-list"))}"`);
        pass(`Contacts on a phone not connected says so where the answers would be: "${(await textOf(note)).replace(/\s+/g, " ")}"`);
        await shot("14c-contacts-not-connected.png");
        await go(`#/phones/${spare}`);
        const preview = page.locator("#profile-preview .notice");
        await preview.waitFor();
        check((await textOf(preview)).includes("Spare is not connected"), `the profile says "${await textOf(preview)}"`);
        check(await page.locator("#profile-name-input").isDisabled(), "the profile form is enabled for a phone not connected");
        check(!(await bannerText()), `an error banner: ${await bannerText()}`);
        pass("its page says the profile needs the phone connected, with the form disabled, and no error banner");
        await go(`#/groups/${spare}`);
        await page.locator("#new-group-form").waitFor();
        check((await textOf(page.locator("#group-list"))).includes("Spare is not connected"), `the groups list says "${await textOf(page.locator("#group-list"))}"`);
        await page.fill("#new-group-subject", "Never made");
        await page.fill("#new-group-participants", PEER);
        await page.click("#new-group-submit");
        const groupNote = page.locator("#group-created .notice");
        await waitFor("the not-connected notice under New group", async () => (await groupNote.count()) || (await bannerText()));
        check((await textOf(groupNote)).includes("Spare is not connected"), `creating a group on Spare: "${await textOf(groupNote)}" ${await bannerText()}`);
        check(!(await bannerText()), `an error banner: ${await bannerText()}`);
        pass(`Groups on a phone not connected says so in the list and under New group: "${(await textOf(groupNote)).replace(/\s+/g, " ")}"`);
      } finally {
        const del = await page.evaluate(async (id) => (await fetch(`/api/phones/${encodeURIComponent(id)}`, { method: "DELETE", headers: { Accept: "application/json" } })).status, spare);
        check(del < 300, `deleting Spare answered ${del}`);
        // A fresh start: the console's phone list no longer holds Spare.
        await go(`#/phones/${phoneId}`);
        await page.reload();
        await page.locator(".details").first().waitFor();
      }
    },
  ],
  [
    "groups: create, members, invite link, settings, join requests, send, join by link, leave",
    async () => {
      const absent = "919800000001";
      const [added, joiner] = BULK;
      for (const n of [PEER, FORWARD, added, joiner]) await createVirtual(n);
      const groupAt = async (id) => (await sim("GET", `/admin/groups/${encodeURIComponent(id)}`)).json ?? {};
      const roleAt = (g, n) => (g.participants ?? []).find((p) => p.number === n)?.role;
      const members = (g) => (g.participants ?? []).map((p) => p.number).sort();

      // A new group: two virtual phones and a number not on WhatsApp.
      await nav("groups");
      const createForm = page.locator("#new-group-form");
      await createForm.waitFor();
      await page.locator("#group-list table, #group-list .empty").first().waitFor();
      await page.fill("#new-group-subject", "Orders");
      await page.fill("#new-group-participants", `${PEER}\n+${FORWARD.slice(0, 2)} ${FORWARD.slice(2)}, ${absent}`);
      await page.click("#new-group-submit");
      const created = page.locator("#group-created .group-result");
      await waitFor("the new group's results", async () => (await created.count()) || (await pageError()), 45_000);
      if (!(await created.count())) throw new Failure(`creating the group failed: ${await pageError()}`);
      const groupId = await created.getAttribute("data-group-id");
      check(/^\d+@g\.us$/.test(groupId ?? ""), `the new group's id is ${groupId}`);
      const verdicts = await page.locator("#group-created-results li").evaluateAll((lis) => lis.map((li) => `${li.dataset.number}=${li.dataset.status}`));
      const want = [`${PEER}=ok`, `${FORWARD}=ok`, `${absent}=not_on_whatsapp`];
      check(JSON.stringify(verdicts) === JSON.stringify(want), `the results are ${verdicts.join(", ")}, want ${want.join(", ")}`);
      const absentRow = page.locator(`#group-created-results li[data-number="${absent}"]`);
      check((await textOf(absentRow)).includes("Not on WhatsApp"), `the absent number's row says "${await textOf(absentRow)}"`);
      check((await textOf(page.locator("#group-created-summary"))).startsWith("2 of 3 added"), `the summary says "${await textOf(page.locator("#group-created-summary"))}"`);
      let g = await waitFor("the group at the simulator", async () => {
        const x = await groupAt(groupId);
        return x.subject === "Orders" && x;
      });
      check(JSON.stringify(members(g)) === JSON.stringify([VIRTUAL, PEER, FORWARD].sort()), `the simulator's members are ${members(g).join(", ")}`);
      pass(`group "Orders" created (${groupId}): ${verdicts.join(", ")}; the simulator holds ${members(g).join(", ")}`);
      await page.locator(`#groups-table tr[data-group-id="${groupId}"]`).waitFor();
      await shot("15c-group-created.png", page, true);

      // Its page: add a participant, make one admin, remove one.
      await created.locator('a:has-text("Open the group")').click();
      await page.locator("#group-members .member-row").first().waitFor();
      check((await textOf(page.locator("h1"))) === "Orders", `the group's page is headed "${await textOf(page.locator("h1"))}"`);
      check((await page.locator(`#group-members .member-row[data-number="${VIRTUAL}"]`).getAttribute("data-role")) === "superadmin", "the phone is not shown as the owner");
      await page.fill("#group-add-participants", added);
      await page.click("#group-add-submit");
      const addResult = page.locator(`#group-add-results li[data-number="${added}"]`);
      await waitFor("the add's result", async () => (await addResult.count()) || (await pageError()), 45_000);
      check((await addResult.getAttribute("data-status")) === "ok", `adding ${added}: ${await textOf(addResult)} ${await pageError()}`);
      await page.locator(`#group-members .member-row[data-number="${added}"]`).waitFor();
      await waitFor(`${added} in the simulator's group`, async () => members(await groupAt(groupId)).includes(added));
      pass(`added ${added}: "${(await textOf(addResult)).replace(/\s+/g, " ")}"; the member list and the simulator have it`);

      const peerRow = page.locator(`#group-members .member-row[data-number="${PEER}"]`);
      await peerRow.locator('button[data-action="promote"]').click();
      await waitFor("the peer shown as admin", async () => (await peerRow.getAttribute("data-role")) === "admin" || (await pageError()));
      check((await peerRow.getAttribute("data-role")) === "admin", `making ${PEER} admin: ${await pageError()}`);
      check((await textOf(peerRow.locator(".member-note"))).includes("Now an admin"), `the row's note says "${await textOf(peerRow.locator(".member-note"))}"`);
      await waitFor(`${PEER} admin at the simulator`, async () => roleAt(await groupAt(groupId), PEER) === "admin");
      pass(`Make admin: ${PEER}'s row says "${await textOf(peerRow.locator(".member-note"))}", the simulator has it as admin`);

      const addedRow = page.locator(`#group-members .member-row[data-number="${added}"]`);
      await addedRow.locator('button[data-action="remove"]').click();
      await page.locator('dialog[open] button:has-text("Remove")').click();
      await waitFor("the removal shown", async () => (await addedRow.getAttribute("data-role")) === "gone" || (await pageError()));
      check((await textOf(addedRow)).includes("Removed"), `the removed row says "${await textOf(addedRow)}" ${await pageError()}`);
      await waitFor(`${added} out of the simulator's group`, async () => !members(await groupAt(groupId)).includes(added));
      pass(`Remove (confirmed): ${added} is out, at the simulator too`);

      // The invite link: copy it, reset it.
      const link = page.locator("#invite-link");
      const before = await link.inputValue();
      g = await groupAt(groupId);
      check(before === `https://chat.whatsapp.com/${g.invite_code}`, `the page's link ${before}, the simulator's code ${g.invite_code}`);
      await page.click("#invite-copy");
      check((await page.evaluate(() => navigator.clipboard.readText())) === before, "Copy did not copy the invite link");
      await page.click("#invite-reset");
      await page.locator('dialog[open] button:has-text("Reset link")').click();
      await waitFor("a new link", async () => (await link.inputValue()) !== before || (await pageError()));
      const after = await link.inputValue();
      check(after !== before && after.startsWith("https://chat.whatsapp.com/"), `after Reset the link is ${after}: ${await pageError()}`);
      await waitFor("the new code at the simulator", async () => after.endsWith(`/${(await groupAt(groupId)).invite_code}`));
      pass(`invite link copied (${before.split("/").pop()}), then reset to ${after.split("/").pop()}; the simulator has the new code`);

      // Settings: only admins send; approval for people joining by link.
      await page.locator("#set-announce").check();
      await waitFor("announcement at the simulator", async () => (await groupAt(groupId)).announcement === true);
      check(await page.locator("#set-announce").isChecked(), "Only admins send is off again");
      await page.locator("#set-join_approval").check();
      await waitFor("approval at the simulator", async () => (await groupAt(groupId)).approval === true);
      pass(`"Only admins send messages" and "Approve new members" on: the simulator says announcement and approval true`);

      // A virtual phone asks to join by the link; the page lets it in.
      const asked = await sim("POST", `/admin/phones/${joiner}/join`, { code: after.split("/").pop() });
      check(asked.status < 300 && asked.json?.pending === true, `the join by link answered ${asked.status} ${asked.text}`);
      const request = page.locator(`#request-list .request-row[data-number="${joiner}"]`);
      await waitFor("the join request listed", async () => {
        if (await request.count()) return true;
        await page.click("#requests-refresh");
        return false;
      }, T, 1500);
      await request.locator('button[data-action="approve"]').click();
      await waitFor(`${joiner} a member`, async () => (await page.locator(`#group-members .member-row[data-number="${joiner}"]`).count()) || (await pageError()));
      check((await textOf(request)).includes("Let in"), `the request's row says "${await textOf(request)}" ${await pageError()}`);
      await waitFor(`${joiner} in the simulator's group`, async () => members(await groupAt(groupId)).includes(joiner));
      pass(`${joiner} asked to join by the link; Approve let it in (the page and the simulator agree)`);
      await shot("15b-group.png", page, true);

      // Send to the group from the Send page, choosing it beside the number.
      await nav("send");
      await page.locator('form[data-kind="text"]').waitFor();
      await waitFor("the group picker filled", async () => (await page.locator(`#to-group option[value="${groupId}"]`).count()) > 0);
      await page.locator("#to-group").selectOption(groupId);
      check((await page.inputValue('input[name="to"]')) === groupId, `choosing the group put "${await page.inputValue('input[name="to"]')}" in To`);
      const text = `Hello Orders ${Date.now()}`;
      await page.fill('textarea[name="message"]', text);
      await page.click('form[data-kind="text"] button[type="submit"]');
      const result = page.locator("#send-results .result").first();
      await waitFor("the send result", async () => (await result.count()) || (await pageError()), T);
      if (!(await result.count())) throw new Failure(`sending to the group failed: ${await pageError()}`);
      check((await textOf(result.locator(".result-head"))).includes("the group “Orders”"), `the result says "${await textOf(result.locator(".result-head"))}"`);
      const got = await waitFor(`the group text at ${PEER}`, async () => {
        const r = await sim("GET", `/admin/phones/${PEER}/messages`);
        return Array.isArray(r.json) && r.json.find((m) => m.text === text);
      });
      check(got.group, `${PEER} received the text without "group": ${JSON.stringify(got)}`);
      pass(`text sent to "Orders" from Send (the group picked beside To); ${PEER} received it in group ${got.group}`);

      // A group a virtual phone created: join it by its link, see a refusal under a setting, leave it.
      const made = await sim("POST", `/admin/phones/${PEER}/groups`, { subject: "Harbour suppliers", participants: [FORWARD] });
      check(made.status < 300, `the simulator's group answered ${made.status} ${made.text}`);
      const theirs = made.json?.group?.jid ?? `${made.json?.group?.id}@g.us`;
      const theirsKey = theirs.replace(/@g\.us$/, "");
      const code = (await sim("GET", `/admin/phones/${PEER}/groups/${theirsKey}/invite`)).json?.code;
      check(code, "no invite code from the simulator");
      await nav("groups");
      await page.fill("#join-invite", `https://chat.whatsapp.com/${code}`);
      await page.click("#join-lookup");
      const invite = page.locator("#invite-card");
      await waitFor("where the link leads", async () => (await invite.count()) || (await pageError()), 45_000);
      if (!(await invite.count())) throw new Failure(`the invite was not shown: ${await pageError()}`);
      check((await textOf(page.locator("#invite-subject"))) === "Harbour suppliers", `the invite shows "${await textOf(invite)}"`);
      pass(`the link shows where it leads before joining: "${(await textOf(invite)).split("\n").slice(0, 2).join(", ")}"`);
      await page.click("#join-submit");
      await waitFor("the joined group's page", async () => new URL(page.url()).hash.includes(theirsKey) && (await page.locator("#group-members .member-row").count()) > 0 || (await pageError()), 45_000);
      check(members(await groupAt(theirsKey)).includes(VIRTUAL), `the simulator's group does not hold ${VIRTUAL}`);
      check(await page.locator("#set-announce").isDisabled(), "a plain member can change the settings");
      pass(`joined "Harbour suppliers" by its link; a member there, its settings disabled`);
      await nav("groups");
      await page.locator(`#groups-table tr[data-group-id="${theirs}"]`).waitFor();
      await shot("15-groups.png");

      // Made admin, then dismissed behind the page's back: WhatsApp's refusal shows under the setting.
      check((await sim("POST", `/admin/phones/${PEER}/groups/${theirsKey}/participants`, { action: "promote", participants: [VIRTUAL] })).status < 300, "the simulator did not promote");
      await page.locator(`#groups-table tr[data-group-id="${theirs}"] a.group-link`).click();
      await page.locator("#set-announce:not([disabled])").waitFor();
      check((await sim("POST", `/admin/phones/${PEER}/groups/${theirsKey}/participants`, { action: "demote", participants: [VIRTUAL] })).status < 300, "the simulator did not demote");
      await page.locator("#set-announce").check();
      const settingError = page.locator('#group-settings [data-field="announce"] .field-error');
      await waitFor("the refusal under the setting", async () => (await textOf(settingError)) || (await bannerText()));
      check(/^announce: .*403/.test(await textOf(settingError)), `the setting's error: "${await textOf(settingError)}" ${await bannerText()}`);
      check(!(await page.locator("#set-announce").isChecked()), "the refused setting stays on");
      check(!(await bannerText()), `an error banner: ${await bannerText()}`);
      pass(`a refused setting shows under it: "${await textOf(settingError)}"`);

      await page.click("#group-leave");
      await page.locator('dialog[open] button:has-text("Leave group")').click();
      await waitFor("back on the list", async () => /#\/groups\/[^/]+$/.test(new URL(page.url()).hash) || (await pageError()));
      await page.locator("#group-list table, #group-list .empty").first().waitFor();
      check(!(await page.locator(`#groups-table tr[data-group-id="${theirs}"]`).count()), "the list still shows the group left");
      await waitFor(`${VIRTUAL} out of the simulator's group`, async () => !members(await groupAt(theirsKey)).includes(VIRTUAL));
      pass(`left "Harbour suppliers" (confirmed): gone from the list and from the simulator's members`);
    },
  ],
  [
    "webhook",
    async () => {
      await nav("webhook");
      await page.locator("#webhook-form").waitFor();
      // The filter offers every event, each under its family (chat.typing under chat, ...).
      await page.locator("#ev-all").uncheck();
      for (const name of ["chat.typing", "call.received", "presence.update"]) {
        const box = page.locator(`#webhook-form input[data-event="${name}"]`);
        check(await box.isVisible(), `the event filter does not offer ${name}`);
        const family = await box.evaluate((el) => el.closest(".event-group")?.querySelector(".event-family")?.textContent ?? "");
        check(family === name.split(".")[0], `${name} is listed under "${family}"`);
      }
      await page.locator("#ev-all").check();
      pass("the webhook's event filter offers chat.typing, call.received and presence.update, each under its family");
      await page.fill('input[name="webhook_url"]', WEBHOOK_URL);
      await page.click('#webhook-form button[type="submit"]');
      const secret = page.locator("#webhook-secret-value");
      await waitFor("the signing secret", async () => (await secret.count()) || (await pageError()));
      if (!(await secret.count())) throw new Failure(`setting the webhook failed: ${await pageError()}`);
      const value = await secret.inputValue();
      check(value.startsWith("whsec_"), `the secret shown is ${value}`);
      check((await page.locator("#webhook-secret").innerText()).includes("not be shown again"), "no warning that the secret is shown once");
      pass("webhook set; the secret is shown once with a warning");
      const r = await sim("POST", `/admin/phones/${PEER}/send`, { to: VIRTUAL, text: `Webhook ping ${Date.now()}` });
      check(r.status < 300, `simulator send answered ${r.status} ${r.text}`);
      const rows = page.locator("#deliveries-table tbody tr");
      await waitFor("a delivery in the list", async () => {
        if (await rows.count()) return true;
        await page.locator('.card-title:has-text("Recent deliveries") button').click();
        return false;
      }, 45_000, 3000);
      pass(`a delivery is listed (answer ${await rows.first().getAttribute("data-code")})`);
      await shot("06-webhook.png", page, true);
    },
  ],
  [
    "bulk campaign",
    async () => {
      for (const n of BULK) await createVirtual(n);
      await nav("bulk");
      await page.locator("#bulk-form").waitFor();
      await page.fill('textarea[name="numbers"]', BULK.join("\n"));
      await page.fill('textarea[name="message"]', "Bulk hello {{number}}");
      await page.fill('input[name="delay"]', "0");
      await page.click('#bulk-form button[type="submit"]');
      const delayError = page.locator('#bulk-form [data-field="delay"] .field-error');
      await waitFor("the campaign page", async () => /#\/bulk\/[^/]+\/bk_/.test(page.url()) || (await textOf(delayError)) || (await bannerText()));
      if (!/\/bk_/.test(page.url()) && (await textOf(delayError))) {
        console.log(`   (delay 0 refused: ${await textOf(delayError)}; using 1000 ms)`);
        await page.fill('input[name="delay"]', "1000");
        await page.click('#bulk-form button[type="submit"]');
      }
      await waitFor("the campaign page", async () => /\/bk_/.test(page.url()) || (await bannerText()));
      if (!/\/bk_/.test(page.url())) throw new Failure(`starting the campaign failed: ${await pageError()}`);
      pass(`campaign started to ${BULK.length} numbers`);
      const bar = page.locator("#bulk-progress-card .progress");
      await waitFor(`${BULK.length}/${BULK.length}`, async () => (await bar.getAttribute("data-done")) === String(BULK.length) && (await bar.getAttribute("data-total")) === String(BULK.length), 120_000, 1000);
      const count = (await page.locator("#bulk-count").innerText()).replace(/\s/g, "");
      check(count === `${BULK.length}/${BULK.length}`, `the count reads ${count}`);
      pass(`the progress bar reached ${BULK.length}/${BULK.length} (${await bar.getAttribute("data-sent")} sent)`);
      await page.locator(`#recipients tr[data-status]`).first().waitFor();
      await shot("07-bulk.png", page, true);
    },
  ],
  [
    "API token",
    async () => {
      await nav("settings");
      await page.locator("#token-form").waitFor();
      await page.fill('#token-form input[name="name"]', "Browser test");
      await page.click('#token-form button[type="submit"]');
      const secret = page.locator("#token-secret");
      await secret.waitFor();
      token = await secret.inputValue();
      check(token.length >= 16, `the token shown is "${token}"`);
      // The secrets check (scripts/check-secrets) then proves it is in no
      // log line of the gateway.
      if (process.env.SECRETS_FILE) appendFileSync(process.env.SECRETS_FILE, `${token}\n`);
      pass("token created and shown once");
      await shot("08-settings-tokens.png", page, true);
      const ok = await fetch(`${BASE}/api/phones`, { headers: { Authorization: `Bearer ${token}` } });
      const body = await ok.text();
      check(ok.status === 200, `GET /api/phones with the token answered ${ok.status} ${body}`);
      check(JSON.parse(body).phones?.some((p) => p.name === "Shop"), `GET /api/phones does not list Shop: ${body}`);
      pass("GET /api/phones with it: 200, lists Shop");
      const newest = page.locator('#tokens-table tbody tr[data-state="active"]', { hasText: "Browser test" }).last();
      const tokenId = await newest.getAttribute("data-token-id");
      const row = page.locator(`#tokens-table tbody tr[data-token-id="${tokenId}"]`);
      await row.locator('button:has-text("Revoke")').click();
      await page.locator('dialog[open] button:has-text("Revoke token")').click();
      await waitFor("the token revoked", async () => (await row.getAttribute("data-state")) === "revoked");
      pass("revoked in the page");
      const after = await fetch(`${BASE}/api/phones`, { headers: { Authorization: `Bearer ${token}` } });
      check(after.status === 401, `GET /api/phones with the revoked token answered ${after.status}`);
      pass("the same request now: 401");
    },
  ],
  [
    "security",
    async () => {
      const where = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie, location.href]));
      check(!where.includes(token), "the token is in web storage, a cookie or the URL");
      pass("the token is in no storage, cookie or URL");
      const cookies = await context.cookies(BASE);
      check(cookies.length > 0, "the browser has no session cookie");
      check(cookies.every((c) => !c.value.includes(token)), "a cookie holds the token");
      const session = cookies.find((c) => c.httpOnly);
      check(session, "no HttpOnly session cookie");
      const cookie = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
      const evil = await fetch(`${BASE}/api/phones`, {
        method: "POST",
        headers: { Cookie: cookie, Origin: "http://evil.example", "Content-Type": "application/json" },
        body: JSON.stringify({ name: "Evil" }),
      });
      check(evil.status === 403, `a cross-origin POST with the session cookie answered ${evil.status}`);
      pass("a cross-origin POST with the session cookie: 403");
      const root = await fetch(`${BASE}/`);
      const csp = root.headers.get("content-security-policy") ?? "";
      check(csp, "GET / has no Content-Security-Policy");
      const sources = csp.split(";").flatMap((d) => d.trim().split(/\s+/).slice(1));
      const foreign = sources.filter((s) => !/^('self'|'none'|data:|blob:|'unsafe-[a-z-]+'|'nonce-.*'|'sha\d+-.*')$/.test(s));
      check(!foreign.length, `the CSP names outside sources: ${foreign.join(" ")}`);
      pass(`GET / sends a CSP with no outside origin (${csp})`);
      check(!outside.length, `the console contacted other hosts: ${outside.join(", ")}`);
      check(!problems.length, problems.join("; "));
      pass("no request left the gateway's origin; no CSP violation or uncaught error");
    },
  ],
  [
    "pages for the docs",
    async () => {
      await nav("bot");
      await page.locator("#bot-unavailable, #bot-form").first().waitFor();
      await shot("11-bot.png");
      await nav("api");
      await page.locator("details.op").first().waitFor();
      const total = await page.locator("details.op").count();
      await page.fill("#api-filter", "send");
      await page.waitForTimeout(200);
      const visible = await page.locator("details.op:visible").count();
      check(visible > 0 && visible < total, `filtering the API reference for "send" shows ${visible} of ${total} operations`);
      const sendText = page.locator('details.op[data-operation="SendText"]');
      const open = (await sendText.count()) ? sendText : page.locator("details.op:visible").first();
      await open.locator(":scope > summary").click();
      await open.evaluate((el) => (el.closest("section") ?? el).scrollIntoView({ block: "start" }));
      await shot("12-api-reference.png");
      pass(`API reference rendered (${total} operations); filter "send" shows ${visible}`);
      const mobile = await context.newPage();
      await mobile.setViewportSize({ width: 390, height: 844 });
      await mobile.goto(`${BASE}/#/phones`);
      await mobile.locator(`.phone-row[data-phone-id="${phoneId}"]`).waitFor();
      const overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 1, `the phones page is ${overflow} px wider than a 390 px screen`);
      await shot("13-mobile-phones.png", mobile);
      await mobile.locator(".nav-toggle").click();
      await mobile.locator("#nav").waitFor();
      await shot("13b-mobile-nav.png", mobile);
      await mobile.close();
      pass("the phones page fits a 390 px screen; the menu opens");
    },
  ],
  [
    "sign out",
    async () => {
      await page.click("#sign-out");
      await page.locator("form.auth-form").waitFor();
      pass("signed out");
      for (const r of ["#/phones", "#/phones/new", `#/phones/${phoneId}`, "#/send", "#/messages", "#/contacts", "#/groups", "#/bulk", "#/webhook", "#/bot", "#/settings", "#/api"]) {
        await go(r);
        await page.locator("form.auth-form").waitFor();
        check(!(await page.locator("#account-name").count()), `${r} shows the console after sign-out`);
      }
      pass("every page route shows the sign-in page");
      await shot("10-signed-out.png");
    },
  ],
];

let code = 0;
try {
  for (const [name, run] of scenarios) {
    try {
      await run();
    } catch (e) {
      e.scenario = name;
      throw e;
    }
  }
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  code = 1;
  try {
    await shot("failure.png");
  } catch {
    /* the browser may be gone */
  }
  const banner = await bannerText().catch(() => "");
  console.error(`FAIL in "${e.scenario ?? "setup"}": ${e instanceof Failure ? e.message : e.stack ?? e}`);
  if (banner) console.error(`  banner on the page: ${banner}`);
  console.error(`  page: ${page.url()}; screenshot ${join(SHOTS, "failure.png")}`);
  console.log(`${passed} passed, 1 failed`);
} finally {
  await browser.close();
}
process.exit(code);
