// Words and times as the console shows them.

import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { TokenRights } from "./gen/wadesk/v1/account_pb";
import { BotProvider } from "./gen/wadesk/v1/bot_pb";
import { BulkStatus } from "./gen/wadesk/v1/bulk_pb";
import { MessageStatus, MessageType, PhoneStatus, Plan } from "./gen/wadesk/v1/common_pb";
import type { Message } from "./gen/wadesk/v1/message_pb";

/** Tone of a status pill: ok (green), warn (amber), bad (red), idle (grey), info (blue). */
export type Tone = "ok" | "warn" | "bad" | "idle" | "info";

export const PHONE_STATUS: Record<PhoneStatus, [string, Tone]> = {
  [PhoneStatus.UNSPECIFIED]: ["Unknown", "idle"],
  [PhoneStatus.PENDING]: ["Not linked", "idle"],
  [PhoneStatus.CONNECTING]: ["Connecting", "warn"],
  [PhoneStatus.CONNECTED]: ["Connected", "ok"],
  [PhoneStatus.DISCONNECTED]: ["Disconnected", "warn"],
  [PhoneStatus.LOGGED_OUT]: ["Logged out", "idle"],
  [PhoneStatus.BANNED]: ["Banned", "bad"],
  [PhoneStatus.FAILED]: ["Failed", "bad"],
};

/** The API's spelling of a phone status (connected, logged_out, ...). */
export const PHONE_STATUS_API: Record<PhoneStatus, string> = {
  [PhoneStatus.UNSPECIFIED]: "unspecified",
  [PhoneStatus.PENDING]: "pending",
  [PhoneStatus.CONNECTING]: "connecting",
  [PhoneStatus.CONNECTED]: "connected",
  [PhoneStatus.DISCONNECTED]: "disconnected",
  [PhoneStatus.LOGGED_OUT]: "logged_out",
  [PhoneStatus.BANNED]: "banned",
  [PhoneStatus.FAILED]: "failed",
};

export const PLAN: Record<Plan, string> = {
  [Plan.UNSPECIFIED]: "Unknown plan",
  [Plan.TRIAL]: "Trial",
  [Plan.PRO]: "Pro",
};

export const MESSAGE_STATUS: Record<MessageStatus, [string, Tone]> = {
  [MessageStatus.UNSPECIFIED]: ["Unknown", "idle"],
  [MessageStatus.QUEUED]: ["Queued", "idle"],
  [MessageStatus.SENT]: ["Sent", "info"],
  [MessageStatus.DELIVERED]: ["Delivered", "info"],
  [MessageStatus.READ]: ["Read", "ok"],
  [MessageStatus.FAILED]: ["Failed", "bad"],
  [MessageStatus.RECEIVED]: ["Received", "ok"],
};

/** The API's spelling of a message status, as message.status events carry it. */
export const MESSAGE_STATUS_API: Record<string, MessageStatus> = {
  queued: MessageStatus.QUEUED,
  sent: MessageStatus.SENT,
  delivered: MessageStatus.DELIVERED,
  read: MessageStatus.READ,
  failed: MessageStatus.FAILED,
  received: MessageStatus.RECEIVED,
};

export const MESSAGE_TYPE: Record<MessageType, string> = {
  [MessageType.UNSPECIFIED]: "Message",
  [MessageType.TEXT]: "Text",
  [MessageType.IMAGE]: "Image",
  [MessageType.VIDEO]: "Video",
  [MessageType.DOCUMENT]: "Document",
  [MessageType.AUDIO]: "Audio",
  [MessageType.LOCATION]: "Location",
  [MessageType.STICKER]: "Sticker",
  [MessageType.CONTACT]: "Contact",
  [MessageType.REACTION]: "Reaction",
  [MessageType.OTHER]: "Other",
  [MessageType.EDIT]: "Edit",
  [MessageType.REVOKE]: "Deletion",
  [MessageType.POLL]: "Poll",
  [MessageType.POLL_VOTE]: "Vote",
  [MessageType.VOICE]: "Voice note",
};

/**
 * What a message holds, in a few words: its text, else what it is ("Poll:
 * Lunch on Friday?", "Contact: Asha Rao", "Voice note"), at most `max` characters.
 */
export function summary(m: Message, max = 60): string {
  const cut = (t: string): string => (t.length > max ? `${t.slice(0, max)}…` : t);
  // A poll's and a card's text is their question and names: said with what they are.
  if (m.type === MessageType.POLL && m.poll) return cut(`Poll: ${m.poll.question}`);
  if (m.type === MessageType.CONTACT && m.contacts.length) {
    const first = m.contacts[0]!.name;
    return cut(m.contacts.length === 1 ? `Contact: ${first}` : `Contacts: ${first} and ${plural(m.contacts.length - 1, "more", "more")}`);
  }
  if (m.text) return cut(m.text);
  return MESSAGE_TYPE[m.type];
}

export const BULK_STATUS: Record<BulkStatus, [string, Tone]> = {
  [BulkStatus.UNSPECIFIED]: ["Unknown", "idle"],
  [BulkStatus.QUEUED]: ["Queued", "idle"],
  [BulkStatus.RUNNING]: ["Running", "info"],
  [BulkStatus.PAUSED]: ["Paused", "warn"],
  [BulkStatus.COMPLETED]: ["Completed", "ok"],
  [BulkStatus.CANCELLED]: ["Cancelled", "idle"],
};

export const RECIPIENT_STATUS: Record<string, Tone> = {
  pending: "idle",
  sent: "info",
  delivered: "info",
  read: "ok",
  failed: "bad",
  skipped: "idle",
};

export const RIGHTS: Record<TokenRights, [string, string]> = {
  [TokenRights.UNSPECIFIED]: ["Full", "Everything"],
  [TokenRights.FULL]: ["Full", "Everything, including phones, webhooks, bots and tokens"],
  [TokenRights.SEND]: ["Send", "Read everything in scope and send messages and campaigns"],
  [TokenRights.READ]: ["Read", "Read only: lists, status, the event stream and media downloads"],
};

export const PROVIDER: Record<BotProvider, string> = {
  [BotProvider.UNSPECIFIED]: "Choose…",
  [BotProvider.GEMINI]: "Google Gemini",
  [BotProvider.OPENAI]: "OpenAI (or compatible)",
};

export function tsDate(ts: Timestamp | undefined): Date | undefined {
  return ts ? timestampDate(ts) : undefined;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateTimeSec = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

export function fmtDate(d: Date | undefined, seconds = false): string {
  if (!d) return "—";
  return (seconds ? dateTimeSec : dateTime).format(d);
}

export function fmtTs(ts: Timestamp | undefined, seconds = false): string {
  return fmtDate(tsDate(ts), seconds);
}

/** A short time for today, else date and time. */
export function fmtShort(d: Date): string {
  const now = new Date();
  return d.toDateString() === now.toDateString() ? timeOnly.format(d) : dateTime.format(d);
}

/** "3 min ago", "in 2 h", "just now". */
export function relative(d: Date | undefined, now = Date.now()): string {
  if (!d) return "—";
  const s = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 10) return "just now";
  let text: string;
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.round(abs / 60)} min`;
  else if (abs < 86400 * 2) text = `${Math.round(abs / 3600)} h`;
  else text = `${Math.round(abs / 86400)} days`;
  return s < 0 ? `${text} ago` : `in ${text}`;
}

/** "2:05" for a countdown in seconds. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function bytes(n: bigint | number): string {
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KB`;
  return `${(v / 1024 / 1024).toFixed(1)} MB`;
}

/** A phone number shown with a leading + (the API keeps digits only). */
export function number(n: string | undefined | null): string {
  if (!n) return "—";
  return /^\d+$/.test(n) ? `+${n}` : n;
}

/** Characters as the API counts them (code points, not UTF-16 units). */
export function chars(s: string): number {
  return [...s].length;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
