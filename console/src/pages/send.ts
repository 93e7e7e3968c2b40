// Send: one form per kind of message the SendService sends, each optionally
// a reply (reply_to) and, for text and captions, with mentions.

import { Code } from "@connectrpc/connect";
import * as api from "../api";
import { h, icon, replace } from "../dom";
import { MESSAGE_STATUS, MESSAGE_STATUS_API, MESSAGE_TYPE, PHONE_STATUS, number } from "../format";
import { Direction, MessageStatus, PhoneStatus } from "../gen/wadesk/v1/common_pb";
import { listen, phonePicker, pickPhone, type PageCtx } from "../page";
import { href, updateQuiet } from "../router";
import { events } from "../state";
import { card, copyable, details, field, linkBtn, notice, pageHeader, pill, submitting, tabs, toast, type Control } from "../ui";

interface Result {
  messageId: string;
  to: string;
  status: MessageStatus;
}

type Kind = "text" | "image" | "video" | "document" | "audio" | "location";

const KINDS: { id: Kind; label: string }[] = [
  { id: "text", label: "Text" },
  { id: "image", label: "Image" },
  { id: "video", label: "Video" },
  { id: "document", label: "Document" },
  { id: "audio", label: "Audio" },
  { id: "location", label: "Location" },
];

export async function sendPage(ctx: PageCtx): Promise<void> {
  ctx.title("Send");
  const phone = await pickPhone(ctx, "send");
  if (!phone) return;
  const phoneId = phone.phoneId;
  const initialKind = (KINDS.find((k) => k.id === ctx.route.query.get("kind"))?.id ?? "text") as Kind;
  const initialReply = (ctx.route.query.get("reply_to") ?? "").trim();

  // One recipient, reply and mentions field each, moved into whichever form is showing.
  const to = h("input", { name: "to", type: "tel", inputmode: "tel", autocomplete: "off", required: true, placeholder: "e.g. 919876543210", value: ctx.route.query.get("to") ?? "" });
  const toField = field("To", to, "The recipient's number with country code; +, spaces and dashes are fine.");
  const replyTo = h("input", { name: "reply_to", type: "text", autocomplete: "off", spellcheck: "false", class: "mono", placeholder: "e.g. 3EB0C431C26A1916E07E", value: initialReply });
  const quoted = h("span", { class: "reply-preview", "aria-live": "polite" });
  const replyField = field(
    "Reply to (message ID, optional)",
    replyTo,
    h("span", null, "A message of this chat, sent or received: the recipient sees yours as a reply quoting it. ", quoted),
  );
  const mentions = h("input", { name: "mentions", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "e.g. 919876543210, 919812345678" });
  const mentionsField = field(
    "Mentions (optional)",
    mentions,
    h("span", null, "Numbers with country code, separated by commas or spaces. Write each one as ", h("code", null, "@number"), " in the text (e.g. ", h("code", null, "@919876543210"), ") for WhatsApp to show it as a mention."),
  );
  const results = h("div", { class: "results", id: "send-results", "aria-live": "polite" });

  // The quoted message, read when a reply_to is given: shows what is quoted
  // and fills in its chat when To is still empty.
  let lookup: AbortController | null = null;
  const showQuoted = (): void => {
    lookup?.abort();
    lookup = null;
    const id = replyTo.value.trim();
    replace(quoted);
    quoted.className = "reply-preview";
    if (!id) return;
    const ctl = new AbortController();
    lookup = ctl;
    ctx.signal.addEventListener("abort", () => ctl.abort(), { once: true });
    api.messages.getMessage({ phoneId, messageId: id }, { signal: ctl.signal }).then(
      (res) => {
        const m = res.message;
        if (ctl.signal.aborted || !m) return;
        const inbound = m.direction === Direction.INBOUND;
        const peer = inbound ? m.from : m.to;
        if (!to.value.trim()) to.value = peer;
        const other = to.value.replace(/\D/g, "") !== peer;
        const what = m.text ? (m.text.length > 80 ? `${m.text.slice(0, 80)}…` : m.text) : MESSAGE_TYPE[m.type];
        quoted.classList.add(other ? "warn" : "ok");
        replace(
          quoted,
          h("span", { class: "reply-who" }, inbound ? `Replying to ${number(m.from)}: ` : "Replying to your message: "),
          h("q", null, what),
          other ? h("span", { class: "reply-other" }, ` That message is in the chat with ${number(peer)}, not ${number(to.value.trim())}.`) : null,
        );
      },
      (e: unknown) => {
        if (ctl.signal.aborted || api.isAbort(e)) return;
        quoted.classList.add("warn");
        replace(quoted, api.isCode(e, Code.NotFound) ? "This phone has no message with that ID." : `Could not read that message: ${api.problem(e).message}`);
      },
    );
  };
  replyTo.addEventListener("change", showQuoted);
  to.addEventListener("change", () => {
    if (replyTo.value.trim()) showQuoted();
  });

  /** The mentions as typed: split at commas (or, without any, at spaces). */
  const mentionList = (): string[] => {
    const t = mentions.value.trim();
    if (!t) return [];
    return (/[,;\n]/.test(t) ? t.split(/[,;\n]+/) : t.split(/\s+/)).map((x) => x.trim()).filter(Boolean);
  };

  /** A button writing @number into `target` for each listed mention it does not hold yet. */
  const insertMentions = (target: HTMLTextAreaElement): HTMLButtonElement => {
    const b = h("button", { type: "button", class: "btn btn-small insert-mentions", disabled: mentionList().length === 0 }, "Insert @mentions into the text");
    b.addEventListener("click", () => {
      const nums = [...new Set(mentionList().map((n) => n.replace(/\D/g, "")).filter(Boolean))];
      const missing = nums.filter((n) => !new RegExp(`@${n}(?!\\d)`).test(target.value));
      if (!missing.length) {
        toast("Every mention is already in the text", "info");
        target.focus();
        return;
      }
      const start = target.selectionStart ?? target.value.length;
      const end = target.selectionEnd ?? start;
      const before = target.value.slice(0, start);
      const after = target.value.slice(end);
      const text = `${before && !/\s$/.test(before) ? " " : ""}${missing.map((n) => `@${n}`).join(" ")}${/^\s/.test(after) ? "" : " "}`;
      target.focus();
      target.setRangeText(text, start, end, "end");
      target.dispatchEvent(new Event("input", { bubbles: true }));
    });
    return b;
  };
  const mentionsBlock = (target: HTMLTextAreaElement): HTMLElement => h("div", { class: "mentions-block" }, mentionsField, insertMentions(target));
  mentions.addEventListener("input", () => {
    const none = mentionList().length === 0;
    for (const b of ctx.main.querySelectorAll<HTMLButtonElement>(".insert-mentions")) b.disabled = none;
  });

  /** What every send carries besides its content; a reply goes in reply_to. */
  const common = (): { phoneId: string; to: string; replyTo: string } => ({ phoneId, to: to.value.trim(), replyTo: replyTo.value.trim() });
  const syncUrl = (kind: Kind): void =>
    updateQuiet(href(["send", phoneId], { kind: kind === "text" ? null : kind, to: ctx.route.query.get("to") ? to.value.trim() : null, reply_to: replyTo.value.trim() || null }));

  const liveStatus = new Map<string, HTMLElement>();
  listen(ctx, events, (ev) => {
    if (ev.event !== "message.status" || ev.phoneId !== phoneId) return;
    const id = typeof ev.data.message_id === "string" ? ev.data.message_id : "";
    const slot = liveStatus.get(id);
    const st = typeof ev.data.status === "string" ? MESSAGE_STATUS_API[ev.data.status] : undefined;
    if (slot && st !== undefined) replace(slot, statusPill(st, typeof ev.data.reason === "string" ? ev.data.reason : undefined));
  });

  const showResult = (kind: string, r: Result, reply: string): void => {
    const slot = h("span", null, statusPill(r.status));
    liveStatus.set(r.messageId, slot);
    results.prepend(
      h(
        "div",
        { class: "result", "data-message-id": r.messageId },
        h("div", { class: "result-head" }, icon("check"), h("strong", null, `${kind} sent to ${number(r.to)}`)),
        details([
          ["Message ID", copyable(r.messageId)],
          ["To", number(r.to)],
          reply ? ["Reply to", h("code", null, reply)] : null,
          ["Status", slot],
        ]),
        h("div", { class: "actions" }, linkBtn("See it in Messages", href(["messages", phoneId], { chat: r.to }), "btn btn-small", "messages")),
      ),
    );
  };

  const form = (kind: Kind, label: string, controls: HTMLElement[], call: () => Promise<Result>): HTMLFormElement => {
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, icon("send"), `Send ${label.toLowerCase()}`);
    const f = h("form", { class: "form", novalidate: true, "data-kind": kind }, toField, replyField, controls, h("div", { class: "form-actions" }, submit));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void submitting(submit, f, async () => {
        const reply = replyTo.value.trim();
        const r = await call();
        showResult(label, r, reply);
        // A reply is one message: the next send is not one unless asked again.
        if (reply && replyTo.value.trim() === reply) {
          replyTo.value = "";
          showQuoted();
          syncUrl(kind);
        }
      }, "Sending…");
    });
    return f;
  };

  const text = (name: string, attrs: Record<string, unknown> = {}): HTMLInputElement => h("input", { name, type: "text", autocomplete: "off", ...attrs });
  const area = (name: string, attrs: Record<string, unknown> = {}): HTMLTextAreaElement => h("textarea", { name, rows: "5", ...attrs });
  const v = (c: Control): string => c.value;

  const renderKind = (kind: Kind, panel: HTMLElement): void => {
    let f: HTMLFormElement;
    switch (kind) {
      case "text": {
        const message = area("message", { required: true, maxlength: "65536", placeholder: "Hello! Your order has been confirmed." });
        const count = h("span", null, "0 characters");
        message.addEventListener("input", () => (count.textContent = `${message.value.length} characters`));
        f = form(kind, "Text", [field("Message", message, count), mentionsBlock(message)], async () => {
          const r = await api.send.sendText({ ...common(), message: v(message), mentions: mentionList() }, { signal: ctx.signal });
          message.value = "";
          count.textContent = "0 characters";
          mentions.value = "";
          mentions.dispatchEvent(new Event("input"));
          return r;
        });
        break;
      }
      case "image":
      case "video": {
        const url = text("url", { type: "url", required: true, placeholder: kind === "image" ? "https://example.com/product.jpg" : "https://example.com/demo.mp4" });
        const caption = area("caption", { rows: "3", maxlength: "1024" });
        const accepted = kind === "image" ? "JPG, PNG or WEBP, up to 5 MB, at a public http(s) URL." : "MP4, up to 16 MB, at a public http(s) URL.";
        f = form(
          kind,
          kind === "image" ? "Image" : "Video",
          [field(`${kind === "image" ? "Image" : "Video"} URL`, url, accepted), field("Caption (optional)", caption, "Up to 1,024 characters."), mentionsBlock(caption)],
          () => {
            const req = { ...common(), url: url.value.trim(), caption: v(caption), mentions: mentionList() };
            return kind === "image" ? api.send.sendImage(req, { signal: ctx.signal }) : api.send.sendVideo(req, { signal: ctx.signal });
          },
        );
        break;
      }
      case "document": {
        const url = text("url", { type: "url", required: true, placeholder: "https://example.com/invoice.pdf" });
        const filename = text("filename", { placeholder: "Invoice_2025.pdf" });
        f = form(kind, "Document", [field("Document URL", url, "PDF, DOCX or XLSX, up to 100 MB."), field("File name (optional)", filename, "What the recipient sees; by default the URL's last part.")], () =>
          api.send.sendDocument({ ...common(), url: url.value.trim(), filename: filename.value.trim() }, { signal: ctx.signal }),
        );
        break;
      }
      case "audio": {
        const url = text("url", { type: "url", required: true, placeholder: "https://example.com/note.mp3" });
        f = form(kind, "Audio", [field("Audio URL", url, "MP3, OGG or WAV, up to 16 MB. MP3 and OGG/Opus play best.")], () =>
          api.send.sendAudio({ ...common(), url: url.value.trim() }, { signal: ctx.signal }),
        );
        break;
      }
      case "location": {
        const lat = text("lat", { type: "number", step: "any", min: "-90", max: "90", inputmode: "decimal", placeholder: "28.6139", required: true });
        const lng = text("lng", { type: "number", step: "any", min: "-180", max: "180", inputmode: "decimal", placeholder: "77.2090", required: true });
        const name = text("name", { placeholder: "Our Store — New Delhi" });
        const num = (s: string): number | undefined => (s.trim() === "" || Number.isNaN(Number(s)) ? undefined : Number(s));
        f = form(
          kind,
          "Location",
          [h("div", { class: "row-2" }, field("Latitude", lat, "−90 to 90"), field("Longitude", lng, "−180 to 180")), field("Label (optional)", name)],
          () => api.send.sendLocation({ ...common(), lat: num(lat.value), lng: num(lng.value), name: name.value.trim() }, { signal: ctx.signal }),
        );
        break;
      }
    }
    panel.appendChild(f);
  };

  const connected = phone.status === PhoneStatus.CONNECTED;
  replace(
    ctx.main,
    pageHeader("Send a message", "Messages go out from the phone you choose, through its outbox.", phonePicker(ctx, "send", phoneId, true)),
    connected ? null : notice("warn", `${phone.name} is ${PHONE_STATUS[phone.status][0].toLowerCase()}: sends wait in the outbox (or are refused) until it is connected.`),
    h(
      "div",
      { class: "send-layout" },
      card(
        tabs(
          KINDS.map((k) => ({ id: k.id, label: k.label, render: (panel: HTMLElement) => renderKind(k.id, panel) })),
          initialKind,
          (id) => syncUrl(id as Kind),
        ),
      ),
      h("div", { class: "send-side" }, h("h2", { class: "side-title" }, "Sent from here"), results, h("p", { class: "muted small" }, "Statuses update live: sent, delivered, read.")),
    ),
  );
  if (initialReply) {
    showQuoted();
    // Came here to reply: the content is what is left to write.
    ctx.main.querySelector<HTMLElement>('form[data-kind] [name="message"], form[data-kind] [name="url"], form[data-kind] [name="lat"]')?.focus();
  }
}

function statusPill(st: MessageStatus, reason?: string): HTMLElement {
  const [t, tone] = MESSAGE_STATUS[st];
  const p = pill(t, tone, t.toLowerCase());
  if (reason) p.title = reason;
  return p;
}
