// The gateway's gRPC services over gRPC-web, same origin, authenticated by
// the console's HttpOnly session cookie (the browser sends it; this code
// never sees it). A call answered UNAUTHENTICATED sends the user to sign-in.

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AccountService } from "./gen/wadesk/v1/account_pb";
import { BotService } from "./gen/wadesk/v1/bot_pb";
import { BulkService } from "./gen/wadesk/v1/bulk_pb";
import { ContactService } from "./gen/wadesk/v1/contact_pb";
import { GroupService } from "./gen/wadesk/v1/group_pb";
import { MessageService } from "./gen/wadesk/v1/message_pb";
import { PhoneService } from "./gen/wadesk/v1/phone_pb";
import { ProfileService } from "./gen/wadesk/v1/profile_pb";
import { SendService } from "./gen/wadesk/v1/send_pb";
import { WebhookService } from "./gen/wadesk/v1/webhook_pb";

type Listener = () => void;
const unauthListeners = new Set<Listener>();

/** Called whenever a call is answered UNAUTHENTICATED (the session ended). */
export function onUnauthenticated(fn: Listener): void {
  unauthListeners.add(fn);
}

function unauthenticated(): void {
  for (const fn of unauthListeners) fn();
}

function isUnauth(e: unknown): boolean {
  return e instanceof ConnectError && e.code === Code.Unauthenticated;
}

const authInterceptor: Interceptor = (next) => async (req) => {
  let res;
  try {
    res = await next(req);
  } catch (e) {
    if (isUnauth(e)) unauthenticated();
    throw e;
  }
  if (!res.stream) return res;
  const inner = res.message;
  return {
    ...res,
    message: (async function* () {
      try {
        yield* inner;
      } catch (e) {
        if (isUnauth(e)) unauthenticated();
        throw e;
      }
    })(),
  };
};

const transport = createGrpcWebTransport({
  baseUrl: location.origin,
  fetch: (input, init) => fetch(input, { ...init, credentials: "same-origin" }),
  interceptors: [authInterceptor],
});

export const phones = createClient(PhoneService, transport);
export const send = createClient(SendService, transport);
export const messages = createClient(MessageService, transport);
export const bulk = createClient(BulkService, transport);
export const webhooks = createClient(WebhookService, transport);
export const bots = createClient(BotService, transport);
export const account = createClient(AccountService, transport);
export const contacts = createClient(ContactService, transport);
export const profiles = createClient(ProfileService, transport);
export const groups = createClient(GroupService, transport);

/** Whether a call failed because the phone has no live WhatsApp session (404 "phone ... is not connected"). */
export function isNotConnected(e: unknown): boolean {
  const p = problem(e);
  return p.code === Code.NotFound && /is not connected/.test(p.message);
}

/** What the console shows of a failed call. */
export interface Problem {
  code: Code | undefined;
  /** The API's message, exactly. */
  message: string;
  /** The request field the message names (InvalidArgument), snake_case. */
  field: string | undefined;
  requestId: string | undefined;
  /** Seconds, from a Retry-After answer. */
  retryAfter: number | undefined;
}

const FIELD = /^([a-z_][a-z0-9_]*)(?:\[\d+\])?(?:\.[a-z0-9_.[\]]*)?: /;

/** The field a message like `to: must be a phone number` names, if any. */
export function fieldOf(message: string): string | undefined {
  const m = FIELD.exec(message);
  return m ? m[1] : undefined;
}

export function problem(e: unknown): Problem {
  if (e instanceof HttpProblem) return e.problem;
  const err = ConnectError.from(e);
  const retry = err.metadata.get("retry-after");
  return {
    code: err.code,
    message: err.rawMessage,
    field: err.code === Code.InvalidArgument ? fieldOf(err.rawMessage) : undefined,
    requestId: err.metadata.get("x-request-id") ?? undefined,
    retryAfter: retry && /^\d+$/.test(retry) ? Number(retry) : undefined,
  };
}

export function isCode(e: unknown, code: Code): boolean {
  return e instanceof ConnectError && e.code === code;
}

export function isAbort(e: unknown): boolean {
  return (
    (e instanceof ConnectError && e.code === Code.Canceled) ||
    (e instanceof DOMException && e.name === "AbortError")
  );
}

const CODE_TEXT: Record<number, string> = {
  [Code.Canceled]: "Cancelled",
  [Code.Unknown]: "Error",
  [Code.InvalidArgument]: "Invalid request",
  [Code.DeadlineExceeded]: "Timed out",
  [Code.NotFound]: "Not found",
  [Code.AlreadyExists]: "Conflict",
  [Code.PermissionDenied]: "Not allowed",
  [Code.ResourceExhausted]: "Too many requests",
  [Code.FailedPrecondition]: "Not possible now",
  [Code.Aborted]: "Aborted",
  [Code.OutOfRange]: "Out of range",
  [Code.Unimplemented]: "Not supported",
  [Code.Internal]: "Server error",
  [Code.Unavailable]: "Unavailable",
  [Code.DataLoss]: "Data loss",
  [Code.Unauthenticated]: "Signed out",
};

export function codeText(code: Code | undefined): string {
  return code === undefined ? "Error" : (CODE_TEXT[code] ?? "Error");
}

// ---- The account endpoints: plain JSON, not gRPC ----

export interface AccountSummary {
  account_id: string;
  name: string;
  email: string | null;
}

/** A failed plain-JSON call, in the same shape as a gRPC problem. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.message);
  }
}

const STATUS_CODE: Record<string, Code> = {
  INVALID_ARGUMENT: Code.InvalidArgument,
  UNAUTHENTICATED: Code.Unauthenticated,
  PERMISSION_DENIED: Code.PermissionDenied,
  NOT_FOUND: Code.NotFound,
  ALREADY_EXISTS: Code.AlreadyExists,
  RESOURCE_EXHAUSTED: Code.ResourceExhausted,
  UNAVAILABLE: Code.Unavailable,
  INTERNAL: Code.Internal,
};

async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  return readJson<T>(res);
}

async function readJson<T>(res: Response): Promise<T> {
  const text = await res.text();
  if (res.ok) return parse(text) as T;
  throw httpProblem(res.status, res.statusText, text, (name) => res.headers.get(name));
}

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** A plain-JSON error answer (`{"success": false, "error": {...}}`) as an HttpProblem. */
function httpProblem(status: number, statusText: string, text: string, header: (name: string) => string | null): HttpProblem {
  const err = (parse(text) as { error?: { status?: string; message?: string; request_id?: string } } | null)?.error;
  const message = err?.message ?? `HTTP ${status} ${statusText}`.trim();
  const retry = header("retry-after");
  const code = err?.status ? STATUS_CODE[err.status] : undefined;
  return new HttpProblem(status, {
    code,
    message,
    field: status === 400 ? fieldOf(message) : undefined,
    requestId: err?.request_id ?? header("x-request-id") ?? undefined,
    retryAfter: retry && /^\d+$/.test(retry) ? Number(retry) : undefined,
  });
}

export async function signUpEnabled(): Promise<boolean> {
  const res = await fetch("/api/account/sign-up", { credentials: "same-origin", headers: { Accept: "application/json" } });
  const data = await readJson<{ enabled?: boolean }>(res);
  return data?.enabled === true;
}

export async function signIn(email: string, password: string): Promise<AccountSummary> {
  const data = await postJson<{ account: AccountSummary }>("/api/account/sign-in", { email, password });
  return data.account;
}

export async function signUp(name: string, email: string, password: string): Promise<AccountSummary> {
  const data = await postJson<{ account: AccountSummary }>("/api/account/sign-up", { name, email, password });
  return data.account;
}

export async function signOut(): Promise<void> {
  await postJson<unknown>("/api/account/sign-out", {});
}

/** The OpenAPI document (public). */
export async function openapi(): Promise<unknown> {
  const res = await fetch("/openapi.json", { credentials: "same-origin", headers: { Accept: "application/json" } });
  return readJson<unknown>(res);
}

/** The REST path of a stored message's media file (the session cookie authenticates it). */
export function mediaUrl(phoneId: string, messageId: string): string {
  return `/api/phones/${encodeURIComponent(phoneId)}/messages/${encodeURIComponent(messageId)}/media`;
}

// ---- Uploads: a plain HTTP route, not gRPC ----

/** An upload, as POST /api/media answers it (UploadedMedia in JSON). */
export interface UploadedFile {
  /** Pass as `media_id` to a media send. */
  media_id: string;
  /** The type its content shows. */
  mime_type: string;
  size: number;
  /** Hex SHA-256 of the file. */
  sha256: string;
  file_name: string | null;
  created_at: string;
  /** When the gateway deletes it (RFC 3339). */
  expires_at: string;
}

/**
 * Uploads `file` for later sends by media_id: POST /api/media with the file
 * as the raw body and its name in the query. The session cookie
 * authenticates it and the browser's Origin header passes the CSRF check, as
 * for every call. An XMLHttpRequest rather than fetch for its upload
 * progress (`progress` gets the bytes sent and the total). A refusal is an
 * HttpProblem naming its field (`file`, `file_name`); aborting `signal`
 * cancels the upload.
 */
export function uploadMedia(file: File, opts: { signal?: AbortSignal; progress?: (sent: number, total: number) => void } = {}): Promise<UploadedFile> {
  return new Promise((resolve, reject) => {
    const { signal, progress } = opts;
    if (signal?.aborted) {
      reject(new DOMException("The upload was cancelled", "AbortError"));
      return;
    }
    const xhr = new XMLHttpRequest();
    const query = file.name ? `?${new URLSearchParams({ file_name: file.name }).toString()}` : "";
    xhr.open("POST", `/api/media${query}`);
    // Any type but JSON, which the gateway would read as the gRPC request
    // (it reads the type from the content anyway).
    xhr.setRequestHeader("Content-Type", file.type && !/json/i.test(file.type) ? file.type : "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    const onAbort = (): void => xhr.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = (): void => signal?.removeEventListener("abort", onAbort);
    if (progress) xhr.upload.addEventListener("progress", (ev) => progress(ev.loaded, ev.lengthComputable ? ev.total : file.size));
    xhr.addEventListener("load", () => {
      done();
      if (xhr.status >= 200 && xhr.status < 300) {
        const media = (parse(xhr.responseText) as { media?: UploadedFile } | null)?.media;
        if (media?.media_id) resolve(media);
        else reject(new HttpProblem(xhr.status, { code: Code.Internal, message: "the gateway's answer to the upload holds no media_id", field: undefined, requestId: xhr.getResponseHeader("x-request-id") ?? undefined, retryAfter: undefined }));
        return;
      }
      if (xhr.status === 401) unauthenticated();
      reject(httpProblem(xhr.status, xhr.statusText, xhr.responseText, (name) => xhr.getResponseHeader(name)));
    });
    xhr.addEventListener("error", () => {
      done();
      reject(new HttpProblem(0, { code: Code.Unavailable, message: "The upload failed: the gateway could not be reached.", field: undefined, requestId: undefined, retryAfter: undefined }));
    });
    xhr.addEventListener("abort", () => {
      done();
      reject(new DOMException("The upload was cancelled", "AbortError"));
    });
    xhr.send(file);
  });
}
