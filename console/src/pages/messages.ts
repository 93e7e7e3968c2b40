// Messages: a phone's stored messages, newest first, by chat, with delivery
// ticks, replies shown with what they quote, reactions as chips under the
// message they are for, and new messages and reactions arriving live from
// the event stream. Each message can be replied to (the Send page, pre-filled)
// and reacted to (a small emoji popover).

import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import * as api from "../api";
import { h, icon, nextId, replace, type Child } from "../dom";
import { MESSAGE_STATUS, MESSAGE_STATUS_API, MESSAGE_TYPE, bytes, fmtDate, fmtShort, number } from "../format";
import { Direction, MessageStatus, MessageType } from "../gen/wadesk/v1/common_pb";
import { MessageSchema, type Message } from "../gen/wadesk/v1/message_pb";
import { listen, phonePicker, pickPhone, type PageCtx } from "../page";
import { href, navigate } from "../router";
import { events, streamState } from "../state";
import { btn, empty, fail, loading, pageHeader, spinner, toast } from "../ui";

/** The reactions the popover offers, with their names for screen readers. */
const REACTIONS: [string, string][] = [
  ["👍", "Thumbs up"],
  ["❤️", "Heart"],
  ["😂", "Laughing"],
  ["😮", "Surprised"],
  ["😢", "Sad"],
  ["🙏", "Thank you"],
];

/** The key of this phone's own reactions in a message's reaction map. */
const MINE = "";

const SVGNS = "http://www.w3.org/2000/svg";

/** WhatsApp-style ticks: a clock (queued), one tick (sent), two (delivered), two blue (read), "!" (failed). */
export function ticks(status: MessageStatus, reason?: string): HTMLElement {
  const [label] = MESSAGE_STATUS[status];
  const name = label.toLowerCase();
  const span = h("span", { class: `ticks ticks-${name}`, "data-status": name, title: reason ? `${label}: ${reason}` : label, role: "img", "aria-label": label });
  if (status === MessageStatus.FAILED) {
    span.appendChild(icon("alert"));
    return span;
  }
  if (status === MessageStatus.QUEUED || status === MessageStatus.UNSPECIFIED) {
    span.appendChild(icon("clock"));
    return span;
  }
  const svg = document.createElementNS(SVGNS, "svg");
  svg.setAttribute("viewBox", "0 0 18 12");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "tick-svg");
  const paths = status === MessageStatus.SENT ? ["M1.5 6.5l3.2 3.2L11 2.5"] : ["M1 6.5l3.2 3.2L10.5 2.5", "M7.2 9.2l.5.5L14 2.5"];
  for (const d of paths) {
    const p = document.createElementNS(SVGNS, "path");
    p.setAttribute("d", d);
    svg.appendChild(p);
  }
  span.appendChild(svg);
  return span;
}

function peerOf(m: Message): string {
  return m.direction === Direction.INBOUND ? m.from : m.to;
}

/** What a message page needs to draw one message. */
interface View {
  phoneId: string;
  inChat: boolean;
  /** A loaded message by ID. */
  find(id: string): Message | undefined;
  /** Scrolls to a loaded message and highlights it. */
  show(id: string): void;
  /** Opens the reaction popover of `m` at `button`. */
  react(m: Message, button: HTMLButtonElement): void;
}

export async function messagesPage(ctx: PageCtx): Promise<void> {
  ctx.title("Messages");
  const phone = await pickPhone(ctx, "messages");
  if (!phone) return;
  const phoneId = phone.phoneId;
  const chat = (ctx.route.query.get("chat") ?? "").replace(/[^\d]/g, "");
  const dirQ = ctx.route.query.get("dir");
  const direction = dirQ === "in" ? Direction.INBOUND : dirQ === "out" ? Direction.OUTBOUND : Direction.UNSPECIFIED;

  const go = (c: string | null, d: string | null): void => navigate(href(["messages", phoneId], { chat: c, dir: d }));

  // Filters
  const chatInput = h("input", { id: "chat-filter", type: "search", name: "chat", value: chat, placeholder: "Any number", inputmode: "tel", list: "chat-options", autocomplete: "off" });
  const chatOptions = h("datalist", { id: "chat-options" });
  const dirSelect = h(
    "select",
    { id: "dir-filter", name: "direction" },
    h("option", { value: "", selected: direction === Direction.UNSPECIFIED }, "Received and sent"),
    h("option", { value: "in", selected: direction === Direction.INBOUND }, "Received"),
    h("option", { value: "out", selected: direction === Direction.OUTBOUND }, "Sent"),
  );
  const filterForm = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": "Filter messages" },
    h("div", { class: "tool" }, h("label", { for: "chat-filter" }, "Chat"), chatInput, chatOptions),
    h("div", { class: "tool" }, h("label", { for: "dir-filter" }, "Show"), dirSelect),
    h("button", { type: "submit", class: "btn" }, icon("search"), "Filter"),
    chat || direction !== Direction.UNSPECIFIED ? btn("Clear", () => go(null, null), "btn btn-ghost") : null,
  );
  filterForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    go(chatInput.value.replace(/[^\d]/g, "") || null, dirSelect.value || null);
  });
  dirSelect.addEventListener("change", () => go(chat || null, dirSelect.value || null));

  const chatsList = h("ul", { class: "chat-list", id: "chat-list" });
  const list = h("div", { class: "msg-list", id: "msg-list", "aria-live": "polite", "aria-relevant": "additions" });
  const more = h("div", { class: "more" });

  replace(
    ctx.main,
    pageHeader("Messages", chat ? `Chat with ${number(chat)}` : "Newest first; received and sent.", phonePicker(ctx, "messages", phoneId, true)),
    filterForm,
    h(
      "div",
      { class: "msg-layout" },
      h("nav", { class: "chats card", "aria-label": "Chats" }, h("h2", { class: "side-title" }, "Chats"), chatsList),
      h("section", { class: "msg-col card", "aria-label": "Messages" }, list, more),
    ),
  );

  /** Loaded messages; reactions have no element of their own (el null). */
  const byId = new Map<string, { m: Message; el: HTMLElement | null }>();
  const order: string[] = [];
  /** Reactions by the message they are for: sender (MINE for this phone) -> that sender's latest reaction. */
  const reactions = new Map<string, Map<string, Message>>();
  let shown = 0;
  let nextToken = "";

  const matches = (m: Message): boolean =>
    (!chat || peerOf(m) === chat) && (direction === Direction.UNSPECIFIED || m.direction === direction);

  const renderChats = (): void => {
    const chats = new Map<string, { last: Message; count: number }>();
    for (const id of order) {
      const m = byId.get(id)?.m;
      if (!m) continue;
      const peer = peerOf(m);
      const c = chats.get(peer);
      if (!c) chats.set(peer, { last: m, count: 1 });
      else {
        c.count += 1;
        // A reaction taken back says little: the chat shows what came before it.
        if (takenBack(c.last) && !takenBack(m)) c.last = m;
      }
    }
    replace(chatOptions, [...chats.keys()].map((p) => h("option", { value: p })));
    const items = [
      h("li", null, h("a", { href: href(["messages", phoneId], { dir: dirQ }), class: "chat-item", "aria-current": chat ? undefined : "true" }, h("span", { class: "chat-all" }, "All chats"))),
      ...[...chats.entries()].map(([peer, c]) =>
        h(
          "li",
          null,
          h(
            "a",
            { href: href(["messages", phoneId], { chat: peer, dir: dirQ }), class: "chat-item", "aria-current": peer === chat ? "true" : undefined },
            h("span", { class: "chat-peer" }, number(peer)),
            h("span", { class: "chat-last" }, preview(c.last)),
            h("span", { class: "chat-time muted small" }, fmtShort(new Date(Number(c.last.timestamp) * 1000))),
          ),
        ),
      ),
    ];
    if (chat && !chats.has(chat)) {
      items.splice(1, 0, h("li", null, h("span", { class: "chat-item", "aria-current": "true" }, h("span", { class: "chat-peer" }, number(chat)))));
    }
    replace(chatsList, items);
  };

  const renderEmpty = (): void => {
    if (shown) return;
    replace(
      list,
      empty(
        chat ? `No messages with ${number(chat)} yet` : "No messages yet",
        "Messages this phone sends or receives appear here as they happen.",
        h("a", { href: href(["send", phoneId], chat ? { to: chat } : undefined), class: "btn btn-primary" }, icon("send"), "Send a message"),
      ),
    );
  };

  // ---- Reactions ----

  const renderReactions = (targetId: string): void => {
    const slot = byId.get(targetId)?.el?.querySelector(".reactions");
    if (slot) replace(slot, reactionChips(reactions.get(targetId)));
  };

  /**
   * Keeps `r` as its sender's reaction to the message it names: a newer one
   * (`newer`: it arrived live) replaces the sender's earlier one, an older one
   * (a page further back) never does; an empty emoji stays, as the removal.
   */
  const applyReaction = (r: Message, newer: boolean): void => {
    const target = r.replyTo;
    if (!target) return;
    const sender = r.direction === Direction.OUTBOUND ? MINE : r.from;
    let per = reactions.get(target);
    if (!per) {
      per = new Map();
      reactions.set(target, per);
    }
    const cur = per.get(sender);
    if (cur && cur.messageId !== r.messageId && !newer) return;
    per.set(sender, r);
    renderReactions(target);
  };

  // ---- Messages ----

  const view: View = {
    phoneId,
    inChat: !!chat,
    find: (id) => {
      const e = byId.get(id);
      return e?.el ? e.m : undefined;
    },
    show: (id) => {
      const el = byId.get(id)?.el;
      if (!el) return;
      el.tabIndex = -1;
      el.scrollIntoView({ block: "center", behavior: "smooth" });
      el.focus({ preventScroll: true });
      el.classList.remove("fresh");
      void el.offsetWidth; // restarts the highlight
      el.classList.add("fresh");
    },
    react: (m, button) => openReactions(m, button),
  };

  /** Redraws the quote of every loaded reply to `id` (it was just loaded). */
  const refreshQuotes = (id: string): void => {
    for (const e of byId.values()) {
      if (e.el && e.m.replyTo === id) e.el.querySelector(".quote")?.replaceWith(quoteEl(view, e.m)!);
    }
  };

  const add = (m: Message, atTop: boolean): void => {
    const old = byId.get(m.messageId);
    if (m.type === MessageType.REACTION) {
      if (!old) {
        if (atTop) order.unshift(m.messageId);
        else order.push(m.messageId);
      }
      byId.set(m.messageId, { m, el: null });
      applyReaction(m, atTop && !old);
      return;
    }
    const el = messageEl(view, m);
    replace(el.querySelector(".reactions")!, reactionChips(reactions.get(m.messageId)));
    if (old?.el) {
      if (openPop && old.el.contains(openPop.button)) openPop.close(false);
      old.el.replaceWith(el);
      byId.set(m.messageId, { m, el });
      return;
    }
    if (!shown) replace(list);
    shown += 1;
    byId.set(m.messageId, { m, el });
    if (atTop) {
      order.unshift(m.messageId);
      list.prepend(el);
      el.classList.add("fresh");
    } else {
      order.push(m.messageId);
      list.appendChild(el);
    }
    refreshQuotes(m.messageId);
  };

  // ---- The reaction popover (one open at a time) ----

  let openPop: { button: HTMLButtonElement; close(focus: boolean): void } | null = null;

  const openReactions = (m: Message, button: HTMLButtonElement): void => {
    if (openPop?.button === button) {
      openPop.close(true);
      return;
    }
    openPop?.close(false);
    const mine = reactions.get(m.messageId)?.get(MINE)?.text ?? "";
    const popId = nextId("react");
    const errId = `${popId}-err`;
    const err = h("div", { class: "react-error", id: errId, role: "alert" });
    const choices = [
      ...REACTIONS.map(([emoji, name]) =>
        h("button", { type: "button", class: "react-choice", "data-emoji": emoji, title: name, "aria-label": name, "aria-pressed": String(mine === emoji) }, emoji),
      ),
      h("button", { type: "button", class: "btn btn-small btn-ghost react-remove", "data-emoji": "", disabled: !mine, title: "Take your reaction back" }, "Remove"),
    ];
    const pop = h(
      "div",
      { class: "react-pop", id: popId, role: "group", "aria-label": "React to this message", "aria-describedby": errId },
      h("div", { class: "react-choices" }, choices),
      err,
    );
    let busy = false;
    const close = (focus: boolean): void => {
      pop.remove();
      button.setAttribute("aria-expanded", "false");
      button.removeAttribute("aria-controls");
      document.removeEventListener("pointerdown", outside, true);
      if (openPop?.button === button) openPop = null;
      if (focus) button.focus();
    };
    const outside = (ev: Event): void => {
      const t = ev.target as Node;
      if (!pop.contains(t) && !button.contains(t)) close(false);
    };
    const pick = async (emoji: string, b: HTMLButtonElement): Promise<void> => {
      if (busy) return;
      busy = true;
      err.textContent = "";
      b.setAttribute("aria-busy", "true");
      pop.classList.add("busy");
      try {
        const r = await api.send.reactToMessage({ phoneId, messageId: m.messageId, emoji }, { signal: ctx.signal });
        // Shown at once; the stored reaction (its status) follows from the event stream.
        add(
          create(MessageSchema, {
            messageId: r.messageId,
            phoneId,
            direction: Direction.OUTBOUND,
            from: phone.number,
            to: r.to || peerOf(m),
            type: MessageType.REACTION,
            text: emoji,
            replyTo: r.reactedTo || m.messageId,
            status: r.status,
            timestamp: BigInt(Math.floor(Date.now() / 1000)),
          }),
          true,
        );
        renderChats();
        close(true);
        toast(emoji ? `Reacted ${emoji}` : "Reaction removed");
      } catch (e) {
        if (api.isAbort(e)) return;
        const p = api.problem(e);
        if (p.code === Code.Unauthenticated) return;
        console.error("wadesk console: reaction failed", p);
        err.textContent = `${p.message}${p.retryAfter !== undefined ? ` Try again in ${p.retryAfter} s.` : ""}`;
      } finally {
        busy = false;
        pop.classList.remove("busy");
        b.removeAttribute("aria-busy");
      }
    };
    for (const c of choices) c.addEventListener("click", () => void pick(c.dataset.emoji ?? "", c));
    // Tabbing out of it closes it (a click elsewhere does too, see `outside`).
    pop.addEventListener("focusout", (ev) => {
      const next = ev.relatedTarget as Node | null;
      if (next && !pop.contains(next) && next !== button) close(false);
    });
    pop.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        ev.stopPropagation();
        close(true);
        return;
      }
      const keys: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
      const live = choices.filter((c) => !c.disabled);
      const i = live.indexOf(document.activeElement as HTMLButtonElement);
      let j = -1;
      if (ev.key in keys && i >= 0) j = (i + keys[ev.key]! + live.length) % live.length;
      else if (ev.key === "Home") j = 0;
      else if (ev.key === "End") j = live.length - 1;
      if (j >= 0) {
        ev.preventDefault();
        live[j]!.focus();
      }
    });
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-controls", popId);
    button.parentElement!.appendChild(pop);
    document.addEventListener("pointerdown", outside, true);
    openPop = { button, close };
    pop.scrollIntoView({ block: "nearest" });
    (choices.find((c) => c.dataset.emoji === mine && mine) ?? choices[0]!).focus({ preventScroll: true });
  };
  ctx.cleanup(() => openPop?.close(false));

  const loadPage = async (token: string): Promise<void> => {
    const res = await api.messages.listMessages({ phoneId, chat, direction, pageSize: 50, pageToken: token }, { signal: ctx.signal });
    for (const m of res.messages) add(m, false);
    nextToken = res.nextPageToken;
    renderMore();
    renderChats();
    renderEmpty();
  };

  const renderMore = (): void => {
    if (!nextToken) {
      replace(more, order.length ? h("p", { class: "muted small center" }, "That is all.") : null);
      return;
    }
    const b = btn("Load older messages", () => {
      replace(b, spinner(), "Loading…");
      b.disabled = true;
      loadPage(nextToken).catch((e: unknown) => {
        fail(e);
        renderMore();
      });
    });
    replace(more, b);
  };

  replace(list, loading("Loading messages…"));
  try {
    await loadPage("");
  } catch (e) {
    replace(list);
    fail(e);
    return;
  }

  const fetchOne = (messageId: string): void => {
    api.messages.getMessage({ phoneId, messageId }, { signal: ctx.signal }).then(
      (r) => {
        if (r.message && matches(r.message)) {
          add(r.message, !byId.has(r.message.messageId));
          renderChats();
        }
      },
      (e: unknown) => {
        if (!api.isAbort(e)) console.warn("wadesk console: could not read message", messageId, e);
      },
    );
  };

  listen(ctx, events, (ev) => {
    if (ev.phoneId !== phoneId) return;
    if (ev.event === "message.received") {
      const msg = ev.data.message as { id?: unknown } | undefined;
      if (msg && typeof msg.id === "string") fetchOne(msg.id);
    } else if (ev.event === "message.reaction") {
      // The payload is the whole reaction: no need to read it back.
      const msg = ev.data.message as { id?: unknown; emoji?: unknown; reacted_to?: unknown; timestamp?: unknown } | undefined;
      const from = typeof ev.data.from === "string" ? ev.data.from : "";
      if (!msg || typeof msg.id !== "string" || typeof msg.reacted_to !== "string" || !from) return;
      const r = create(MessageSchema, {
        messageId: msg.id,
        phoneId,
        direction: Direction.INBOUND,
        from,
        to: phone.number,
        type: MessageType.REACTION,
        text: typeof msg.emoji === "string" ? msg.emoji : "",
        replyTo: msg.reacted_to,
        status: MessageStatus.RECEIVED,
        timestamp: BigInt(typeof msg.timestamp === "number" ? Math.floor(msg.timestamp) : Math.floor(Date.now() / 1000)),
      });
      if (!matches(r)) return;
      add(r, !byId.has(r.messageId));
      renderChats();
    } else if (ev.event === "message.status") {
      const id = typeof ev.data.message_id === "string" ? ev.data.message_id : "";
      const st = typeof ev.data.status === "string" ? MESSAGE_STATUS_API[ev.data.status] : undefined;
      const known = byId.get(id);
      if (known && st !== undefined) {
        known.m.status = st;
        const reason = typeof ev.data.reason === "string" ? ev.data.reason : undefined;
        if (reason) known.m.reason = reason;
        if (known.el) {
          known.el.dataset.status = MESSAGE_STATUS[st][0].toLowerCase();
          known.el.querySelector(".ticks")?.replaceWith(ticks(st, reason));
        } else if (known.m.replyTo) {
          renderReactions(known.m.replyTo);
        }
      } else if (id && !known) {
        fetchOne(id);
      }
    }
  });
  // Events missed while the stream was down: read the newest page again.
  listen(ctx, streamState, (up) => {
    if (!up) return;
    api.messages.listMessages({ phoneId, chat, direction, pageSize: 50 }, { signal: ctx.signal }).then(
      (res) => {
        for (const m of [...res.messages].reverse()) add(m, !byId.has(m.messageId));
        renderChats();
      },
      (e: unknown) => fail(e),
    );
  });
}

function takenBack(m: Message): boolean {
  return m.type === MessageType.REACTION && !m.text;
}

function preview(m: Message): string {
  if (m.type === MessageType.REACTION) {
    const who = m.direction === Direction.OUTBOUND ? "You" : number(m.from);
    return m.text ? `${who} reacted ${m.text}` : `${who} took a reaction back`;
  }
  if (m.text) return m.text.length > 60 ? `${m.text.slice(0, 60)}…` : m.text;
  return MESSAGE_TYPE[m.type];
}

/** The chips under a message: each sender's latest reaction ("you" for this phone's own); none for a removed one. */
function reactionChips(per: Map<string, Message> | undefined): HTMLElement[] {
  if (!per) return [];
  return [...per.entries()]
    .filter(([, r]) => r.text)
    .sort(([a], [b]) => (a === MINE ? 1 : b === MINE ? -1 : a.localeCompare(b)))
    .map(([sender, r]) => {
      const who = sender === MINE ? "you" : number(sender);
      const failed = r.status === MessageStatus.FAILED;
      const pending = r.status === MessageStatus.QUEUED;
      const title = `${sender === MINE ? "You" : who} reacted ${r.text}${failed ? `; not sent${r.reason ? `: ${r.reason}` : ""}` : pending ? " (waiting to be sent)" : ""}`;
      return h(
        "li",
        { class: `reaction${failed ? " failed" : ""}${pending ? " pending" : ""}`, "data-emoji": r.text, "data-from": sender === MINE ? "you" : sender, title },
        h("span", { class: "reaction-emoji" }, r.text),
        h("span", { class: "reaction-who" }, who),
        failed ? h("span", { class: "visually-hidden" }, " (not sent)") : null,
      );
    });
}

/** What a reply quotes: the quoted message when it is loaded (a click shows it), else its ID. */
function quoteEl(view: View, m: Message): HTMLElement | null {
  const id = m.replyTo;
  if (!id) return null;
  const q = view.find(id);
  if (!q) return h("div", { class: "quote missing", "data-quote": id }, "Reply to ", h("code", null, id));
  const who = q.direction === Direction.INBOUND ? number(q.from) : "You";
  return h(
    "button",
    { type: "button", class: "quote", "data-quote": id, title: "Show the quoted message", onclick: () => view.show(id) },
    h("span", { class: "visually-hidden" }, "In reply to "),
    h("span", { class: "quote-who" }, who),
    h("span", { class: "quote-text" }, preview(q)),
  );
}

/** The text with each mentioned number's @number highlighted. */
function withMentions(text: string, mentions: string[]): Child[] {
  if (!mentions.length) return [text];
  const wanted = new Set(mentions);
  const out: Child[] = [];
  let last = 0;
  for (const match of text.matchAll(/@(\d+)/g)) {
    const digits = match[1]!;
    if (!wanted.has(digits)) continue;
    out.push(text.slice(last, match.index), h("span", { class: "mention", title: `Mentions ${number(digits)}` }, match[0]));
    last = match.index + match[0].length;
  }
  out.push(text.slice(last));
  return out;
}

function messageEl(view: View, m: Message): HTMLElement {
  const { phoneId, inChat } = view;
  const inbound = m.direction === Direction.INBOUND;
  const when = new Date(Number(m.timestamp) * 1000);
  const status = MESSAGE_STATUS[m.status][0].toLowerCase();
  const reactBtn = h(
    "button",
    { type: "button", class: "btn btn-small btn-ghost msg-action msg-react", "aria-expanded": "false" },
    icon("smile"),
    h("span", null, "React"),
  );
  reactBtn.addEventListener("click", () => view.react(m, reactBtn));
  return h(
    "article",
    { class: `msg ${inbound ? "in" : "out"}`, "data-message-id": m.messageId, "data-status": status, "data-peer": peerOf(m) },
    h(
      "div",
      { class: "msg-meta" },
      icon(inbound ? "arrowIn" : "arrowOut", "icon dir-icon"),
      h("span", { class: "visually-hidden" }, inbound ? "Received from" : "Sent to"),
      inChat ? null : h("a", { class: "msg-peer", href: href(["messages", phoneId], { chat: peerOf(m) }) }, number(peerOf(m))),
      m.sentByBot ? h("span", { class: "badge" }, "AI bot") : null,
      m.bulkId ? h("a", { class: "badge", href: href(["bulk", phoneId, m.bulkId]) }, "Campaign") : null,
    ),
    h(
      "div",
      { class: "bubble" },
      quoteEl(view, m),
      content(phoneId, m),
      h("div", { class: "msg-foot" }, h("time", { datetime: when.toISOString(), title: fmtDate(when, true) }, fmtShort(when)), inbound ? null : ticks(m.status, m.reason)),
    ),
    m.status === MessageStatus.FAILED && m.reason ? h("div", { class: "msg-reason" }, m.reason) : null,
    h(
      "div",
      { class: "msg-under" },
      h("ul", { class: "reactions", "aria-label": "Reactions" }),
      h(
        "div",
        { class: "msg-actions" },
        h(
          "a",
          { class: "btn btn-small btn-ghost msg-action msg-reply", href: href(["send", phoneId], { to: peerOf(m), reply_to: m.messageId }) },
          icon("reply"),
          h("span", null, "Reply"),
        ),
        reactBtn,
      ),
    ),
  );
}

function content(phoneId: string, m: Message): HTMLElement[] {
  const out: HTMLElement[] = [];
  const url = api.mediaUrl(phoneId, m.messageId);
  const media = m.media;
  const download = (label: string): HTMLElement =>
    h("a", { href: url, class: "media-download", download: media?.filename ?? "", target: "_blank", rel: "noopener" }, icon("download"), label);
  switch (m.type) {
    case MessageType.IMAGE:
    case MessageType.STICKER: {
      const img = h("img", { src: url, alt: m.text || `${MESSAGE_TYPE[m.type]} from ${number(peerOf(m))}`, loading: "lazy", class: m.type === MessageType.STICKER ? "media-sticker" : "media-img" });
      const link = h("a", { href: url, target: "_blank", rel: "noopener", class: "media-link", title: "Open the full image" }, img);
      img.addEventListener("error", () => {
        link.replaceWith(
          h(
            "div",
            { class: "media-missing", title: "The phone must be connected, and WhatsApp keeps media for a limited time." },
            icon("alert"),
            h("span", null, `${MESSAGE_TYPE[m.type]} not available`),
            download("Try again"),
          ),
        );
      });
      out.push(link);
      break;
    }
    case MessageType.VIDEO:
      out.push(h("video", { src: url, controls: true, preload: "none", class: "media-video" }), download(`Download video${media ? ` (${bytes(media.size)})` : ""}`));
      break;
    case MessageType.AUDIO:
      out.push(h("audio", { src: url, controls: true, preload: "none", class: "media-audio" }), download(`Download audio${media ? ` (${bytes(media.size)})` : ""}`));
      break;
    case MessageType.DOCUMENT:
      out.push(
        h(
          "div",
          { class: "media-doc" },
          icon("file"),
          h("div", null, h("div", { class: "doc-name" }, media?.filename ?? "Document"), h("div", { class: "muted small" }, media ? `${media.mimeType} · ${bytes(media.size)}` : "")),
          download("Download"),
        ),
      );
      break;
    case MessageType.LOCATION: {
      const l = m.location;
      out.push(
        h(
          "div",
          { class: "media-loc" },
          icon("pin"),
          h("div", null, h("div", null, l?.name || "Location"), l ? h("div", { class: "muted small mono" }, `${l.lat.toFixed(5)}, ${l.lng.toFixed(5)}`) : null),
        ),
      );
      break;
    }
    case MessageType.TEXT:
      break;
    default:
      out.push(h("div", { class: "muted small" }, `${MESSAGE_TYPE[m.type]} message`));
  }
  if (m.text) out.push(h("div", { class: "msg-text" }, withMentions(m.text, m.mentions)));
  const unwritten = m.mentions.filter((n) => !m.text || !new RegExp(`@${n}(?!\\d)`).test(m.text));
  if (unwritten.length) out.push(h("div", { class: "msg-mentions muted small" }, "Mentions ", unwritten.map((n, i) => [i ? ", " : "", h("span", { class: "mention" }, number(n))])));
  return out;
}
