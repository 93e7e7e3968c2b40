// Send: one form per kind of message the SendService sends, each optionally
// a reply (reply_to) and, for text and captions, with mentions. Contact
// cards and polls are checked here against the API's bounds first (the same
// messages, under the same fields); what only the API can tell (a number
// that is no phone number) comes back from it under the field it names.

import { Code, ConnectError } from "@connectrpc/connect";
import * as api from "../api";
import { h, icon, nextId, replace } from "../dom";
import { MESSAGE_STATUS, MESSAGE_STATUS_API, PHONE_STATUS, number, summary } from "../format";
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

type Kind = "text" | "image" | "video" | "document" | "audio" | "location" | "contact" | "poll";

const KINDS: { id: Kind; label: string }[] = [
  { id: "text", label: "Text" },
  { id: "image", label: "Image" },
  { id: "video", label: "Video" },
  { id: "document", label: "Document" },
  { id: "audio", label: "Audio" },
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

/** A refusal found before sending, worded and routed like the API's (`field: message`). */
function invalid(fieldName: string, message: string): ConnectError {
  return new ConnectError(`${fieldName}: ${message}`, Code.InvalidArgument);
}

/** Characters as the API counts them (code points, not UTF-16 units). */
function chars(s: string): number {
  return [...s].length;
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
    ctx.main.querySelector<HTMLElement>('form[data-kind] [name="message"], form[data-kind] [name="url"], form[data-kind] [name="lat"], form[data-kind] [name="contact_name"], form[data-kind] [name="question"]')?.focus();
  }
}

function statusPill(st: MessageStatus, reason?: string): HTMLElement {
  const [t, tone] = MESSAGE_STATUS[st];
  const p = pill(t, tone, t.toLowerCase());
  if (reason) p.title = reason;
  return p;
}
