// The console's shell: header, navigation, the signed-in check and the
// hash router that mounts one page at a time.

import { Code } from "@connectrpc/connect";
import * as api from "./api";
import { h, icon, replace, type IconName } from "./dom";
import type { Page, PageCtx } from "./page";
import { apiRefPage } from "./pages/apiref";
import { signInPage } from "./pages/auth";
import { botPage } from "./pages/bot";
import { bulkPage } from "./pages/bulk";
import { contactsPage } from "./pages/contacts";
import { groupsPage } from "./pages/groups";
import { messagesPage } from "./pages/messages";
import { addPhonePage, linkPhonePage, phonePage, phonesPage } from "./pages/phones";
import { sendPage } from "./pages/send";
import { settingsPage } from "./pages/settings";
import { webhookPage } from "./pages/webhook";
import { current, navigate, type Route } from "./router";
import { loadPhones, preferredPhone, resetState, session, startEvents, streamError, streamState } from "./state";
import { clearBanner, empty, fail, linkBtn, loading, setBannerHost } from "./ui";

const root = document.getElementById("app") ?? document.body.appendChild(h("div", { id: "app" }));

interface NavItem {
  key: string;
  label: string;
  icon: IconName;
  /** Pages that work on one phone carry the chosen phone in their link. */
  perPhone: boolean;
}

const NAV: NavItem[] = [
  { key: "phones", label: "Phones", icon: "phone", perPhone: false },
  { key: "send", label: "Send", icon: "send", perPhone: true },
  { key: "messages", label: "Messages", icon: "messages", perPhone: true },
  { key: "contacts", label: "Contacts", icon: "user", perPhone: true },
  { key: "groups", label: "Groups", icon: "users", perPhone: true },
  { key: "bulk", label: "Bulk", icon: "bulk", perPhone: true },
  { key: "webhook", label: "Webhook", icon: "webhook", perPhone: true },
  { key: "bot", label: "AI bot", icon: "bot", perPhone: true },
  { key: "settings", label: "Settings", icon: "settings", perPhone: false },
  { key: "api", label: "API reference", icon: "book", perPhone: false },
];

// ---- The shell (built once per sign-in) ----

interface Shell {
  el: HTMLElement;
  main: HTMLElement;
  page: HTMLElement;
  links: Map<string, HTMLAnchorElement>;
  accountName: HTMLElement;
  nav: HTMLElement;
  toggle: HTMLButtonElement;
}

let shell: Shell | null = null;

function buildShell(): Shell {
  const links = new Map<string, HTMLAnchorElement>();
  const nav = h(
    "nav",
    { class: "sidebar", id: "nav", "aria-label": "Main" },
    h(
      "ul",
      null,
      NAV.map((n) => {
        const a = h("a", { href: `#/${n.key}`, class: "nav-link", "data-nav": n.key }, icon(n.icon), h("span", null, n.label));
        links.set(n.key, a);
        return h("li", null, a);
      }),
    ),
  );
  const toggle = h(
    "button",
    { type: "button", class: "icon-btn nav-toggle", "aria-controls": "nav", "aria-expanded": "false", "aria-label": "Menu" },
    icon("menu"),
  );
  const closeNav = (): void => {
    document.body.classList.remove("nav-open");
    toggle.setAttribute("aria-expanded", "false");
  };
  toggle.addEventListener("click", () => {
    const open = !document.body.classList.contains("nav-open");
    document.body.classList.toggle("nav-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) links.get("phones")?.focus();
  });
  nav.addEventListener("click", (e) => {
    if ((e.target as HTMLElement).closest("a")) closeNav();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("nav-open")) {
      closeNav();
      toggle.focus();
    }
  });

  const live = h("span", { class: "live", id: "live", title: "Live updates" }, h("span", { class: "dot", "aria-hidden": "true" }), h("span", { class: "live-text" }, "Connecting…"));
  streamState.on((up) => {
    live.classList.toggle("up", up);
    live.lastElementChild!.textContent = up ? "Live" : "Reconnecting…";
    live.title = up ? "Live updates" : `Live updates paused${streamError ? `: ${streamError}` : ""}; reconnecting`;
  });

  const accountName = h("span", { class: "account-name", id: "account-name" });
  const signOutBtn = h("button", { type: "button", class: "btn btn-ghost btn-small", id: "sign-out" }, icon("logout"), h("span", { class: "hide-narrow" }, "Sign out"));
  signOutBtn.addEventListener("click", () => void doSignOut());

  const banner = h("div", { class: "banner-host", id: "banner" });
  const page = h("div", { class: "page", id: "page" });
  const main = h("main", { id: "main", tabindex: "-1" }, banner, page);
  const skip = h("a", { href: "#/", class: "skip-link" }, "Skip to content");
  skip.addEventListener("click", (e) => {
    e.preventDefault();
    main.focus();
  });
  const el = h(
    "div",
    { class: "shell" },
    skip,
    h(
      "header",
      { class: "topbar" },
      toggle,
      h("a", { href: "#/phones", class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "wa"), h("span", null, "wadesk")),
      live,
      h("div", { class: "spacer" }),
      h("span", { class: "account" }, icon("settings", "icon hide-narrow"), accountName),
      signOutBtn,
    ),
    nav,
    main,
  );
  setBannerHost(banner);
  return { el, main, page, links, accountName, nav, toggle };
}

function updateNav(s: Shell, route: Route): void {
  const active = route.path[0] ?? "phones";
  const phone = preferredPhone();
  for (const n of NAV) {
    const a = s.links.get(n.key)!;
    a.href = n.perPhone && phone ? `#/${n.key}/${encodeURIComponent(phone)}` : `#/${n.key}`;
    if (n.key === active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

// ---- Sign in / out ----

async function doSignOut(): Promise<void> {
  try {
    await api.signOut();
  } catch (e) {
    fail(e, null, "Could not sign out");
    return;
  }
  signedOut(false);
}

/** Leaves the signed-in state; `remember` keeps the page to come back to after signing in. */
function signedOut(remember: boolean): void {
  const r = current();
  resetState();
  session.checked = true;
  if (shell) {
    shell.el.remove();
    shell = null;
    setBannerHost(null);
  }
  const here = r.path[0];
  if (here === "sign-in" || here === "sign-up") return;
  const next = remember && r.raw && r.raw !== "/" ? `?next=${encodeURIComponent(r.raw)}` : "";
  navigate(`#/sign-in${next}`, true);
}

api.onUnauthenticated(() => {
  if (session.account || shell) signedOut(true);
});

function signedIn(name: string, email: string | null): void {
  session.account = { name, email };
  session.checked = true;
  startEvents();
}

// ---- Routing ----

let pageAbort: AbortController | null = null;
let cleanups: (() => void)[] = [];
let lastTop = "";

function leavePage(): void {
  pageAbort?.abort();
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch (e) {
      console.error("wadesk console: cleanup failed", e);
    }
  }
}

function makeCtx(route: Route, main: HTMLElement): PageCtx {
  pageAbort = new AbortController();
  return {
    route,
    main,
    signal: pageAbort.signal,
    cleanup: (fn) => cleanups.push(fn),
    title: (t) => {
      document.title = `${t} · wadesk`;
    },
  };
}

function choosePage(route: Route): Page {
  const [top = "phones", a, b] = route.path;
  switch (top) {
    case "phones":
      if (!a) return phonesPage;
      if (a === "new") return addPhonePage;
      if (b === "link") return (ctx) => linkPhonePage(ctx, a);
      return (ctx) => phonePage(ctx, a);
    case "send":
      return sendPage;
    case "messages":
      return messagesPage;
    case "contacts":
      return contactsPage;
    case "groups":
      return groupsPage;
    case "bulk":
      return bulkPage;
    case "webhook":
      return webhookPage;
    case "bot":
      return botPage;
    case "settings":
      return (ctx) => settingsPage(ctx, () => void doSignOut());
    case "api":
      return apiRefPage;
    default:
      return (ctx) => {
        ctx.title("Not found");
        replace(ctx.main, empty("There is no such page", `Nothing lives at #${route.raw}.`, linkBtn("Go to Phones", "#/phones", "btn btn-primary")));
      };
  }
}

let checking: Promise<boolean> | null = null;

/** Asks the gateway who is signed in (the cookie is HttpOnly: only the server knows). */
function checkSession(): Promise<boolean> {
  checking ??= api.account
    .getAccount({})
    .then(
      (res) => {
        signedIn(res.account?.name ?? "", res.account?.email ?? null);
        return true;
      },
      (e: unknown) => {
        if (api.isCode(e, Code.Unauthenticated)) return false;
        throw e;
      },
    )
    .finally(() => {
      checking = null;
    });
  return checking;
}

async function render(): Promise<void> {
  leavePage();
  const route = current();
  const top = route.path[0] ?? "";

  if ((top === "sign-in" || top === "sign-up") && session.account) {
    const next = route.query.get("next");
    navigate(next && /^\/[^/]/.test(next) && !next.startsWith("/sign-") ? `#${next}` : "#/phones", true);
    return;
  }

  if (top === "sign-in" || top === "sign-up") {
    if (shell) {
      shell.el.remove();
      shell = null;
      setBannerHost(null);
    }
    const host = h("div", { class: "auth-host" });
    replace(root, host);
    const ctx = makeCtx(route, host);
    await signInPage(
      ctx,
      (acc) => {
        checking = null;
        signedIn(acc.name, acc.email);
      },
      top === "sign-in" ? "in" : "up",
    );
    return;
  }

  if (!route.path.length) {
    navigate("#/phones", true);
    return;
  }

  if (!session.account) {
    if (!shell) replace(root, h("div", { class: "boot" }, loading("Opening the console…")));
    let ok: boolean;
    try {
      ok = await checkSession();
    } catch (e) {
      const p = api.problem(e);
      replace(
        root,
        h(
          "div",
          { class: "boot" },
          h("div", { class: "banner", role: "alert" }, icon("alert"), h("div", null, h("strong", null, "The gateway cannot be reached. "), p.message)),
          h("button", { type: "button", class: "btn", onclick: () => void render() }, "Try again"),
        ),
      );
      console.error("wadesk console: session check failed", e);
      return;
    }
    if (!ok) {
      signedOut(true);
      return;
    }
    if (current().raw !== route.raw) return; // the user moved on meanwhile
  }

  if (!shell) {
    shell = buildShell();
    replace(root, shell.el);
    loadPhones().then(
      () => shell && updateNav(shell, current()),
      (e: unknown) => fail(e),
    );
  }
  shell.accountName.textContent = session.account?.name || session.account?.email || "";
  updateNav(shell, route);
  clearBanner();
  replace(shell.page);
  const ctx = makeCtx(route, shell.page);
  const page = choosePage(route);
  try {
    await page(ctx);
  } catch (e) {
    fail(e);
  }
  if (shell) updateNav(shell, current());
  if (top !== lastTop) {
    lastTop = top;
    // Move the focus to the new page's heading (screen readers announce it),
    // unless the page put it somewhere itself.
    const h1 = shell?.page.querySelector<HTMLElement>("h1");
    const a = document.activeElement;
    if (h1 && (a === document.body || a === null || shell?.nav.contains(a))) h1.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
}

window.addEventListener("hashchange", () => void render());
void render();
