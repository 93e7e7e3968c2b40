// Messages: a phone's stored messages, newest first, by chat, with delivery
// ticks, replies shown with what they quote, reactions as chips under the
// message they are for, and new messages and reactions arriving live from
// the event stream. Each message can be replied to (the Send page, pre-filled)
// and reacted to (a small emoji popover); the phone's own texts can be
// edited for 15 minutes and its own messages deleted for everyone. Edited
// messages show their earlier texts, deleted ones "This message was deleted",
// whoever made the change (message.edited / message.revoked live).
//
// The chats panel is ListChats: each chat's name, newest message and unread
// count, most recent first, paged, read again (debounced) on every message
// event. An open chat is marked read (MarkChatRead) while it has unread
// messages, and has a composer: SendText to that chat (Enter sends), a
// Reply there quotes into it, and typing shows the other side "typing..."
// (SendTyping COMPOSING at most every 5 s, PAUSED after 3 s or on sending).
//
// Contact cards show each name with its numbers (a number opens Send to it),
// polls their options with the tallies (read again on each poll.vote event;
// the votes themselves are no bubbles), voice notes a player, and forwarded
// messages a "Forwarded" label. Forward (ForwardMessage) sends a copy of a
// message on to another number.
//
// A contact's typing (chat.typing) shows as "typing…" or "recording audio…"
// under the open chat's name and in place of their chat's preview, until
// they pause, their message arrives or 25 s pass without news.

import { clone, create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import * as api from "../api";
import { h, icon, nextId, replace, type Child } from "../dom";
import { MESSAGE_STATUS, MESSAGE_STATUS_API, MESSAGE_TYPE, bytes, clock, fmtDate, fmtShort, number, plural, summary, tsDate } from "../format";
import { Direction, MessageStatus, MessageType, type ContactCard } from "../gen/wadesk/v1/common_pb";
import { MessageSchema, type Chat, type Message, type Poll } from "../gen/wadesk/v1/message_pb";
import { TypingState } from "../gen/wadesk/v1/send_pb";
import { every, listen, phonePicker, pickPhone, type PageCtx } from "../page";
import { href, navigate } from "../router";
import { events, streamState, typingChanged, typingIn, type ContactTyping } from "../state";
import { groupKey, isGroupId } from "./groups";
import { actionDialog, btn, copyText, empty, fail, field, keepFocus, loading, notice, pageHeader, spinner, toast } from "../ui";

/** The reactions the popover offers, with their names for screen readers. */
const REACTIONS: [string, string][] = [
  ["👍", "Thumbs up"],
  ["❤️", "Heart"],
  ["😂", "Laughing"],
  ["😮", "Surprised"],
  ["😢", "Sad"],
  ["🙏", "Thank you"],
];

/** What a contact's typing shows as, WhatsApp's words. */
const TYPING_TEXT: Record<ContactTyping, string> = {
  composing: "typing…",
  recording: "recording audio…",
};

/** The key of this phone's own reactions in a message's reaction map. */
const MINE = "";

/** How long WhatsApp lets a sender edit a text (seconds). */
const EDIT_WINDOW = 15 * 60;

/** What a deleted message shows instead of its content. */
const DELETED = "This message was deleted";

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

/** Group names by id, read once a page (ListGroups): a send to a group shows as its chat. */
const groupNames = new Map<string, string>();

/** A chat or peer that is a group: its name and its page (messages are listed by number only). */
function groupPeer(phoneId: string, id: string): { label: string; name: string | undefined; link: string } | null {
  if (!isGroupId(id)) return null;
  const full = id.includes("@") ? id : `${id}@g.us`;
  const name = groupNames.get(full);
  return { label: name ? `Group “${name}”` : `Group ${groupKey(full)}`, name, link: href(["groups", phoneId, groupKey(full)]) };
}

function peerOf(m: Message): string {
  return m.direction === Direction.INBOUND ? m.from : m.to;
}

/** Above a message: whom it is with, linking to that chat (a group: to its page). */
function peerLink(phoneId: string, peer: string): HTMLElement {
  const g = groupPeer(phoneId, peer);
  if (g) return h("a", { class: "msg-peer msg-group", href: g.link, title: peer }, g.label);
  return h("a", { class: "msg-peer", href: href(["messages", phoneId], { chat: peer }) }, number(peer));
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
  /** Opens the editor of `m` (a text this phone sent). */
  edit(m: Message): void;
  /** Asks, then deletes `m` (a message this phone sent) for everyone. */
  revoke(m: Message): void;
  /** Asks for a number, then forwards `m` to it. */
  forward(m: Message): void;
  /** Quotes `m` in the open chat's composer (absent: Reply opens the Send page). */
  reply?: (m: Message) => void;
}

/** After the last keystroke, how long until the other side is told typing paused (ms). */
const TYPING_PAUSE = 3000;
/** While typing, how often COMPOSING is sent again at most (ms). */
const TYPING_EVERY = 5000;

/**
 * An edit or deletion this phone asked for: the stored message follows only
 * once WhatsApp took it, the page shows it at once (marked pending) until then.
 */
interface Change {
  kind: "edit" | "revoke";
  /** The edit's or deletion's own message ID. */
  changeId: string;
  /** The new text (edits). */
  text: string;
}

/** Whether the stored message `m` shows `c` already. */
function reflects(m: Message, c: Change): boolean {
  return c.kind === "revoke" ? !!m.revokedAt : !!m.editedAt && m.text === c.text;
}

/** `m` as it is once `c` is applied. */
function applied(m: Message, c: Change): Message {
  const v = clone(MessageSchema, m);
  if (c.kind === "revoke") {
    v.revokedAt = timestampNow();
    v.text = undefined;
    v.media = undefined;
    v.location = undefined;
    v.contacts = [];
    v.poll = undefined;
    v.mentions = [];
    v.earlierTexts = [];
  } else {
    v.earlierTexts = [...m.earlierTexts, m.text ?? ""];
    v.text = c.text;
    v.editedAt = timestampNow();
  }
  return v;
}

/** Rows that only change another message: never a bubble of their own (a vote changes its poll's tallies). */
function isChange(m: Message): boolean {
  return m.type === MessageType.EDIT || m.type === MessageType.REVOKE || m.type === MessageType.POLL_VOTE;
}

/** What ForwardMessage takes: content WhatsApp forwards (not polls, reactions, changes). */
const FORWARDABLE = new Set<MessageType>([
  MessageType.TEXT,
  MessageType.IMAGE,
  MessageType.VIDEO,
  MessageType.DOCUMENT,
  MessageType.AUDIO,
  MessageType.VOICE,
  MessageType.STICKER,
  MessageType.LOCATION,
  MessageType.CONTACT,
]);

/** Whether `m` can be forwarded: forwardable content, not deleted, not a send that failed. */
function forwardable(m: Message): boolean {
  return FORWARDABLE.has(m.type) && !m.revokedAt && !(m.direction === Direction.OUTBOUND && m.status === MessageStatus.FAILED);
}

/** Whether this phone can still edit `m`: a text it sent, not deleted, younger than 15 minutes. */
function editable(m: Message, now = Date.now()): boolean {
  return (
    m.direction === Direction.OUTBOUND &&
    m.type === MessageType.TEXT &&
    !m.revokedAt &&
    m.status !== MessageStatus.FAILED &&
    Number(m.timestamp) + EDIT_WINDOW > now / 1000
  );
}

/** Whether this phone can delete `m` for everyone: a message it sent, not deleted already. */
function revocable(m: Message): boolean {
  return m.direction === Direction.OUTBOUND && m.type !== MessageType.REACTION && !isChange(m) && !m.revokedAt && m.status !== MessageStatus.FAILED;
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

  const chatsList = h("ul", { class: "chat-list", id: "chat-list", "aria-busy": "true" });
  const chatsMore = h("div", { class: "chats-more" });
  const list = h("div", { class: "msg-list", id: "msg-list", "aria-live": "polite", "aria-relevant": "additions" });
  const more = h("div", { class: "more" });
  /** Where a failed MarkChatRead says so (with Try again). */
  const readNote = h("div", { class: "read-note", id: "read-note" });
  const sub = h("span", null, chat ? `Chat with ${number(chat)}` : "Newest first; received and sent.");
  /** Under the open chat's name: what the contact is doing (typing, recording), as on a phone. */
  const typingLine = chat ? h("span", { class: "chat-typing", id: "chat-typing", role: "status" }) : null;
  const renderTyping = (): void => {
    if (!typingLine) return;
    const st = typingIn(phoneId, chat);
    typingLine.textContent = st ? TYPING_TEXT[st] : "";
    if (st) typingLine.dataset.state = st;
    else delete typingLine.dataset.state;
  };
  renderTyping();

  replace(
    ctx.main,
    pageHeader("Messages", [sub, typingLine], phonePicker(ctx, "messages", phoneId, true)),
    filterForm,
    h(
      "div",
      { class: "msg-layout" },
      h("nav", { class: "chats card", "aria-label": "Chats" }, h("h2", { class: "side-title" }, "Chats"), chatsList, chatsMore),
      h("section", { class: `msg-col card${chat ? " in-chat" : ""}`, "aria-label": chat ? `Chat with ${number(chat)}` : "Messages" }, readNote, list, more),
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

  // ---- The chats panel (ListChats) ----

  /** The chats loaded, most recent first. */
  let chats: Chat[] = [];
  /** The next page of chats ("" when all are loaded). */
  let chatsToken = "";
  let chatsLoaded = false;
  /** Failed to load the chats at all: what to show instead. */
  let chatsError = "";
  /** Names seen per chat: ListChats names a chat only while its newest message is theirs. */
  const names = new Map<string, string>();
  const nameOf = (c: Chat): string | undefined => {
    if (c.name) names.set(c.chat, c.name);
    return c.name || names.get(c.chat);
  };

  const chatItem = (c: Chat): HTMLElement => {
    const last = c.lastMessage;
    const n = c.unread;
    const group = groupPeer(phoneId, c.chat);
    const name = group ? (group.name ?? "Group") : nameOf(c);
    const typing = typingIn(phoneId, c.chat);
    const when = last ? new Date(Number(last.timestamp) * 1000) : null;
    return h(
      "li",
      null,
      h(
        "a",
        {
          href: group ? group.link : href(["messages", phoneId], { chat: c.chat, dir: dirQ }),
          class: `chat-item${n ? " unread" : ""}${group ? " chat-group" : ""}`,
          title: group ? `${group.label}: open the group` : undefined,
          "data-chat": c.chat,
          "data-unread": String(n),
          "data-typing": typing,
          "aria-current": c.chat === chat ? "true" : undefined,
        },
        h(
          "span",
          { class: "chat-peer" },
          name ? h("span", { class: "chat-name" }, name) : null,
          group ? h("span", { class: "chat-number chat-group-id" }, "Group · ", groupKey(c.chat)) : h("span", { class: "chat-number" }, number(c.chat)),
        ),
        when ? h("time", { class: "chat-time muted small", datetime: when.toISOString(), title: fmtDate(when, true) }, fmtShort(when)) : null,
        h(
          "span",
          { class: "chat-last" },
          typing
            ? h("span", { class: "chat-typing-preview" }, TYPING_TEXT[typing])
            : last
              ? [last.direction === Direction.OUTBOUND ? h("span", { class: "chat-you" }, "You: ") : null, preview(displayed(last))]
              : "",
        ),
        n
          ? h("span", { class: "chat-unread", title: `${n} unread` }, String(n), h("span", { class: "visually-hidden" }, n === 1 ? " unread message" : " unread messages"))
          : null,
      ),
    );
  };

  const renderChats = (): void => {
    replace(chatOptions, chats.filter((c) => !isGroupId(c.chat)).map((c) => h("option", { value: c.chat }, nameOf(c))));
    const items: HTMLElement[] = [
      h("li", null, h("a", { href: href(["messages", phoneId], { dir: dirQ }), class: "chat-item", "aria-current": chat ? undefined : "true" }, h("span", { class: "chat-all" }, "All chats"))),
      ...chats.map(chatItem),
    ];
    const open = chat ? chats.find((c) => c.chat === chat) : undefined;
    if (chat && !open) {
      items.splice(1, 0, h("li", null, h("span", { class: "chat-item", "aria-current": "true", "data-chat": chat }, h("span", { class: "chat-peer" }, h("span", { class: "chat-number" }, number(chat))))));
    }
    if (chatsError) items.push(h("li", { class: "chat-note bad small" }, `Chats not loaded: ${chatsError}`));
    else if (chatsLoaded && !chats.length) items.push(h("li", { class: "chat-note muted small" }, "No chats yet."));
    else if (!chatsLoaded) items.push(h("li", { class: "chat-note" }, loading("Loading chats…")));
    keepFocus(chatsList, () => replace(chatsList, items));
    chatsList.setAttribute("aria-busy", String(!chatsLoaded));
    const openName = open ? nameOf(open) : undefined;
    if (chat && openName) sub.textContent = `Chat with ${openName} (${number(chat)})`;
    renderChatsMore();
  };

  const renderChatsMore = (): void => {
    if (chatsError) {
      replace(chatsMore, btn("Try again", () => reloadChats(0), "btn btn-small", "refresh"));
      return;
    }
    if (!chatsToken) {
      replace(chatsMore);
      return;
    }
    const b = btn("Load more", () => {
      b.disabled = true;
      replace(b, spinner(), "Loading…");
      moreChats().catch((e: unknown) => {
        fail(e);
        renderChatsMore();
      });
    }, "btn btn-small btn-block load-more-chats");
    replace(chatsMore, b);
  };

  let chatsSeq = 0;
  /** Reads the chats again from the top, as many as are loaded (the list stays as long). */
  const fetchChats = async (): Promise<void> => {
    const seq = ++chatsSeq;
    const res = await api.messages.listChats({ phoneId, pageSize: Math.min(500, Math.max(50, chats.length)) }, { signal: ctx.signal });
    if (seq !== chatsSeq) return;
    chats = res.chats;
    chatsToken = res.nextPageToken;
    chatsLoaded = true;
    chatsError = "";
    renderChats();
    autoRead();
    if (!groupsAsked && chats.some((c) => isGroupId(c.chat) && !groupNames.has(c.chat))) void nameGroups();
  };

  /** Names the group chats (sends to a group) by their subjects, once a page; left as ids if it fails. */
  let groupsAsked = false;
  const nameGroups = async (): Promise<void> => {
    groupsAsked = true;
    try {
      const res = await api.groups.listGroups({ phoneId }, { signal: ctx.signal });
      for (const g of res.groups) groupNames.set(g.groupId, g.subject || groupKey(g.groupId));
    } catch {
      return;
    }
    renderChats();
    for (const a of ctx.main.querySelectorAll<HTMLAnchorElement>("a.msg-group")) {
      const g = groupPeer(phoneId, a.title);
      if (g) a.textContent = g.label;
    }
  };

  const moreChats = async (): Promise<void> => {
    const seq = chatsSeq;
    const res = await api.messages.listChats({ phoneId, pageSize: 50, pageToken: chatsToken }, { signal: ctx.signal });
    if (seq !== chatsSeq) {
      // The list was read again meanwhile: that answer decides.
      renderChatsMore();
      return;
    }
    const seen = new Set(chats.map((c) => c.chat));
    chats = [...chats, ...res.chats.filter((c) => !seen.has(c.chat))];
    chatsToken = res.nextPageToken;
    renderChats();
    autoRead();
  };

  let chatsTimer: ReturnType<typeof setTimeout> | undefined;
  /** Reads the chats again after `delay` ms; calls in between collapse into one. */
  const reloadChats = (delay = 400): void => {
    clearTimeout(chatsTimer);
    chatsTimer = setTimeout(() => {
      fetchChats().catch((e: unknown) => {
        if (api.isAbort(e)) return;
        if (!chatsLoaded) {
          const p = api.problem(e);
          chatsError = p.message || api.codeText(p.code);
          renderChats();
        }
        fail(e, null, "Chats not loaded");
      });
    }, delay);
  };
  ctx.cleanup(() => clearTimeout(chatsTimer));

  // ---- Reading the open chat (MarkChatRead) ----

  let reading = false;
  /** The unread count a MarkChatRead failed at: not tried again by itself until it changes. */
  let readFailedAt = -1;
  /** An open chat the loaded pages do not list: marked read once, in case. */
  let unlistedTried = false;

  const markRead = async (): Promise<void> => {
    if (!chat || reading) return;
    reading = true;
    const before = chats.find((c) => c.chat === chat)?.unread ?? 0;
    const seq = chatsSeq;
    try {
      await api.send.markChatRead({ phoneId, chat }, { signal: ctx.signal });
      readFailedAt = -1;
      replace(readNote);
      const row = chats.find((c) => c.chat === chat);
      if (row) row.unread = 0;
      renderChats();
      // The list was read again meanwhile (a message came in): its count may be newer than this.
      if (seq !== chatsSeq) reloadChats(0);
    } catch (e) {
      if (api.isAbort(e)) return;
      const p = api.problem(e);
      if (p.code === Code.Unauthenticated) return;
      console.error("wadesk console: marking the chat read failed", p);
      readFailedAt = before;
      replace(
        readNote,
        notice(
          "bad",
          h("span", { class: "read-error" }, `Could not mark this chat read: ${p.message}${p.retryAfter !== undefined ? ` Try again in ${p.retryAfter} s.` : ""}`),
          " ",
          btn("Try again", () => void markRead(), "btn btn-small", "refresh"),
        ),
      );
    } finally {
      reading = false;
    }
  };

  /** Marks the open chat read when it has unread messages and the page is in view. */
  const autoRead = (): void => {
    if (!chat || reading || document.visibilityState !== "visible") return;
    const row = chats.find((c) => c.chat === chat);
    if (row) {
      if (row.unread > 0 && row.unread !== readFailedAt) void markRead();
    } else if (chatsToken && !unlistedTried) {
      unlistedTried = true;
      void markRead();
    }
  };
  const onVisible = (): void => autoRead();
  document.addEventListener("visibilitychange", onVisible);
  ctx.cleanup(() => document.removeEventListener("visibilitychange", onVisible));

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

  // ---- Edits and deletions this phone asked for, by the message they change ----

  const changes = new Map<string, Change>();

  /** A stored message as the page shows it: with this phone's change still on its way. */
  const displayed = (m: Message): Message => {
    const c = changes.get(m.messageId);
    return c && !reflects(m, c) ? applied(m, c) : m;
  };

  // ---- Messages ----

  const view: View = {
    phoneId,
    inChat: !!chat,
    find: (id) => {
      const e = byId.get(id);
      return e?.el ? displayed(e.m) : undefined;
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
    edit: (m) => void editMessage(m),
    revoke: (m) => void revokeMessage(m),
    forward: (m) => void forwardMessage(m),
  };

  /** Redraws the quote of every loaded reply to `id` (it was just loaded). */
  const refreshQuotes = (id: string): void => {
    for (const e of byId.values()) {
      if (e.el && e.m.replyTo === id) e.el.querySelector(".quote")?.replaceWith(quoteEl(view, e.m)!);
    }
  };

  const add = (m: Message, atTop: boolean): void => {
    const old = byId.get(m.messageId);
    if (m.type === MessageType.REACTION || isChange(m)) {
      if (!old) {
        if (atTop) order.unshift(m.messageId);
        else order.push(m.messageId);
      }
      byId.set(m.messageId, { m, el: null });
      if (m.type === MessageType.REACTION) applyReaction(m, atTop && !old);
      // A change that arrived now: the message it changes is read again.
      else if (atTop && !old && m.replyTo) refresh(m.replyTo);
      return;
    }
    const c = changes.get(m.messageId);
    if (c && reflects(m, c)) changes.delete(m.messageId);
    const shownNow = displayed(m);
    const el = messageEl(view, shownNow, changes.has(m.messageId));
    const slot = el.querySelector(".reactions");
    if (slot) replace(slot, reactionChips(reactions.get(m.messageId)));
    if (old?.el) {
      if (openPop && old.el.contains(openPop.button)) openPop.close(false);
      const had = old.el.contains(document.activeElement) ? (document.activeElement as HTMLElement) : null;
      const changed = old.el.dataset.text !== el.dataset.text || old.el.dataset.revoked !== el.dataset.revoked || old.el.dataset.tally !== el.dataset.tally;
      old.el.replaceWith(el);
      byId.set(m.messageId, { m, el });
      if (changed) el.classList.add("fresh");
      // Keyboard focus stays where it was (the same action, else the message).
      if (had) {
        const again = had.dataset.action ? el.querySelector<HTMLElement>(`[data-action="${had.dataset.action}"]`) : null;
        if (again) again.focus({ preventScroll: true });
        else {
          el.tabIndex = -1;
          el.focus({ preventScroll: true });
        }
      }
      if (changed) refreshQuotes(m.messageId);
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

  /** Reads a loaded message again (it changed) and redraws it. */
  const refresh = (messageId: string): void => {
    if (!byId.get(messageId)?.el) return;
    api.messages.getMessage({ phoneId, messageId }, { signal: ctx.signal }).then(
      (r) => {
        if (r.message && byId.get(messageId)?.el) {
          add(r.message, false);
          renderChats();
        }
      },
      (e: unknown) => {
        if (!api.isAbort(e)) console.warn("wadesk console: could not read message", messageId, e);
      },
    );
  };

  /** Redraws a loaded message from what is stored (e.g. a change of it was given up). */
  const redraw = (messageId: string): void => {
    const e = byId.get(messageId);
    if (e?.el) add(e.m, false);
    renderChats();
  };

  /**
   * Shows a change the API accepted: the message changes at once (pending),
   * the change's own row is kept (its message.status events say when it
   * went out), and the message is read again now and a little later.
   */
  const accepted = (m: Message, c: Change, status: MessageStatus, to: string): void => {
    changes.set(m.messageId, c);
    add(
      create(MessageSchema, {
        messageId: c.changeId,
        phoneId,
        direction: Direction.OUTBOUND,
        from: phone.number,
        to: to || peerOf(m),
        type: c.kind === "edit" ? MessageType.EDIT : MessageType.REVOKE,
        text: c.kind === "edit" ? c.text : undefined,
        replyTo: m.messageId,
        status,
        timestamp: BigInt(Math.floor(Date.now() / 1000)),
      }),
      true,
    );
    redraw(m.messageId);
    if (status === MessageStatus.FAILED) {
      changeFailed(byId.get(c.changeId)!.m, undefined);
      return;
    }
    for (const ms of [1500, 5000]) {
      const t = setTimeout(() => refresh(m.messageId), ms);
      ctx.cleanup(() => clearTimeout(t));
    }
  };

  /** A change of ours that WhatsApp did not take: the message shows what is stored again. */
  const changeFailed = (row: Message, reason: string | undefined): void => {
    const target = row.replyTo;
    if (!target) return;
    const c = changes.get(target);
    if (!c || c.changeId !== row.messageId) return;
    changes.delete(target);
    redraw(target);
    toast(`${c.kind === "edit" ? "The edit" : "The deletion"} was not sent${reason ? `: ${reason}` : ""}`, "bad");
  };

  /** Puts the keyboard focus back on a message's action after a dialog (or on the message). */
  const refocus = (messageId: string, action: string): void => {
    const el = byId.get(messageId)?.el;
    if (!el) return;
    const b = el.querySelector<HTMLElement>(`[data-action="${action}"]`);
    if (b) b.focus();
    else {
      el.tabIndex = -1;
      el.focus();
    }
  };

  const editMessage = async (m: Message): Promise<void> => {
    const before = displayed(m).text ?? "";
    const input = h("textarea", { name: "text", rows: 4, required: true, spellcheck: "true" });
    input.value = before;
    await actionDialog({
      title: "Edit message",
      class: "msg-dialog",
      body: field(
        "Text",
        input,
        `To ${number(peerOf(m))}. WhatsApp allows edits for 15 minutes after sending; their phone shows the new text, marked edited. Ctrl+Enter saves, Escape cancels.`,
      ),
      confirm: "Save",
      focus: input,
      signal: ctx.signal,
      run: async () => {
        const text = input.value;
        if (!text.trim()) return "Write the new text (or Cancel; to remove the message, delete it for everyone).";
        if (text === before) return "The text is unchanged.";
        const r = await api.send.editMessage({ phoneId, messageId: m.messageId, text }, { signal: ctx.signal });
        accepted(m, { kind: "edit", changeId: r.messageId, text }, r.status, r.to);
        toast("Message edited");
        return undefined;
      },
    });
    if (!ctx.signal.aborted) refocus(m.messageId, "edit");
  };

  const revokeMessage = async (m: Message): Promise<void> => {
    const shownNow = displayed(m);
    const done = await actionDialog({
      title: "Delete for everyone?",
      class: "msg-dialog",
      body: [
        h("p", null, `The message disappears from ${number(peerOf(m))}'s phone too: they see "${DELETED}". Here, only that note stays. This cannot be undone.`),
        h("blockquote", { class: "dialog-quote" }, preview(shownNow)),
      ],
      confirm: "Delete for everyone",
      danger: true,
      signal: ctx.signal,
      run: async () => {
        const r = await api.send.revokeMessage({ phoneId, messageId: m.messageId }, { signal: ctx.signal });
        accepted(m, { kind: "revoke", changeId: r.messageId, text: "" }, r.status, r.to);
        toast("Deleted for everyone");
        return undefined;
      },
    });
    if (!ctx.signal.aborted) refocus(m.messageId, done ? "" : "revoke");
  };

  const forwardMessage = async (m: Message): Promise<void> => {
    const input = h("input", { name: "to", type: "tel", inputmode: "tel", autocomplete: "off", required: true, list: "chat-options", placeholder: "e.g. 919876543210" });
    await actionDialog({
      title: "Forward message",
      class: "msg-dialog forward-dialog",
      body: [
        h("blockquote", { class: "dialog-quote" }, preview(displayed(m))),
        field("To", input, "The number to send it to, with country code. Their phone shows it marked Forwarded."),
      ],
      confirm: "Forward",
      focus: input,
      signal: ctx.signal,
      run: async () => {
        if (!input.value.trim()) return "Enter the number to forward it to.";
        const r = await api.send.forwardMessage({ phoneId, messageId: m.messageId, to: input.value.trim() }, { signal: ctx.signal });
        toast(`Forwarded to ${number(r.to)}`);
        // The copy is a message of its own: shown here when this view lists its chat.
        fetchOne(r.messageId);
        reloadChats();
        return undefined;
      },
    });
    if (!ctx.signal.aborted) refocus(m.messageId, "forward");
  };

  // Past WhatsApp's 15 minutes, Edit goes away.
  every(ctx, 20_000, () => {
    for (const b of list.querySelectorAll<HTMLElement>(".msg-edit[data-until]")) {
      if (Number(b.dataset.until) > Date.now()) continue;
      const el = b.closest<HTMLElement>(".msg");
      const focused = b === document.activeElement;
      b.remove();
      if (focused && el) refocus(el.dataset.messageId ?? "", "revoke");
    }
  });

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

  // ---- The composer of an open chat ----

  const composer = (): void => {
    const boxId = nextId("composer");
    const errId = `${boxId}-err`;
    const hintId = `${boxId}-hint`;
    const box = h("textarea", {
      id: boxId,
      name: "message",
      rows: 2,
      maxlength: "65536",
      placeholder: "Write a message",
      spellcheck: "true",
      "aria-describedby": `${hintId} ${errId}`,
    });
    const sendBtn = h("button", { type: "submit", class: "btn btn-primary composer-send" }, icon("send"), h("span", null, "Send"));
    const err = h("div", { class: "composer-error", id: errId, role: "alert" });
    const replySlot = h("div", { class: "composer-reply" });
    const form = h(
      "form",
      { class: "composer", id: "composer", novalidate: true, "aria-label": `Write to ${number(chat)}` },
      replySlot,
      h("label", { for: boxId, class: "visually-hidden" }, `Message to ${number(chat)}`),
      h("div", { class: "composer-row" }, box, sendBtn),
      h("div", { class: "composer-hint muted small", id: hintId }, "Enter sends, Shift+Enter starts a new line."),
      err,
    );
    list.parentElement!.appendChild(form);

    /** What the error line shows: a failed send, or a typing state not sent (it goes once one is). */
    const showError = (kind: "send" | "typing", text: string): void => {
      err.textContent = text;
      err.dataset.kind = kind;
    };
    const clearError = (kind?: "send" | "typing"): void => {
      if (kind && err.dataset.kind !== kind) return;
      err.textContent = "";
      delete err.dataset.kind;
    };

    // Replying: the quoted message above the box, the composer sends reply_to.
    let replyTo = "";
    const setReply = (m: Message | null): void => {
      replyTo = m?.messageId ?? "";
      if (!m) {
        replace(replySlot);
        return;
      }
      replace(
        replySlot,
        h(
          "div",
          { class: "composer-quote", "data-reply-to": m.messageId },
          h("span", { class: "quote-who" }, m.direction === Direction.INBOUND ? `Replying to ${number(m.from)}` : "Replying to your message"),
          h("span", { class: "quote-text" }, preview(m)),
        ),
        h(
          "button",
          {
            type: "button",
            class: "icon-btn composer-unreply",
            title: "Cancel the reply (Escape)",
            "aria-label": "Cancel the reply",
            onclick: () => {
              setReply(null);
              box.focus();
            },
          },
          icon("close"),
        ),
      );
    };
    view.reply = (m) => {
      setReply(displayed(m));
      box.focus();
    };

    // Typing: COMPOSING when typing starts (again at most every 5 s), PAUSED 3 s after the last keystroke or on sending.
    let composingAt = 0;
    let pauseTimer: ReturnType<typeof setTimeout> | undefined;
    const typing = (state: TypingState): void => {
      api.send.sendTyping({ phoneId, chat, state }, { signal: ctx.signal }).then(
        () => clearError("typing"),
        (e: unknown) => {
          if (api.isAbort(e)) return;
          const p = api.problem(e);
          if (p.code === Code.Unauthenticated) return;
          console.warn("wadesk console: typing state not sent", p);
          if (err.dataset.kind !== "send") showError("typing", `${number(chat)} does not see you typing: ${p.message}`);
        },
      );
    };
    const pause = (): void => {
      clearTimeout(pauseTimer);
      if (!composingAt) return;
      composingAt = 0;
      typing(TypingState.PAUSED);
    };
    box.addEventListener("input", () => {
      if (!box.value.trim()) {
        pause();
        return;
      }
      const now = Date.now();
      if (now - composingAt >= TYPING_EVERY) {
        composingAt = now;
        typing(TypingState.COMPOSING);
      }
      clearTimeout(pauseTimer);
      pauseTimer = setTimeout(pause, TYPING_PAUSE);
    });
    ctx.cleanup(() => {
      clearTimeout(pauseTimer);
      // Leaving mid-sentence: the other side should not see typing until WhatsApp's own timeout.
      if (composingAt) {
        api.send.sendTyping({ phoneId, chat, state: TypingState.PAUSED }).catch((e: unknown) => console.warn("wadesk console: typing state not sent", api.problem(e)));
      }
    });

    let sending = false;
    const submit = async (): Promise<void> => {
      if (sending) return;
      const text = box.value;
      if (!text.trim()) {
        showError("send", "Write a message first.");
        box.focus();
        return;
      }
      sending = true;
      sendBtn.disabled = true;
      sendBtn.setAttribute("aria-busy", "true");
      clearError();
      clearTimeout(pauseTimer);
      const reply = replyTo;
      try {
        const r = await api.send.sendText({ phoneId, to: chat, message: text, replyTo: reply }, { signal: ctx.signal });
        if (box.value === text) box.value = "";
        if (replyTo === reply) setReply(null);
        if (composingAt) {
          composingAt = 0;
          typing(TypingState.PAUSED);
        }
        // Shown at once; its ticks follow from the event stream.
        const m = create(MessageSchema, {
          messageId: r.messageId,
          phoneId,
          direction: Direction.OUTBOUND,
          from: phone.number,
          to: r.to || chat,
          type: MessageType.TEXT,
          text,
          replyTo: reply || undefined,
          status: r.status,
          timestamp: BigInt(Math.floor(Date.now() / 1000)),
        });
        if (matches(m) && !byId.has(m.messageId)) add(m, true);
        reloadChats();
      } catch (e) {
        if (api.isAbort(e)) return;
        const p = api.problem(e);
        if (p.code === Code.Unauthenticated) return;
        console.error("wadesk console: send failed", p);
        showError("send", `Not sent: ${p.message}${p.retryAfter !== undefined ? ` Try again in ${p.retryAfter} s.` : ""}`);
        if (composingAt) pauseTimer = setTimeout(pause, TYPING_PAUSE);
      } finally {
        sending = false;
        sendBtn.disabled = false;
        sendBtn.removeAttribute("aria-busy");
      }
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void submit();
    });
    box.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        void submit();
      } else if (ev.key === "Escape" && replyTo) {
        ev.preventDefault();
        ev.stopPropagation();
        setReply(null);
      }
    });
  };
  if (chat) composer();

  renderChats();
  reloadChats(0);

  // A contact starts or stops typing: the open chat's line and their chat's preview.
  listen(ctx, typingChanged, (t) => {
    if (t.phoneId !== phoneId) return;
    if (t.chat === chat) renderTyping();
    if (chats.some((c) => c.chat === t.chat)) renderChats();
  });

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
    // Any message event can change a chat's newest message or unread count.
    if (ev.event.startsWith("message.")) reloadChats();
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
    } else if (ev.event === "poll.vote") {
      // A vote changes its poll's tallies: read the poll again (the vote is no bubble).
      const msg = ev.data.message as { poll_id?: unknown } | undefined;
      if (msg && typeof msg.poll_id === "string") refresh(msg.poll_id);
    } else if (ev.event === "message.edited" || ev.event === "message.revoked") {
      // A contact changed a message they sent: read it again if it is shown.
      const msg = ev.data.message as { id?: unknown } | undefined;
      if (msg && typeof msg.id === "string") refresh(msg.id);
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
        } else if (isChange(known.m) && known.m.replyTo) {
          // Our edit or deletion went out (the stored message follows it) or failed.
          if (st === MessageStatus.FAILED) changeFailed(known.m, reason);
          refresh(known.m.replyTo);
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
    reloadChats(0);
    api.messages.listMessages({ phoneId, chat, direction, pageSize: 50 }, { signal: ctx.signal }).then(
      (res) => {
        for (const m of [...res.messages].reverse()) add(m, !byId.has(m.messageId));
        renderChats();
      },
      (e: unknown) => fail(e),
    );
  });
}

function preview(m: Message): string {
  if (m.revokedAt) return DELETED;
  if (m.type === MessageType.REACTION) {
    const who = m.direction === Direction.OUTBOUND ? "You" : number(m.from);
    return m.text ? `${who} reacted ${m.text}` : `${who} took a reaction back`;
  }
  return summary(m);
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

/** The "edited" mark of the footer, with when; pending while our edit is on its way. */
function editedMark(m: Message, pending: boolean): HTMLElement | null {
  if (!m.editedAt || m.revokedAt) return null;
  const at = tsDate(m.editedAt);
  return h(
    "span",
    { class: `msg-edited${pending ? " pending" : ""}`, title: pending ? "Edited; waiting to be sent" : `Edited ${fmtDate(at, true)}` },
    "edited",
    pending ? h("span", { class: "visually-hidden" }, " (waiting to be sent)") : null,
  );
}

/** The texts before each edit, oldest first, behind a small disclosure. */
function earlierEl(m: Message): HTMLElement | null {
  if (m.revokedAt || !m.earlierTexts.length) return null;
  const n = m.earlierTexts.length;
  return h(
    "details",
    { class: "msg-earlier" },
    h("summary", null, n === 1 ? "Show the earlier text" : `Show ${n} earlier texts`),
    h(
      "ol",
      { class: "earlier-list", "aria-label": "Texts before each edit, oldest first" },
      m.earlierTexts.map((t, i) => h("li", null, h("span", { class: "visually-hidden" }, `Before edit ${i + 1}: `), t || h("em", null, "(empty)"))),
    ),
  );
}

function messageEl(view: View, m: Message, pending = false): HTMLElement {
  const { phoneId, inChat } = view;
  const inbound = m.direction === Direction.INBOUND;
  const revoked = !!m.revokedAt;
  const when = new Date(Number(m.timestamp) * 1000);
  const status = MESSAGE_STATUS[m.status][0].toLowerCase();
  const actions: HTMLElement[] = [];
  if (!revoked) {
    const reactBtn = h(
      "button",
      { type: "button", class: "btn btn-small btn-ghost msg-action msg-react", "aria-expanded": "false", "data-action": "react" },
      icon("smile"),
      h("span", null, "React"),
    );
    reactBtn.addEventListener("click", () => view.react(m, reactBtn));
    const reply = view.reply;
    actions.push(
      reply
        ? h(
            "button",
            { type: "button", class: "btn btn-small btn-ghost msg-action msg-reply", "data-action": "reply", title: "Reply in the box below", onclick: () => reply(m) },
            icon("reply"),
            h("span", null, "Reply"),
          )
        : h(
            "a",
            { class: "btn btn-small btn-ghost msg-action msg-reply", href: href(["send", phoneId], { to: peerOf(m), reply_to: m.messageId }), "data-action": "reply" },
            icon("reply"),
            h("span", null, "Reply"),
          ),
      reactBtn,
    );
  }
  if (!pending && forwardable(m)) {
    actions.push(
      h(
        "button",
        { type: "button", class: "btn btn-small btn-ghost msg-action msg-forward", "data-action": "forward", title: "Send a copy to another number", onclick: () => view.forward(m) },
        icon("forward"),
        h("span", null, "Forward"),
      ),
    );
  }
  if (!pending && editable(m)) {
    actions.push(
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small btn-ghost msg-action msg-edit",
          "data-action": "edit",
          "data-until": String((Number(m.timestamp) + EDIT_WINDOW) * 1000),
          title: "Correct the text (within 15 minutes of sending)",
          onclick: () => view.edit(m),
        },
        icon("edit"),
        h("span", null, "Edit"),
      ),
    );
  }
  if (!pending && revocable(m)) {
    actions.push(
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small btn-ghost msg-action msg-delete",
          "data-action": "revoke",
          "aria-label": "Delete for everyone",
          title: "Delete for everyone",
          onclick: () => view.revoke(m),
        },
        icon("trash"),
        h("span", null, "Delete", h("span", { class: "wide-only" }, " for everyone")),
      ),
    );
  }
  return h(
    "article",
    {
      class: `msg ${inbound ? "in" : "out"}${pending ? " pending" : ""}`,
      "data-message-id": m.messageId,
      "data-status": status,
      "data-peer": peerOf(m),
      "data-text": m.text ?? "",
      "data-type": (MessageType[m.type] ?? "other").toLowerCase(),
      "data-forwarded": m.forwarded ? "true" : undefined,
      "data-tally": m.poll && !revoked ? m.poll.options.map((o) => o.votes).join(",") : undefined,
      "data-edited": m.editedAt && !revoked ? "true" : undefined,
      "data-revoked": revoked ? "true" : undefined,
      "data-pending": pending ? "true" : undefined,
    },
    h(
      "div",
      { class: "msg-meta" },
      icon(inbound ? "arrowIn" : "arrowOut", "icon dir-icon"),
      h("span", { class: "visually-hidden" }, inbound ? "Received from" : "Sent to"),
      inChat ? null : peerLink(phoneId, peerOf(m)),
      m.sentByBot ? h("span", { class: "badge" }, "AI bot") : null,
      m.bulkId ? h("a", { class: "badge", href: href(["bulk", phoneId, m.bulkId]) }, "Campaign") : null,
    ),
    h(
      "div",
      { class: "bubble" },
      revoked
        ? h(
            "p",
            { class: "msg-deleted", title: pending ? "Waiting to be sent" : `Deleted ${fmtDate(tsDate(m.revokedAt), true)}` },
            icon("ban"),
            DELETED,
            pending ? h("span", { class: "visually-hidden" }, " (waiting to be sent)") : null,
          )
        : [
            m.forwarded ? h("div", { class: "msg-forwarded" }, icon("forward"), "Forwarded") : null,
            quoteEl(view, m),
            content(phoneId, m),
            earlierEl(m),
          ],
      h(
        "div",
        { class: "msg-foot" },
        editedMark(m, pending),
        h("time", { datetime: when.toISOString(), title: fmtDate(when, true) }, fmtShort(when)),
        inbound ? null : ticks(m.status, m.reason),
      ),
    ),
    m.status === MessageStatus.FAILED && m.reason ? h("div", { class: "msg-reason" }, m.reason) : null,
    h(
      "div",
      { class: "msg-under" },
      revoked ? null : h("ul", { class: "reactions", "aria-label": "Reactions" }),
      actions.length ? h("div", { class: "msg-actions" }, actions) : null,
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
      // Sent ones too: the gateway fetches a sent file the same way, by the upload reference it stored.
      const what = `${MESSAGE_TYPE[m.type]} ${m.direction === Direction.INBOUND ? "from" : "to"} ${number(peerOf(m))}`;
      const img = h("img", { src: url, alt: m.text || what, loading: "lazy", class: m.type === MessageType.STICKER ? "media-sticker" : "media-img" });
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
    case MessageType.VOICE: {
      // Its length shows once the player has read it (nothing is fetched before Play).
      const length = h("span", { class: "voice-length" });
      const audio = h("audio", { src: url, controls: true, preload: "none", class: "media-audio", "aria-label": "Voice note" });
      audio.addEventListener("loadedmetadata", () => {
        if (Number.isFinite(audio.duration)) length.textContent = ` · ${clock(audio.duration)}`;
      });
      out.push(
        h("div", { class: "media-voice" }, h("span", { class: "voice-icon" }, icon("mic")), h("span", { class: "voice-label" }, "Voice note", length)),
        audio,
        download(`Download voice note${media ? ` (${bytes(media.size)})` : ""}`),
      );
      break;
    }
    case MessageType.CONTACT:
      if (m.contacts.length) {
        out.push(h("ul", { class: "contact-cards", "aria-label": m.contacts.length === 1 ? "Contact card" : `${m.contacts.length} contact cards` }, m.contacts.map((c) => contactCard(phoneId, c))));
        // The text is the cards' names, shown on them already.
        return withMentionsNote(out, m);
      }
      out.push(h("div", { class: "muted small" }, "Contact card"));
      break;
    case MessageType.POLL:
      if (m.poll) {
        out.push(pollEl(m.poll));
        // The text is the poll's question, shown on it already.
        return withMentionsNote(out, m);
      }
      out.push(h("div", { class: "muted small" }, "Poll"));
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
  return withMentionsNote(out, m);
}

/** `out` with the numbers `m` mentions that its text does not write as @number. */
function withMentionsNote(out: HTMLElement[], m: Message): HTMLElement[] {
  const unwritten = m.mentions.filter((n) => !m.text || !new RegExp(`@${n}(?!\\d)`).test(m.text));
  if (unwritten.length) out.push(h("div", { class: "msg-mentions muted small" }, "Mentions ", unwritten.map((n, i) => [i ? ", " : "", h("span", { class: "mention" }, number(n))])));
  return out;
}

/** One contact card: the name, and each number as a link to Send (prefilled) with a Copy button. */
function contactCard(phoneId: string, c: ContactCard): HTMLElement {
  return h(
    "li",
    { class: "contact-card", "data-name": c.name },
    h("span", { class: "contact-avatar", "aria-hidden": "true" }, icon("user")),
    h(
      "div",
      { class: "contact-body" },
      h("div", { class: "contact-name" }, c.name || "Contact"),
      c.numbers.length
        ? h(
            "ul",
            { class: "contact-numbers" },
            c.numbers.map((n) => {
              const link = h("a", { href: href(["send", phoneId], { to: n }), class: "contact-number", "data-number": n, title: `Send a message to ${number(n)}` }, number(n));
              return h(
                "li",
                null,
                link,
                h(
                  "button",
                  { type: "button", class: "icon-btn copy-number", title: "Copy the number", "aria-label": `Copy ${number(n)}`, onclick: () => void copyText(n, link) },
                  icon("copy"),
                ),
              );
            }),
          )
        : h("div", { class: "muted small" }, "No number"),
    ),
  );
}

/**
 * A poll with its tallies: each option's votes and a bar (its share of the
 * voters), the voters' numbers in its tooltip, and how many options one may choose.
 */
function pollEl(p: Poll): HTMLElement {
  const voters = new Set(p.options.flatMap((o) => o.voters)).size;
  const most = Math.max(0, ...p.options.map((o) => o.votes));
  return h(
    "div",
    { class: "poll", "data-voters": String(voters) },
    h("div", { class: "poll-head" }, icon("poll"), h("span", { class: "poll-question" }, p.question)),
    h("div", { class: "poll-rule muted small" }, p.selectableCount > 1 ? `Choose up to ${p.selectableCount}` : "Choose one"),
    h(
      "ul",
      { class: "poll-options" },
      p.options.map((o) => {
        const fill = h("span", { class: "poll-fill" });
        fill.style.width = `${voters ? Math.round((o.votes / voters) * 100) : 0}%`;
        const who = o.voters.map((v) => number(v)).join(", ");
        return h(
          "li",
          { class: `poll-option${o.votes && o.votes === most ? " leading" : ""}`, "data-option": o.name, "data-votes": String(o.votes), title: o.votes ? `${o.name}: ${who}` : `${o.name}: no votes yet` },
          h(
            "div",
            { class: "poll-line" },
            h("span", { class: "poll-name" }, o.name),
            h("span", { class: "poll-count" }, String(o.votes), h("span", { class: "visually-hidden" }, o.votes === 1 ? " vote" : " votes", o.votes ? `, by ${who}` : "")),
          ),
          h("span", { class: "poll-bar", "aria-hidden": "true" }, fill),
        );
      }),
    ),
    h("div", { class: "poll-total muted small" }, voters ? `${plural(voters, "voter")} so far` : "No votes yet"),
  );
}
