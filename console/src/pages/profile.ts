// A phone's own profile on its page: the name, about text and picture its
// contacts see (GetProfile, SetProfile) and whether it shows online
// (SetPresence).

import * as api from "../api";
import { h, replace } from "../dom";
import { chars, fmtShort } from "../format";
import { Presence, type Profile } from "../gen/wadesk/v1/profile_pb";
import { listen, type PageCtx } from "../page";
import { href } from "../router";
import { events } from "../state";
import { btn, card, cardTitle, confirmDialog, details, fail, field, keepFocus, loading, notice, pill, submitting, toast } from "../ui";

/** The API's limits (profile.proto). */
const NAME_MAX = 25;
const ABOUT_MAX = 139;

/**
 * Two cards: what contacts see (with the presence buttons) and the form that
 * changes it. Drawn once; read again when the phone (re)connects.
 */
export function profileSection(ctx: PageCtx, phoneId: string, phoneName: () => string): HTMLElement {
  let profile: Profile | null = null;
  let shownAs: { online: boolean; at: Date } | null = null;

  const preview = h("div", { id: "profile-preview", "aria-live": "polite" }, loading("Reading the profile…"));
  const presenceState = h("span", { id: "presence-state" });
  const online: HTMLButtonElement = btn("Show online", () => void setPresence(true, online), "btn btn-small", undefined, { id: "presence-online" });
  const offline: HTMLButtonElement = btn("Show offline", () => void setPresence(false, offline), "btn btn-small", undefined, { id: "presence-offline" });
  const presenceBox = h(
    "div",
    { class: "presence-box" },
    h("div", { class: "presence-head" }, h("strong", null, "Presence"), presenceState),
    h("p", { class: "muted small" }, "Whether contacts see the phone online. Offline, they see its last seen (now)."),
    h("div", { class: "actions" }, online, offline),
  );

  const name = h("input", { name: "name", id: "profile-name-input", type: "text", autocomplete: "off" });
  const about = h("textarea", { name: "about", id: "profile-about-input", rows: "3" });
  const picture = h("input", { name: "picture_url", id: "profile-picture-input", type: "url", autocomplete: "off", spellcheck: "false", placeholder: "https://example.com/logo.png" });
  const nameCount = h("span", { class: "char-count" });
  const aboutCount = h("span", { class: "char-count" });
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "Save profile");
  const removeBtn: HTMLButtonElement = btn("Remove picture", () => void removePicture(), "btn btn-danger-ghost", "trash", { id: "profile-remove-picture" });
  const form = h(
    "form",
    { class: "form", id: "profile-form", novalidate: true },
    field("Name", name, h("span", null, nameCount, " · shown with the phone's messages (push name)")),
    field("About", about, h("span", null, aboutCount, " · empty clears it")),
    field("New picture from a URL", picture, "A JPEG or PNG up to 5 MB; the gateway fetches it, crops a centred square and scales it to 640×640."),
    h("div", { class: "form-actions" }, save, removeBtn),
  );
  const count = (el: HTMLElement, v: string, max: number): void => {
    const n = chars(v.trim());
    el.textContent = `${n} / ${max} characters`;
    el.classList.toggle("over", n > max);
  };
  const syncCounts = (): void => {
    count(nameCount, name.value, NAME_MAX);
    count(aboutCount, about.value, ABOUT_MAX);
  };
  name.addEventListener("input", syncCounts);
  about.addEventListener("input", syncCounts);

  const formBox = h("div", { id: "profile-form-box" }, form);

  const setEnabled = (on: boolean): void => {
    for (const el of [name, about, picture, save, removeBtn, online, offline]) el.disabled = !on;
  };

  const notConnected = (): HTMLElement =>
    notice(
      "warn",
      h("strong", null, `${phoneName()} is not connected. `),
      "The profile is read from and changed on WhatsApp through the phone's live session: ",
      h("a", { href: href(["phones", phoneId, "link"]) }, "link it"),
      " or wait for it to reconnect.",
    );

  const renderPreview = (): void => {
    const p = profile;
    if (!p) return;
    const initial = (p.name || "?").trim().charAt(0).toUpperCase();
    replace(
      preview,
      h(
        "div",
        { class: "person-head" },
        h("div", { class: "avatar avatar-large tone-ok", "aria-hidden": "true" }, initial),
        h(
          "div",
          { class: "person-title" },
          h("h3", { class: "person-name", id: "profile-name" }, p.name || h("span", { class: "muted" }, "No name")),
          h("div", { class: "person-sub muted small" }, "As contacts see this phone"),
        ),
      ),
      details([
        ["About", p.about ? h("span", { class: "pre", id: "profile-about" }, p.about) : h("span", { class: "muted", id: "profile-about" }, "None")],
        [
          "Picture",
          p.pictureUrl
            ? h(
                "span",
                { id: "profile-picture", "data-picture-id": p.pictureId ?? "" },
                h("a", { href: p.pictureUrl, target: "_blank", rel: "noopener noreferrer" }, "Open the picture"),
                h("span", { class: "muted small" }, " (on WhatsApp's servers, for a while)"),
              )
            : h("span", { class: "muted", id: "profile-picture" }, "None"),
        ],
      ]),
    );
  };

  const fill = (p: Profile): void => {
    profile = p;
    name.value = p.name;
    about.value = p.about ?? "";
    picture.value = "";
    removeBtn.hidden = !p.pictureUrl;
    syncCounts();
    renderPreview();
  };

  const renderPresence = (): void => {
    replace(
      presenceState,
      shownAs
        ? pill(`Shown ${shownAs.online ? "online" : "offline"} since ${fmtShort(shownAs.at)}`, shownAs.online ? "ok" : "idle", shownAs.online ? "online" : "offline")
        : h("span", { class: "muted small" }, "Not set from here"),
    );
  };

  const load = async (): Promise<void> => {
    try {
      const res = await api.profiles.getProfile({ phoneId }, { signal: ctx.signal });
      setEnabled(true);
      if (res.profile) fill(res.profile);
    } catch (e) {
      if (api.isAbort(e)) return;
      setEnabled(false);
      profile = null;
      if (api.isNotConnected(e)) {
        replace(preview, notConnected());
        return;
      }
      replace(preview, notice("bad", `Could not read the profile: ${api.problem(e).message}`));
      fail(e);
    }
  };

  /** Runs a change; a phone that went offline meanwhile is said in the preview, not as an error. */
  const change = async (work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (e) {
      if (api.isNotConnected(e)) {
        setEnabled(false);
        replace(preview, notConnected());
        return;
      }
      throw e;
    }
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(save, form, () =>
      change(async () => {
        const cur = profile;
        const n = name.value.trim();
        const a = about.value.trim();
        const url = picture.value.trim();
        const req = {
          phoneId,
          name: !cur || n !== cur.name ? n : undefined,
          about: !cur || a !== (cur.about ?? "") ? a : undefined,
          pictureUrl: url || undefined,
        };
        if (req.name === undefined && req.about === undefined && req.pictureUrl === undefined) {
          toast("Nothing to change: edit the name or the about text, or give a picture URL", "info");
          return;
        }
        const res = await api.profiles.setProfile(req, { signal: ctx.signal });
        if (res.profile) keepFocus(formBox, () => fill(res.profile!));
        toast("Profile saved");
      }),
    "Saving…");
  });

  const removePicture = async (): Promise<void> => {
    const ok = await confirmDialog({
      title: "Remove the profile picture?",
      body: h("p", null, `Contacts then see ${phoneName()} without a picture.`),
      confirm: "Remove picture",
      danger: true,
    });
    if (!ok) return;
    await submitting(removeBtn, form, () =>
      change(async () => {
        const res = await api.profiles.setProfile({ phoneId, removePicture: true }, { signal: ctx.signal });
        if (res.profile) fill(res.profile);
        toast("Picture removed");
      }),
    "Removing…");
  };

  const setPresence = async (on: boolean, button: HTMLButtonElement): Promise<void> => {
    await submitting(button, null, () =>
      change(async () => {
        await api.profiles.setPresence({ phoneId, presence: on ? Presence.AVAILABLE : Presence.UNAVAILABLE }, { signal: ctx.signal });
        shownAs = { online: on, at: new Date() };
        renderPresence();
        toast(on ? "Shown online" : "Shown offline");
      }),
    on ? "Showing online…" : "Showing offline…");
  };

  renderPresence();
  syncCounts();
  setEnabled(false);
  void load();
  listen(ctx, events, (ev) => {
    if (ev.phoneId !== phoneId) return;
    if (ev.event === "phone.connected") void load();
    if (ev.event === "phone.disconnected" || ev.event === "phone.logged_out") {
      setEnabled(false);
      replace(preview, notConnected());
    }
  });

  return h(
    "div",
    { class: "grid-2", id: "profile-section" },
    card(cardTitle("Profile"), preview, presenceBox),
    card(cardTitle("Change the profile"), formBox),
  );
}

