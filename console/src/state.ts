// What the console keeps while it runs: the signed-in account, the phones
// (kept current from the event stream) and the one live event stream every
// page listens to. Nothing here is written to storage.

import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import * as api from "./api";
import type { GetPhoneResponse, Phone } from "./gen/wadesk/v1/phone_pb";
import type { SubscribeResponse } from "./gen/wadesk/v1/message_pb";

export interface Session {
  name: string;
  email: string | null;
}

export const session: { account: Session | null; checked: boolean } = { account: null, checked: false };

/** A note for the next sign-in page (e.g. why the session ended). */
let flash: string | null = null;

export function setFlash(text: string): void {
  flash = text;
}

export function takeFlash(): string | null {
  const f = flash;
  flash = null;
  return f;
}

type Fn<T> = (v: T) => void;

class Emitter<T> {
  private fns = new Set<Fn<T>>();
  on(fn: Fn<T>): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  emit(v: T): void {
    for (const fn of [...this.fns]) {
      try {
        fn(v);
      } catch (e) {
        console.error("wadesk console: listener failed", e);
      }
    }
  }
}

// ---- Live events ----

export interface LiveEvent {
  event: string;
  phoneId: string;
  eventId: string;
  cursor: bigint;
  data: JsonObject;
}

export const events = new Emitter<LiveEvent>();
/** Fired when the stream (re)connects: pages reload what they show, as events may have been missed. */
export const streamState = new Emitter<boolean>();
/** Why the stream last dropped (shown as the live indicator's tooltip). */
export let streamError = "";

let streamAbort: AbortController | null = null;
let streamUp = false;

export function isStreamUp(): boolean {
  return streamUp;
}

function setUp(up: boolean): void {
  if (up === streamUp) return;
  streamUp = up;
  streamState.emit(up);
}

/** Starts the account-wide Subscribe stream, reconnecting with backoff and resuming at the last cursor. */
export function startEvents(): void {
  if (streamAbort) return;
  const ctl = new AbortController();
  streamAbort = ctl;
  let cursor = 0n;
  let delay = 1000;
  void (async () => {
    while (!ctl.signal.aborted) {
      try {
        const stream = api.messages.subscribe({ phoneId: "", cursor, events: [] }, { signal: ctl.signal });
        // The stream is open once the server answered headers; connect-web
        // yields only on the first message, so mark it up optimistically
        // after a short moment without an error.
        const upTimer = setTimeout(() => setUp(true), 600);
        try {
          for await (const ev of stream) {
            streamError = "";
            setUp(true);
            delay = 1000;
            cursor = ev.cursor;
            events.emit(toLive(ev));
          }
        } finally {
          clearTimeout(upTimer);
        }
      } catch (e) {
        if (ctl.signal.aborted) break;
        if (api.isCode(e, Code.Unauthenticated)) break;
        streamError = api.problem(e).message;
        console.warn("wadesk console: event stream dropped, reconnecting", e);
      }
      setUp(false);
      if (ctl.signal.aborted) break;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
    setUp(false);
  })();
}

export function stopEvents(): void {
  streamAbort?.abort();
  streamAbort = null;
  setUp(false);
}

function toLive(ev: SubscribeResponse): LiveEvent {
  return {
    event: ev.event,
    phoneId: ev.phoneId,
    eventId: ev.eventId,
    cursor: ev.cursor,
    data: (ev.data ?? {}) as JsonObject,
  };
}

// ---- Phones ----

let phoneList: Phone[] | null = null;
let phoneLoad: Promise<Phone[]> | null = null;
export const phonesChanged = new Emitter<Phone[]>();

export function cachedPhones(): Phone[] | null {
  return phoneList;
}

/** The account's phones, loaded once and kept current. */
export function loadPhones(force = false): Promise<Phone[]> {
  if (phoneList && !force) return Promise.resolve(phoneList);
  if (phoneLoad && !force) return phoneLoad;
  const p = api.phones.listPhones({}).then(
    (res) => {
      phoneList = res.phones;
      phoneLoad = null;
      phonesChanged.emit(phoneList);
      return phoneList;
    },
    (e: unknown) => {
      phoneLoad = null;
      throw e;
    },
  );
  phoneLoad = p;
  return p;
}

export function findPhone(id: string): Phone | undefined {
  return phoneList?.find((p) => p.phoneId === id);
}

/** Trial phones' recipient use (GetPhone's trial_recipients_used/limit), by phone ID. */
export interface Usage {
  used: number;
  limit: number;
}
const usage = new Map<string, Usage>();
export const usageChanged = new Emitter<string>();

export function usageOf(phoneId: string): Usage | undefined {
  return usage.get(phoneId);
}

/** Keeps what a GetPhone answer says about the trial cap. */
export function noteUsage(res: GetPhoneResponse): void {
  const id = res.phone?.phoneId;
  if (!id) return;
  if (res.trialRecipientsUsed === undefined || res.trialRecipientsLimit === undefined) usage.delete(id);
  else usage.set(id, { used: res.trialRecipientsUsed, limit: res.trialRecipientsLimit });
  usageChanged.emit(id);
}

/** Reads one phone again (GetPhone): its state and its trial use. */
export async function refreshPhone(phoneId: string): Promise<GetPhoneResponse> {
  const res = await api.phones.getPhone({ phoneId });
  if (res.phone) putPhone(res.phone);
  noteUsage(res);
  return res;
}

/** Puts a phone's new state into the list (or adds it). */
export function putPhone(phone: Phone): void {
  if (!phoneList) phoneList = [];
  const i = phoneList.findIndex((p) => p.phoneId === phone.phoneId);
  if (i >= 0) phoneList[i] = phone;
  else phoneList.push(phone);
  phonesChanged.emit(phoneList);
}

export function dropPhone(id: string): void {
  if (!phoneList) return;
  phoneList = phoneList.filter((p) => p.phoneId !== id);
  phonesChanged.emit(phoneList);
  if (lastPhone === id) lastPhone = null;
}

/** The phone the user chose last on a page that needs one (kept in memory, and in each page's URL). */
let lastPhone: string | null = null;

export function rememberPhone(id: string): void {
  lastPhone = id;
}

export function preferredPhone(): string | null {
  if (lastPhone && findPhone(lastPhone)) return lastPhone;
  return phoneList?.[0]?.phoneId ?? null;
}

// A phone.* event changes a phone's status: read it again (GetPhone).
events.on((ev) => {
  if (!ev.event.startsWith("phone.") || !ev.phoneId) return;
  refreshPhone(ev.phoneId).then(
    () => undefined,
    (e: unknown) => {
      if (api.isCode(e, Code.NotFound)) dropPhone(ev.phoneId);
      else console.warn("wadesk console: could not refresh phone", ev.phoneId, e);
    },
  );
});

// After a reconnect, events may have been missed: read the list again.
streamState.on((up) => {
  if (up && phoneList) loadPhones(true).catch((e: unknown) => console.warn("wadesk console: could not reload phones", e));
});

// ---- A contact's typing (chat.typing) ----

/** What a contact is doing in a one-to-one chat: writing, or recording a voice note. */
export type ContactTyping = "composing" | "recording";

/** After this long without a new chat.typing, a contact counts as no longer typing (ms). */
export const TYPING_TIMEOUT = 25_000;

const typing = new Map<string, { state: ContactTyping; timer: ReturnType<typeof setTimeout> }>();
/** Fired when a contact starts or stops typing in a chat of a phone. */
export const typingChanged = new Emitter<{ phoneId: string; chat: string }>();

/** What the contact of `chat` (their number) is doing now, if anything. */
export function typingIn(phoneId: string, chat: string): ContactTyping | undefined {
  return typing.get(`${phoneId} ${chat}`)?.state;
}

function setTyping(phoneId: string, chat: string, state: ContactTyping | null): void {
  const key = `${phoneId} ${chat}`;
  const was = typing.get(key);
  if (was) clearTimeout(was.timer);
  if (state) typing.set(key, { state, timer: setTimeout(() => setTyping(phoneId, chat, null), TYPING_TIMEOUT) });
  else typing.delete(key);
  if ((was?.state ?? null) !== state) typingChanged.emit({ phoneId, chat });
}

function clearTyping(): void {
  for (const [key, t] of [...typing]) {
    clearTimeout(t.timer);
    typing.delete(key);
    const [phoneId = "", chat = ""] = key.split(" ");
    typingChanged.emit({ phoneId, chat });
  }
}

events.on((ev) => {
  // Typing in a group is not typing in the one-to-one chat with that person.
  if (ev.data.group || typeof ev.data.from !== "string" || !ev.data.from) return;
  if (ev.event === "chat.typing") {
    const st = ev.data.state;
    setTyping(ev.phoneId, ev.data.from, st === "composing" || st === "recording" ? st : null);
  } else if (ev.event === "message.received") {
    // Their message ends their typing, as on a phone.
    setTyping(ev.phoneId, ev.data.from, null);
  }
});

// A "paused" may have been missed while the stream was down.
streamState.on((up) => {
  if (!up) clearTyping();
});

// ---- Calls (call.received) ----

/** A call to one of the phones, as its call.received event told it. */
export interface CallSeen {
  callId: string;
  /** The caller's number. */
  from: string;
  video: boolean;
  at: Date;
  /** WhatsApp delivered it late: it rang while the phone was away, and has ended. */
  offline: boolean;
  /** The phone declined it (its call settings). */
  rejected: boolean;
  /** The message ID of the reply sent to the caller. */
  replied: string | null;
}

/** Calls kept per phone (the newest). */
const CALLS_KEPT = 20;
const calls = new Map<string, CallSeen[]>();
/** Fired with a phone's ID when a call to it arrives. */
export const callsChanged = new Emitter<string>();

/** The calls to a phone since the console was opened, newest first. */
export function callsOf(phoneId: string): CallSeen[] {
  return calls.get(phoneId) ?? [];
}

events.on((ev) => {
  if (ev.event !== "call.received" || !ev.phoneId) return;
  const d = ev.data;
  const callId = typeof d.call_id === "string" ? d.call_id : ev.eventId;
  const call: CallSeen = {
    callId,
    from: typeof d.from === "string" ? d.from : "",
    video: d.video === true,
    at: typeof d.timestamp === "number" && d.timestamp > 0 ? new Date(d.timestamp * 1000) : new Date(),
    offline: d.offline === true,
    rejected: d.rejected === true,
    replied: typeof d.replied === "string" && d.replied ? d.replied : null,
  };
  const list = callsOf(ev.phoneId).filter((c) => c.callId !== callId);
  calls.set(ev.phoneId, [call, ...list].slice(0, CALLS_KEPT));
  callsChanged.emit(ev.phoneId);
});

// ---- Presence (presence.update) ----

/** A contact's presence, as its latest presence.update event told it. */
export interface PresenceSeen {
  available: boolean;
  /** When it was last online, where the contact shares it. */
  lastSeen: Date | null;
  /** When the console heard it. */
  at: Date;
}

const presence = new Map<string, PresenceSeen>();
/** Fired with "<phone_id> <number>" when a contact's presence changes. */
export const presenceChanged = new Emitter<string>();
/** Contacts followed (SubscribePresence) since the phone last connected, as "<phone_id> <number>". */
const followed = new Set<string>();

export function presenceOf(phoneId: string, number: string): PresenceSeen | undefined {
  return presence.get(`${phoneId} ${number}`);
}

export function isFollowed(phoneId: string, number: string): boolean {
  return followed.has(`${phoneId} ${number}`);
}

export function noteFollowed(phoneId: string, number: string): void {
  followed.add(`${phoneId} ${number}`);
}

events.on((ev) => {
  // WhatsApp forgets presence subscriptions when the connection drops.
  if (ev.event === "phone.disconnected" || ev.event === "phone.logged_out") {
    for (const k of [...followed]) if (k.startsWith(`${ev.phoneId} `)) followed.delete(k);
    return;
  }
  if (ev.event !== "presence.update" || !ev.phoneId) return;
  const d = ev.data;
  const from = typeof d.from === "string" ? d.from : "";
  if (!from) return;
  const key = `${ev.phoneId} ${from}`;
  presence.set(key, {
    available: d.available === true,
    lastSeen: typeof d.last_seen === "number" && d.last_seen > 0 ? new Date(d.last_seen * 1000) : null,
    at: new Date(),
  });
  presenceChanged.emit(key);
});

export function resetState(): void {
  stopEvents();
  phoneList = null;
  phoneLoad = null;
  lastPhone = null;
  usage.clear();
  clearTyping();
  calls.clear();
  presence.clear();
  followed.clear();
  session.account = null;
}
