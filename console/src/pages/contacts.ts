// Contacts: which numbers are on WhatsApp (CheckNumbers, up to 500 at a
// time, as pasted from a spreadsheet), what one contact shows (GetContact:
// about, picture, business profile, push name, blocked), following its
// presence, and the phone's blocklist (Block / Unblock / ListBlocked).

import * as api from "../api";
import { h, icon, replace } from "../dom";
import { PHONE_STATUS, fmtDate, fmtShort, fmtTs, number, plural, relative, tsDate } from "../format";
import { PhoneStatus } from "../gen/wadesk/v1/common_pb";
import type { BlockedContact, Contact, NumberCheck } from "../gen/wadesk/v1/contact_pb";
import type { Phone } from "../gen/wadesk/v1/phone_pb";
import { listen, phonePicker, pickPhone, type PageCtx } from "../page";
import { href, updateQuiet } from "../router";
import { events, isFollowed, noteFollowed, phonesChanged, presenceChanged, presenceOf } from "../state";
import {
  badge,
  btn,
  card,
  cardTitle,
  clearBanner,
  clearErrors,
  confirmDialog,
  copyText,
  details,
  empty,
  fail,
  field,
  keepFocus,
  linkBtn,
  loading,
  notice,
  pageHeader,
  pill,
  showFieldError,
  submitting,
  toast,
} from "../ui";

/** How many numbers one check takes (the API's limit). */
export const CHECK_MAX = 500;

/** One entry of the pasted list: as typed, and the digits it comes to. */
interface Entry {
  raw: string;
  key: string;
}

/**
 * The numbers in pasted text: one per line, or separated by commas,
 * semicolons or tabs (a spreadsheet's column or row), repeats left out
 * (compared as the API compares them: `+`, spaces, dashes, dots and brackets
 * ignored, a leading 00 dropped).
 */
export function parseNumbers(text: string): { entries: Entry[]; repeated: number } {
  const seen = new Set<string>();
  const entries: Entry[] = [];
  let repeated = 0;
  for (const part of text.split(/[\r\n,;\t]+/)) {
    const raw = part.trim().replace(/^\uFEFF/, "");
    if (!raw) continue;
    let key = raw.replace(/[\s\-().+]/g, "");
    if (/^00\d/.test(key)) key = key.slice(2);
    if (seen.has(key)) {
      repeated += 1;
      continue;
    }
    seen.add(key);
    entries.push({ raw, key });
  }
  return { entries, repeated };
}

/** "Shop is not connected" in place of what a call would have shown. */
function notConnected(phone: Phone, what: string): HTMLElement {
  return notice(
    "warn",
    h("strong", null, `${phone.name || phone.phoneId} is not connected. `),
    `${what} goes through the phone's live WhatsApp session. `,
    h("a", { href: href(["phones", phone.phoneId]) }, "Open the phone"),
    " to link it, or wait for it to reconnect.",
  );
}

export async function contactsPage(ctx: PageCtx): Promise<void> {
  ctx.title("Contacts");
  const phone = await pickPhone(ctx, "contacts");
  if (!phone) return;
  const phoneId = phone.phoneId;
  let current: Phone = phone;

  // ---- The phone's state ----
  const stateBox = h("div", { id: "contacts-phone-state" });
  const renderState = (): void => {
    if (current.status === PhoneStatus.CONNECTED) {
      replace(stateBox);
      return;
    }
    replace(
      stateBox,
      notice(
        "warn",
        h("strong", null, `${current.name || current.phoneId} is ${PHONE_STATUS[current.status][0].toLowerCase()}. `),
        "Checking numbers, looking up contacts and blocking need the phone connected to WhatsApp. ",
        h("a", { href: href(["phones", current.phoneId]) }, "Open the phone"),
        ".",
      ),
    );
  };
  renderState();
  listen(ctx, phonesChanged, (list) => {
    const p = list.find((x) => x.phoneId === phoneId);
    if (!p) return;
    const was = current.status;
    current = p;
    renderState();
    if (was !== PhoneStatus.CONNECTED && p.status === PhoneStatus.CONNECTED) void loadBlocked();
  });

  // ---- Check numbers ----
  const numbers = h("textarea", {
    name: "numbers",
    id: "check-numbers",
    rows: "8",
    spellcheck: "false",
    placeholder: "919876543210\n+91 87654-32109\n…",
  });
  const count = h("span", { class: "char-count", id: "check-count" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "check-submit" }, icon("search"), "Check");
  const form = h(
    "form",
    { class: "form", id: "check-form", novalidate: true },
    field("Numbers", numbers, count),
    h("div", { class: "form-actions" }, submit),
  );
  const syncCount = (): void => {
    const { entries, repeated } = parseNumbers(numbers.value);
    const n = entries.length;
    count.textContent = n
      ? `${plural(n, "number")}${repeated ? ` (${plural(repeated, "repeat")} left out)` : ""} · at most ${CHECK_MAX}`
      : `One per line, or separated by commas, with the country code · at most ${CHECK_MAX}`;
    count.classList.toggle("over", n > CHECK_MAX);
    count.dataset.count = String(n);
  };
  numbers.addEventListener("input", syncCount);
  syncCount();

  const resultsBox = h("div", { id: "check-results", "aria-live": "polite" });
  let results: NumberCheck[] = [];
  let asked: Entry[] = [];
  const filter = h(
    "select",
    { id: "check-filter", name: "show" },
    h("option", { value: "" }, "All"),
    h("option", { value: "yes" }, "On WhatsApp"),
    h("option", { value: "no" }, "Not on WhatsApp"),
  );
  filter.addEventListener("change", () => keepFocus(resultsBox, renderResults));

  const renderResults = (): void => {
    if (!results.length) {
      replace(resultsBox);
      return;
    }
    const on = results.filter((r) => r.onWhatsapp);
    const business = on.filter((r) => r.business).length;
    const opts = filter.options;
    opts[0]!.textContent = `All (${results.length})`;
    opts[1]!.textContent = `On WhatsApp (${on.length})`;
    opts[2]!.textContent = `Not on WhatsApp (${results.length - on.length})`;
    const shown = results.filter((r) => (filter.value === "yes" ? r.onWhatsapp : filter.value === "no" ? !r.onWhatsapp : true));
    const copyArea = h("textarea", { class: "visually-hidden", readonly: true, tabindex: "-1", "aria-hidden": "true" }, on.map((r) => r.number).join("\n"));
    const copyBtn = btn(
      on.length ? `Copy numbers on WhatsApp (${on.length})` : "Copy numbers on WhatsApp",
      () => void copyText(on.map((r) => r.number).join("\n"), copyArea),
      "btn btn-small",
      "copy",
      { id: "check-copy", disabled: on.length === 0 },
    );
    replace(
      resultsBox,
      h(
        "div",
        { class: "check-head" },
        h(
          "p",
          { class: "check-summary", id: "check-summary", "data-on": String(on.length), "data-total": String(results.length) },
          h("strong", null, `${on.length} of ${results.length}`),
          ` ${results.length === 1 ? "is" : "are"} on WhatsApp`,
          business ? h("span", { class: "muted" }, ` · ${plural(business, "business account")}`) : null,
          on.length ? h("span", { class: "muted small check-tip" }, "Choose a number to look it up.") : null,
        ),
        h("div", { class: "toolbar" }, h("div", { class: "tool inline" }, h("label", { for: "check-filter" }, "Show"), filter), copyBtn, copyArea),
      ),
      shown.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table", id: "check-table" },
              h(
                "thead",
                null,
                h("tr", null, h("th", null, "Number"), h("th", null, "On WhatsApp"), h("th", null, "Business"), h("th", null, "Checked")),
              ),
              h("tbody", null, shown.map(resultRow)),
            ),
          )
        : empty(filter.value === "yes" ? "None on WhatsApp" : "All on WhatsApp", filter.value === "yes" ? "No number checked has a WhatsApp account." : "Every number checked has a WhatsApp account."),
    );
  };

  const resultRow = (r: NumberCheck): HTMLElement => {
    const at = tsDate(r.checkedAt);
    const kept = at && Date.now() - at.getTime() > 60_000;
    const entry = asked.find((e) => e.key === r.number);
    return h(
      "tr",
      { "data-number": r.number, "data-on-whatsapp": r.onWhatsapp ? "yes" : "no" },
      h(
        "td",
        { class: "mono nowrap" },
        r.onWhatsapp
          ? h(
              "a",
              {
                href: href(["contacts", phoneId], { number: r.number }),
                class: "check-number",
                title: `Look up ${number(r.number)}: about, picture, business profile`,
                onclick: (ev: MouseEvent) => {
                  ev.preventDefault();
                  void lookUp(r.number, true);
                },
              },
              number(r.number),
            )
          : number(r.number),
        r.onWhatsapp && r.jid && r.jid.split("@")[0] !== r.number ? h("div", { class: "muted small", title: "The number WhatsApp knows it by" }, `as ${number(r.jid.split("@")[0])}`) : null,
        entry && entry.raw.replace(/\D/g, "") !== r.number && !/^00/.test(entry.raw) ? h("div", { class: "muted small", title: "As pasted" }, entry.raw) : null,
      ),
      h("td", null, r.onWhatsapp ? pill("Yes", "ok", "yes") : pill("No", "idle", "no")),
      h(
        "td",
        { class: "check-business" },
        r.business ? h("span", null, badge("Business"), r.verifiedName ? h("span", { class: "verified-name" }, " ", r.verifiedName) : null) : h("span", { class: "muted" }, "—"),
      ),
      h(
        "td",
        { class: "nowrap small" },
        at ? h("time", { datetime: at.toISOString(), title: `${fmtDate(at, true)}${kept ? " (a kept answer: WhatsApp was asked then)" : ""}` }, kept ? relative(at) : fmtShort(at)) : "—",
      ),
    );
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(submit, form, async () => {
      const { entries } = parseNumbers(numbers.value);
      if (!entries.length) {
        showFieldError(form, "numbers", "Paste at least one number, with the country code.");
        return;
      }
      if (entries.length > CHECK_MAX) {
        showFieldError(form, "numbers", `numbers: holds ${entries.length} numbers; one check takes at most ${CHECK_MAX}`);
        return;
      }
      try {
        const res = await api.contacts.checkNumbers({ phoneId, numbers: entries.map((e) => e.raw) }, { signal: ctx.signal });
        asked = entries;
        results = res.results;
        filter.value = "";
        renderResults();
      } catch (e) {
        if (api.isNotConnected(e)) {
          replace(resultsBox, notConnected(current, "Checking numbers"));
          return;
        }
        const p = api.problem(e);
        const m = /^numbers\[(\d+)\]/.exec(p.message);
        const bad = m ? entries[Number(m[1])] : undefined;
        if (bad && showFieldError(form, "numbers", `${p.message} (number ${Number(m![1]) + 1} of the list: “${bad.raw}”)`)) return;
        throw e;
      }
    }, "Checking…");
  });

  // ---- One contact ----
  const lookupNumber = h("input", { name: "number", id: "lookup-number", type: "tel", inputmode: "tel", autocomplete: "off", placeholder: "e.g. 919876543210" });
  const lookupSubmit = h("button", { type: "submit", class: "btn" }, icon("search"), "Look up");
  const lookupForm = h(
    "form",
    { class: "lookup-form", id: "lookup-form", novalidate: true },
    field("Number", lookupNumber, "With the country code."),
    lookupSubmit,
  );
  const contactBox = h("div", { id: "contact-box", "aria-live": "polite" });
  let shownContact: Contact | null = null;

  const lookUp = async (num: string, fromTable = false): Promise<void> => {
    lookupNumber.value = number(num);
    clearErrors(lookupForm);
    replace(contactBox, loading("Asking WhatsApp…"));
    if (fromTable) lookupCard.scrollIntoView({ block: "nearest", behavior: "smooth" });
    try {
      const res = await api.contacts.getContact({ phoneId, number: num }, { signal: ctx.signal });
      shownContact = res.contact ?? null;
      updateQuiet(href(["contacts", phoneId], { number: shownContact?.number || num }));
      renderContact();
    } catch (e) {
      shownContact = null;
      if (api.isNotConnected(e)) {
        replace(contactBox, notConnected(current, "Looking up a contact"));
        return;
      }
      replace(contactBox);
      fail(e, lookupForm);
    }
  };
  lookupForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = lookupNumber.value.trim();
    if (!v) {
      clearErrors(lookupForm);
      showFieldError(lookupForm, "number", "Type a number, with the country code.");
      return;
    }
    void submitting(lookupSubmit, lookupForm, () => lookUp(v), "Looking up…");
  });

  const presenceLine = (c: Contact): HTMLElement => {
    const seen = presenceOf(phoneId, c.number);
    const follows = isFollowed(phoneId, c.number);
    const followBtn = btn(follows ? "Following" : "Follow presence", () => void follow(c.number, followBtn), "btn btn-small", "clock", {
      id: "contact-follow",
      disabled: follows,
      title: follows ? "Its changes arrive as presence.update events while the phone stays connected" : "Ask WhatsApp to tell this phone when the contact comes online or goes offline",
    });
    let state: HTMLElement;
    if (seen) {
      state = seen.available
        ? pill("Online", "ok", "online")
        : pill(seen.lastSeen ? `Last seen ${relative(seen.lastSeen)}` : "Offline", "idle", "offline");
      state.title = `Heard ${fmtDate(seen.at, true)}${seen.lastSeen ? `; last seen ${fmtDate(seen.lastSeen, true)}` : ""}`;
    } else {
      state = h("span", { class: "muted small" }, follows ? "Waiting for WhatsApp to tell…" : "Not followed");
    }
    return h("div", { class: "contact-presence", id: "contact-presence", "data-presence": seen ? (seen.available ? "online" : "offline") : "unknown" }, state, followBtn);
  };

  const follow = async (num: string, button: HTMLButtonElement): Promise<void> => {
    await submitting(button, null, async () => {
      try {
        await api.profiles.subscribePresence({ phoneId, number: num }, { signal: ctx.signal });
      } catch (e) {
        if (api.isNotConnected(e)) {
          replace(contactBox, notConnected(current, "Following a contact"));
          return;
        }
        throw e;
      }
      noteFollowed(phoneId, num);
      toast(`Following ${number(num)}: online and offline show here`);
    }, "Following…");
    if (shownContact?.number === num) keepFocus(contactBox, renderContact);
  };

  const renderContact = (): void => {
    const c = shownContact;
    if (!c) {
      replace(contactBox, empty("No contact shown", "Type a number above, or choose one in the checked numbers."));
      return;
    }
    const title = c.verifiedName || c.pushName || number(c.number);
    const initial = (c.verifiedName || c.pushName || "").trim().charAt(0).toUpperCase();
    if (!c.onWhatsapp) {
      replace(
        contactBox,
        h(
          "article",
          { class: "person-card", id: "contact-card", "data-number": c.number, "data-on-whatsapp": "no" },
          h("div", { class: "person-head" }, h("div", { class: "avatar", "aria-hidden": "true" }, icon("user")), h("div", null, h("h3", null, number(c.number)), pill("Not on WhatsApp", "idle", "no"))),
          h("p", { class: "muted" }, "This number has no WhatsApp account: there is nothing to show, and messages to it fail."),
        ),
      );
      return;
    }
    const bp = c.businessProfile;
    const blockBtn = c.blocked
      ? btn("Unblock", () => void setBlocked(c.number, false, blockBtn), "btn btn-small", "check", { id: "contact-unblock" })
      : btn("Block", () => void setBlocked(c.number, true, blockBtn), "btn btn-small btn-danger-ghost", "ban", { id: "contact-block" });
    replace(
      contactBox,
      h(
        "article",
        { class: "person-card", id: "contact-card", "data-number": c.number, "data-on-whatsapp": "yes", "data-blocked": String(c.blocked), "aria-label": `Contact ${title}` },
        h(
          "div",
          { class: "person-head" },
          h("div", { class: "avatar avatar-large tone-ok", "aria-hidden": "true" }, initial || icon("user")),
          h(
            "div",
            { class: "person-title" },
            h("h3", { class: "person-name" }, title),
            h(
              "div",
              { class: "person-sub" },
              title !== number(c.number) ? h("span", { class: "mono" }, number(c.number)) : null,
              c.business ? badge("Business") : null,
              c.blocked ? pill("Blocked", "bad", "blocked") : null,
            ),
          ),
        ),
        details([
          ["Push name", c.pushName ? h("span", { class: "contact-push-name" }, c.pushName) : h("span", { class: "muted" }, "Not known: it has not written to this phone")],
          ["About", c.about ? h("span", { class: "contact-about pre" }, c.about) : h("span", { class: "muted" }, "None, or hidden by its privacy settings")],
          [
            "Picture",
            c.pictureUrl
              ? h(
                  "span",
                  null,
                  h("a", { href: c.pictureUrl, target: "_blank", rel: "noopener noreferrer", class: "contact-picture-link" }, "Open the picture"),
                  h("span", { class: "muted small" }, " (on WhatsApp's servers, for a while)"),
                )
              : h("span", { class: "muted" }, "None, or hidden"),
          ],
          c.business ? ["Verified name", c.verifiedName ?? h("span", { class: "muted" }, "None")] : null,
          bp && bp.description ? ["Business", h("span", { class: "contact-business pre" }, bp.description)] : null,
          bp && bp.categories.length ? ["Category", bp.categories.join(", ")] : null,
          bp?.email ? ["E-mail", h("a", { href: `mailto:${bp.email}` }, bp.email)] : null,
          bp && bp.websites.length
            ? ["Website", h("span", { class: "contact-sites" }, bp.websites.map((w) => (/^https?:\/\//i.test(w) ? h("a", { href: w, target: "_blank", rel: "noopener noreferrer" }, w) : h("span", null, w))))]
            : null,
          bp?.address ? ["Address", h("span", { class: "pre" }, bp.address)] : null,
          ["Presence", presenceLine(c)],
          ["Blocked", c.blocked ? h("span", { class: "bad-text" }, "Yes: nothing it sends reaches this phone") : "No"],
        ]),
        h(
          "div",
          { class: "actions" },
          linkBtn("Send", href(["send", phoneId], { to: c.number }), "btn btn-small", "send"),
          linkBtn("Open the chat", href(["messages", phoneId], { chat: c.number }), "btn btn-small", "messages"),
          blockBtn,
        ),
      ),
    );
  };
  listen(ctx, presenceChanged, (key) => {
    if (shownContact && key === `${phoneId} ${shownContact.number}`) keepFocus(contactBox, renderContact);
  });

  const setBlocked = async (num: string, block: boolean, button: HTMLButtonElement): Promise<void> => {
    if (block) {
      const ok = await confirmDialog({
        title: `Block ${number(num)}?`,
        body: h("p", null, `WhatsApp delivers nothing from ${number(num)} to ${current.name || phoneId} (messages, calls, presence) until you unblock it. The contact is not told.`),
        confirm: "Block",
        danger: true,
      });
      if (!ok) return;
    }
    await submitting(button, null, async () => {
      try {
        if (block) await api.contacts.blockContact({ phoneId, number: num }, { signal: ctx.signal });
        else await api.contacts.unblockContact({ phoneId, number: num }, { signal: ctx.signal });
      } catch (e) {
        if (api.isNotConnected(e)) {
          replace(contactBox, notConnected(current, block ? "Blocking" : "Unblocking"));
          return;
        }
        throw e;
      }
      toast(block ? `${number(num)} blocked` : `${number(num)} unblocked`);
      if (shownContact?.number === num) {
        shownContact.blocked = block;
        keepFocus(contactBox, renderContact);
      }
      await loadBlocked();
    }, block ? "Blocking…" : "Unblocking…");
  };

  // ---- The blocklist ----
  const blockedBox = h("div", { id: "blocked-list" });
  let blocked: BlockedContact[] | null = null;
  const renderBlocked = (): void => {
    if (!blocked) return;
    if (!blocked.length) {
      replace(blockedBox, empty("No blocked numbers", "Numbers this phone blocks are listed here, including ones blocked on the phone itself."));
      return;
    }
    replace(
      blockedBox,
      h(
        "ul",
        { class: "blocked-list", "aria-label": "Blocked numbers" },
        blocked.map((b) => {
          const unblock: HTMLButtonElement = btn("Unblock", () => void setBlocked(b.number, false, unblock), "btn btn-small", undefined, { "aria-label": `Unblock ${number(b.number)}` });
          return h(
            "li",
            { class: "blocked-row", "data-number": b.number },
            h("span", { class: "avatar avatar-small tone-bad", "aria-hidden": "true" }, icon("ban")),
            h(
              "div",
              { class: "blocked-main" },
              h("a", { href: href(["contacts", phoneId], { number: b.number }), class: "mono", onclick: (ev: MouseEvent) => { ev.preventDefault(); void lookUp(b.number, true); } }, number(b.number)),
              h("div", { class: "muted small" }, b.blockedAt ? h("span", { title: fmtTs(b.blockedAt, true) }, `Blocked ${fmtTs(b.blockedAt)}`) : "Blocked"),
            ),
            unblock,
          );
        }),
      ),
    );
  };
  const loadBlocked = async (): Promise<void> => {
    if (!blocked) replace(blockedBox, loading("Loading the blocklist…"));
    try {
      const res = await api.contacts.listBlocked({ phoneId }, { signal: ctx.signal });
      blocked = res.blocked;
      keepFocus(blockedBox, renderBlocked);
    } catch (e) {
      blocked = null;
      if (api.isNotConnected(e)) {
        replace(blockedBox, notConnected(current, "Reading the blocklist"));
        return;
      }
      replace(blockedBox, notice("bad", `Could not read the blocklist: ${api.problem(e).message}`));
      fail(e);
    }
  };

  const lookupCard = card(cardTitle("Look up a contact"), lookupForm, contactBox);
  replace(
    ctx.main,
    pageHeader("Contacts", "Who is on WhatsApp, what a contact shows, and whom the phone blocks.", phonePicker(ctx, "contacts", phoneId, false)),
    stateBox,
    h(
      "div",
      { class: "grid-2 grid-wide-left" },
      card(cardTitle("Check numbers"), h("p", { class: "muted small card-intro" }, "Paste numbers from a spreadsheet to see which have a WhatsApp account. Answers are kept a while (a day for numbers on WhatsApp, an hour for the rest)."), form, resultsBox),
      h(
        "div",
        { class: "stack" },
        lookupCard,
        card(cardTitle("Blocked numbers", btn("Refresh", () => void loadBlocked(), "btn btn-small btn-ghost", "refresh", { id: "blocked-refresh" })), blockedBox),
      ),
    ),
  );
  renderContact();
  clearBanner();
  const wanted = (ctx.route.query.get("number") ?? "").replace(/\D/g, "");
  if (current.status === PhoneStatus.CONNECTED) {
    void loadBlocked();
    if (wanted) void lookUp(wanted);
  } else {
    replace(blockedBox, notConnected(current, "Reading the blocklist"));
    if (wanted) lookupNumber.value = number(wanted);
  }
  // A block made on the phone itself changes the list too: read it again when the phone reconnects.
  listen(ctx, events, (ev) => {
    if (ev.phoneId === phoneId && ev.event === "phone.connected") void loadBlocked();
  });
}
