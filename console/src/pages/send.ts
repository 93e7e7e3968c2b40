// Send: one form per kind of message the SendService sends, each optionally
// a reply (reply_to) and, for text and captions, with mentions. Contact
// cards and polls are checked here against the API's bounds first (the same
// messages, under the same fields); what only the API can tell (a number
// that is no phone number) comes back from it under the field it names.
// Media (image, video, document, audio, sticker, voice note) comes from a
// URL the gateway fetches or from a file uploaded here first (POST
// /api/media), then sent by its media_id. A text may ask for its first
// link's preview (link_preview); the result says what preview went, or why
// the text went without one.

import { Code, ConnectError } from "@connectrpc/connect";
import * as api from "../api";
import { h, icon, nextId, replace } from "../dom";
import { MESSAGE_STATUS, MESSAGE_STATUS_API, PHONE_STATUS, bytes, chars, clock, fmtDate, number, plural, summary } from "../format";
import { Direction, MessageStatus, PhoneStatus } from "../gen/wadesk/v1/common_pb";
import type { LinkPreview } from "../gen/wadesk/v1/send_pb";
import { listen, phonePicker, pickPhone, type PageCtx } from "../page";
import { href, updateQuiet } from "../router";
import { events } from "../state";
import { groupKey, isGroupId } from "./groups";
import { card, check, clearErrors, copyable, details, field, linkBtn, notice, pageHeader, pill, spinner, submitting, tabs, toast, type Control } from "../ui";

interface Result {
  messageId: string;
  to: string;
  status: MessageStatus;
  /** A voice note's length, as the API read it from the file. */
  seconds?: number;
  /** The upload the file was sent from. */
  mediaId?: string;
  /** A text's link preview, as the gateway made and sent it. */
  linkPreview?: LinkPreview | undefined;
  /** Why a text asked to show a link preview went without one. */
  linkPreviewError?: string | undefined;
}

type Kind = "text" | "image" | "video" | "document" | "audio" | "sticker" | "voice" | "location" | "contact" | "poll";
type MediaKind = "image" | "video" | "document" | "audio" | "sticker" | "voice";

const KINDS: { id: Kind; label: string }[] = [
  { id: "text", label: "Text" },
  { id: "image", label: "Image" },
  { id: "video", label: "Video" },
  { id: "document", label: "Document" },
  { id: "audio", label: "Audio" },
  { id: "sticker", label: "Sticker" },
  { id: "voice", label: "Voice note" },
  { id: "location", label: "Location" },
  { id: "contact", label: "Contact card" },
  { id: "poll", label: "Poll" },
];

/** The API's bounds on contact cards and polls (docs/api.md). */
const CARDS_MAX = 10;
const CARD_NUMBERS_MAX = 5;
const CARD_NAME_MAX = 100;
const POLL_OPTIONS_MIN = 2;
const POLL_OPTIONS_MAX = 12;
const POLL_QUESTION_MAX = 255;
const POLL_OPTION_MAX = 100;

const MB = 1024 * 1024;

/**
 * What each media send takes (docs/api.md, "Media"): the types the gateway
 * accepts (read from the content), WhatsApp's limit, what the file picker
 * offers, and the kind's name as the API's messages say it.
 */
const MEDIA: Record<MediaKind, { name: string; accepted: string; maxMb: number; accept: string; placeholder: string; note?: string }> = {
  image: { name: "image", accepted: "JPG, PNG or WEBP", maxMb: 5, accept: "image/jpeg,image/png,image/webp", placeholder: "https://example.com/product.jpg" },
  video: { name: "video", accepted: "MP4", maxMb: 16, accept: "video/mp4", placeholder: "https://example.com/demo.mp4" },
  document: {
    name: "document",
    accepted: "PDF, DOCX or XLSX",
    maxMb: 100,
    accept: ".pdf,.docx,.xlsx,application/pdf,application/vnd.openxmlformats-officedocument.wordprocessingml.document,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    placeholder: "https://example.com/invoice.pdf",
  },
  audio: { name: "audio", accepted: "MP3, OGG or WAV", maxMb: 16, accept: "audio/mpeg,audio/ogg,audio/wav,.mp3,.ogg,.opus,.wav", placeholder: "https://example.com/note.mp3", note: "MP3 and OGG/Opus play best." },
  sticker: {
    name: "sticker",
    accepted: "WEBP, PNG or JPG",
    maxMb: 5,
    accept: "image/webp,image/png,image/jpeg",
    placeholder: "https://example.com/sticker.webp",
    note: "A WEBP is sent as it is; a PNG or JPG becomes a 512×512 WEBP (its shape kept, the rest transparent) of at most 500 KB: flat artwork on a transparent background, not photos.",
  },
  voice: {
    name: "voice note",
    accepted: "OGG/Opus",
    maxMb: 16,
    accept: "audio/ogg,.ogg,.opus",
    placeholder: "https://example.com/note.ogg",
    note: "The recipient sees a play button and its length. Other audio (MP3, WAV) goes as Audio, or convert it first (ffmpeg -i in.mp3 -c:a libopus out.ogg).",
  },
};

/**
 * The text's first http(s) link, about as the gateway finds it (the server
 * decides; this only says which link the hint is about): trailing
 * punctuation is not part of it.
 */
function firstLink(text: string): string | undefined {
  const m = /\bhttps?:\/\/[^\s<>"]+/i.exec(text);
  return m ? m[0].replace(/[.,;:!?'")\]}]+$/, "") : undefined;
}

/** A link preview as it was sent: the page's title and description, its link, and whether its image went with it. */
function previewBox(p: LinkPreview): HTMLElement {
  return h(
    "div",
    { class: "link-preview", "data-thumbnail": p.thumbnail ? "true" : "false" },
    p.title ? h("strong", { class: "link-preview-title" }, p.title) : null,
    p.description ? h("span", { class: "link-preview-description" }, p.description) : null,
    h("span", { class: "link-preview-url" }, p.url),
    h("span", { class: "link-preview-image" }, p.thumbnail ? "With the page's image as a thumbnail" : "No image: the page has none the gateway could use"),
  );
}

/** A refusal found before sending, worded and routed like the API's (`field: message`). */
function invalid(fieldName: string, message: string): ConnectError {
  return new ConnectError(`${fieldName}: ${message}`, Code.InvalidArgument);
}

/** Marks `control` as the one an error is about, and focuses it once the error is shown. */
function pointAt(control: HTMLElement | null | undefined): void {
  if (!control) return;
  control.closest(".item-row, .field")?.classList.add("invalid-item");
  // After the error is shown under the list (which marks and focuses its first input).
  setTimeout(() => {
    for (const el of control.closest("fieldset")?.querySelectorAll("[aria-invalid]") ?? []) el.removeAttribute("aria-invalid");
    control.setAttribute("aria-invalid", "true");
    control.focus();
  }, 0);
}

/** Takes back what pointAt marked inside `box`. */
function unpoint(box: HTMLElement): void {
  for (const el of box.querySelectorAll(".invalid-item")) el.classList.remove("invalid-item");
  for (const el of box.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

export async function sendPage(ctx: PageCtx): Promise<void> {
  ctx.title("Send");
  const phone = await pickPhone(ctx, "send");
  if (!phone) return;
  const phoneId = phone.phoneId;
  const initialKind = (KINDS.find((k) => k.id === ctx.route.query.get("kind"))?.id ?? "text") as Kind;
  const initialReply = (ctx.route.query.get("reply_to") ?? "").trim();

  // One recipient, reply and mentions field each, moved into whichever form is showing.
  const to = h("input", { name: "to", type: "text", autocomplete: "off", spellcheck: "false", required: true, placeholder: "e.g. 919876543210", value: ctx.route.query.get("to") ?? "" });
  const toField = field("To", to, h("span", null, "A number with country code (+, spaces and dashes are fine) or a group ID (", h("code", null, "120363…@g.us"), ")."));
  // The phone's groups (ListGroups, read once): choosing one writes its ID into To.
  const groupsById = new Map<string, string>();
  const groupPick = h("select", { id: "to-group", name: "to_group", disabled: true }, h("option", { value: "" }, "Groups…"));
  const syncGroupPick = (): void => {
    const v = to.value.trim();
    const id = isGroupId(v) ? (v.includes("@") ? v : `${v}@g.us`) : "";
    groupPick.value = groupsById.has(id) ? id : "";
  };
  groupPick.addEventListener("change", () => {
    if (!groupPick.value) return;
    to.value = groupPick.value;
    to.dispatchEvent(new Event("change"));
    clearErrors(toRow);
  });
  to.addEventListener("input", syncGroupPick);
  const toRow = h("div", { class: "to-row" }, toField, h("div", { class: "field group-pick" }, h("label", { for: "to-group" }, "Or a group"), groupPick, h("div", { class: "hint", id: "to-group-hint" }, "Loading the phone's groups…")));
  const loadGroupPick = async (): Promise<void> => {
    const hint = toRow.querySelector<HTMLElement>("#to-group-hint")!;
    if (phone.status !== PhoneStatus.CONNECTED) {
      hint.textContent = "The phone's groups show while it is connected.";
      return;
    }
    try {
      const res = await api.groups.listGroups({ phoneId }, { signal: ctx.signal });
      for (const g of res.groups) groupsById.set(g.groupId, g.subject || groupKey(g.groupId));
      replace(groupPick, h("option", { value: "" }, res.groups.length ? `Groups (${res.groups.length})…` : "No groups"), res.groups.map((g) => h("option", { value: g.groupId }, `${g.subject || groupKey(g.groupId)} · ${plural(g.size || g.participants.length, "member")}`)));
      groupPick.disabled = res.groups.length === 0;
      replace(hint, res.groups.length ? "Its ID goes into To." : h("span", null, "This phone is in none. ", h("a", { href: href(["groups", phoneId]) }, "Groups"), "."));
      syncGroupPick();
    } catch (e) {
      if (api.isAbort(e)) return;
      hint.textContent = api.isNotConnected(e) ? "The phone's groups show while it is connected." : `Could not read the groups: ${api.problem(e).message}`;
    }
  };
  /** How a recipient reads: a number with +, a group by its name where known. */
  const recipient = (r: string): string => {
    if (!isGroupId(r)) return number(r);
    const name = groupsById.get(r.includes("@") ? r : `${r}@g.us`);
    return name ? `the group “${name}”` : `the group ${r}`;
  };
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
        const what = summary(m, 80);
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
    const length = r.seconds ? ` of ${clock(r.seconds)}` : "";
    results.prepend(
      h(
        "div",
        {
          class: "result",
          "data-message-id": r.messageId,
          "data-media-id": r.mediaId,
          "data-seconds": r.seconds ? String(r.seconds) : undefined,
          "data-link-preview": r.linkPreview ? "sent" : r.linkPreviewError !== undefined ? "none" : undefined,
        },
        h("div", { class: "result-head" }, icon("check"), h("strong", null, `${kind}${length} sent to ${recipient(r.to)}`)),
        details([
          ["Message ID", copyable(r.messageId)],
          ["To", isGroupId(r.to) ? h("span", null, recipient(r.to).replace(/^the group /, ""), " ", h("code", { class: "small" }, r.to)) : number(r.to)],
          r.seconds ? ["Length", plural(r.seconds, "second")] : null,
          r.mediaId ? ["Upload", copyable(r.mediaId)] : null,
          reply ? ["Reply to", h("code", null, reply)] : null,
          r.linkPreview ? ["Link preview", previewBox(r.linkPreview)] : null,
          ["Status", slot],
        ]),
        r.linkPreviewError !== undefined ? notice("info", `Sent without a preview: ${r.linkPreviewError}`) : null,
        h(
          "div",
          { class: "actions" },
          isGroupId(r.to)
            ? linkBtn("Open the group", href(["groups", phoneId, groupKey(r.to)]), "btn btn-small", "users")
            : linkBtn("See it in Messages", href(["messages", phoneId], { chat: r.to }), "btn btn-small", "messages"),
        ),
      ),
    );
  };

  /** A send's form; `call` may say what it is busy with on the button (`busy("Uploading…")`). */
  const form = (kind: Kind, label: string, controls: HTMLElement[], call: (busy: (text: string) => void) => Promise<Result>): HTMLFormElement => {
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, icon("send"), `Send ${label.toLowerCase()}`);
    const f = h("form", { class: "form", novalidate: true, "data-kind": kind }, toRow, replyField, controls, h("div", { class: "form-actions" }, submit));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void submitting(submit, f, async () => {
        const reply = replyTo.value.trim();
        const r = await call((text) => replace(submit, spinner(), text));
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

  // ---- Media: the file from a URL, or uploaded from here first ----

  /** Where media comes from; the choice stays while switching kinds. */
  let source: "url" | "upload" = "url";
  /** This page's uploads by the file chosen: sending the same file again reuses its media_id while it is kept. */
  const uploads = new WeakMap<File, api.UploadedFile>();

  /** The file's part of a media send: exactly one of `url` and `mediaId` is set. */
  interface MediaFile {
    url: string;
    mediaId: string;
  }

  /**
   * A media send's form: the file (From a URL, or Upload a file: uploaded
   * with POST /api/media, its progress shown, then sent by media_id), then
   * `controls`. A refusal of the upload (`file`) or of the upload at the
   * send (`media_id`) shows under the file; of the URL, under the URL.
   */
  const mediaForm = (kind: MediaKind, label: string, controls: HTMLElement[], send: (file: MediaFile) => Promise<Result>): HTMLFormElement => {
    const spec = MEDIA[kind];
    const limit = `${spec.accepted}, up to ${spec.maxMb} MB`;
    const note = spec.note ? ` ${spec.note}` : "";
    const url = text("url", { type: "url", required: true, placeholder: spec.placeholder });
    const urlField = field(`${label} URL`, url, `${limit}, at a public http(s) URL.${note}`);
    const file = h("input", { name: "file", type: "file", accept: spec.accept });
    const fileField = field(`${label} file`, file, `${limit}. It is uploaded to the gateway, then sent.${note}`);
    fileField.dataset.fieldAlso = "media_id file_name";
    const bar = h("progress", { max: "1", value: "0", "aria-label": "Upload progress" });
    const status = h("span", { class: "upload-status" });
    const progress = h("div", { class: "upload-progress", hidden: true }, bar, status);
    fileField.insertBefore(progress, fileField.querySelector(".field-error"));
    /** Says how the upload goes; `done` (0 to 1) shows the bar, without it only the text shows. */
    const say = (text: string, done?: number): void => {
      progress.hidden = false;
      bar.hidden = done === undefined;
      if (done !== undefined) bar.value = done;
      status.textContent = text;
    };
    /** The chosen file's upload when it is kept a minute more at least (else it is uploaded again). */
    const kept = (): api.UploadedFile | undefined => {
      const f = file.files?.[0];
      const up = f ? uploads.get(f) : undefined;
      return up && Date.parse(up.expires_at) > Date.now() + 60_000 ? up : undefined;
    };
    file.addEventListener("change", () => {
      progress.hidden = true;
      const up = kept();
      if (up) say(`Uploaded already as ${up.media_id}: it is sent without uploading it again.`);
    });

    const show = (): void => {
      urlField.hidden = source !== "url";
      fileField.hidden = source !== "upload";
    };
    const radio = (value: "url" | "upload", text: string): HTMLElement => {
      const r = h("input", { type: "radio", name: "source", value, checked: source === value });
      r.addEventListener("change", () => {
        if (!r.checked) return;
        source = value;
        show();
      });
      return check(text, r);
    };
    show();
    const box = h(
      "fieldset",
      { class: "fieldset source-field" },
      h("legend", null, label),
      h("div", { class: "source-choice", role: "radiogroup", "aria-label": `Where the ${spec.name} comes from` }, radio("url", "From a URL"), radio("upload", "Upload a file")),
      urlField,
      fileField,
    );

    /** The file's part of the request, uploading the chosen file first (once). */
    const read = async (busy: (text: string) => void): Promise<MediaFile> => {
      if (source === "url") return { url: url.value.trim(), mediaId: "" };
      const f = file.files?.[0];
      if (!f) throw invalid("file", "choose a file to upload");
      // The API's own check and words, before a large file travels for nothing.
      if (f.size > spec.maxMb * MB) throw invalid("file", `the file is larger than WhatsApp's ${spec.maxMb} MB limit for ${spec.name}s`);
      const done = kept();
      if (done) {
        say(`Uploaded already as ${done.media_id}; sending…`);
        return { url: "", mediaId: done.media_id };
      }
      busy("Uploading…");
      say(`Uploading ${f.name}…`, 0);
      let up: api.UploadedFile;
      try {
        up = await api.uploadMedia(f, {
          signal: ctx.signal,
          progress: (sent, total) => say(`Uploading ${f.name}: ${total ? Math.floor((100 * sent) / total) : 100}% of ${bytes(total)}`, total ? sent / total : 1),
        });
      } catch (e) {
        progress.hidden = true;
        throw e;
      }
      uploads.set(f, up);
      say(`Uploaded as ${up.media_id} (${bytes(up.size)}); sending…`, 1);
      busy("Sending…");
      return { url: "", mediaId: up.media_id };
    };

    return form(kind, label, [box, ...controls], async (busy) => {
      const media = await read(busy);
      let r: Result;
      try {
        r = await send(media);
      } catch (e) {
        if (media.mediaId) {
          // Refused for its upload (unknown, expired, not this kind's): the next try uploads it again.
          const f = file.files?.[0];
          if (api.problem(e).field === "media_id" && f) uploads.delete(f);
          progress.hidden = true;
        }
        throw e;
      }
      if (!media.mediaId) return r;
      const up = kept();
      say(`Sent from upload ${media.mediaId}${up ? `, kept until ${fmtDate(new Date(up.expires_at))} for more sends` : ""}.`);
      return { messageId: r.messageId, to: r.to, status: r.status, seconds: r.seconds, mediaId: media.mediaId };
    });
  };

  const renderKind = (kind: Kind, panel: HTMLElement): void => {
    let f: HTMLFormElement;
    switch (kind) {
      case "text": {
        const message = area("message", { required: true, maxlength: "65536", placeholder: "Hello! Your order has been confirmed." });
        const count = h("span", null, "0 characters");
        // The preview: which link it is about follows the text as it is written.
        const preview = h("input", { type: "checkbox", name: "link_preview" });
        const previewHint = h("span");
        const hintPreview = (): void => {
          const link = firstLink(message.value);
          if (!link) {
            previewHint.textContent = preview.checked
              ? "The text has no http(s) link yet: it would go without a preview."
              : "The gateway fetches the page of the text's first http(s) link and sends its title, description and image with it.";
          } else {
            replace(previewHint, preview.checked ? "The first link will be previewed: " : "The first link can be previewed: ", h("span", { class: "mono" }, link));
          }
        };
        hintPreview();
        message.addEventListener("input", () => {
          count.textContent = `${message.value.length} characters`;
          hintPreview();
        });
        preview.addEventListener("change", hintPreview);
        const previewCheck = check("Show a link preview", preview, previewHint);
        previewCheck.classList.add("link-preview-field");
        f = form(kind, "Text", [field("Message", message, count), mentionsBlock(message), previewCheck], async () => {
          const r = await api.send.sendText({ ...common(), message: v(message), mentions: mentionList(), linkPreview: preview.checked }, { signal: ctx.signal });
          message.value = "";
          count.textContent = "0 characters";
          hintPreview();
          mentions.value = "";
          mentions.dispatchEvent(new Event("input"));
          return r;
        });
        break;
      }
      case "image":
      case "video": {
        const caption = area("caption", { rows: "3", maxlength: "1024" });
        f = mediaForm(kind, kind === "image" ? "Image" : "Video", [field("Caption (optional)", caption, "Up to 1,024 characters."), mentionsBlock(caption)], (file) => {
          const req = { ...common(), ...file, caption: v(caption), mentions: mentionList() };
          return kind === "image" ? api.send.sendImage(req, { signal: ctx.signal }) : api.send.sendVideo(req, { signal: ctx.signal });
        });
        break;
      }
      case "document": {
        const filename = text("filename", { placeholder: "Invoice_2025.pdf" });
        f = mediaForm(kind, "Document", [field("File name (optional)", filename, "What the recipient sees; by default the uploaded file's name, or the URL's last part.")], (file) =>
          api.send.sendDocument({ ...common(), ...file, filename: filename.value.trim() }, { signal: ctx.signal }),
        );
        break;
      }
      case "audio":
        f = mediaForm(kind, "Audio", [], (file) => api.send.sendAudio({ ...common(), ...file }, { signal: ctx.signal }));
        break;
      case "sticker":
        f = mediaForm(kind, "Sticker", [], (file) => api.send.sendSticker({ ...common(), ...file }, { signal: ctx.signal }));
        break;
      case "voice":
        f = mediaForm(kind, "Voice note", [], (file) => api.send.sendVoice({ ...common(), ...file }, { signal: ctx.signal }));
        break;
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
      case "contact":
        f = contactForm();
        break;
      case "poll":
        f = pollForm();
        break;
    }
    panel.appendChild(f);
  };

  /** A small ✕ that removes one row of a list. */
  const removeBtn = (label: string, onclick: () => void, cls: string): HTMLButtonElement =>
    h("button", { type: "button", class: `icon-btn ${cls}`, title: label, "aria-label": label, onclick }, icon("close"));

  // ---- Contact cards: 1 to 10, each a name and 1 to 5 numbers ----

  const contactForm = (): HTMLFormElement => {
    const cardsBox = h("div", { class: "contact-edits" });
    const cardEls = (): HTMLElement[] => Array.from(cardsBox.querySelectorAll<HTMLElement>(":scope > .contact-edit"));
    const addCard = h("button", { type: "button", class: "btn btn-small add-card" }, icon("plus"), "Add another card");

    /** Titles, labels and which buttons show, after a card or number came or went. */
    const renumber = (): void => {
      const all = cardEls();
      all.forEach((c, i) => {
        const n = i + 1;
        c.querySelector(".item-title")!.textContent = all.length > 1 ? `Card ${n}` : "Card";
        c.setAttribute("aria-label", `Card ${n}`);
        c.querySelector<HTMLElement>(".remove-card")!.hidden = all.length === 1;
        c.querySelector<HTMLElement>(".remove-card")!.setAttribute("aria-label", `Remove card ${n}`);
        const rows = Array.from(c.querySelectorAll<HTMLElement>(".number-row"));
        rows.forEach((r, j) => {
          r.querySelector("input")!.setAttribute("aria-label", `Card ${n}, number ${j + 1}`);
          const rm = r.querySelector<HTMLElement>(".remove-number")!;
          rm.hidden = rows.length === 1;
          rm.setAttribute("aria-label", `Remove card ${n}'s number ${j + 1}`);
        });
        c.querySelector<HTMLButtonElement>(".add-number")!.disabled = rows.length >= CARD_NUMBERS_MAX;
      });
      addCard.disabled = all.length >= CARDS_MAX;
    };

    const newCard = (): HTMLElement => {
      const nameId = nextId("card");
      const numbersId = `${nameId}-numbers`;
      const name = h("input", { id: nameId, name: "contact_name", type: "text", autocomplete: "off", placeholder: "e.g. Asha Rao" });
      const numbers = h("div", { class: "number-rows", role: "group", "aria-labelledby": numbersId });
      const numberRow = (): HTMLElement => {
        const input = h("input", { name: "contact_number", type: "tel", inputmode: "tel", autocomplete: "off", placeholder: "e.g. 919812345678" });
        const row: HTMLElement = h(
          "div",
          { class: "item-row number-row" },
          input,
          removeBtn("Remove this number", () => {
            const next = (row.nextElementSibling ?? row.previousElementSibling)?.querySelector("input");
            row.remove();
            renumber();
            next?.focus();
          }, "remove-number"),
        );
        return row;
      };
      const addNumber = h("button", { type: "button", class: "btn btn-small btn-ghost add-number" }, icon("plus"), "Add a number");
      addNumber.addEventListener("click", () => {
        const row = numberRow();
        numbers.appendChild(row);
        renumber();
        row.querySelector("input")!.focus();
      });
      numbers.appendChild(numberRow());
      const el: HTMLElement = h(
        "div",
        { class: "contact-edit item-box", role: "group" },
        h(
          "div",
          { class: "item-head" },
          icon("user"),
          h("span", { class: "item-title" }, "Card"),
          h(
            "button",
            {
              type: "button",
              class: "btn btn-small btn-ghost remove-card",
              onclick: () => {
                const next = (el.nextElementSibling ?? el.previousElementSibling)?.querySelector("input");
                el.remove();
                renumber();
                next?.focus();
              },
            },
            icon("trash"),
            "Remove",
          ),
        ),
        h("div", { class: "field" }, h("label", { for: nameId }, "Name"), name),
        h("div", { class: "field" }, h("div", { class: "field-label", id: numbersId }, "Numbers"), numbers, addNumber),
      );
      return el;
    };

    addCard.addEventListener("click", () => {
      const c = newCard();
      cardsBox.appendChild(c);
      renumber();
      c.querySelector("input")!.focus();
    });
    cardsBox.appendChild(newCard());
    renumber();

    const contacts = h(
      "fieldset",
      { class: "fieldset contacts-field", "data-field": "contacts" },
      h("legend", null, "Contact cards"),
      cardsBox,
      h("div", { class: "item-actions" }, addCard),
      h("div", { class: "hint" }, `Each card: a name and 1 to ${CARD_NUMBERS_MAX} numbers with country code; the first number is the one WhatsApp offers to message. Up to ${CARDS_MAX} cards in one message.`),
      h("div", { class: "field-error", role: "alert" }),
    );

    /** The cards as typed: names trimmed, empty number rows left out. */
    const read = (): { name: string; numbers: string[] }[] =>
      cardEls().map((el) => ({
        name: el.querySelector<HTMLInputElement>('input[name="contact_name"]')!.value.trim(),
        numbers: Array.from(el.querySelectorAll<HTMLInputElement>('input[name="contact_number"]'))
          .map((i) => i.value.trim())
          .filter(Boolean),
      }));

    /** Points at the card (and number) an error about `contacts` names. */
    const pointAtCard = (e: unknown): void => {
      const p = api.problem(e);
      if (p.field !== "contacts") return;
      const m = /card (\d+)/.exec(p.message);
      const el = m ? cardEls()[Number(m[1]) - 1] : undefined;
      if (!el) return;
      const name = el.querySelector<HTMLInputElement>('input[name="contact_name"]');
      const nums = Array.from(el.querySelectorAll<HTMLInputElement>('input[name="contact_number"]'));
      if (/\bname\b/.test(p.message)) pointAt(name);
      else {
        const quoted = /"(.*)" is not/.exec(p.message)?.[1];
        pointAt(nums.find((i) => quoted !== undefined && i.value.trim() === quoted) ?? nums.find((i) => !i.value.trim()) ?? nums[0]);
      }
    };

    return form("contact", "Contact card", [contacts], async () => {
      unpoint(contacts);
      try {
        const cards = read();
        if (cards.length < 1 || cards.length > CARDS_MAX) throw invalid("contacts", `give 1 to ${CARDS_MAX} contact cards, not ${cards.length}`);
        cards.forEach((c, i) => {
          const n = i + 1;
          if (!c.name) throw invalid("contacts", `card ${n} has no name`);
          if (chars(c.name) > CARD_NAME_MAX || /[\u0000-\u001f\u007f-\u009f]/.test(c.name)) {
            throw invalid("contacts", `card ${n}'s name must be at most ${CARD_NAME_MAX} characters, without control characters`);
          }
          if (c.numbers.length < 1 || c.numbers.length > CARD_NUMBERS_MAX) throw invalid("contacts", `card ${n} needs 1 to ${CARD_NUMBERS_MAX} numbers`);
        });
        return await api.send.sendContact({ ...common(), contacts: cards.map((c) => ({ name: c.name, numbers: c.numbers })) }, { signal: ctx.signal });
      } catch (e) {
        pointAtCard(e);
        throw e;
      }
    });
  };

  // ---- Polls: a question, 2 to 12 options, how many a voter may choose ----

  const pollForm = (): HTMLFormElement => {
    const question = text("question", { placeholder: "e.g. Lunch on Friday?" });
    const qCount = h("span", null, `0 / ${POLL_QUESTION_MAX} characters`);
    question.addEventListener("input", () => (qCount.textContent = `${chars(question.value)} / ${POLL_QUESTION_MAX} characters`));
    const optionsBox = h("ol", { class: "poll-edits" });
    const inputs = (): HTMLInputElement[] => Array.from(optionsBox.querySelectorAll<HTMLInputElement>('input[name="option"]'));
    const addOption = h("button", { type: "button", class: "btn btn-small add-option" }, icon("plus"), "Add an option");
    const selectable = h("select", { name: "selectable_count" });

    /** Labels, which buttons show and the choices of "up to", after an option came or went. */
    const renumber = (): void => {
      const all = inputs();
      all.forEach((input, i) => {
        input.setAttribute("aria-label", `Option ${i + 1}`);
        input.placeholder = `Option ${i + 1}`;
        const rm = input.parentElement!.querySelector<HTMLButtonElement>(".remove-option")!;
        rm.hidden = all.length <= POLL_OPTIONS_MIN;
        rm.setAttribute("aria-label", `Remove option ${i + 1}`);
      });
      addOption.disabled = all.length >= POLL_OPTIONS_MAX;
      const was = Math.min(Number(selectable.value) || 1, all.length);
      replace(
        selectable,
        all.map((_, i) => h("option", { value: String(i + 1), selected: i + 1 === was }, i === 0 ? "1 option (single choice)" : i + 1 === all.length ? `${i + 1} options (all)` : `${i + 1} options`)),
      );
    };

    const optionRow = (): HTMLLIElement => {
      const input = h("input", { name: "option", type: "text", autocomplete: "off" });
      const row: HTMLLIElement = h(
        "li",
        { class: "item-row option-row" },
        input,
        removeBtn("Remove this option", () => {
          const next = (row.nextElementSibling ?? row.previousElementSibling)?.querySelector("input");
          row.remove();
          renumber();
          next?.focus();
        }, "remove-option"),
      );
      // Enter goes on to the next option (a new one after the last), as WhatsApp's poll editor does.
      input.addEventListener("keydown", (ev) => {
        if (ev.key !== "Enter" || ev.isComposing || ev.ctrlKey || ev.metaKey) return;
        ev.preventDefault();
        const next = row.nextElementSibling?.querySelector("input");
        if (next) next.focus();
        else if (!addOption.disabled) addOption.click();
      });
      return row;
    };
    addOption.addEventListener("click", () => {
      const row = optionRow();
      optionsBox.appendChild(row);
      renumber();
      row.querySelector("input")!.focus();
    });
    for (let i = 0; i < POLL_OPTIONS_MIN; i++) optionsBox.appendChild(optionRow());
    renumber();

    const options = h(
      "fieldset",
      { class: "fieldset options-field", "data-field": "options" },
      h("legend", null, "Options"),
      optionsBox,
      h("div", { class: "item-actions" }, addOption),
      h("div", { class: "hint" }, `${POLL_OPTIONS_MIN} to ${POLL_OPTIONS_MAX} different options, up to ${POLL_OPTION_MAX} characters each. Enter goes to the next one.`),
      h("div", { class: "field-error", role: "alert" }),
    );

    /** Points at the option an error about `options` names. */
    const pointAtOption = (e: unknown): void => {
      const p = api.problem(e);
      if (p.field !== "options") return;
      const all = inputs();
      const twice = /option "(.*)" is given twice/.exec(p.message)?.[1];
      const n = /option (\d+) is/.exec(p.message);
      if (twice !== undefined) pointAt(all.filter((i) => i.value.trim() === twice)[1]);
      else if (n) pointAt(all[Number(n[1]) - 1]);
    };

    return form(
      "poll",
      "Poll",
      [
        field("Question", question, qCount),
        options,
        field("Voters may choose up to", selectable, "How many options each voter may pick; they can change their vote later."),
      ],
      async () => {
        unpoint(options);
        try {
          const q = question.value.trim();
          if (!q) throw invalid("question", "is required");
          if (chars(q) > POLL_QUESTION_MAX) throw invalid("question", `must be at most ${POLL_QUESTION_MAX} characters`);
          const opts = inputs().map((i) => i.value.trim());
          if (opts.length < POLL_OPTIONS_MIN || opts.length > POLL_OPTIONS_MAX) {
            throw invalid("options", `a poll has ${POLL_OPTIONS_MIN} to ${POLL_OPTIONS_MAX} options, not ${opts.length}`);
          }
          opts.forEach((o, i) => {
            if (!o) throw invalid("options", `option ${i + 1} is empty`);
            if (chars(o) > POLL_OPTION_MAX) throw invalid("options", `option ${i + 1} is longer than ${POLL_OPTION_MAX} characters`);
            if (opts.indexOf(o) !== i) throw invalid("options", `option ${JSON.stringify(o)} is given twice`);
          });
          const count = Number(selectable.value) || 1;
          if (count < 1 || count > opts.length) throw invalid("selectable_count", `must be 1 to ${opts.length} (the number of options)`);
          return await api.send.sendPoll({ ...common(), question: q, options: opts, selectableCount: count }, { signal: ctx.signal });
        } catch (e) {
          pointAtOption(e);
          throw e;
        }
      },
    );
  };

  const connected = phone.status === PhoneStatus.CONNECTED;
  void loadGroupPick();
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
    // Came here to reply: the content is what is left to write (the URL or file, whichever shows).
    const content = 'form[data-kind] :is([name="message"], [name="url"], [name="file"], [name="lat"], [name="contact_name"], [name="question"])';
    Array.from(ctx.main.querySelectorAll<HTMLElement>(content)).find((el) => el.getClientRects().length > 0)?.focus();
  }
}

function statusPill(st: MessageStatus, reason?: string): HTMLElement {
  const [t, tone] = MESSAGE_STATUS[st];
  const p = pill(t, tone, t.toLowerCase());
  if (reason) p.title = reason;
  return p;
}
