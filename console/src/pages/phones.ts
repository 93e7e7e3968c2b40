// Phones: the list with live status, adding one, linking it (QR code or
// pairing code) and one phone's page.

import { Code, ConnectError } from "@connectrpc/connect";
import * as api from "../api";
import { h, icon, replace } from "../dom";
import { PHONE_STATUS, PHONE_STATUS_API, PLAN, chars, clock, fmtDate, fmtShort, fmtTs, number, plural, relative, tsDate } from "../format";
import { PhoneStatus, Plan } from "../gen/wadesk/v1/common_pb";
import { PairEventType, type CallSettings, type GetPhoneResponse, type GetPhoneStatusResponse, type Phone } from "../gen/wadesk/v1/phone_pb";
import { every, listen, type PageCtx } from "../page";
import { drawQr } from "../qr";
import { profileSection } from "./profile";
import { href, navigate } from "../router";
import {
  callsChanged,
  callsOf,
  dropPhone,
  events,
  loadPhones,
  noteUsage,
  phonesChanged,
  putPhone,
  refreshPhone,
  rememberPhone,
  usageChanged,
  usageOf,
  type CallSeen,
  type Usage,
} from "../state";
import {
  badge,
  btn,
  card,
  cardTitle,
  check,
  confirmDialog,
  copyButton,
  copyable,
  details,
  empty,
  fail,
  field,
  keepFocus,
  linkBtn,
  loading,
  notice,
  pageHeader,
  pill,
  submitting,
  tabs,
  toast,
} from "../ui";

export function statusPill(status: PhoneStatus): HTMLSpanElement {
  const [text, tone] = PHONE_STATUS[status];
  return pill(text, tone, PHONE_STATUS_API[status]);
}

export function planBadge(plan: Plan): HTMLElement {
  return badge(PLAN[plan], plan === Plan.PRO ? "badge-pro" : "badge-trial");
}

function canLink(s: PhoneStatus): boolean {
  return s === PhoneStatus.PENDING || s === PhoneStatus.LOGGED_OUT || s === PhoneStatus.FAILED;
}

// ---- The list ----

export async function phonesPage(ctx: PageCtx): Promise<void> {
  ctx.title("Phones");
  const list = h("div", { class: "phone-list", id: "phone-list" });
  const summary = h("span");
  replace(
    ctx.main,
    pageHeader("Phones", summary, linkBtn("Add a phone", "#/phones/new", "btn btn-primary", "plus")),
    list,
  );
  replace(list, loading("Loading phones…"));
  const render = (phones: Phone[]): void => {
    const connected = phones.filter((p) => p.status === PhoneStatus.CONNECTED).length;
    summary.textContent = phones.length ? `${plural(phones.length, "phone")} · ${connected} connected` : "";
    if (!phones.length) {
      replace(
        list,
        empty(
          "No phones yet",
          "Add a phone, then link it by scanning a QR code with WhatsApp (or with a pairing code).",
          linkBtn("Add a phone", "#/phones/new", "btn btn-primary", "plus"),
        ),
      );
      return;
    }
    replace(list, phones.map(phoneRow));
  };
  listen(ctx, phonesChanged, render);
  listen(ctx, usageChanged, () => {
    const phones = cachedList();
    if (phones) render(phones);
  });
  let phones: Phone[] = [];
  const cachedList = (): Phone[] => phones;
  const readUsage = (id: string): void => {
    refreshPhone(id).catch((e: unknown) => {
      if (!api.isAbort(e)) console.warn("wadesk console: could not read the phone's usage", id, e);
    });
  };
  try {
    phones = await loadPhones(true);
    render(phones);
  } catch (e) {
    replace(list);
    fail(e);
    return;
  }
  listen(ctx, phonesChanged, (l) => (phones = l));
  // The trial cap's count comes with GetPhone: read it for each trial phone,
  // and again when one of them sends (a new recipient may count).
  for (const p of phones) if (p.plan === Plan.TRIAL) readUsage(p.phoneId);
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  listen(ctx, events, (ev) => {
    if (!(ev.event === "message.status" || ev.event.startsWith("bulk."))) return;
    const p = phones.find((x) => x.phoneId === ev.phoneId);
    if (!p || p.plan !== Plan.TRIAL) return;
    clearTimeout(pending.get(p.phoneId));
    pending.set(p.phoneId, setTimeout(() => readUsage(p.phoneId), 1000));
  });
  ctx.cleanup(() => pending.forEach((t) => clearTimeout(t)));
}

function phoneRow(p: Phone): HTMLElement {
  const initial = (p.name || "?").trim().charAt(0).toUpperCase();
  return h(
    "article",
    { class: "phone-row", "data-phone-id": p.phoneId, "data-status": PHONE_STATUS_API[p.status], "aria-label": `Phone ${p.name}` },
    h("div", { class: `avatar tone-${PHONE_STATUS[p.status][1]}`, "aria-hidden": "true" }, initial),
    h(
      "div",
      { class: "phone-main" },
      h("h2", { class: "phone-name" }, h("a", { href: href(["phones", p.phoneId]) }, p.name || p.phoneId)),
      h("div", { class: "phone-number" }, p.number ? number(p.number) : h("span", { class: "muted" }, "Not linked yet")),
    ),
    h("div", { class: "phone-status" }, statusPill(p.status)),
    h(
      "div",
      { class: "phone-plan" },
      planBadge(p.plan),
      p.plan === Plan.TRIAL ? usageLine(usageOf(p.phoneId)) : null,
    ),
    h("div", { class: "phone-id" }, copyable(p.phoneId, "Copy")),
    h(
      "div",
      { class: "phone-actions" },
      canLink(p.status)
        ? linkBtn("Link", href(["phones", p.phoneId, "link"]), "btn btn-small btn-primary")
        : p.status === PhoneStatus.CONNECTED
          ? linkBtn("Send", href(["send", p.phoneId]), "btn btn-small", "send")
          : null,
      linkBtn("Open", href(["phones", p.phoneId]), "btn btn-small"),
    ),
  );
}

/** "6 of 30 recipients" with a meter; the cap counts every number sent to or waiting in a campaign. */
export function usageLine(u: Usage | undefined): HTMLElement {
  if (!u) return h("span", { class: "usage muted small" }, "up to 30 recipients");
  const meter = h("span", { class: "usage-meter", "aria-hidden": "true" }, h("span", { class: "usage-fill" }));
  const pct = Math.min(100, (u.used / Math.max(1, u.limit)) * 100);
  (meter.firstElementChild as HTMLElement).style.width = `${pct}%`;
  meter.classList.toggle("full", u.used >= u.limit);
  meter.classList.toggle("near", u.used < u.limit && pct >= 80);
  return h(
    "span",
    { class: "usage small", title: "Unique recipients: numbers sent to, plus numbers waiting in unfinished campaigns", "data-used": String(u.used), "data-limit": String(u.limit) },
    meter,
    `${u.used} of ${u.limit} recipients`,
  );
}

// ---- Add ----

export function addPhonePage(ctx: PageCtx): void {
  ctx.title("Add a phone");
  const name = h("input", { name: "name", type: "text", required: true, maxlength: "100", autocomplete: "off", placeholder: "e.g. Business Line" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create and link");
  const form = h(
    "form",
    { class: "form narrow", novalidate: true },
    field("Name", name, "A label for you; customers never see it."),
    h("div", { class: "form-actions" }, submit, linkBtn("Cancel", "#/phones", "btn btn-ghost")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(submit, form, async () => {
      const res = await api.phones.createPhone({ name: name.value.trim() }, { signal: ctx.signal });
      if (!res.phone) throw new Error("the gateway answered without the phone");
      putPhone(res.phone);
      navigate(href(["phones", res.phone.phoneId, "link"]));
    }, "Creating…");
  });
  replace(
    ctx.main,
    pageHeader("Add a phone", "Step 1 of 2: name it. Next you link it to WhatsApp."),
    card(form),
  );
  name.focus();
}

// ---- Link (pair) ----

export async function linkPhonePage(ctx: PageCtx, phoneId: string): Promise<void> {
  ctx.title("Link a phone");
  replace(ctx.main, loading());
  let phone: Phone | undefined;
  try {
    phone = (await api.phones.getPhone({ phoneId }, { signal: ctx.signal })).phone;
  } catch (e) {
    replace(ctx.main, pageHeader("Link a phone"));
    fail(e);
    return;
  }
  if (!phone) return;
  putPhone(phone);
  rememberPhone(phone.phoneId);
  const p = phone;
  const stage = h("div", { class: "pair", id: "pair", "aria-live": "polite" });

  const showConnected = (num?: string): void => {
    stage.dataset.pairState = "connected";
    replace(
      stage,
      h(
        "div",
        { class: "pair-done" },
        h("div", { class: "pair-done-icon" }, icon("check")),
        h("h2", null, "Connected"),
        h("p", null, `${p.name} is linked${num || p.number ? ` as ${number(num ?? p.number)}` : ""} and online.`),
        h(
          "div",
          { class: "actions center" },
          linkBtn("Open the phone", href(["phones", p.phoneId]), "btn btn-primary"),
          linkBtn("Send a message", href(["send", p.phoneId]), "btn", "send"),
        ),
      ),
    );
  };

  if (p.status === PhoneStatus.CONNECTED || p.status === PhoneStatus.CONNECTING || p.status === PhoneStatus.DISCONNECTED) {
    replace(
      ctx.main,
      pageHeader(`Link ${p.name}`, copyable(p.phoneId)),
      card(stage),
    );
    if (p.status === PhoneStatus.CONNECTED) showConnected();
    else
      replace(
        stage,
        notice("info", `${p.name} is already linked (${PHONE_STATUS[p.status][0].toLowerCase()}). Log it out on its page to link another number.`),
        h("div", { class: "actions" }, linkBtn("Open the phone", href(["phones", p.phoneId]), "btn")),
      );
    return;
  }

  // The pairing stream's "connected", the phone.connected event or (for a
  // pairing code) polling: whichever comes first ends the page.
  let connected = false;
  let stop: (() => void) | null = null;
  const onConnected = (num?: string): void => {
    if (connected) return;
    connected = true;
    stop?.();
    showConnected(num);
  };
  listen(ctx, events, (ev) => {
    if (ev.phoneId === p.phoneId && ev.event === "phone.connected") onConnected(typeof ev.data.number === "string" ? ev.data.number : undefined);
  });

  const startQr = (panel: HTMLElement): void => {
    stop?.();
    stop = qrFlow(ctx, p, panel, onConnected, () => connected, () => startQr(panel));
  };
  const method = ctx.route.query.get("method") === "code" ? "code" : "qr";
  const tabset = tabs(
    [
      { id: "qr", label: "Scan a QR code", render: startQr },
      { id: "code", label: "Use a pairing code", render: (panel) => { stop?.(); stop = codeFlow(ctx, p, panel, onConnected, () => connected); } },
    ],
    method,
  );
  replace(stage, tabset);
  replace(
    ctx.main,
    pageHeader(`Link ${p.name}`, h("span", null, "Step 2 of 2: link it to WhatsApp · ", copyable(p.phoneId))),
    card(stage),
  );
  ctx.cleanup(() => stop?.());
}

function steps(...items: string[]): HTMLElement {
  return h("ol", { class: "steps" }, items.map((t) => h("li", null, t)));
}

/** Runs PairPhone: draws each QR code with its countdown until connected, failed or expired. */
function qrFlow(ctx: PageCtx, p: Phone, panel: HTMLElement, onConnected: (n?: string) => void, isConnected: () => boolean, restart: () => void): () => void {
  const ctl = new AbortController();
  const abort = (): void => ctl.abort();
  ctx.signal.addEventListener("abort", abort);
  const canvas = h("canvas", { id: "qr-canvas", class: "qr-canvas", role: "img", "aria-label": "QR code to scan with WhatsApp" });
  const qrBox = h("div", { class: "qr-box waiting" }, canvas, h("div", { class: "qr-overlay" }, loading("Waiting for a QR code…")));
  const status = h("p", { class: "qr-status", id: "qr-status" }, "Asking WhatsApp for a QR code…");
  const bar = h("div", { class: "qr-timer" }, h("div", { class: "qr-timer-fill" }));
  const fill = bar.firstElementChild as HTMLElement;
  const after = h("div", { class: "qr-after" });
  replace(
    panel,
    h(
      "div",
      { class: "qr-layout" },
      h("div", { class: "qr-col" }, qrBox, bar, status),
      h(
        "div",
        { class: "qr-help" },
        h("h3", null, "On your phone"),
        steps("Open WhatsApp.", "Tap Settings (iPhone) or ⋮ Menu (Android), then Linked devices.", "Tap Link a device and point the camera at this code."),
        h("p", { class: "muted small" }, "Codes change every few seconds; the newest one is always shown here."),
        after,
      ),
    ),
  );

  let expires = 0;
  let span = 1;
  const tick = (): void => {
    if (!expires) return;
    const left = (expires - Date.now()) / 1000;
    if (left < 1) {
      status.textContent = "This code expired; waiting for the next one…";
      qrBox.classList.add("stale");
      fill.style.width = "0%";
      return;
    }
    status.textContent = `Scan this code · expires in ${clock(left)}`;
    fill.style.width = `${Math.max(0, Math.min(100, (left / span) * 100))}%`;
  };
  const timer = setInterval(tick, 500);

  const retry = (text: string): void => {
    qrBox.classList.add("stale");
    qrBox.classList.remove("waiting");
    replace(after, notice("warn", text), h("div", { class: "actions" }, btn("Show a new code", restart, "btn btn-primary", "refresh")));
    status.textContent = text;
    expires = 0;
    fill.style.width = "0%";
  };

  const cleanup = (): void => {
    clearInterval(timer);
    ctl.abort();
    ctx.signal.removeEventListener("abort", abort);
  };

  void (async () => {
    let ended: "connected" | "failed" | "expired" | null = null;
    try {
      for await (const ev of api.phones.pairPhone({ phoneId: p.phoneId }, { signal: ctl.signal })) {
        switch (ev.type) {
          case PairEventType.QR: {
            drawQr(canvas, ev.qr);
            canvas.dataset.qr = "shown";
            qrBox.classList.remove("waiting", "stale");
            const exp = tsDate(ev.expiresAt);
            expires = exp ? exp.getTime() : Date.now() + 20000;
            span = Math.max(1, (expires - Date.now()) / 1000);
            tick();
            break;
          }
          case PairEventType.PAIRED:
            expires = 0;
            qrBox.classList.add("stale");
            status.textContent = `Scanned${ev.number ? ` by ${number(ev.number)}` : ""}: logging in…`;
            break;
          case PairEventType.CONNECTED:
            ended = "connected";
            if (!isConnected()) onConnected(ev.number);
            break;
          case PairEventType.FAILED:
            ended = "failed";
            retry(`Linking failed: ${ev.reason ?? "no reason given"}`);
            break;
          case PairEventType.EXPIRED:
            ended = "expired";
            retry("No code was scanned in time.");
            break;
          default:
            break;
        }
      }
      if (!ended && !isConnected() && !ctl.signal.aborted) retry("The gateway stopped sending QR codes.");
    } catch (e) {
      if (ctl.signal.aborted || api.isAbort(e)) return;
      fail(e);
      retry("Could not get a QR code.");
    } finally {
      clearInterval(timer);
      if (ended === "connected") putPhoneLater(p.phoneId);
    }
  })();
  return cleanup;
}

function putPhoneLater(phoneId: string): void {
  api.phones.getPhone({ phoneId }).then(
    (r) => r.phone && putPhone(r.phone),
    (e: unknown) => console.warn("wadesk console: could not refresh phone", e),
  );
}

/** RequestPairCode: shows the 8-character code; the phone.connected event (or polling) ends it. */
function codeFlow(ctx: PageCtx, p: Phone, panel: HTMLElement, onConnected: (n?: string) => void, isConnected: () => boolean): () => void {
  let poll: ReturnType<typeof setInterval> | undefined;
  let expiry: ReturnType<typeof setTimeout> | undefined;
  let offEvents: () => void = () => undefined;
  const num = h("input", { name: "number", type: "tel", inputmode: "tel", autocomplete: "tel", required: true, placeholder: "e.g. 919876543210" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Get a pairing code");
  const out = h("div", { class: "code-out", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "form narrow", novalidate: true },
    field("WhatsApp number", num, "With the country code, as on the phone you link."),
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(submit, form, async () => {
      const res = await api.phones.requestPairCode({ phoneId: p.phoneId, number: num.value.trim() }, { signal: ctx.signal });
      const raw = res.code.replace(/[^A-Za-z0-9]/g, "").toUpperCase();
      const shown = raw.length === 8 ? `${raw.slice(0, 4)}-${raw.slice(4)}` : res.code;
      const codeEl = h("div", { class: "pair-code", id: "pair-code" }, shown);
      replace(
        out,
        h("p", null, "Enter this code on the phone:"),
        h("div", { class: "pair-code-row" }, codeEl, copyButton(raw.length === 8 ? raw : res.code, codeEl, "Copy code")),
        steps(
          "Open WhatsApp on the phone with that number.",
          "Settings → Linked devices → Link a device.",
          "Tap “Link with phone number instead” and type the code.",
        ),
        h("p", { class: "muted small" }, "The code is valid for about three minutes. This page shows Connected by itself."),
        loading("Waiting for the phone…"),
      );
      clearInterval(poll);
      clearTimeout(expiry);
      const waiting = out.querySelector(".loading");
      const stopWaiting = (text: string): void => {
        clearInterval(poll);
        clearTimeout(expiry);
        offEvents();
        waiting?.replaceWith(notice("warn", text, " Ask for a new code above."));
      };
      // The code is good for about three minutes; a failed link attempt shows as an event.
      expiry = setTimeout(() => stopWaiting("No phone confirmed the code in three minutes: it has expired."), 180_000);
      offEvents();
      offEvents = events.on((ev) => {
        if (ev.phoneId !== p.phoneId || isConnected()) return;
        if (ev.event === "phone.qr_expired" || ev.event === "phone.connect_failed" || ev.event === "phone.failed") {
          const reason = typeof ev.data.reason === "string" ? ev.data.reason : ev.event;
          stopWaiting(`Linking did not finish: ${reason}.`);
        }
      });
      poll = setInterval(() => {
        api.phones.getPhone({ phoneId: p.phoneId }, { signal: ctx.signal }).then(
          (r: GetPhoneResponse) => {
            if (r.phone?.status === PhoneStatus.CONNECTED && !isConnected()) {
              clearInterval(poll);
              clearTimeout(expiry);
              putPhone(r.phone);
              onConnected(r.phone.number);
            }
          },
          (e: unknown) => {
            if (!api.isAbort(e)) console.warn("wadesk console: polling the phone failed", e);
          },
        );
      }, 3000);
    }, "Asking…");
  });
  replace(panel, h("div", { class: "code-layout" }, form, out));
  return () => {
    clearInterval(poll);
    clearTimeout(expiry);
    offEvents();
  };
}

// ---- One phone ----

export async function phonePage(ctx: PageCtx, phoneId: string): Promise<void> {
  ctx.title("Phone");
  replace(ctx.main, loading());
  let phone: GetPhoneResponse;
  let status: GetPhoneStatusResponse | null = null;
  try {
    [phone, status] = await Promise.all([
      api.phones.getPhone({ phoneId }, { signal: ctx.signal }),
      api.phones.getPhoneStatus({ phoneId }, { signal: ctx.signal }).catch((e: unknown) => {
        if (api.isAbort(e)) throw e;
        fail(e);
        return null;
      }),
    ]);
  } catch (e) {
    if (api.isCode(e, Code.NotFound)) {
      replace(ctx.main, empty("Phone not found", `There is no phone ${phoneId} in your account.`, linkBtn("All phones", "#/phones", "btn")));
      return;
    }
    replace(ctx.main, pageHeader("Phone"));
    fail(e);
    return;
  }
  noteUsage(phone);
  if (phone.phone) rememberPhone(phoneId);
  // The details are drawn again every few seconds; the profile and calls sections (forms) are not.
  const body = h("div", { class: "stack" });
  replace(ctx.main, body, profileSection(ctx, phoneId, () => phone.phone?.name || phoneId), callsSection(ctx, phoneId));

  const render = (): void => {
    const p = phone.phone!;
    ctx.title(p.name);
    const s = status;
    const st = s?.status ?? p.status;
    const actions = [
      canLink(st) ? linkBtn("Link", href(["phones", p.phoneId, "link"]), "btn btn-primary") : null,
      st !== PhoneStatus.PENDING && st !== PhoneStatus.LOGGED_OUT ? btn("Log out", () => void logout(p), "btn", "logout") : null,
      btn("Delete", () => void remove(p), "btn btn-danger-ghost"),
    ];
    replace(
      body,
      h("p", { class: "crumbs" }, h("a", { href: "#/phones" }, "Phones"), " / ", p.name),
      pageHeader(p.name, h("span", { class: "header-meta" }, statusPill(st), planBadge(p.plan), copyable(p.phoneId)), ...actions),
      s?.reason && st !== PhoneStatus.CONNECTED ? notice(st === PhoneStatus.BANNED || st === PhoneStatus.FAILED ? "bad" : "warn", s.reason) : null,
      h(
        "div",
        { class: "grid-2" },
        card(
          cardTitle("Connection"),
          details([
            ["Status", statusPill(st)],
            ["Number", p.number ? copyable(p.number, "Copy") : h("span", { class: "muted" }, "Not linked yet")],
            ["Push name", s?.pushName ?? "—"],
            ["Connected since", s?.connectedSince ? h("span", { title: fmtTs(s.connectedSince, true) }, `${fmtTs(s.connectedSince)} (${relative(tsDate(s.connectedSince))})`) : "—"],
            ["Reconnects", s ? String(s.reconnects) : "—"],
            ["Last seen", s?.lastSeen ? h("span", { title: fmtTs(s.lastSeen, true) }, relative(tsDate(s.lastSeen))) : "—"],
            s?.banExpiresAt ? ["Ban ends", fmtTs(s.banExpiresAt)] : null,
            s?.reason ? ["Reason", s.reason] : null,
          ]),
        ),
        card(
          cardTitle("Phone"),
          details([
            ["Name", p.name],
            ["Phone ID", copyable(p.phoneId)],
            ["Plan", h("span", null, planBadge(p.plan), " ", p.plan === Plan.TRIAL ? "Up to 30 unique recipients; no AI bot." : "No recipient cap; AI bot available.")],
            p.plan === Plan.TRIAL && phone.trialRecipientsUsed !== undefined
              ? ["Recipients", usageLine({ used: phone.trialRecipientsUsed, limit: phone.trialRecipientsLimit ?? 30 })]
              : null,
            ["Created", fmtTs(phone.createdAt)],
          ]),
          h(
            "div",
            { class: "quick-links" },
            linkBtn("Send", href(["send", p.phoneId]), "btn btn-small", "send"),
            linkBtn("Messages", href(["messages", p.phoneId]), "btn btn-small", "messages"),
            linkBtn("Contacts", href(["contacts", p.phoneId]), "btn btn-small", "user"),
            linkBtn("Bulk", href(["bulk", p.phoneId]), "btn btn-small", "bulk"),
            linkBtn("Webhook", href(["webhook", p.phoneId]), "btn btn-small", "webhook"),
            linkBtn("AI bot", href(["bot", p.phoneId]), "btn btn-small", "bot"),
          ),
        ),
      ),
    );
  };

  const reload = async (): Promise<void> => {
    try {
      const [ph, s] = await Promise.all([
        api.phones.getPhone({ phoneId }, { signal: ctx.signal }),
        api.phones.getPhoneStatus({ phoneId }, { signal: ctx.signal }),
      ]);
      phone = ph;
      status = s;
      if (ph.phone) putPhone(ph.phone);
      noteUsage(ph);
      keepFocus(body, render);
    } catch (e) {
      if (api.isCode(e, Code.NotFound)) {
        dropPhone(phoneId);
        navigate("#/phones", true);
        return;
      }
      fail(e);
    }
  };

  const logout = async (p: Phone): Promise<void> => {
    const ok = await confirmDialog({
      title: `Log out ${p.name}?`,
      body: h("p", null, `WhatsApp unlinks the gateway from ${p.number ? number(p.number) : p.name} and its session keys are deleted. Link it again to send from it.`),
      confirm: "Log out",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.phones.logoutPhone({ phoneId: p.phoneId });
      toast(`${p.name} logged out`);
      await reload();
    } catch (e) {
      fail(e);
    }
  };

  const remove = async (p: Phone): Promise<void> => {
    const ok = await confirmDialog({
      title: `Delete phone “${p.name}”?`,
      body: h(
        "p",
        null,
        `This removes ${p.name} (${p.phoneId}${p.number ? `, ${number(p.number)}` : ""}) and everything it owns: its messages, campaigns, webhook and bot. This cannot be undone.`,
      ),
      confirm: `Delete ${p.name}`,
      danger: true,
    });
    if (!ok) return;
    try {
      await api.phones.deletePhone({ phoneId: p.phoneId });
      dropPhone(p.phoneId);
      toast(`${p.name} deleted`);
      navigate("#/phones");
    } catch (e) {
      fail(e);
    }
  };

  render();
  listen(ctx, events, (ev) => {
    if (ev.phoneId === phoneId && ev.event.startsWith("phone.")) void reload();
  });
  // Last seen and connected-since move on their own: read them again now and then.
  every(ctx, 15000, () => void reload());
}

// ---- A phone's calls ----

/** How long the reply to a declined caller may be (characters, as the API counts them). */
const CALL_REPLY_MAX = 4096;

/**
 * The phone's call settings (GetCallSettings, SetCallSettings: decline calls
 * as they ring, and the text a declined caller is sent) and the calls that
 * reached it while the console was open (call.received events).
 */
function callsSection(ctx: PageCtx, phoneId: string): HTMLElement {
  const reject = h("input", { type: "checkbox", name: "reject_calls", role: "switch", id: "reject-calls" });
  const reply = h("textarea", {
    name: "reply",
    id: "call-reply",
    rows: "4",
    placeholder: "Sorry, we can't take calls on this number. Write to us here and we'll answer shortly.",
  });
  const count = h("span", { class: "char-count", id: "call-reply-count" });
  const replyNote = h("span");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Save");
  const statePill = h("span", { id: "calls-state" });
  const form = h(
    "form",
    { class: "form", id: "calls-form", novalidate: true },
    check(
      "Decline incoming calls",
      reject,
      "The phone declines each call as it rings: the caller sees it declined, as when a person declines it. Every call is still listed under Recent calls.",
    ),
    field("Reply to callers", reply, h("span", null, count, " · ", replyNote)),
    h("div", { class: "form-actions" }, submit),
  );
  form.querySelector(".check")?.classList.add("switch");

  const sync = (): void => {
    reply.disabled = !reject.checked;
    const n = chars(reply.value.trim());
    count.textContent = `${n} / ${CALL_REPLY_MAX} characters`;
    count.classList.toggle("over", n > CALL_REPLY_MAX);
    replyNote.textContent = reject.checked
      ? "Sent to each declined caller as a message from this phone. Leave it empty to send none."
      : "Turn on declining to send callers a reply.";
  };
  reject.addEventListener("change", () => {
    sync();
    if (reject.checked) reply.focus();
  });
  reply.addEventListener("input", sync);

  const fill = (s: CallSettings): void => {
    reject.checked = s.rejectCalls;
    reply.value = s.reply ?? "";
    replace(statePill, s.rejectCalls ? pill(s.reply ? "Declining, with a reply" : "Declining", "ok", "declining") : pill("Not declining", "idle", "ringing"));
    sync();
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(submit, form, async () => {
      const on = reject.checked;
      // A reply is only for declined callers: declining off sends none (the API refuses one).
      const text = on ? reply.value.trim() : "";
      if (chars(text) > CALL_REPLY_MAX) throw new ConnectError(`reply: must be at most ${CALL_REPLY_MAX} characters`, Code.InvalidArgument);
      const res = await api.phones.setCallSettings({ phoneId, rejectCalls: on, reply: text }, { signal: ctx.signal });
      if (res.settings) fill(res.settings);
      toast(on ? "Calls will be declined" : "Calls ring again");
    }, "Saving…");
  });

  const settings = h("div", { id: "calls-settings" }, loading("Loading call settings…"));
  api.phones.getCallSettings({ phoneId }, { signal: ctx.signal }).then(
    (res) => {
      if (res.settings) fill(res.settings);
      replace(settings, form);
    },
    (e: unknown) => {
      if (api.isAbort(e)) return;
      replace(settings, notice("bad", `Could not read the call settings: ${api.problem(e).message}`));
      fail(e);
    },
  );

  const recent = h("div", { id: "recent-calls", "aria-live": "polite" });
  const renderCalls = (): void => {
    const list = callsOf(phoneId);
    replace(
      recent,
      list.length
        ? h("ul", { class: "call-list", "aria-label": "Recent calls, newest first" }, list.map((c) => callRow(phoneId, c)))
        : empty("No calls yet", "Calls to this phone are listed here as they ring (since you opened the console)."),
    );
  };
  renderCalls();
  listen(ctx, callsChanged, (id) => {
    if (id === phoneId) keepFocus(recent, renderCalls);
  });

  return h(
    "div",
    { class: "grid-2" },
    card(cardTitle("Calls", statePill), settings),
    card(cardTitle("Recent calls"), recent),
  );
}

/** One call: who, voice or video, when, and what the phone did. */
function callRow(phoneId: string, c: CallSeen): HTMLElement {
  const kind = c.video ? "Video call" : "Voice call";
  const status = c.rejected ? "declined" : c.offline ? "missed" : "rang";
  const outcome = c.rejected
    ? pill(c.replied ? "Declined, replied" : "Declined", "warn", status)
    : c.offline
      ? pill("Missed", "idle", status)
      : pill("Not declined", "idle", status);
  outcome.title = c.rejected
    ? `Declined as it rang${c.replied ? `; the reply went out as message ${c.replied}` : ""}`
    : c.offline
      ? "It rang while the phone was offline; WhatsApp told the phone later"
      : "The phone let it ring (declining is off)";
  return h(
    "li",
    { class: "call-row", "data-call-id": c.callId, "data-status": status, "data-video": String(c.video), "data-replied": c.replied ?? undefined },
    h("span", { class: `call-icon${c.rejected ? " declined" : ""}`, title: kind }, icon(c.video ? "video" : "call")),
    h(
      "div",
      { class: "call-main" },
      h("a", { class: "call-from", href: href(["messages", phoneId], { chat: c.from }), title: `Open the chat with ${number(c.from)}` }, number(c.from)),
      h(
        "div",
        { class: "muted small" },
        kind,
        " · ",
        h("time", { datetime: c.at.toISOString(), title: fmtDate(c.at, true) }, fmtShort(c.at)),
      ),
    ),
    outcome,
  );
}
