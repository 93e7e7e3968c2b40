// Bulk campaigns: start one from pasted numbers, a CSV file or a Google
// Sheet; follow its progress live; pause, resume or cancel it.

import * as api from "../api";
import { h, icon, replace } from "../dom";
import { BULK_STATUS, RECIPIENT_STATUS, fmtTs, number, plural, relative, tsDate } from "../format";
import { BulkStatus, type Bulk, type BulkRecipient, type RejectedNumber } from "../gen/wadesk/v1/bulk_pb";
import { every, listen, phonePicker, pickPhone, type PageCtx } from "../page";
import { href, navigate } from "../router";
import { events } from "../state";
import { btn, card, cardTitle, confirmDialog, copyable, details, empty, fail, field, keepFocus, linkBtn, loading, notice, pageHeader, pill, spinner, submitting, tabs, toast } from "../ui";

/** Rejected numbers of a campaign just started, shown once on its page. */
const rejectedOf = new Map<string, RejectedNumber[]>();

function finished(s: BulkStatus): boolean {
  return s === BulkStatus.COMPLETED || s === BulkStatus.CANCELLED;
}

function bulkPill(s: BulkStatus): HTMLElement {
  const [t, tone] = BULK_STATUS[s];
  return pill(t, tone, t.toLowerCase());
}

function counts(b: Bulk): { sent: number; delivered: number; read: number; failed: number; skipped: number; pending: number; handled: number } {
  const c = b.counts;
  const sent = (c?.sent ?? 0) + (c?.delivered ?? 0) + (c?.read ?? 0);
  const failed = c?.failed ?? 0;
  const skipped = c?.skipped ?? 0;
  const pending = c?.pending ?? Math.max(0, b.total - sent - failed - skipped);
  return { sent, delivered: (c?.delivered ?? 0) + (c?.read ?? 0), read: c?.read ?? 0, failed, skipped, pending, handled: b.total - pending };
}

/** A bar in three parts: sent (green), failed (red), skipped (grey); the rest is remaining. */
function progressBar(b: Bulk, big = false): HTMLElement {
  const c = counts(b);
  const total = Math.max(1, b.total);
  const seg = (cls: string, n: number): HTMLElement => {
    const el = h("div", { class: `seg ${cls}` });
    el.style.width = `${(n / total) * 100}%`;
    return el;
  };
  return h(
    "div",
    {
      class: `progress${big ? " progress-big" : ""}`,
      role: "progressbar",
      "aria-valuemin": "0",
      "aria-valuemax": String(b.total),
      "aria-valuenow": String(c.handled),
      "aria-valuetext": `${c.handled} of ${b.total} handled`,
      "aria-label": "Campaign progress",
      "data-done": String(c.handled),
      "data-sent": String(c.sent),
      "data-total": String(b.total),
    },
    seg("seg-sent", c.sent),
    seg("seg-failed", c.failed),
    seg("seg-skipped", c.skipped),
  );
}

/** The numbers in the first column of a CSV file; a header row is skipped like the server does for sheets. */
export function csvNumbers(text: string): { numbers: string[]; header: boolean } {
  const rows: string[] = [];
  let cell = "";
  let firstCell: string | null = null;
  let quoted = false;
  let col = 0;
  const endRow = (): void => {
    rows.push((firstCell ?? cell).trim());
    firstCell = null;
    cell = "";
    col = 0;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === "," || ch === ";" || ch === "\t") {
      if (col === 0) firstCell = cell;
      col++;
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRow();
    } else cell += ch;
  }
  if (cell || firstCell !== null) endRow();
  const nonEmpty = rows.map((r) => r.replace(/^\uFEFF/, "")).filter((r) => r !== "");
  const header = nonEmpty.length > 0 && /[A-Za-z]/.test(nonEmpty[0]!) && !/^[+\d\s\-()]+$/.test(nonEmpty[0]!);
  return { numbers: header ? nonEmpty.slice(1) : nonEmpty, header };
}

function sheetId(input: string): string {
  const m = /\/d\/([A-Za-z0-9_-]+)/.exec(input);
  return m ? m[1]! : input.trim();
}

// ---- List and new campaign ----

export async function bulkPage(ctx: PageCtx): Promise<void> {
  ctx.title("Bulk");
  const phone = await pickPhone(ctx, "bulk");
  if (!phone) return;
  const phoneId = phone.phoneId;
  const bulkId = ctx.route.path[2];
  if (bulkId) return bulkDetail(ctx, phoneId, bulkId);

  // Recipients from one of three sources.
  let source: "paste" | "csv" | "sheet" = "paste";
  const pasted = h("textarea", { name: "numbers", rows: "7", placeholder: "919876543210\n+91 87654-32109\n…", spellcheck: "false" });
  const pastedCount = h("span", null, "One number per line, with the country code.");
  pasted.addEventListener("input", () => {
    const n = pasted.value.split(/\r?\n/).filter((l) => l.trim()).length;
    pastedCount.textContent = n ? `${plural(n, "number")}.` : "One number per line, with the country code.";
  });
  const file = h("input", { name: "numbers", type: "file", accept: ".csv,text/csv,text/plain" });
  const fileInfo = h("div", { class: "file-info", "aria-live": "polite" });
  let csv: string[] = [];
  file.addEventListener("change", () => {
    const f = file.files?.[0];
    csv = [];
    replace(fileInfo);
    if (!f) return;
    replace(fileInfo, spinner(), "Reading…");
    f.text().then(
      (text) => {
        const r = csvNumbers(text);
        csv = r.numbers;
        replace(
          fileInfo,
          h("strong", null, `${plural(csv.length, "number")} in ${f.name}`),
          r.header ? h("span", { class: "muted" }, " (header row skipped)") : null,
          csv.length ? h("div", { class: "muted small mono" }, csv.slice(0, 5).join(", "), csv.length > 5 ? ", …" : "") : null,
        );
      },
      (e: unknown) => {
        replace(fileInfo);
        fail(e);
      },
    );
  });
  const sheet = h("input", { name: "sheet_id", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms" });

  const message = h("textarea", { name: "message", rows: "4", required: true, placeholder: "Sale starts today! Visit our store." });
  const delay = h("input", { name: "delay", type: "number", min: "0", max: "3600000", step: "1", inputmode: "numeric", placeholder: "random 2000–5000" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, icon("bulk"), "Start campaign");

  const sourceTabs = tabs(
    [
      { id: "paste", label: "Paste numbers", render: (p) => { source = "paste"; p.appendChild(field("Numbers", pasted, pastedCount)); } },
      {
        id: "csv",
        label: "CSV file",
        render: (p) => {
          source = "csv";
          p.append(field("CSV file", file, "Numbers in the first column; a header row is skipped. The file is read here, in your browser."), fileInfo);
        },
      },
      {
        id: "sheet",
        label: "Google Sheet",
        render: (p) => {
          source = "sheet";
          p.appendChild(
            field("Google Sheet ID (or its URL)", sheet, "Numbers in the first column; column headers name placeholders such as {{Name}}. Share the sheet as “Anyone with the link can view”."),
          );
        },
      },
    ],
    "paste",
  );

  const form = h(
    "form",
    { class: "form", novalidate: true, id: "bulk-form" },
    h("fieldset", { class: "fieldset" }, h("legend", null, "Recipients"), sourceTabs),
    field("Message", message, "{{number}} is filled with each recipient's number; a sheet's columns by their header."),
    field("Delay between messages (ms)", delay, "Leave empty for a random 2–5 s gap, like a person types. At most 3,600,000."),
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(submit, form, async () => {
      const d = delay.value.trim() === "" ? undefined : Number(delay.value);
      let res;
      if (source === "sheet") {
        res = await api.bulk.bulkSendSheet({ phoneId, sheetId: sheetId(sheet.value), message: message.value, delay: d }, { signal: ctx.signal });
      } else {
        const numbers = source === "csv" ? csv : pasted.value.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
        res = await api.bulk.bulkSend({ phoneId, numbers, message: message.value, delay: d }, { signal: ctx.signal });
      }
      rejectedOf.set(res.bulkId, res.rejected);
      toast(`Campaign started: ${plural(res.accepted, "recipient")}`);
      navigate(href(["bulk", phoneId, res.bulkId]));
    }, "Starting…");
  });

  const listBox = h("div", { id: "bulk-list" });
  replace(
    ctx.main,
    pageHeader("Bulk campaigns", "One message to many recipients, paced like a person.", phonePicker(ctx, "bulk", phoneId)),
    h("div", { class: "grid-2 grid-wide-left" }, card(cardTitle("New campaign"), form), card(cardTitle("Campaigns", btn("Refresh", () => void load(), "btn btn-small btn-ghost", "refresh")), listBox)),
  );

  let bulks: Bulk[] = [];
  let token = "";
  const render = (): void => {
    if (!bulks.length) {
      replace(listBox, empty("No campaigns yet", "Start one with the form: paste numbers, pick a CSV file or name a Google Sheet."));
      return;
    }
    replace(
      listBox,
      h(
        "ul",
        { class: "bulk-list" },
        bulks.map((b) => {
          const c = counts(b);
          return h(
            "li",
            { "data-bulk-id": b.bulkId },
            h(
              "a",
              { href: href(["bulk", phoneId, b.bulkId]), class: "bulk-item" },
              h("div", { class: "bulk-item-head" }, bulkPill(b.status), h("span", { class: "muted small" }, fmtTs(b.createdAt))),
              h("div", { class: "bulk-msg" }, b.message),
              progressBar(b),
              h("div", { class: "muted small" }, `${c.sent} of ${b.total} sent${c.failed ? ` · ${c.failed} failed` : ""} · ${b.source === "sheet" ? "Google Sheet" : "numbers"}`),
            ),
          );
        }),
      ),
      token ? btn("Load more", () => void load(true), "btn btn-small") : null,
    );
  };
  const load = async (more = false): Promise<void> => {
    try {
      const res = await api.bulk.listBulks({ phoneId, pageSize: 20, pageToken: more ? token : "" }, { signal: ctx.signal });
      bulks = more ? [...bulks, ...res.bulks] : res.bulks;
      token = res.nextPageToken;
      keepFocus(listBox, render);
    } catch (e) {
      fail(e);
    }
  };
  replace(listBox, loading("Loading campaigns…"));
  await load();
  let pending: ReturnType<typeof setTimeout> | undefined;
  listen(ctx, events, (ev) => {
    if (ev.phoneId !== phoneId || !ev.event.startsWith("bulk.")) return;
    clearTimeout(pending);
    pending = setTimeout(() => void load(), 300);
  });
  every(ctx, 5000, () => {
    if (bulks.some((b) => !finished(b.status))) void load();
  });
}

// ---- One campaign ----

async function bulkDetail(ctx: PageCtx, phoneId: string, bulkId: string): Promise<void> {
  ctx.title("Campaign");
  replace(ctx.main, loading("Loading the campaign…"));
  let bulk: Bulk | undefined;
  try {
    bulk = (await api.bulk.getBulk({ bulkId }, { signal: ctx.signal })).bulk;
  } catch (e) {
    replace(ctx.main, pageHeader("Campaign"), linkBtn("All campaigns", href(["bulk", phoneId]), "btn"));
    fail(e);
    return;
  }
  if (!bulk) return;
  let b: Bulk = bulk;

  const head = h("div");
  const progress = h("div", { id: "bulk-progress-card" });
  const info = h("div");
  const recBox = h("div", { id: "recipients" });
  const statusFilter = h(
    "select",
    { id: "rec-status", name: "status" },
    ["", "pending", "sent", "delivered", "read", "failed", "skipped"].map((s) => h("option", { value: s }, s ? s[0]!.toUpperCase() + s.slice(1) : "All")),
  );
  const rejected = rejectedOf.get(bulkId);
  rejectedOf.delete(bulkId);

  replace(
    ctx.main,
    h("p", { class: "crumbs" }, h("a", { href: href(["bulk", phoneId]) }, "Campaigns"), " / ", bulkId),
    head,
    rejected && rejected.length
      ? notice(
          "warn",
          h("strong", null, `${plural(rejected.length, "number")} not accepted`),
          h(
            "table",
            { class: "table compact" },
            h("thead", null, h("tr", null, h("th", null, "Number"), h("th", null, "Row"), h("th", null, "Reason"), h("th", null, "Detail"))),
            h("tbody", null, rejected.map((r) => h("tr", null, h("td", { class: "mono" }, r.number), h("td", null, r.row ?? "—"), h("td", null, r.reason), h("td", null, r.detail)))),
          ),
        )
      : null,
    h("div", { class: "grid-2 grid-wide-left" }, card(cardTitle("Progress"), progress), card(cardTitle("Campaign"), info)),
    card(
      cardTitle("Recipients", h("div", { class: "tool inline" }, h("label", { for: "rec-status" }, "Show"), statusFilter)),
      recBox,
    ),
  );

  const act = async (what: "pause" | "resume" | "cancel", button: HTMLButtonElement): Promise<void> => {
    if (what === "cancel") {
      const c = counts(b);
      const ok = await confirmDialog({
        title: "Cancel this campaign?",
        body: h("p", null, `${plural(c.pending, "recipient")} not yet sent to will be skipped. Messages already sent stay sent.`),
        confirm: "Cancel campaign",
        danger: true,
      });
      if (!ok) return;
    }
    await submitting(button, null, async () => {
      const res =
        what === "pause" ? await api.bulk.pauseBulk({ bulkId }) : what === "resume" ? await api.bulk.resumeBulk({ bulkId }) : await api.bulk.cancelBulk({ bulkId });
      if (res.bulk) b = res.bulk;
      render();
      toast(what === "pause" ? "Campaign paused" : what === "resume" ? "Campaign resumed" : "Campaign cancelled");
    });
  };

  const render = (): void => {
    const c = counts(b);
    const running = b.status === BulkStatus.RUNNING || b.status === BulkStatus.QUEUED;
    const actions: HTMLElement[] = [];
    if (running) {
      const pb: HTMLButtonElement = btn("Pause", () => void act("pause", pb), "btn", "clock");
      actions.push(pb);
    }
    if (b.status === BulkStatus.PAUSED) {
      const rb: HTMLButtonElement = btn("Resume", () => void act("resume", rb), "btn btn-primary", "send");
      actions.push(rb);
    }
    if (!finished(b.status)) {
      const cb: HTMLButtonElement = btn("Cancel", () => void act("cancel", cb), "btn btn-danger-ghost");
      actions.push(cb);
    }
    replace(head, pageHeader("Campaign", h("span", { class: "header-meta" }, bulkPill(b.status), copyable(b.bulkId)), ...actions));
    const finish = tsDate(b.expectedFinishAt);
    replace(
      progress,
      b.status === BulkStatus.PAUSED && b.pausedReason ? notice("warn", `Paused: ${b.pausedReason}`) : null,
      h("div", { class: "progress-head" }, h("span", { class: "progress-count", id: "bulk-count" }, `${c.handled} / ${b.total}`), h("span", { class: "muted" }, "handled")),
      progressBar(b, true),
      h(
        "div",
        { class: "stats" },
        stat("Sent", c.sent, "ok"),
        stat("Delivered", c.delivered, "info"),
        stat("Read", c.read, "info"),
        stat("Failed", c.failed, "bad"),
        stat("Remaining", c.pending, "idle"),
        c.skipped ? stat("Skipped", c.skipped, "idle") : null,
      ),
      details([
        !finished(b.status) ? ["Expected finish", finish ? h("span", { title: fmtTs(b.expectedFinishAt, true) }, `${fmtTs(b.expectedFinishAt)} (${relative(finish)})`) : "—"] : null,
        b.currentRecipient ? ["Sending to", number(b.currentRecipient)] : null,
        b.finishedAt ? ["Finished", fmtTs(b.finishedAt)] : null,
      ]),
    );
    replace(
      info,
      details([
        ["Message", h("div", { class: "pre" }, b.message)],
        ["Recipients", String(b.total)],
        ["Source", b.source === "sheet" ? h("span", null, "Google Sheet ", b.sheetId ? h("code", null, b.sheetId) : null) : "Numbers"],
        ["Delay", b.delay === undefined ? "Random 2–5 s" : `${b.delay} ms`],
        ["Created", fmtTs(b.createdAt)],
      ]),
    );
  };

  // Recipients, with status filter and paging; refreshed while the campaign runs.
  let recs: BulkRecipient[] = [];
  let recToken = "";
  const renderRecs = (): void => {
    if (!recs.length) {
      replace(recBox, empty("No recipients here", statusFilter.value ? `No recipient is ${statusFilter.value}.` : "This campaign has no recipients."));
      return;
    }
    const sheetRows = recs.some((r) => r.row !== undefined);
    replace(
      recBox,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table" },
          h(
            "thead",
            null,
            h("tr", null, h("th", null, "#"), h("th", null, "Number"), sheetRows ? h("th", null, "Row") : null, h("th", null, "Status"), h("th", null, "Message ID"), h("th", null, "Reason")),
          ),
          h(
            "tbody",
            null,
            recs.map((r) =>
              h(
                "tr",
                { "data-number": r.number, "data-status": r.status },
                h("td", { class: "muted" }, String(r.position + 1)),
                h("td", { class: "mono" }, number(r.number)),
                sheetRows ? h("td", null, r.row ?? "—") : null,
                h("td", null, pill(r.status[0]!.toUpperCase() + r.status.slice(1), RECIPIENT_STATUS[r.status] ?? "idle", r.status)),
                h("td", { class: "mono small" }, r.messageId ? h("a", { href: href(["messages", phoneId], { chat: r.number }) }, r.messageId) : "—"),
                h("td", { class: "small" }, r.reason ?? ""),
              ),
            ),
          ),
        ),
      ),
      recToken ? btn("Load more", () => void loadRecs(true), "btn btn-small") : null,
    );
  };
  const loadRecs = async (more = false): Promise<void> => {
    try {
      const size = more ? 100 : Math.min(500, Math.max(100, recs.length));
      const res = await api.bulk.listBulkRecipients({ bulkId, status: statusFilter.value, pageSize: size, pageToken: more ? recToken : "" }, { signal: ctx.signal });
      recs = more ? [...recs, ...res.recipients] : res.recipients;
      recToken = res.nextPageToken;
      keepFocus(recBox, renderRecs);
    } catch (e) {
      fail(e);
    }
  };
  statusFilter.addEventListener("change", () => {
    recs = [];
    replace(recBox, loading());
    void loadRecs();
  });

  const refresh = async (): Promise<void> => {
    try {
      const res = await api.bulk.getBulk({ bulkId }, { signal: ctx.signal });
      if (res.bulk) b = res.bulk;
      keepFocus(ctx.main, render);
      await loadRecs();
    } catch (e) {
      fail(e);
    }
  };

  render();
  replace(recBox, loading("Loading recipients…"));
  await loadRecs();
  every(ctx, 2000, () => {
    if (!finished(b.status)) void refresh();
  });
  listen(ctx, events, (ev) => {
    if (ev.event.startsWith("bulk.") && ev.data.bulk_id === bulkId) void refresh();
  });
}

function stat(label: string, n: number, tone: string): HTMLElement {
  return h("div", { class: `stat tone-${tone}` }, h("div", { class: "stat-n" }, String(n)), h("div", { class: "stat-label" }, label));
}
