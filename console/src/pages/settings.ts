// Settings: API tokens (created here, shown once, never stored by the
// console) and the account (name, email, password, sign out).

import * as api from "../api";
import { h, replace } from "../dom";
import { RIGHTS, fmtTs, relative, tsDate } from "../format";
import { TokenRights, type Account, type Token } from "../gen/wadesk/v1/account_pb";
import type { Phone } from "../gen/wadesk/v1/phone_pb";
import { phoneLabel, type PageCtx } from "../page";
import { loadPhones, setFlash, takeFlash } from "../state";
import { btn, card, cardTitle, check, confirmDialog, details, empty, fail, field, keepFocus, loading, pageHeader, pill, secretBox, showFieldError, submitting, toast } from "../ui";

const EXPIRY: [string, number][] = [
  ["Never", 0],
  ["1 day", 86400],
  ["7 days", 7 * 86400],
  ["30 days", 30 * 86400],
  ["90 days", 90 * 86400],
  ["1 year", 365 * 86400],
];

export async function settingsPage(ctx: PageCtx, signOut: () => void): Promise<void> {
  ctx.title("Settings");
  const tokensBox = h("div", { id: "tokens" });
  const secretSlot = h("div", { id: "token-secret-slot", "aria-live": "polite" });
  const accountBox = h("div", { id: "account" });

  // ---- Create a token ----
  const name = h("input", { name: "name", type: "text", required: true, maxlength: "100", autocomplete: "off", placeholder: "e.g. CRM integration" });
  const expiry = h("select", { name: "expires_in_seconds" }, EXPIRY.map(([l, s]) => h("option", { value: String(s) }, l)));
  const rights = [TokenRights.FULL, TokenRights.SEND, TokenRights.READ].map((r) =>
    h("input", { type: "radio", name: "rights", value: String(r), checked: r === TokenRights.FULL }),
  );
  const scopeBox = h("div", { class: "scope-list" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create token");
  let phones: Phone[] = [];
  const scopeChecks: HTMLInputElement[] = [];
  const form = h(
    "form",
    { class: "form", novalidate: true, id: "token-form" },
    h("div", { class: "row-2" }, field("Name", name), field("Expires", expiry)),
    h(
      "fieldset",
      { class: "fieldset", "data-field": "rights" },
      h("legend", null, "Rights"),
      rights.map((r) => {
        const v = Number(r.value) as TokenRights;
        return check(h("strong", null, RIGHTS[v][0]), r, RIGHTS[v][1]);
      }),
      h("div", { class: "field-error", role: "alert" }),
    ),
    h(
      "fieldset",
      { class: "fieldset", "data-field": "phone_ids" },
      h("legend", null, "Phones"),
      h("p", { class: "hint" }, "Leave all unticked for every phone of the account (also ones added later). Only a full token without phones may manage tokens."),
      scopeBox,
      h("div", { class: "field-error", role: "alert" }),
    ),
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(submit, form, async () => {
      const secs = Number(expiry.value);
      const chosen = rights.find((r) => r.checked);
      const res = await api.account.createToken(
        {
          name: name.value.trim(),
          expiresInSeconds: secs ? BigInt(secs) : undefined,
          rights: chosen ? (Number(chosen.value) as TokenRights) : TokenRights.FULL,
          phoneIds: scopeChecks.filter((c) => c.checked).map((c) => c.value),
        },
        { signal: ctx.signal },
      );
      name.value = "";
      // The token lives only in this element until "I have stored it" (or leaving the page) removes it.
      replace(
        secretSlot,
        h("h3", null, `Token “${res.token?.name ?? ""}”`),
        secretBox("token-secret", res.secret, "API token", () => replace(secretSlot)),
        h("p", { class: "muted small" }, "Send it as ", h("code", null, "Authorization: Bearer <token>"), " (gRPC: metadata authorization)."),
      );
      secretSlot.scrollIntoView({ block: "nearest" });
      toast("Token created");
      await loadTokens();
    }, "Creating…");
  });
  ctx.cleanup(() => replace(secretSlot));

  // ---- The list ----
  let tokens: Token[] = [];
  const phoneName = (id: string): string => {
    const p = phones.find((x) => x.phoneId === id);
    return p ? p.name : id;
  };
  const renderTokens = (): void => {
    if (!tokens.length) {
      replace(tokensBox, empty("No tokens yet", "Create one above to call the API from your own code."));
      return;
    }
    const now = Date.now();
    replace(
      tokensBox,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", id: "tokens-table" },
          h(
            "thead",
            null,
            h("tr", null, ["Name", "Rights", "Phones", "Created", "Last used", "Expires", "State", ""].map((t) => h("th", null, t || h("span", { class: "visually-hidden" }, "Actions")))),
          ),
          h(
            "tbody",
            null,
            tokens.map((t) => {
              const expired = !!t.expiresAt && (tsDate(t.expiresAt)?.getTime() ?? 0) < now;
              const state = t.revokedAt ? pill("Revoked", "idle", "revoked") : expired ? pill("Expired", "warn", "expired") : pill("Active", "ok", "active");
              const rb: HTMLButtonElement | null = t.revokedAt ? null : btn("Revoke", () => void revoke(t, rb!), "btn btn-small btn-danger-ghost", undefined, { "aria-label": `Revoke ${t.name}` });
              return h(
                "tr",
                { "data-token-id": t.tokenId, "data-state": t.revokedAt ? "revoked" : expired ? "expired" : "active" },
                h("td", null, h("strong", null, t.name), h("div", { class: "muted small mono" }, t.tokenId)),
                h("td", null, RIGHTS[t.rights][0]),
                h("td", null, t.phoneIds.length ? t.phoneIds.map(phoneName).join(", ") : h("span", { class: "muted" }, "All")),
                h("td", { title: fmtTs(t.createdAt, true) }, fmtTs(t.createdAt)),
                h("td", { title: fmtTs(t.lastUsedAt, true) }, t.lastUsedAt ? relative(tsDate(t.lastUsedAt)) : h("span", { class: "muted" }, "Never")),
                h("td", null, t.expiresAt ? fmtTs(t.expiresAt) : h("span", { class: "muted" }, "Never")),
                h("td", null, state, t.revokedAt ? h("div", { class: "muted small" }, fmtTs(t.revokedAt)) : null),
                h("td", null, rb),
              );
            }),
          ),
        ),
      ),
    );
  };
  const loadTokens = async (): Promise<void> => {
    try {
      tokens = (await api.account.listTokens({}, { signal: ctx.signal })).tokens;
      keepFocus(tokensBox, renderTokens);
    } catch (e) {
      replace(tokensBox);
      fail(e);
    }
  };
  const revoke = async (t: Token, b: HTMLButtonElement): Promise<void> => {
    const ok = await confirmDialog({
      title: `Revoke “${t.name}”?`,
      body: h("p", null, `Every request with this token (${t.tokenId}) is refused from now on. This cannot be undone.`),
      confirm: "Revoke token",
      danger: true,
    });
    if (!ok) return;
    await submitting(b, null, async () => {
      await api.account.revokeToken({ tokenId: t.tokenId });
      toast(`${t.name} revoked`);
      await loadTokens();
    }, "Revoking…");
  };

  // ---- Account ----
  const current = h("input", { name: "current_password", type: "password", autocomplete: "current-password" });
  const next = h("input", { name: "new_password", type: "password", autocomplete: "new-password", minlength: "10" });
  const repeat = h("input", { name: "repeat", type: "password", autocomplete: "new-password" });
  const pwSubmit = h("button", { type: "submit", class: "btn btn-primary" }, "Change password");
  const pwForm = h(
    "form",
    { class: "form", novalidate: true, id: "password-form" },
    h("h3", null, "Change password"),
    field("Current password", current),
    field("New password", next, "10 to 1024 characters."),
    field("Repeat the new password", repeat),
    h("p", { class: "hint" }, "Every console session of the account is signed out; API tokens keep working."),
    h("div", { class: "form-actions" }, pwSubmit),
  );
  pwForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(pwSubmit, pwForm, async () => {
      if (next.value !== repeat.value) {
        showFieldError(pwForm, "repeat", "repeat: does not match the new password");
        return;
      }
      const res = await api.account.changePassword({ currentPassword: current.value, newPassword: next.value }, { signal: ctx.signal });
      current.value = next.value = repeat.value = "";
      const n = res.sessionsSignedOut;
      toast(`Password changed; ${n} console session${n === 1 ? "" : "s"} signed out`);
      // This session may be one of them: the next call tells, and sign-in follows if so.
      setFlash("Your password was changed: sign in with the new one.");
      await api.account.getAccount({}).then(() => takeFlash(), (e: unknown) => fail(e));
    }, "Changing…");
  });

  const renderAccount = (a: Account): void => {
    replace(
      accountBox,
      details([
        ["Name", a.name],
        ["Email", a.email ?? h("span", { class: "muted" }, "none")],
        ["Account ID", h("code", null, a.accountId)],
        ["Created", fmtTs(a.createdAt)],
      ]),
      a.hasPassword ? pwForm : h("p", { class: "muted" }, "This account has no console password."),
      h("div", { class: "actions" }, btn("Sign out", signOut, "btn", "logout")),
    );
    if (!a.hasPassword) current.disabled = true;
  };

  replace(
    ctx.main,
    pageHeader("Settings", "API tokens and your account."),
    card(cardTitle("Create an API token"), form, secretSlot),
    card(cardTitle("API tokens"), tokensBox),
    card(cardTitle("Account"), accountBox),
  );
  replace(tokensBox, loading("Loading tokens…"));
  replace(accountBox, loading());
  replace(scopeBox, loading());

  const [, , acc] = await Promise.allSettled([
    loadPhones().then(
      (list) => {
        phones = list;
        scopeChecks.length = 0;
        replace(
          scopeBox,
          list.length
            ? list.map((p) => {
                const c = h("input", { type: "checkbox", name: "phone_ids", value: p.phoneId });
                scopeChecks.push(c);
                return check(phoneLabel(p), c, p.phoneId);
              })
            : h("p", { class: "muted small" }, "No phones yet."),
        );
      },
      (e: unknown) => {
        replace(scopeBox);
        fail(e);
      },
    ),
    loadTokens(),
    api.account.getAccount({}, { signal: ctx.signal }),
  ]);
  if (acc.status === "fulfilled" && acc.value.account) renderAccount(acc.value.account);
  else if (acc.status === "rejected") {
    replace(accountBox);
    fail(acc.reason);
  }
}
