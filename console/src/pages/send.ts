// Send: one form per kind of message the SendService sends.

import * as api from "../api";
import { h, icon, replace } from "../dom";
import { MESSAGE_STATUS, MESSAGE_STATUS_API, PHONE_STATUS, number } from "../format";
import { MessageStatus, PhoneStatus } from "../gen/wadesk/v1/common_pb";
import { listen, phonePicker, pickPhone, type PageCtx } from "../page";
import { href, updateQuiet } from "../router";
import { events } from "../state";
import { card, copyable, details, field, linkBtn, notice, pageHeader, pill, submitting, tabs, type Control } from "../ui";

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

  // One recipient field, moved into whichever form is showing.
  const to = h("input", { name: "to", type: "tel", inputmode: "tel", autocomplete: "off", required: true, placeholder: "e.g. 919876543210", value: ctx.route.query.get("to") ?? "" });
  const toField = field("To", to, "The recipient's number with country code; +, spaces and dashes are fine.");
  const results = h("div", { class: "results", id: "send-results", "aria-live": "polite" });

  const liveStatus = new Map<string, HTMLElement>();
  listen(ctx, events, (ev) => {
    if (ev.event !== "message.status" || ev.phoneId !== phoneId) return;
    const id = typeof ev.data.message_id === "string" ? ev.data.message_id : "";
    const slot = liveStatus.get(id);
    const st = typeof ev.data.status === "string" ? MESSAGE_STATUS_API[ev.data.status] : undefined;
    if (slot && st !== undefined) replace(slot, statusPill(st, typeof ev.data.reason === "string" ? ev.data.reason : undefined));
  });

  const showResult = (kind: string, r: Result): void => {
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
          ["Status", slot],
        ]),
        h("div", { class: "actions" }, linkBtn("See it in Messages", href(["messages", phoneId], { chat: r.to }), "btn btn-small", "messages")),
      ),
    );
  };

  const form = (kind: Kind, label: string, controls: HTMLElement[], call: () => Promise<Result>): HTMLFormElement => {
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, icon("send"), `Send ${label.toLowerCase()}`);
    const f = h("form", { class: "form", novalidate: true, "data-kind": kind }, toField, controls, h("div", { class: "form-actions" }, submit));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void submitting(submit, f, async () => {
        const r = await call();
        showResult(label, r);
      }, "Sending…");
    });
    return f;
  };

  const text = (name: string, attrs: Record<string, unknown> = {}): HTMLInputElement => h("input", { name, type: "text", autocomplete: "off", ...attrs });
  const area = (name: string, attrs: Record<string, unknown> = {}): HTMLTextAreaElement => h("textarea", { name, rows: "5", ...attrs });
  const v = (c: Control): string => c.value;

  const renderKind = (kind: Kind, panel: HTMLElement): void => {
    const base = { phoneId, to: to.value.trim() };
    let f: HTMLFormElement;
    switch (kind) {
      case "text": {
        const message = area("message", { required: true, maxlength: "65536", placeholder: "Hello! Your order has been confirmed." });
        const count = h("span", null, "0 characters");
        message.addEventListener("input", () => (count.textContent = `${message.value.length} characters`));
        f = form(kind, "Text", [field("Message", message, count)], async () => {
          const r = await api.send.sendText({ ...base, to: to.value.trim(), message: v(message) }, { signal: ctx.signal });
          message.value = "";
          count.textContent = "0 characters";
          return r;
        });
        break;
      }
      case "image":
      case "video": {
        const url = text("url", { type: "url", required: true, placeholder: kind === "image" ? "https://example.com/product.jpg" : "https://example.com/demo.mp4" });
        const caption = area("caption", { rows: "3", maxlength: "1024" });
        const accepted = kind === "image" ? "JPG, PNG or WEBP, up to 5 MB, at a public http(s) URL." : "MP4, up to 16 MB, at a public http(s) URL.";
        f = form(kind, kind === "image" ? "Image" : "Video", [field(`${kind === "image" ? "Image" : "Video"} URL`, url, accepted), field("Caption (optional)", caption, "Up to 1,024 characters.")], () => {
          const req = { ...base, to: to.value.trim(), url: url.value.trim(), caption: v(caption) };
          return kind === "image" ? api.send.sendImage(req, { signal: ctx.signal }) : api.send.sendVideo(req, { signal: ctx.signal });
        });
        break;
      }
      case "document": {
        const url = text("url", { type: "url", required: true, placeholder: "https://example.com/invoice.pdf" });
        const filename = text("filename", { placeholder: "Invoice_2025.pdf" });
        f = form(kind, "Document", [field("Document URL", url, "PDF, DOCX or XLSX, up to 100 MB."), field("File name (optional)", filename, "What the recipient sees; by default the URL's last part.")], () =>
          api.send.sendDocument({ ...base, to: to.value.trim(), url: url.value.trim(), filename: filename.value.trim() }, { signal: ctx.signal }),
        );
        break;
      }
      case "audio": {
        const url = text("url", { type: "url", required: true, placeholder: "https://example.com/note.mp3" });
        f = form(kind, "Audio", [field("Audio URL", url, "MP3, OGG or WAV, up to 16 MB. MP3 and OGG/Opus play best.")], () =>
          api.send.sendAudio({ ...base, to: to.value.trim(), url: url.value.trim() }, { signal: ctx.signal }),
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
          () => api.send.sendLocation({ ...base, to: to.value.trim(), lat: num(lat.value), lng: num(lng.value), name: name.value.trim() }, { signal: ctx.signal }),
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
          (id) => updateQuiet(href(["send", phoneId], { kind: id === "text" ? null : id })),
        ),
      ),
      h("div", { class: "send-side" }, h("h2", { class: "side-title" }, "Sent from here"), results, h("p", { class: "muted small" }, "Statuses update live: sent, delivered, read.")),
    ),
  );
}

function statusPill(st: MessageStatus, reason?: string): HTMLElement {
  const [t, tone] = MESSAGE_STATUS[st];
  const p = pill(t, tone, t.toLowerCase());
  if (reason) p.title = reason;
  return p;
}
