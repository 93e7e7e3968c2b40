// What a page gets from the shell, and the phone picker the pages that work
// on one phone share.

import { h, replace } from "./dom";
import { PHONE_STATUS, number } from "./format";
import type { Phone } from "./gen/wadesk/v1/phone_pb";
import { href, navigate, type Route } from "./router";
import { cachedPhones, loadPhones, phonesChanged, preferredPhone, rememberPhone } from "./state";
import { empty, fail, linkBtn, loading } from "./ui";

export interface PageCtx {
  route: Route;
  /** The page's content area. */
  main: HTMLElement;
  /** Aborted when the user leaves the page: pass it to calls and streams. */
  signal: AbortSignal;
  /** Runs when the user leaves the page. */
  cleanup(fn: () => void): void;
  /** Sets the document title. */
  title(text: string): void;
}

export type Page = (ctx: PageCtx) => void | Promise<void>;

/** setInterval that ends with the page. */
export function every(ctx: PageCtx, ms: number, fn: () => void): void {
  const t = setInterval(fn, ms);
  ctx.cleanup(() => clearInterval(t));
}

/** A listener that ends with the page. */
export function listen<T>(ctx: PageCtx, source: { on(fn: (v: T) => void): () => void }, fn: (v: T) => void): void {
  ctx.cleanup(source.on(fn));
}

export function phoneLabel(p: Phone): string {
  return `${p.name || p.phoneId}${p.number ? ` · ${number(p.number)}` : ""}`;
}

/**
 * For pages at #/<page>/<phone_id>: resolves the phone (the one in the URL,
 * else the last chosen, else the first), rendering an empty state when the
 * account has none. Answers null when it rendered something else instead.
 */
export async function pickPhone(ctx: PageCtx, page: string): Promise<Phone | null> {
  replace(ctx.main, loading("Loading phones…"));
  let list: Phone[];
  try {
    list = await loadPhones();
  } catch (e) {
    replace(ctx.main);
    fail(e);
    return null;
  }
  if (ctx.signal.aborted) return null;
  if (list.length === 0) {
    replace(
      ctx.main,
      empty("No phones yet", "Link a WhatsApp number first: everything here works on one of your phones.", linkBtn("Add a phone", "#/phones/new", "btn btn-primary", "plus")),
    );
    return null;
  }
  const wanted = ctx.route.path[1];
  let phone = list.find((p) => p.phoneId === wanted);
  if (wanted && !phone) {
    // Perhaps added since the list was read (through the API, or in another tab).
    try {
      list = await loadPhones(true);
    } catch (e) {
      replace(ctx.main);
      fail(e);
      return null;
    }
    if (ctx.signal.aborted) return null;
    phone = list.find((p) => p.phoneId === wanted);
  }
  if (!phone) {
    const fallback = preferredPhone() ?? list[0]!.phoneId;
    const q = Object.fromEntries(ctx.route.query.entries());
    navigate(href([page, fallback], q), true);
    return null;
  }
  rememberPhone(phone.phoneId);
  return phone;
}

/** A labelled <select> of the account's phones; choosing one opens the same page for it. */
export function phonePicker(ctx: PageCtx, page: string, currentId: string, keepQuery = false): HTMLElement {
  const sel = h("select", { id: "phone-picker", class: "phone-picker" });
  const fill = (list: Phone[]): void => {
    replace(
      sel,
      list.map((p) =>
        h("option", { value: p.phoneId, selected: p.phoneId === currentId }, `${phoneLabel(p)} (${PHONE_STATUS[p.status][0].toLowerCase()})`),
      ),
    );
  };
  fill(cachedPhones() ?? []);
  listen(ctx, phonesChanged, fill);
  sel.addEventListener("change", () => {
    rememberPhone(sel.value);
    const q = keepQuery ? Object.fromEntries(ctx.route.query.entries()) : undefined;
    navigate(href([page, sel.value], q));
  });
  return h("div", { class: "picker" }, h("label", { for: "phone-picker" }, "Phone"), sel);
}
