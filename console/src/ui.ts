// Shared pieces of the console's pages: banner, toasts, fields bound to the
// API's field errors, pills, copy buttons, confirmation dialogs, tabs.

import { Code } from "@connectrpc/connect";
import { codeText, isAbort, problem, type Problem } from "./api";
import { h, icon, nextId, replace, type Child, type IconName } from "./dom";
import type { Tone } from "./format";

// ---- The error banner ----

let bannerHost: HTMLElement | null = null;

export function setBannerHost(el: HTMLElement | null): void {
  bannerHost = el;
}

export function clearBanner(): void {
  if (bannerHost) replace(bannerHost);
}

/** Shows an error in the page's banner (never swallowed: also logged). */
export function showBanner(p: Problem, title?: string): void {
  console.error("wadesk console:", p);
  const host = bannerHost;
  if (!host) {
    toast(`${title ?? codeText(p.code)}: ${p.message}`, "bad");
    return;
  }
  const box = h(
    "div",
    { class: "banner", role: "alert" },
    icon("alert"),
    h(
      "div",
      { class: "banner-text" },
      h("strong", null, title ?? codeText(p.code)),
      " ",
      h("span", { class: "banner-message" }, p.message),
      p.retryAfter !== undefined ? h("span", null, ` Try again in ${p.retryAfter} s.`) : null,
      p.requestId ? h("div", { class: "muted small" }, "Request ID ", h("code", null, p.requestId)) : null,
    ),
    h(
      "button",
      { type: "button", class: "icon-btn", title: "Dismiss", "aria-label": "Dismiss error", onclick: () => box.remove() },
      icon("close"),
    ),
  );
  replace(host, box);
  host.scrollIntoView({ block: "nearest" });
}

/**
 * Reports a failed call: an error naming a field of `form` goes under that
 * field, anything else to the banner. A cancelled call (the page was left)
 * and a lost session (sign-in follows) are not errors to show.
 */
export function fail(e: unknown, form?: HTMLElement | null, title?: string): void {
  if (isAbort(e)) return;
  const p = problem(e);
  if (p.code === Code.Unauthenticated && !(form && form.dataset.auth === "1")) return;
  if (form && p.field && showFieldError(form, p.field, p.message)) return;
  showBanner(p, title);
}

// ---- Toasts ----

let toastHost: HTMLElement | null = null;

export function toast(text: string, tone: Tone = "ok"): void {
  if (!toastHost) {
    toastHost = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(toastHost);
  }
  const t = h("div", { class: `toast tone-${tone}` }, text);
  toastHost.appendChild(t);
  setTimeout(() => t.classList.add("leaving"), 3200);
  setTimeout(() => t.remove(), 3600);
}

// ---- Fields ----

export type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/**
 * A labelled control with a hint and an error line, both bound to it by
 * aria-describedby. `name` is the API's field name the error messages use.
 */
export function field(label: Child, control: Control, hint?: Child, extraClass = ""): HTMLDivElement {
  if (!control.id) control.id = nextId("f");
  const errId = `${control.id}-err`;
  const hintId = `${control.id}-hint`;
  const described = [hint ? hintId : null, errId].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", described);
  const wrap = h(
    "div",
    { class: `field ${extraClass}`.trim(), "data-field": control.name || undefined },
    h("label", { for: control.id }, label),
    control,
    hint ? h("div", { class: "hint", id: hintId }, hint) : null,
    h("div", { class: "field-error", id: errId, role: "alert" }),
  );
  return wrap;
}

/** A checkbox (or radio) with its label to the right. */
export function check(label: Child, control: HTMLInputElement, hint?: Child): HTMLDivElement {
  if (!control.id) control.id = nextId("c");
  const hintId = `${control.id}-hint`;
  if (hint) control.setAttribute("aria-describedby", hintId);
  return h(
    "div",
    { class: "check", "data-field": control.name || undefined },
    control,
    h("label", { for: control.id }, label, hint ? h("span", { class: "hint", id: hintId }, hint) : null),
  );
}

/**
 * Shows `message` under the field named `name`: the wrapper whose data-field
 * is that name, else one that lists it in data-field-also (one control the
 * API knows by several names, e.g. a file input for `file` and `media_id`).
 */
export function showFieldError(form: HTMLElement, name: string, message: string): boolean {
  const n = CSS.escape(name);
  const wrap = form.querySelector<HTMLElement>(`[data-field="${n}"]`) ?? form.querySelector<HTMLElement>(`[data-field-also~="${n}"]`);
  if (!wrap) return false;
  const err = wrap.querySelector<HTMLElement>(".field-error");
  const control = wrap.querySelector<HTMLElement>("input, select, textarea");
  if (err) err.textContent = message;
  wrap.classList.add("invalid");
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.focus();
  }
  return true;
}

export function clearErrors(form: HTMLElement): void {
  for (const w of form.querySelectorAll<HTMLElement>(".field.invalid, .check.invalid, [data-field].invalid")) {
    w.classList.remove("invalid");
    const err = w.querySelector(".field-error");
    if (err) err.textContent = "";
    w.querySelector("[aria-invalid]")?.removeAttribute("aria-invalid");
  }
  clearBanner();
}

/**
 * Runs `work` with `button` disabled and showing progress; errors go to
 * `fail` (under the named field of `form`, else the banner).
 */
export async function submitting(
  button: HTMLButtonElement,
  form: HTMLElement | null,
  work: () => Promise<void>,
  busyText = "Working…",
): Promise<void> {
  if (button.disabled) return;
  const label = Array.from(button.childNodes);
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  replace(button, spinner(), busyText);
  if (form) clearErrors(form);
  try {
    await work();
  } catch (e) {
    fail(e, form);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    replace(button, label);
  }
}

// ---- Focus ----

const FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

/**
 * Runs `render` (which rebuilds `container`) and puts the keyboard focus back
 * on the control at the same place, so a page refreshing itself every few
 * seconds does not throw a keyboard user out.
 */
export function keepFocus(container: HTMLElement, render: () => void): void {
  const active = document.activeElement;
  const before = active && container.contains(active) ? Array.from(container.querySelectorAll(FOCUSABLE)).indexOf(active) : -1;
  render();
  if (before < 0 || container.contains(document.activeElement)) return;
  const again = container.querySelectorAll<HTMLElement>(FOCUSABLE)[before];
  again?.focus({ preventScroll: true });
}

// ---- Small pieces ----

export function spinner(): HTMLSpanElement {
  return h("span", { class: "spinner", "aria-hidden": "true" });
}

export function loading(text = "Loading…"): HTMLDivElement {
  return h("div", { class: "loading", role: "status" }, spinner(), text);
}

export function pill(text: string, tone: Tone, status?: string): HTMLSpanElement {
  return h("span", { class: `pill tone-${tone}`, "data-status": status }, h("span", { class: "dot", "aria-hidden": "true" }), text);
}

export function badge(text: string, cls = ""): HTMLSpanElement {
  return h("span", { class: `badge ${cls}`.trim() }, text);
}

export function btn(label: Child, onclick: (ev: MouseEvent) => void, cls = "btn", iconName?: IconName, attrs: Record<string, unknown> = {}): HTMLButtonElement {
  return h("button", { type: "button", class: cls, onclick, ...attrs }, iconName ? icon(iconName) : null, label);
}

export function linkBtn(label: Child, href: string, cls = "btn", iconName?: IconName): HTMLAnchorElement {
  return h("a", { href, class: cls }, iconName ? icon(iconName) : null, label);
}

export function pageHeader(title: string, sub?: Child, ...actions: Child[]): HTMLElement {
  return h(
    "div",
    { class: "page-header" },
    h("div", null, h("h1", { tabindex: "-1" }, title), sub ? h("p", { class: "sub" }, sub) : null),
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

export function card(...children: Child[]): HTMLElement {
  return h("section", { class: "card" }, children);
}

export function cardTitle(title: string, ...actions: Child[]): HTMLElement {
  return h("div", { class: "card-title" }, h("h2", null, title), actions.length ? h("div", { class: "actions" }, actions) : null);
}

export function empty(title: string, text: Child, ...actions: Child[]): HTMLElement {
  return h(
    "div",
    { class: "empty" },
    h("p", { class: "empty-title" }, title),
    h("p", { class: "muted" }, text),
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

export function notice(tone: Tone, ...children: Child[]): HTMLElement {
  return h("div", { class: `notice tone-${tone}` }, icon(tone === "ok" ? "check" : "alert"), h("div", null, children));
}

/** A definition list from [term, value] rows (rows with null are left out). */
export function details(rows: ([string, Child] | null)[]): HTMLDListElement {
  return h(
    "dl",
    { class: "details" },
    rows.filter((r): r is [string, Child] => r !== null).map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v))),
  );
}

// ---- Copy ----

function selectText(el: HTMLElement): void {
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
    el.focus();
    el.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(el);
  const sel = window.getSelection();
  sel?.removeAllRanges();
  sel?.addRange(range);
}

/** Copies `text`; without the Clipboard API (plain http) selects `target` so Ctrl+C copies it. */
export async function copyText(text: string, target: HTMLElement): Promise<void> {
  try {
    if (!navigator.clipboard) throw new Error("no clipboard");
    await navigator.clipboard.writeText(text);
    toast("Copied to the clipboard");
  } catch {
    selectText(target);
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    toast(ok ? "Copied to the clipboard" : "Selected: press Ctrl+C (⌘C) to copy", ok ? "ok" : "info");
  }
}

/** A Copy button for `text`; without the Clipboard API it selects `target`. */
export function copyButton(text: string, target: HTMLElement, label = "Copy"): HTMLButtonElement {
  return h("button", { type: "button", class: "btn btn-small", onclick: () => void copyText(text, target) }, icon("copy"), label);
}

/** A value in monospace with a Copy button. */
export function copyable(text: string, label = "Copy", cls = ""): HTMLSpanElement {
  const code = h("code", { class: "copy-value" }, text);
  const b = h(
    "button",
    { type: "button", class: "btn btn-small btn-ghost", "aria-label": `${label} ${text}`, title: label, onclick: () => void copyText(text, code) },
    icon("copy"),
    h("span", { class: "copy-label" }, label),
  );
  return h("span", { class: `copyable ${cls}`.trim() }, code, b);
}

/** A secret shown once: read-only input, Copy button and the warning. */
export function secretBox(id: string, secret: string, what: string, onDone: () => void): HTMLElement {
  const input = h("input", { id, type: "text", readonly: true, value: secret, class: "secret-input", spellcheck: "false", autocomplete: "off" });
  input.addEventListener("focus", () => input.select());
  return h(
    "div",
    { class: "secret-box", role: "region", "aria-label": `New ${what}` },
    h("p", { class: "secret-warning" }, icon("alert"), h("strong", null, `Copy this ${what} now: it will not be shown again.`)),
    h(
      "div",
      { class: "secret-row" },
      h("label", { for: id, class: "visually-hidden" }, what),
      input,
      btn("Copy", () => void copyText(secret, input), "btn btn-primary", "copy"),
    ),
    h("div", { class: "actions" }, btn("I have stored it", onDone, "btn")),
  );
}

// ---- Dialogs ----

export interface ConfirmOptions {
  title: string;
  body: Child;
  confirm: string;
  danger?: boolean;
}

/** A modal confirmation (native <dialog>: focus trapped, Escape cancels). */
export function confirmDialog(opts: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = nextId("dlg");
    const cancel = h("button", { type: "button", class: "btn", value: "cancel" }, "Cancel");
    const ok = h("button", { type: "button", class: opts.danger ? "btn btn-danger" : "btn btn-primary", value: "ok" }, opts.confirm);
    const dlg = h(
      "dialog",
      { class: "dialog", "aria-labelledby": titleId },
      h("h2", { id: titleId }, opts.title),
      h("div", { class: "dialog-body" }, opts.body),
      h("div", { class: "dialog-actions" }, cancel, ok),
    );
    let answered = false;
    const done = (v: boolean): void => {
      if (answered) return;
      answered = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    cancel.addEventListener("click", () => done(false));
    ok.addEventListener("click", () => done(true));
    dlg.addEventListener("cancel", (e) => {
      e.preventDefault();
      done(false);
    });
    dlg.addEventListener("close", () => done(false));
    document.body.appendChild(dlg);
    dlg.showModal();
    (opts.danger ? cancel : ok).focus();
  });
}

export interface ActionOptions extends ConfirmOptions {
  /** Extra class of the <dialog>. */
  class?: string;
  /** Focused when it opens (else Cancel for a dangerous action, the confirm button otherwise). */
  focus?: HTMLElement;
  /**
   * The work the confirm button (or Ctrl+Enter) starts, with the dialog
   * busy; a string it answers is a problem shown in the dialog, which stays
   * open, as it does for a failed call (the API's message is shown).
   */
  run: () => Promise<string | void>;
  /** Closes it (as cancelled) when aborted: pass the page's signal. */
  signal?: AbortSignal;
}

/**
 * A modal that does its work before it closes (native <dialog>: focus
 * trapped, Escape cancels unless the work is under way). Answers whether the
 * work was done.
 */
export function actionDialog(opts: ActionOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = nextId("dlg");
    const errId = `${titleId}-err`;
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const ok = h("button", { type: "submit", class: opts.danger ? "btn btn-danger" : "btn btn-primary" }, opts.confirm);
    const err = h("div", { class: "dialog-error", id: errId, role: "alert" });
    const form = h(
      "form",
      { class: "dialog-form", novalidate: true },
      h("h2", { id: titleId }, opts.title),
      h("div", { class: "dialog-body" }, opts.body),
      err,
      h("div", { class: "dialog-actions" }, cancel, ok),
    );
    const dlg = h("dialog", { class: `dialog ${opts.class ?? ""}`.trim(), "aria-labelledby": titleId, "aria-describedby": errId }, form);
    let busy = false;
    let answered = false;
    const done = (v: boolean): void => {
      if (answered) return;
      answered = true;
      if (dlg.open) dlg.close();
      dlg.remove();
      resolve(v);
    };
    const submit = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      err.textContent = "";
      const label = Array.from(ok.childNodes);
      ok.disabled = true;
      cancel.disabled = true;
      ok.setAttribute("aria-busy", "true");
      replace(ok, spinner(), "Working…");
      let outcome: string | void | null = null;
      try {
        outcome = await opts.run();
      } catch (e) {
        if (isAbort(e)) {
          done(false);
          return;
        }
        const p = problem(e);
        if (p.code === Code.Unauthenticated) {
          done(false);
          return;
        }
        console.error("wadesk console:", p);
        outcome = `${p.message}${p.retryAfter !== undefined ? ` Try again in ${p.retryAfter} s.` : ""}`;
      } finally {
        busy = false;
        ok.disabled = false;
        cancel.disabled = false;
        ok.removeAttribute("aria-busy");
        replace(ok, label);
      }
      if (typeof outcome === "string" && outcome) {
        err.textContent = outcome;
        (opts.focus ?? ok).focus();
        return;
      }
      done(true);
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void submit();
    });
    form.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        void submit();
      }
    });
    cancel.addEventListener("click", () => done(false));
    dlg.addEventListener("cancel", (e) => {
      e.preventDefault();
      if (!busy) done(false);
    });
    dlg.addEventListener("close", () => done(false));
    if (opts.signal?.aborted) {
      resolve(false);
      return;
    }
    opts.signal?.addEventListener("abort", () => done(false), { once: true });
    document.body.appendChild(dlg);
    dlg.showModal();
    (opts.focus ?? (opts.danger ? cancel : ok)).focus();
  });
}

// ---- Tabs ----

export interface Tab {
  id: string;
  label: Child;
  render: (panel: HTMLElement) => void;
}

/** An accessible tab list (arrow keys move between tabs). */
export function tabs(items: Tab[], selected: string, onSelect?: (id: string) => void): HTMLElement {
  const base = nextId("tabs");
  const list = h("div", { class: "tabs", role: "tablist" });
  const panel = h("div", { class: "tab-panel", role: "tabpanel" });
  const buttons: HTMLButtonElement[] = [];
  const select = (id: string, focus = false): void => {
    for (const b of buttons) {
      const on = b.dataset.tab === id;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
      if (on) {
        panel.setAttribute("aria-labelledby", b.id);
        if (focus) b.focus();
      }
    }
    replace(panel);
    items.find((t) => t.id === id)?.render(panel);
    onSelect?.(id);
  };
  for (const t of items) {
    const b = h(
      "button",
      { type: "button", role: "tab", id: `${base}-${t.id}`, class: "tab", "data-tab": t.id, "aria-controls": `${base}-panel` },
      t.label,
    );
    b.addEventListener("click", () => select(t.id));
    b.addEventListener("keydown", (e) => {
      const i = buttons.indexOf(b);
      let j = -1;
      if (e.key === "ArrowRight") j = (i + 1) % buttons.length;
      else if (e.key === "ArrowLeft") j = (i - 1 + buttons.length) % buttons.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = buttons.length - 1;
      if (j >= 0) {
        e.preventDefault();
        select(buttons[j]!.dataset.tab!, true);
      }
    });
    buttons.push(b);
    list.appendChild(b);
  }
  panel.id = `${base}-panel`;
  select(selected);
  return h("div", { class: "tabset" }, list, panel);
}
