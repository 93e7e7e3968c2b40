// Groups: the phone's WhatsApp groups (ListGroups), a new group with a
// result per number (CreateGroup), joining by an invite link after seeing
// where it leads (GetInviteInfo, JoinGroup), and one group: its info
// (UpdateGroup), members and their roles (Add/Remove/Promote/Demote with a
// result per number, shown beside the action), the invite link (Get/Revoke),
// its settings (SetGroupSettings, a refusal shown under the setting), join
// requests (List/Approve/Reject) and leaving it (LeaveGroup). Everything
// goes through the phone's live session: a phone not connected is said
// where the answer would be, as on Contacts.

import { Code } from "@connectrpc/connect";
import * as api from "../api";
import { h, icon, replace } from "../dom";
import { PHONE_STATUS, chars, fmtDate, fmtTs, number, plural, relative, tsDate, type Tone } from "../format";
import { PhoneStatus } from "../gen/wadesk/v1/common_pb";
import { GroupRole, type Group, type JoinRequest, type ParticipantResult } from "../gen/wadesk/v1/group_pb";
import type { Phone } from "../gen/wadesk/v1/phone_pb";
import { listen, phonePicker, pickPhone, type PageCtx } from "../page";
import { href, navigate } from "../router";
import { phonesChanged } from "../state";
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
import { parseNumbers } from "./contacts";

/** The API's limits (group.proto). */
const SUBJECT_MAX = 100;
const DESCRIPTION_MAX = 2048;
const PARTICIPANTS_MAX = 256;

export const ROLE: Record<GroupRole, [string, Tone, string]> = {
  [GroupRole.UNSPECIFIED]: ["Member", "idle", "member"],
  [GroupRole.MEMBER]: ["Member", "idle", "member"],
  [GroupRole.ADMIN]: ["Admin", "info", "admin"],
  [GroupRole.SUPERADMIN]: ["Owner", "ok", "superadmin"],
};

/** Disappearing messages, as WhatsApp offers them. */
const DISAPPEARING: [number, string][] = [
  [0, "Off"],
  [86400, "24 hours"],
  [604800, "7 days"],
  [7776000, "90 days"],
];

function disappearingText(s: number): string {
  return DISAPPEARING.find(([v]) => v === s)?.[1] ?? plural(s, "second");
}

/** The id without `@g.us`, as the console's URLs carry it. */
export function groupKey(id: string): string {
  return id.replace(/@g\.us$/, "");
}

/** Whether a recipient is a group id rather than a number. */
export function isGroupId(to: string): boolean {
  const t = to.trim();
  return /@g\.us$/.test(t) || /^120363\d{6,}$/.test(t);
}

/** An invite link's code: the link's last part, or the code as given. */
export function inviteCode(text: string): string {
  return text
    .trim()
    .replace(/^(https?:\/\/)?chat\.whatsapp\.com\//i, "")
    .replace(/^invite\//i, "")
    .replace(/[/?#].*$/, "");
}

/** The phone's own place in `g`. */
function myRole(g: Group, phone: Phone): GroupRole {
  return g.participants.find((p) => p.number === phone.number)?.role ?? GroupRole.UNSPECIFIED;
}

function isAdminRole(r: GroupRole): boolean {
  return r === GroupRole.ADMIN || r === GroupRole.SUPERADMIN;
}

/** How the result of one number reads, by what was asked (`done`: the words for `ok`). */
function resultWords(r: ParticipantResult, done: string): [string, Tone, string] {
  const code = r.code ? ` (WhatsApp's code ${r.code})` : "";
  switch (r.status) {
    case "ok":
      return [done, "ok", ""];
    case "already_in":
      return ["Already in the group", "idle", "Nothing to do: it is a participant already."];
    case "not_on_whatsapp":
      return ["Not on WhatsApp", "bad", "This number has no WhatsApp account."];
    case "invited":
      return ["Invited", "info", "Its privacy settings let only its contacts add it: WhatsApp sent it an invitation to join instead."];
    case "not_in_group":
      return ["Not in the group", "idle", "It is not a participant."];
    case "not_allowed":
      return ["Not allowed", "bad", r.code === 406 ? "The group's owner cannot be changed." : `WhatsApp refused this one${code}.`];
    default:
      return ["Failed", "bad", `WhatsApp could not do it${code}.`];
  }
}

/** A result per number: the number, a pill, and what it means. */
function resultList(results: ParticipantResult[], done: string, id?: string): HTMLElement {
  return h(
    "ul",
    { class: "participant-results", id },
    results.map((r) => {
      const [label, tone, why] = resultWords(r, done);
      return h(
        "li",
        { "data-number": r.number, "data-status": r.status },
        h("span", { class: "mono" }, number(r.number)),
        pill(label, tone, r.status),
        why ? h("span", { class: "muted small" }, why) : null,
      );
    }),
  );
}

/** "2 of 3 added", and how many were not. */
function resultSummary(results: ParticipantResult[], done: string): string {
  const ok = results.filter((r) => r.status === "ok").length;
  return `${ok} of ${results.length} ${done.toLowerCase()}`;
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

/** The notice under the header while the phone is not connected (nothing while it is). */
function phoneState(ctx: PageCtx, phone: Phone, onConnected: () => void): { box: HTMLElement; current: () => Phone } {
  const box = h("div", { id: "groups-phone-state" });
  let current = phone;
  const render = (): void => {
    if (current.status === PhoneStatus.CONNECTED) {
      replace(box);
      return;
    }
    replace(
      box,
      notice(
        "warn",
        h("strong", null, `${current.name || current.phoneId} is ${PHONE_STATUS[current.status][0].toLowerCase()}. `),
        "Groups are read and run on WhatsApp through the phone's live session. ",
        h("a", { href: href(["phones", current.phoneId]) }, "Open the phone"),
        ".",
      ),
    );
  };
  render();
  listen(ctx, phonesChanged, (list) => {
    const p = list.find((x) => x.phoneId === phone.phoneId);
    if (!p) return;
    const was = current.status;
    current = p;
    render();
    if (was !== PhoneStatus.CONNECTED && p.status === PhoneStatus.CONNECTED) onConnected();
  });
  return { box, current: () => current };
}

/** A textarea of numbers with its count, as Contacts takes them. */
function numbersBox(name: string, id: string, rows: string): { area: HTMLTextAreaElement; count: HTMLElement; entries: () => { raw: string; key: string }[] } {
  const area = h("textarea", { name, id, rows, spellcheck: "false", placeholder: "919876543210\n+91 87654-32109\n…" });
  const count = h("span", { class: "char-count" });
  const sync = (): void => {
    const { entries, repeated } = parseNumbers(area.value);
    const n = entries.length;
    count.textContent = n
      ? `${plural(n, "number")}${repeated ? ` (${plural(repeated, "repeat")} left out)` : ""} · at most ${PARTICIPANTS_MAX}`
      : "One per line, or separated by commas, with the country code";
    count.classList.toggle("over", n > PARTICIPANTS_MAX);
    count.dataset.count = String(n);
  };
  area.addEventListener("input", sync);
  sync();
  return { area, count, entries: () => parseNumbers(area.value).entries };
}

/** Checks a pasted list before it is sent: an error under the field, else the entries. */
function checkNumbers(form: HTMLElement, name: string, entries: { raw: string }[]): boolean {
  if (!entries.length) {
    showFieldError(form, name, "Give at least one number, with the country code.");
    return false;
  }
  if (entries.length > PARTICIPANTS_MAX) {
    showFieldError(form, name, `${name}: holds ${entries.length} numbers; at most ${PARTICIPANTS_MAX} at a time`);
    return false;
  }
  return true;
}

/** A 400 naming `participants[i]` also names the entry, as pasted. */
function participantError(form: HTMLElement, name: string, e: unknown, entries: { raw: string }[]): boolean {
  const p = api.problem(e);
  const m = /^participants\[(\d+)\]/.exec(p.message);
  const bad = m ? entries[Number(m[1])] : undefined;
  return !!bad && showFieldError(form, name, `${p.message} (number ${Number(m![1]) + 1} of the list: “${bad.raw}”)`);
}

export async function groupsPage(ctx: PageCtx): Promise<void> {
  ctx.title("Groups");
  const phone = await pickPhone(ctx, "groups");
  if (!phone) return;
  const gid = ctx.route.path[2];
  if (gid) await groupPage(ctx, phone, gid);
  else groupListPage(ctx, phone);
}

// ---- The phone's groups, a new group, joining by link ----

function groupListPage(ctx: PageCtx, phone: Phone): void {
  const phoneId = phone.phoneId;
  const state = phoneState(ctx, phone, () => void loadList());

  // ---- The list ----
  const listBox = h("div", { id: "group-list", "aria-live": "polite" });
  let groups: Group[] | null = null;
  const renderList = (): void => {
    if (!groups) return;
    if (!groups.length) {
      replace(listBox, empty("No groups yet", "Create one here, join one by its invite link, or add this phone to a group from another phone."));
      return;
    }
    replace(
      listBox,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", id: "groups-table" },
          h("thead", null, h("tr", null, h("th", null, "Group"), h("th", null, "Members"), h("th", null, "Your role"), h("th", null, "Settings"))),
          h(
            "tbody",
            null,
            groups.map((g) => {
              const [role, tone, key] = ROLE[myRole(g, state.current())];
              const s = g.settings;
              return h(
                "tr",
                { "data-group-id": g.groupId, "data-role": key },
                h(
                  "td",
                  { class: "group-cell" },
                  h("a", { href: href(["groups", phoneId, groupKey(g.groupId)]), class: "group-link" }, g.subject || groupKey(g.groupId)),
                  g.description ? h("div", { class: "muted small group-desc" }, g.description) : null,
                ),
                h("td", { class: "nowrap" }, plural(g.size || g.participants.length, "member")),
                h("td", null, pill(role, tone, key)),
                h(
                  "td",
                  null,
                  h(
                    "div",
                    { class: "group-flags" },
                    s?.announce ? badge("Only admins send") : null,
                  s?.locked ? badge("Info locked") : null,
                  s?.joinApproval ? badge("Approval") : null,
                  s?.disappearingSeconds ? badge(`Disappearing ${disappearingText(s.disappearingSeconds)}`) : null,
                    s && !s.announce && !s.locked && !s.joinApproval && !s.disappearingSeconds ? h("span", { class: "muted" }, "—") : null,
                  ),
                ),
              );
            }),
          ),
        ),
      ),
    );
  };
  const loadList = async (): Promise<void> => {
    if (!groups) replace(listBox, loading("Asking WhatsApp for the phone's groups…"));
    try {
      const res = await api.groups.listGroups({ phoneId }, { signal: ctx.signal });
      groups = res.groups;
      keepFocus(listBox, renderList);
    } catch (e) {
      groups = null;
      if (api.isNotConnected(e)) {
        replace(listBox, notConnected(state.current(), "Reading the groups"));
        return;
      }
      replace(listBox, notice("bad", `Could not read the groups: ${api.problem(e).message}`));
      fail(e);
    }
  };

  // ---- A new group ----
  const subject = h("input", { name: "subject", id: "new-group-subject", type: "text", autocomplete: "off", maxlength: String(SUBJECT_MAX * 2), placeholder: "e.g. Orders" });
  const people = numbersBox("participants", "new-group-participants", "5");
  const create = h("button", { type: "submit", class: "btn btn-primary", id: "new-group-submit" }, icon("plus"), "Create group");
  const createForm = h(
    "form",
    { class: "form", id: "new-group-form", novalidate: true },
    field("Name", subject, `What members see as the group's name; up to ${SUBJECT_MAX} characters.`),
    field("Participants", people.area, h("span", null, people.count, ". This phone is the group's owner.")),
    h("div", { class: "form-actions" }, create),
  );
  const createdBox = h("div", { id: "group-created", "aria-live": "polite" });
  createForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(create, createForm, async () => {
      const name = subject.value.trim();
      const entries = people.entries();
      if (!name) {
        showFieldError(createForm, "subject", "Give the group a name.");
        return;
      }
      if (chars(name) > SUBJECT_MAX) {
        showFieldError(createForm, "subject", `subject: is ${chars(name)} characters; at most ${SUBJECT_MAX}`);
        return;
      }
      if (!checkNumbers(createForm, "participants", entries)) return;
      try {
        const res = await api.groups.createGroup({ phoneId, subject: name, participants: entries.map((e) => e.raw) }, { signal: ctx.signal });
        const g = res.group;
        const ok = res.participants.filter((r) => r.status === "ok").length;
        replace(
          createdBox,
          h(
            "div",
            { class: "result group-result", "data-group-id": g?.groupId ?? "" },
            h("div", { class: "result-head" }, icon("check"), h("strong", null, `Created “${g?.subject || name}”`)),
            h("p", { class: "group-result-summary", id: "group-created-summary", "data-ok": String(ok), "data-total": String(res.participants.length) }, `${resultSummary(res.participants, "added")}; this phone is its owner.`),
            resultList(res.participants, "Added", "group-created-results"),
            g ? h("div", { class: "actions" }, linkBtn("Open the group", href(["groups", phoneId, groupKey(g.groupId)]), "btn btn-small", "users"), linkBtn("Send to it", href(["send", phoneId], { to: g.groupId }), "btn btn-small", "send")) : null,
          ),
        );
        createdBox.scrollIntoView({ block: "nearest", behavior: "smooth" });
        subject.value = "";
        people.area.value = "";
        people.area.dispatchEvent(new Event("input"));
        toast(`Group “${g?.subject || name}” created`);
        void loadList();
      } catch (e) {
        if (api.isNotConnected(e)) {
          replace(createdBox, notConnected(state.current(), "Creating a group"));
          return;
        }
        if (participantError(createForm, "participants", e, entries)) return;
        throw e;
      }
    }, "Creating…");
  });

  // ---- Joining by an invite link ----
  const invite = h("input", { name: "invite", id: "join-invite", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "https://chat.whatsapp.com/…" });
  const lookBtn = h("button", { type: "submit", class: "btn", id: "join-lookup" }, icon("search"), "Look up");
  const inviteField = field("Invite link or code", invite, "See where it leads before joining.");
  inviteField.setAttribute("data-field-also", "code");
  const joinForm = h("form", { class: "lookup-form", id: "join-form", novalidate: true }, inviteField, lookBtn);
  const joinBox = h("div", { id: "join-info", "aria-live": "polite" });
  joinForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(lookBtn, joinForm, async () => {
      const code = inviteCode(invite.value);
      if (!code) {
        showFieldError(joinForm, "invite", "Paste an invite link (https://chat.whatsapp.com/…) or its code.");
        return;
      }
      replace(joinBox, loading("Asking WhatsApp where it leads…"));
      try {
        const res = await api.groups.getInviteInfo({ phoneId, code }, { signal: ctx.signal });
        showInvite(res.group, code);
      } catch (e) {
        replace(joinBox);
        if (api.isNotConnected(e)) {
          replace(joinBox, notConnected(state.current(), "Reading an invite"));
          return;
        }
        const p = api.problem(e);
        if (p.code === Code.NotFound || p.code === Code.InvalidArgument) {
          if (showFieldError(joinForm, p.field ?? "invite", p.field ? p.message : `This invite does not work: ${p.message}`)) return;
        }
        throw e;
      }
    }, "Looking up…");
  });
  const showInvite = (g: Group | undefined, code: string): void => {
    if (!g) {
      replace(joinBox);
      return;
    }
    const already = !!groups?.some((x) => x.groupId === g.groupId);
    const joinBtn: HTMLButtonElement = btn(g.settings?.joinApproval ? "Ask to join" : "Join group", () => void join(code, g, joinBtn), "btn btn-primary", "plus", { id: "join-submit", disabled: already });
    replace(
      joinBox,
      h(
        "article",
        { class: "invite-card", id: "invite-card", "data-group-id": g.groupId },
        h(
          "div",
          { class: "person-head" },
          h("div", { class: "avatar avatar-large tone-ok", "aria-hidden": "true" }, icon("users")),
          h("div", { class: "person-title" }, h("h3", { class: "person-name", id: "invite-subject" }, g.subject || "A group"), h("div", { class: "person-sub muted small" }, plural(g.size || g.participants.length, "member"))),
        ),
        g.description ? h("p", { class: "pre invite-desc" }, g.description) : null,
        details([
          g.owner ? ["Created by", h("span", { class: "mono" }, number(g.owner))] : null,
          g.createdAt ? ["Created", fmtTs(g.createdAt)] : null,
          ["Joining", g.settings?.joinApproval ? "An admin approves new members: the phone waits until one does" : "Straight in"],
        ]),
        already
          ? notice("info", "This phone is in this group already. ", h("a", { href: href(["groups", phoneId, groupKey(g.groupId)]) }, "Open it"), ".")
          : h("div", { class: "actions" }, joinBtn),
      ),
    );
  };
  const join = async (code: string, g: Group, button: HTMLButtonElement): Promise<void> => {
    await submitting(button, joinForm, async () => {
      try {
        const res = await api.groups.joinGroup({ phoneId, invite: code }, { signal: ctx.signal });
        if (res.pending) {
          replace(joinBox, notice("info", h("strong", null, `Asked to join “${g.subject}”. `), "An admin of the group must let the phone in; it then shows in the list."));
          return;
        }
        toast(`Joined “${g.subject}”`);
        navigate(href(["groups", phoneId, groupKey(res.groupId || g.groupId)]));
      } catch (e) {
        if (api.isNotConnected(e)) {
          replace(joinBox, notConnected(state.current(), "Joining a group"));
          return;
        }
        throw e;
      }
    }, "Joining…");
  };

  replace(
    ctx.main,
    pageHeader("Groups", "The phone's WhatsApp groups: create them, join them by link, and run the ones it is an admin of.", phonePicker(ctx, "groups", phoneId, false)),
    state.box,
    h(
      "div",
      { class: "grid-2 grid-wide-left" },
      card(cardTitle("Groups", btn("Refresh", () => void loadList(), "btn btn-small btn-ghost", "refresh", { id: "groups-refresh" })), listBox),
      h(
        "div",
        { class: "stack" },
        card(cardTitle("New group"), createForm, createdBox),
        card(cardTitle("Join a group by link"), joinForm, joinBox),
      ),
    ),
  );
  clearBanner();
  if (phone.status === PhoneStatus.CONNECTED) void loadList();
  else replace(listBox, notConnected(phone, "Reading the groups"));
  const wanted = ctx.route.query.get("invite");
  if (wanted) invite.value = wanted;
}

// ---- One group ----

async function groupPage(ctx: PageCtx, phone: Phone, key: string): Promise<void> {
  const phoneId = phone.phoneId;
  const groupId = key.includes("@") ? key : `${key}@g.us`;
  let group: Group | null = null;
  const state = phoneState(ctx, phone, () => void load());
  const me = (): Phone => state.current();

  const crumbs = h("p", { class: "crumbs" }, h("a", { href: href(["groups", phoneId]) }, "Groups"), " / ", h("span", { id: "group-crumb" }, groupKey(groupId)));
  const headBox = h("div", { id: "group-head" });
  const body = h("div", { id: "group-body" }, loading("Reading the group…"));
  replace(ctx.main, crumbs, headBox, state.box, body);
  clearBanner();

  const isAdmin = (): boolean => !!group && isAdminRole(myRole(group, me()));
  const canEditInfo = (): boolean => !!group && (isAdmin() || !group.settings?.locked);

  // ---- Header ----
  const refreshBtn = btn("Refresh", () => void load(), "btn btn-ghost", "refresh", { id: "group-refresh" });
  const renderHead = (): void => {
    const g = group;
    const [role, tone, roleKey] = g ? ROLE[myRole(g, me())] : ROLE[GroupRole.UNSPECIFIED];
    replace(
      headBox,
      pageHeader(
        g?.subject || "Group",
        g
          ? h("span", { class: "group-sub" }, plural(g.size || g.participants.length, "member"), " · this phone is ", pill(role, tone, roleKey), h("span", { class: "visually-hidden" }, role))
          : groupKey(groupId),
        g ? linkBtn("Send to the group", href(["send", phoneId], { to: g.groupId }), "btn", "send") : null,
        refreshBtn,
      ),
    );
    const crumb = document.getElementById("group-crumb");
    if (crumb) crumb.textContent = g?.subject || groupKey(groupId);
    if (g) ctx.title(`${g.subject || "Group"} · Groups`);
  };
  renderHead();

  /** Runs a change; a phone gone offline meanwhile is said in `where`, not as an error. */
  const change = async (where: HTMLElement, what: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (e) {
      if (api.isNotConnected(e)) {
        replace(where, notConnected(me(), what));
        return;
      }
      throw e;
    }
  };

  // ---- About: subject, description, picture ----
  const subject = h("input", { name: "subject", id: "group-subject", type: "text", autocomplete: "off" });
  const description = h("textarea", { name: "description", id: "group-description", rows: "3" });
  const picture = h("input", { name: "picture_url", id: "group-picture", type: "url", autocomplete: "off", spellcheck: "false", placeholder: "https://example.com/group.png" });
  const subjectCount = h("span", { class: "char-count" });
  const descCount = h("span", { class: "char-count" });
  const saveInfo = h("button", { type: "submit", class: "btn btn-primary", id: "group-info-save" }, "Save");
  const infoNote = h("div", { id: "group-info-note" });
  const infoForm = h(
    "form",
    { class: "form", id: "group-info-form", novalidate: true },
    field("Name", subject, subjectCount),
    field("Description", description, h("span", null, descCount, " · empty removes it")),
    field("New picture from a URL (optional)", picture, "A JPEG or PNG; the gateway fetches it and makes it a 640×640 square."),
    infoNote,
    h("div", { class: "form-actions" }, saveInfo),
  );
  const counts = (): void => {
    const s = chars(subject.value.trim());
    const d = chars(description.value.trim());
    subjectCount.textContent = `${s} / ${SUBJECT_MAX} characters`;
    subjectCount.classList.toggle("over", s > SUBJECT_MAX);
    descCount.textContent = `${d} / ${DESCRIPTION_MAX} characters`;
    descCount.classList.toggle("over", d > DESCRIPTION_MAX);
  };
  subject.addEventListener("input", counts);
  description.addEventListener("input", counts);
  let filled = "";
  const fillInfo = (): void => {
    const g = group;
    if (!g) return;
    const now = JSON.stringify([g.subject, g.description ?? ""]);
    if (now !== filled) {
      filled = now;
      subject.value = g.subject;
      description.value = g.description ?? "";
    }
    counts();
    const on = canEditInfo();
    for (const el of [subject, description, picture, saveInfo]) el.disabled = !on;
    replace(infoNote, on ? null : h("p", { class: "muted small" }, icon("alert"), " Only the group's admins edit its info (an admin turned on “Only admins edit the group's info”)."));
  };
  infoForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(saveInfo, infoForm, () =>
      change(infoNote, "Changing the group", async () => {
        const g = group;
        if (!g) return;
        const s = subject.value.trim();
        const d = description.value.trim();
        const url = picture.value.trim();
        const req = {
          phoneId,
          groupId,
          subject: s !== g.subject ? s : undefined,
          description: d !== (g.description ?? "") ? d : undefined,
          pictureUrl: url || undefined,
        };
        if (req.subject === undefined && req.description === undefined && req.pictureUrl === undefined) {
          toast("Nothing to change: edit the name or the description, or give a picture URL", "info");
          return;
        }
        if (req.subject !== undefined && !s) {
          showFieldError(infoForm, "subject", "The group needs a name.");
          return;
        }
        const res = await api.groups.updateGroup(req, { signal: ctx.signal });
        picture.value = "";
        if (res.group) update(res.group);
        toast("Group info saved");
      }),
    "Saving…");
  });

  // ---- Members ----
  const membersTitle = h("h2", null, "Members");
  const membersList = h("ul", { class: "member-list", id: "group-members", "aria-label": "Members" });
  /** What the last action on a member came to, shown on its row. */
  const rowNotes = new Map<string, HTMLElement>();
  const people = numbersBox("participants", "group-add-participants", "3");
  const addBtn = h("button", { type: "submit", class: "btn", id: "group-add-submit" }, icon("plus"), "Add");
  const addResults = h("div", { id: "group-add-results", "aria-live": "polite" });
  const addForm = h(
    "form",
    { class: "form add-form", id: "group-add-form", novalidate: true },
    field("Add participants", people.area, people.count),
    h("div", { class: "form-actions" }, addBtn),
    addResults,
  );
  const addBox = h("div", { class: "add-box" });
  addForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(addBtn, addForm, () =>
      change(addResults, "Adding participants", async () => {
        const entries = people.entries();
        if (!checkNumbers(addForm, "participants", entries)) return;
        try {
          const res = await api.groups.addParticipants({ phoneId, groupId, participants: entries.map((e) => e.raw) }, { signal: ctx.signal });
          replace(
            addResults,
            h("p", { class: "group-result-summary", id: "group-add-summary", "data-ok": String(res.participants.filter((r) => r.status === "ok").length), "data-total": String(res.participants.length) }, resultSummary(res.participants, "added")),
            resultList(res.participants, "Added"),
          );
          people.area.value = "";
          people.area.dispatchEvent(new Event("input"));
          await load();
        } catch (e) {
          if (participantError(addForm, "participants", e, entries)) return;
          throw e;
        }
      }),
    "Adding…");
  });

  const ORDER: Record<GroupRole, number> = { [GroupRole.SUPERADMIN]: 0, [GroupRole.ADMIN]: 1, [GroupRole.MEMBER]: 2, [GroupRole.UNSPECIFIED]: 3 };
  const renderMembers = (): void => {
    const g = group;
    if (!g) return;
    const admin = isAdmin();
    membersTitle.textContent = `Members (${g.participants.length})`;
    const sorted = [...g.participants].sort((a, b) => ORDER[a.role] - ORDER[b.role] || (a.number === me().number ? -1 : b.number === me().number ? 1 : a.number.localeCompare(b.number)));
    replace(
      membersList,
      sorted.map((p) => {
        const [role, tone, roleKey] = ROLE[p.role];
        const mine = p.number === me().number;
        const acts: HTMLElement[] = [];
        if (admin && !mine && p.role !== GroupRole.SUPERADMIN) {
          const label = number(p.number);
          if (p.role === GroupRole.ADMIN) {
            const demote: HTMLButtonElement = btn("Dismiss as admin", () => void memberAction("demote", p.number, demote), "btn btn-small", undefined, { "aria-label": `Dismiss ${label} as admin`, "data-action": "demote" });
            acts.push(demote);
          } else {
            const promote: HTMLButtonElement = btn("Make admin", () => void memberAction("promote", p.number, promote), "btn btn-small", undefined, { "aria-label": `Make ${label} an admin`, "data-action": "promote" });
            acts.push(promote);
          }
          const remove: HTMLButtonElement = btn("Remove", () => void memberAction("remove", p.number, remove), "btn btn-small btn-danger-ghost", undefined, { "aria-label": `Remove ${label}`, "data-action": "remove" });
          acts.push(remove);
        }
        return h(
          "li",
          { class: "member-row", "data-number": p.number, "data-role": roleKey },
          h("span", { class: `avatar avatar-small tone-${mine ? "ok" : "idle"}`, "aria-hidden": "true" }, icon("user")),
          h("div", { class: "member-main" }, h("span", { class: "mono member-number" }, number(p.number)), mine ? badge("This phone") : null, " ", pill(role, tone, roleKey)),
          acts.length ? h("div", { class: "member-actions" }, acts) : null,
          rowNotes.get(p.number) ?? null,
        );
      }),
    );
    // Numbers an action was about that are not members any more (removed): their note stays a while.
    for (const [num, note] of rowNotes) {
      if (!g.participants.some((p) => p.number === num)) membersList.appendChild(h("li", { class: "member-row gone", "data-number": num, "data-role": "gone" }, h("span", { class: "avatar avatar-small tone-idle", "aria-hidden": "true" }, icon("user")), h("div", { class: "member-main" }, h("span", { class: "mono member-number" }, number(num))), note));
    }
    replace(addBox, admin ? addForm : h("p", { class: "muted small" }, "Only the group's admins add participants."));
  };

  const ACTION: Record<"promote" | "demote" | "remove", [string, string]> = {
    promote: ["Now an admin", "Making admin…"],
    demote: ["No longer an admin", "Dismissing…"],
    remove: ["Removed", "Removing…"],
  };
  const memberAction = async (action: "promote" | "demote" | "remove", num: string, button: HTMLButtonElement): Promise<void> => {
    if (action === "remove") {
      const ok = await confirmDialog({
        title: `Remove ${number(num)}?`,
        body: h("p", null, `${number(num)} leaves “${group?.subject ?? "the group"}” and reads nothing sent to it from now on. An admin can add it again.`),
        confirm: "Remove",
        danger: true,
      });
      if (!ok) return;
    }
    const [done, busy] = ACTION[action];
    const note = (child: HTMLElement): void => {
      rowNotes.set(num, h("div", { class: "member-note", "data-for": num }, child));
    };
    await submitting(button, null, async () => {
      try {
        const req = { phoneId, groupId, participants: [num] };
        const res =
          action === "promote"
            ? await api.groups.promoteParticipants(req, { signal: ctx.signal })
            : action === "demote"
              ? await api.groups.demoteParticipants(req, { signal: ctx.signal })
              : await api.groups.removeParticipants(req, { signal: ctx.signal });
        const r = res.participants.find((x) => x.number === num) ?? res.participants[0];
        if (r) {
          const [label, tone, why] = resultWords(r, done);
          note(h("span", { class: "member-result", "data-status": r.status }, pill(label, tone, r.status), why ? h("span", { class: "muted small" }, ` ${why}`) : null));
        }
        await load();
      } catch (e) {
        if (api.isAbort(e)) return;
        if (api.isNotConnected(e)) {
          note(notConnected(me(), "Changing a member"));
          renderMembers();
          return;
        }
        const p = api.problem(e);
        note(h("span", { class: "member-result bad-text small", "data-status": "refused", role: "alert" }, p.message));
        renderMembers();
        console.error("wadesk console:", p);
      }
    }, busy);
  };

  // ---- The invite link ----
  const inviteBox = h("div", { id: "group-invite" });
  const renderInvite = (): void => {
    const g = group;
    if (!g) return;
    if (!isAdmin()) {
      replace(inviteBox, h("p", { class: "muted small" }, "Only the group's admins see and reset its invite link."));
      return;
    }
    const link = g.inviteLink ?? "";
    const input = h("input", { id: "invite-link", type: "text", readonly: true, value: link, class: "mono", spellcheck: "false", "aria-label": "Invite link" });
    input.addEventListener("focus", () => input.select());
    const copy = btn("Copy", () => void copyText(link, input), "btn btn-small", "copy", { id: "invite-copy", disabled: !link });
    const reset: HTMLButtonElement = btn("Reset link", () => void resetLink(reset), "btn btn-small btn-danger-ghost", "refresh", { id: "invite-reset" });
    replace(
      inviteBox,
      h("div", { class: "invite-row" }, input, copy),
      h("p", { class: "muted small" }, "Anyone with the link can join", g.settings?.joinApproval ? " once an admin approves them." : ".", " Resetting makes a new link; the old one stops working."),
      h("div", { class: "actions" }, reset),
    );
  };
  const resetLink = async (button: HTMLButtonElement): Promise<void> => {
    const ok = await confirmDialog({
      title: "Reset the invite link?",
      body: h("p", null, "The current link stops working at once: people who have it can no longer join with it. The group gets a new link to share."),
      confirm: "Reset link",
      danger: true,
    });
    if (!ok) return;
    await submitting(button, null, () =>
      change(inviteBox, "Resetting the link", async () => {
        const res = await api.groups.revokeInviteLink({ phoneId, groupId }, { signal: ctx.signal });
        if (group) group.inviteLink = res.inviteLink;
        renderInvite();
        document.getElementById("invite-copy")?.focus();
        toast("New invite link made; the old one no longer works");
      }),
    "Resetting…");
  };

  // ---- Settings ----
  const settingsForm = h("form", { class: "form settings-form", id: "group-settings", novalidate: true });
  settingsForm.addEventListener("submit", (ev) => ev.preventDefault());
  type SettingName = "announce" | "locked" | "join_approval" | "disappearing_seconds";
  const saveSetting = async (name: SettingName, control: HTMLInputElement | HTMLSelectElement, value: boolean | number, undo: () => void): Promise<void> => {
    clearErrors(settingsForm);
    control.disabled = true;
    const wrap = control.closest<HTMLElement>("[data-field]");
    wrap?.setAttribute("aria-busy", "true");
    try {
      const req = {
        phoneId,
        groupId,
        announce: name === "announce" ? (value as boolean) : undefined,
        locked: name === "locked" ? (value as boolean) : undefined,
        joinApproval: name === "join_approval" ? (value as boolean) : undefined,
        disappearingSeconds: name === "disappearing_seconds" ? (value as number) : undefined,
      };
      const res = await api.groups.setGroupSettings(req, { signal: ctx.signal });
      if (res.group) update(res.group);
      toast("Setting saved");
    } catch (e) {
      undo();
      control.disabled = false;
      if (api.isAbort(e)) return;
      if (api.isNotConnected(e)) {
        showFieldError(settingsForm, name, `${me().name || phoneId} is not connected: settings change through its live session.`);
        return;
      }
      const p = api.problem(e);
      // A refusal names the setting (`announce: WhatsApp refused it ...`): it goes under that setting.
      if (!showFieldError(settingsForm, p.field ?? name, p.message)) fail(e);
      console.error("wadesk console:", p);
    } finally {
      wrap?.removeAttribute("aria-busy");
    }
  };
  const toggle = (name: SettingName, label: string, hint: string, on: boolean, enabled: boolean): HTMLElement => {
    const input = h("input", { type: "checkbox", role: "switch", name, id: `set-${name}`, checked: on, disabled: !enabled, "aria-describedby": `set-${name}-hint set-${name}-err` });
    input.addEventListener("change", () => void saveSetting(name, input, input.checked, () => (input.checked = !input.checked)));
    return h(
      "div",
      { class: "setting", "data-field": name },
      h("div", { class: "check switch" }, input, h("label", { for: input.id }, label, h("span", { class: "hint", id: `set-${name}-hint` }, hint))),
      h("div", { class: "field-error", id: `set-${name}-err`, role: "alert" }),
    );
  };
  const renderSettings = (): void => {
    const g = group;
    if (!g) return;
    const s = g.settings;
    const admin = isAdmin();
    const sel = h(
      "select",
      { name: "disappearing_seconds", id: "set-disappearing_seconds", disabled: !admin },
      DISAPPEARING.map(([v, t]) => h("option", { value: String(v), selected: (s?.disappearingSeconds ?? 0) === v }, t)),
    );
    let was = sel.value;
    sel.addEventListener("change", () => {
      const prev = was;
      was = sel.value;
      void saveSetting("disappearing_seconds", sel, Number(sel.value), () => {
        sel.value = prev;
        was = prev;
      });
    });
    replace(
      settingsForm,
      admin ? null : h("p", { class: "muted small" }, "Only the group's admins change these."),
      toggle("announce", "Only admins send messages", "Members read; only admins write to the group.", !!s?.announce, admin),
      toggle("locked", "Only admins edit the group's info", "The name, description and picture.", !!s?.locked, admin),
      toggle("join_approval", "Approve new members", "People who join by link wait until an admin lets them in.", !!s?.joinApproval, admin),
      field("Disappearing messages", sel, "New messages disappear after this long."),
    );
  };

  // ---- Join requests ----
  const requestsBox = h("div", { id: "group-requests", "aria-live": "polite" });
  const requestsCard = card(cardTitle("Join requests", btn("Refresh", () => void loadRequests(), "btn btn-small btn-ghost", "refresh", { id: "requests-refresh" })), requestsBox);
  let requests: JoinRequest[] | null = null;
  const requestNotes = new Map<string, HTMLElement>();
  const renderRequests = (): void => {
    if (!requests) return;
    const gone = [...requestNotes.entries()].filter(([num]) => !requests!.some((r) => r.number === num));
    if (!requests.length && !gone.length) {
      replace(requestsBox, empty("No one waiting", group?.settings?.joinApproval ? "People who ask to join by link show here for an admin to let in." : "Turn on “Approve new members” for people joining by link to wait here."));
      return;
    }
    replace(
      requestsBox,
      h(
        "ul",
        { class: "member-list", id: "request-list", "aria-label": "Join requests" },
        requests.map((r) => {
          const at = tsDate(r.requestedAt);
          const approve: HTMLButtonElement = btn("Approve", () => void decide(r.number, true, approve), "btn btn-small btn-primary", "check", { "aria-label": `Approve ${number(r.number)}`, "data-action": "approve" });
          const reject: HTMLButtonElement = btn("Reject", () => void decide(r.number, false, reject), "btn btn-small btn-danger-ghost", "close", { "aria-label": `Reject ${number(r.number)}`, "data-action": "reject" });
          return h(
            "li",
            { class: "member-row request-row", "data-number": r.number },
            h("span", { class: "avatar avatar-small tone-warn", "aria-hidden": "true" }, icon("user")),
            h("div", { class: "member-main" }, h("span", { class: "mono member-number" }, number(r.number)), at ? h("span", { class: "muted small", title: fmtDate(at, true) }, ` asked ${relative(at)}`) : null),
            h("div", { class: "member-actions" }, approve, reject),
            requestNotes.get(r.number) ?? null,
          );
        }),
        gone.map(([num, note]) => h("li", { class: "member-row request-row answered", "data-number": num }, h("span", { class: "avatar avatar-small tone-idle", "aria-hidden": "true" }, icon("user")), h("div", { class: "member-main" }, h("span", { class: "mono member-number" }, number(num))), note)),
      ),
    );
  };
  const loadRequests = async (): Promise<void> => {
    if (!isAdmin()) {
      replace(requestsBox, h("p", { class: "muted small" }, "Only the group's admins see who asks to join."));
      return;
    }
    if (!requests) replace(requestsBox, loading("Reading join requests…"));
    try {
      const res = await api.groups.listJoinRequests({ phoneId, groupId }, { signal: ctx.signal });
      requests = res.requests;
      keepFocus(requestsBox, renderRequests);
    } catch (e) {
      requests = null;
      if (api.isAbort(e)) return;
      if (api.isNotConnected(e)) {
        replace(requestsBox, notConnected(me(), "Reading join requests"));
        return;
      }
      replace(requestsBox, notice("bad", `Could not read the join requests: ${api.problem(e).message}`));
    }
  };
  const decide = async (num: string, approve: boolean, button: HTMLButtonElement): Promise<void> => {
    await submitting(button, null, async () => {
      try {
        const req = { phoneId, groupId, participants: [num] };
        const res = approve ? await api.groups.approveJoinRequests(req, { signal: ctx.signal }) : await api.groups.rejectJoinRequests(req, { signal: ctx.signal });
        const r = res.participants.find((x) => x.number === num) ?? res.participants[0];
        if (r) {
          const [label, tone, why] = resultWords(r, approve ? "Let in" : "Turned away");
          requestNotes.set(num, h("div", { class: "member-note" }, h("span", { class: "member-result", "data-status": r.status }, pill(label, tone, r.status), why ? h("span", { class: "muted small" }, ` ${why}`) : null)));
        }
        await load();
      } catch (e) {
        if (api.isAbort(e)) return;
        if (api.isNotConnected(e)) {
          replace(requestsBox, notConnected(me(), "Answering join requests"));
          return;
        }
        requestNotes.set(num, h("div", { class: "member-note" }, h("span", { class: "member-result bad-text small", "data-status": "refused", role: "alert" }, api.problem(e).message)));
        renderRequests();
      }
    }, approve ? "Approving…" : "Rejecting…");
  };

  // ---- Leaving ----
  const leaveBtn: HTMLButtonElement = btn("Leave group", () => void leave(), "btn btn-danger-ghost", "logout", { id: "group-leave" });
  const leaveBox = h("div", { id: "group-leave-box" });
  const leave = async (): Promise<void> => {
    const g = group;
    const ok = await confirmDialog({
      title: `Leave “${g?.subject ?? "the group"}”?`,
      body: h(
        "p",
        null,
        `${me().name || phoneId} stops receiving the group's messages and cannot send to it. To come back it needs an admin to add it again, or an invite link.`,
        g && myRole(g, me()) === GroupRole.SUPERADMIN ? " It created the group: the group carries on without its owner." : "",
      ),
      confirm: "Leave group",
      danger: true,
    });
    if (!ok) return;
    await submitting(leaveBtn, null, () =>
      change(leaveBox, "Leaving a group", async () => {
        await api.groups.leaveGroup({ phoneId, groupId }, { signal: ctx.signal });
        toast(`Left “${g?.subject ?? groupKey(groupId)}”`);
        navigate(href(["groups", phoneId]));
      }),
    "Leaving…");
  };

  // ---- Putting it together ----
  const aboutDetails = h("div", { id: "group-details" });
  const renderAbout = (): void => {
    const g = group;
    if (!g) return;
    const idCode = h("code", { class: "copy-value", id: "group-id" }, g.groupId);
    replace(
      aboutDetails,
      details([
        ["Group ID", h("span", { class: "copyable" }, idCode, btn("Copy", () => void copyText(g.groupId, idCode), "btn btn-small btn-ghost", "copy", { "aria-label": "Copy the group ID" }))],
        g.owner ? ["Created by", h("span", { class: "mono" }, number(g.owner), g.owner === me().number ? " (this phone)" : "")] : null,
        g.createdAt ? ["Created", fmtTs(g.createdAt)] : null,
      ]),
    );
  };
  let drawn = false;
  const draw = (): void => {
    drawn = true;
    replace(
      body,
      h(
        "div",
        { class: "grid-2 group-layout" },
        h(
          "div",
          { class: "stack" },
          card(cardTitle("About"), aboutDetails, infoForm),
          card(h("div", { class: "card-title" }, membersTitle), membersList, addBox),
        ),
        h(
          "div",
          { class: "stack" },
          card(cardTitle("Invite link"), inviteBox),
          card(cardTitle("Settings"), settingsForm),
          requestsCard,
          card(cardTitle("Leave"), h("p", { class: "muted small" }, "The phone leaves the group; the group itself stays."), leaveBox, h("div", { class: "actions" }, leaveBtn)),
        ),
      ),
    );
  };
  const renderAll = (): void => {
    if (!drawn) draw();
    renderHead();
    renderAbout();
    fillInfo();
    renderMembers();
    renderInvite();
    renderSettings();
  };
  const update = (g: Group): void => {
    const wasAdmin = isAdmin();
    group = g;
    keepFocus(ctx.main, renderAll);
    if (wasAdmin !== isAdmin() || requests === null) void loadRequests();
  };

  const load = async (): Promise<void> => {
    try {
      const res = await api.groups.getGroup({ phoneId, groupId }, { signal: ctx.signal });
      if (!res.group) return;
      const first = !group;
      update(res.group);
      if (!first) void loadRequests();
    } catch (e) {
      if (api.isAbort(e)) return;
      if (api.isNotConnected(e)) {
        if (!group) replace(body, notConnected(me(), "Reading a group"));
        else toast(`${me().name || phoneId} is not connected`, "warn");
        return;
      }
      if (api.isCode(e, Code.NotFound)) {
        group = null;
        drawn = false;
        renderHead();
        replace(body, empty("This phone is not in this group", `${me().name || phoneId} is not a member of ${groupKey(groupId)} (it left, was removed, or the group does not exist).`, linkBtn("All groups", href(["groups", phoneId]), "btn btn-primary", "users")));
        return;
      }
      if (!group) replace(body, notice("bad", `Could not read the group: ${api.problem(e).message}`));
      fail(e);
    }
  };

  if (phone.status === PhoneStatus.CONNECTED) await load();
  else replace(body, notConnected(phone, "Reading a group"));
}
