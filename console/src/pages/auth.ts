// Sign in and sign up: plain JSON endpoints that set the HttpOnly session
// cookie. No token is ever handled here.

import { Code } from "@connectrpc/connect";
import * as api from "../api";
import { h, replace } from "../dom";
import type { PageCtx } from "../page";
import { navigate } from "../router";
import { takeFlash } from "../state";
import { clearErrors, field, showFieldError, spinner } from "../ui";

export interface AuthDone {
  (account: api.AccountSummary): void;
}

function logo(): HTMLElement {
  return h("div", { class: "auth-logo" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "wa"), h("span", null, "wadesk"));
}

/** Where to go after signing in: the page the user was on, else the phones. */
function nextRoute(ctx: PageCtx): string {
  const next = ctx.route.query.get("next") ?? "";
  if (/^\/[A-Za-z0-9_\-/?=&%.]*$/.test(next) && !next.startsWith("/sign-")) return `#${next}`;
  return "#/phones";
}

export async function signInPage(ctx: PageCtx, done: AuthDone, mode: "in" | "up"): Promise<void> {
  ctx.title(mode === "in" ? "Sign in" : "Create your account");
  const formError = h("div", { class: "form-error", role: "alert", id: "auth-error" });
  const flashNote = takeFlash();
  const nameInput = h("input", { name: "name", type: "text", autocomplete: "name", required: true, maxlength: "100" });
  const email = h("input", { name: "email", type: "email", autocomplete: "email", required: true, spellcheck: "false" });
  const password = h("input", {
    name: "password",
    type: "password",
    autocomplete: mode === "in" ? "current-password" : "new-password",
    required: true,
    minlength: mode === "up" ? "10" : undefined,
  });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, mode === "in" ? "Sign in" : "Create account");
  const alt = h("p", { class: "auth-alt" });
  const next = ctx.route.query.get("next");
  const keep = next ? `?next=${encodeURIComponent(next)}` : "";

  const form = h(
    "form",
    { class: "auth-form", novalidate: true, "data-auth": "1", "aria-labelledby": "auth-title" },
    h("h1", { id: "auth-title" }, mode === "in" ? "Sign in" : "Create your account"),
    h("p", { class: "muted" }, mode === "in" ? "Manage your WhatsApp phones, messages and API tokens." : "One account holds your phones, webhooks and API tokens."),
    flashNote ? h("div", { class: "form-note", role: "status" }, flashNote) : null,
    formError,
    mode === "up" ? field("Name", nameInput) : null,
    field("Email", email),
    field("Password", password, mode === "up" ? "At least 10 characters." : undefined),
    submit,
    alt,
  );

  replace(ctx.main, h("div", { class: "auth-layout" }, h("div", { class: "auth-card" }, logo(), form), h("p", { class: "auth-foot muted small" }, "Self-hosted WhatsApp gateway")));
  (mode === "up" ? nameInput : email).focus();

  if (mode === "in") {
    api.signUpEnabled().then(
      (enabled) => {
        if (enabled && !ctx.signal.aborted) replace(alt, "New here? ", h("a", { href: `#/sign-up${keep}` }, "Create your account"));
      },
      (e: unknown) => console.warn("wadesk console: could not ask whether sign-up is open", e),
    );
  } else {
    replace(alt, "Already have an account? ", h("a", { href: `#/sign-in${keep}` }, "Sign in"));
  }

  let cooldown: ReturnType<typeof setInterval> | undefined;
  ctx.cleanup(() => clearInterval(cooldown));
  const label = submit.textContent ?? "";

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    clearErrors(form);
    formError.textContent = "";
    // The browser's own checks first, shown the same way as the server's.
    if (mode === "up" && !nameInput.value.trim()) return void showFieldError(form, "name", "name: required");
    if (!email.value.trim()) return void showFieldError(form, "email", "email: required");
    if (!password.value) return void showFieldError(form, "password", "password: required");
    submit.disabled = true;
    replace(submit, spinner(), mode === "in" ? "Signing in…" : "Creating…");
    const call = mode === "in" ? api.signIn(email.value.trim(), password.value) : api.signUp(nameInput.value.trim(), email.value.trim(), password.value);
    call.then(
      (account) => {
        password.value = "";
        done(account);
        navigate(nextRoute(ctx), true);
      },
      (e: unknown) => {
        submit.disabled = false;
        replace(submit, label);
        const p = api.problem(e);
        const status = e instanceof api.HttpProblem ? e.status : 0;
        if (status === 429 || p.code === Code.ResourceExhausted) {
          let left = p.retryAfter ?? 30;
          const tick = (): void => {
            if (left <= 0) {
              clearInterval(cooldown);
              formError.textContent = "";
              submit.disabled = false;
              return;
            }
            formError.textContent = `Too many attempts, try again in ${left} s`;
            left -= 1;
          };
          submit.disabled = true;
          clearInterval(cooldown);
          tick();
          cooldown = setInterval(tick, 1000);
          return;
        }
        if (p.field && showFieldError(form, p.field, p.message)) return;
        formError.textContent = p.message || "Could not sign in";
        if (p.code === Code.Unauthenticated) {
          password.value = "";
          password.focus();
        }
        console.error("wadesk console: sign-in failed", p);
      },
    );
  });
}
