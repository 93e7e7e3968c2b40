// Messages: a phone's stored messages, newest first, by chat, with delivery
// ticks and new messages arriving live from the event stream.

import * as api from "../api";
import { h, icon, replace } from "../dom";
import { MESSAGE_STATUS, MESSAGE_STATUS_API, MESSAGE_TYPE, bytes, fmtDate, fmtShort, number } from "../format";
import { Direction, MessageStatus, MessageType } from "../gen/wadesk/v1/common_pb";
import type { Message } from "../gen/wadesk/v1/message_pb";
import { listen, phonePicker, pickPhone, type PageCtx } from "../page";
import { href, navigate } from "../router";
import { events, streamState } from "../state";
import { btn, empty, fail, loading, pageHeader, spinner } from "../ui";

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

  const byId = new Map<string, { m: Message; el: HTMLElement }>();
  const order: string[] = [];
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
      if (c) c.count += 1;
      else chats.set(peer, { last: m, count: 1 });
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
    if (order.length) return;
    replace(
      list,
      empty(
        chat ? `No messages with ${number(chat)} yet` : "No messages yet",
        "Messages this phone sends or receives appear here as they happen.",
        h("a", { href: href(["send", phoneId], chat ? { to: chat } : undefined), class: "btn btn-primary" }, icon("send"), "Send a message"),
      ),
    );
  };

  const add = (m: Message, atTop: boolean): void => {
    const old = byId.get(m.messageId);
    if (old) {
      const el = messageEl(phoneId, m, !!chat);
      old.el.replaceWith(el);
      byId.set(m.messageId, { m, el });
      return;
    }
    if (!order.length) replace(list);
    const el = messageEl(phoneId, m, !!chat);
    byId.set(m.messageId, { m, el });
    if (atTop) {
      order.unshift(m.messageId);
      list.prepend(el);
      el.classList.add("fresh");
    } else {
      order.push(m.messageId);
      list.appendChild(el);
    }
  };

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
    } else if (ev.event === "message.status") {
      const id = typeof ev.data.message_id === "string" ? ev.data.message_id : "";
      const st = typeof ev.data.status === "string" ? MESSAGE_STATUS_API[ev.data.status] : undefined;
      const known = byId.get(id);
      if (known && st !== undefined) {
        known.m.status = st;
        const reason = typeof ev.data.reason === "string" ? ev.data.reason : undefined;
        if (reason) known.m.reason = reason;
        known.el.dataset.status = MESSAGE_STATUS[st][0].toLowerCase();
        known.el.querySelector(".ticks")?.replaceWith(ticks(st, reason));
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

function preview(m: Message): string {
  if (m.text) return m.text.length > 60 ? `${m.text.slice(0, 60)}…` : m.text;
  return MESSAGE_TYPE[m.type];
}

function messageEl(phoneId: string, m: Message, inChat: boolean): HTMLElement {
  const inbound = m.direction === Direction.INBOUND;
  const when = new Date(Number(m.timestamp) * 1000);
  const status = MESSAGE_STATUS[m.status][0].toLowerCase();
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
    h("div", { class: "bubble" }, content(phoneId, m), h("div", { class: "msg-foot" }, h("time", { datetime: when.toISOString(), title: fmtDate(when, true) }, fmtShort(when)), inbound ? null : ticks(m.status, m.reason))),
    m.status === MessageStatus.FAILED && m.reason ? h("div", { class: "msg-reason" }, m.reason) : null,
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
  if (m.text) out.push(h("div", { class: "msg-text" }, m.text));
  return out;
}
