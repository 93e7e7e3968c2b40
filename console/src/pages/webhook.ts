// Webhook: where a phone's events are POSTed, which ones, the signing
// secret (shown once), and the recent delivery attempts.

import { Code } from "@connectrpc/connect";
import * as api from "../api";
import { h, replace } from "../dom";
import { fmtTs, relative, tsDate } from "../format";
import type { Delivery, Webhook } from "../gen/wadesk/v1/webhook_pb";
import { every, listen, phonePicker, pickPhone, type PageCtx } from "../page";
import { events } from "../state";
import { btn, card, cardTitle, check, confirmDialog, details, empty, fail, field, keepFocus, loading, notice, pageHeader, pill, secretBox, showFieldError, submitting, toast } from "../ui";

/** Every event name (docs/api.md, "Events"), by family. */
export const EVENT_NAMES: [string, string][] = [
  ["message.received", "A person sent the phone a message."],
  ["message.reaction", "Someone reacted to a message of the phone's chats (an empty emoji: took it back)."],
  ["message.edited", "Someone edited a message they sent the phone (the new text; earlier ones are kept)."],
  ["message.revoked", "Someone deleted a message they sent the phone for everyone (its content is removed)."],
  ["message.status", "An outbound message moved: sent, delivered, read or failed."],
  ["poll.vote", "Someone voted on a poll of the phone's chats: the options they chose now (empty: took their vote back)."],
  ["chat.typing", "A contact is typing, recording a voice note, or stopped (paused) in a chat with the phone."],
  ["presence.update", "A contact the phone follows (SubscribePresence) came online or went offline, with its last seen where it shares it."],
  ["call.received", "Someone is calling the phone: voice or video, and whether it declined the call (and replied)."],
  ["phone.qr", "A new QR code is showing for a phone being linked."],
  ["phone.qr_expired", "Pairing ended without a scan or code."],
  ["phone.connected", "The phone is online; queued messages go out."],
  ["phone.disconnected", "The connection dropped; the session reconnects by itself."],
  ["phone.connect_failed", "A connection attempt failed."],
  ["phone.logged_out", "The phone was unlinked; its keys are deleted."],
  ["phone.banned", "WhatsApp banned the number."],
  ["phone.failed", "The session gave up after repeated failures."],
  ["bulk.created", "A campaign was accepted and stored."],
  ["bulk.started", "A campaign began sending."],
  ["bulk.progress", "A campaign's counts, every few seconds while it sends."],
  ["bulk.paused", "A campaign paused."],
  ["bulk.resumed", "A paused campaign goes on."],
  ["bulk.completed", "Every recipient of a campaign was handled."],
  ["bulk.cancelled", "A campaign was cancelled."],
  ["webhook.disabled", "The webhook failed for a day and was disabled."],
  ["bot.error", "The AI auto-reply could not answer someone."],
];

export async function webhookPage(ctx: PageCtx): Promise<void> {
  ctx.title("Webhook");
  const phone = await pickPhone(ctx, "webhook");
  if (!phone) return;
  const phoneId = phone.phoneId;

  const current = h("div", { id: "webhook-current" });
  const secretSlot = h("div", { id: "webhook-secret", "aria-live": "polite" });
  const deliveriesBox = h("div", { id: "deliveries" });
  const url = h("input", { name: "webhook_url", type: "url", required: true, placeholder: "https://yourserver.com/whatsapp-hook", autocomplete: "off", spellcheck: "false" });
  const all = h("input", { type: "checkbox", id: "ev-all", checked: true });
  const boxes = EVENT_NAMES.map(([name]) => h("input", { type: "checkbox", name: "event", value: name, "data-event": name }));
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Save webhook");

  const syncAll = (): void => {
    eventsField.classList.toggle("all", all.checked);
  };

  // The families in the order their events are listed: every event has its group.
  const families = [...new Set(EVENT_NAMES.map(([name]) => name.slice(0, name.indexOf("."))))];
  const eventsField = h(
    "fieldset",
    { class: "fieldset events-field", "data-field": "events" },
    h("legend", null, "Events"),
    check("All events, including ones added later", all),
    h(
      "div",
      { class: "event-groups" },
      families.map((fam) =>
        h(
          "div",
          { class: "event-group" },
          h("div", { class: "event-family" }, fam),
          EVENT_NAMES.map(([name, desc], i) => (name.startsWith(`${fam}.`) ? check(h("code", null, name), boxes[i]!, desc) : null)),
        ),
      ),
    ),
    h("div", { class: "field-error", role: "alert" }),
  );
  all.addEventListener("change", syncAll);

  const form = h(
    "form",
    { class: "form", novalidate: true, id: "webhook-form" },
    field("Webhook URL", url, "Each event is POSTed here as JSON, signed (Standard Webhooks). http or https."),
    eventsField,
    h("div", { class: "form-actions" }, submit),
  );

  let hook: Webhook | null = null;
  const formTitle = cardTitle("Set the webhook");
  const fill = (w: Webhook | null): void => {
    hook = w;
    formTitle.querySelector("h2")!.textContent = w ? "Change the webhook" : "Set the webhook";
    url.value = w?.webhookUrl ?? url.value;
    all.checked = !w || w.events.length === 0;
    for (const b of boxes) b.checked = !!w && w.events.includes(b.value);
    syncAll();
    renderCurrent();
  };

  const renderCurrent = (): void => {
    if (!hook) {
      replace(current, empty("No webhook yet", "Set a URL below and this phone's events are POSTed to it as they happen."));
      return;
    }
    const w = hook;
    replace(
      current,
      !w.enabled ? notice("bad", h("strong", null, "Disabled: "), w.disabledReason ?? "it failed for too long", ". Save it again to re-enable it and resume delivery where it stopped.") : null,
      w.failingSince ? notice("warn", `Deliveries have been failing since ${fmtTs(w.failingSince)} (${relative(tsDate(w.failingSince))}).`) : null,
      details([
        ["URL", h("code", { class: "break" }, w.webhookUrl)],
        ["State", w.enabled ? pill("Enabled", "ok", "enabled") : pill("Disabled", "bad", "disabled")],
        ["Events", w.events.length ? h("span", { class: "chips" }, w.events.map((e) => h("code", { class: "chip" }, e))) : "All events"],
        ["Set", fmtTs(w.createdAt)],
        ["Secret", h("span", { class: "muted" }, "Shown once when set. Save again for a new one.")],
      ]),
      h("div", { class: "actions" }, btn("Remove webhook", () => void removeHook(), "btn btn-danger-ghost btn-small")),
    );
  };

  const removeHook = async (): Promise<void> => {
    const ok = await confirmDialog({
      title: "Remove the webhook?",
      body: h("p", null, `${phone.name} stops POSTing events to ${hook?.webhookUrl ?? "it"}; its delivery attempts are deleted and pending ones dropped.`),
      confirm: "Remove webhook",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.webhooks.deleteWebhook({ phoneId });
      toast("Webhook removed");
      url.value = "";
      fill(null);
      replace(secretSlot);
      await loadDeliveries();
    } catch (e) {
      fail(e);
    }
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(submit, form, async () => {
      const chosen = all.checked ? [] : boxes.filter((b) => b.checked).map((b) => b.value);
      if (!all.checked && chosen.length === 0) {
        showFieldError(form, "events", "events: choose at least one event, or All events");
        return;
      }
      const res = await api.webhooks.setWebhook({ phoneId, webhookUrl: url.value.trim(), events: chosen }, { signal: ctx.signal });
      fill(res.webhook ?? null);
      replace(secretSlot, h("h3", null, "Signing secret"), secretBox("webhook-secret-value", res.secret, "signing secret", () => replace(secretSlot)),
        h("p", { class: "muted small" }, "Verify each request's webhook-signature with it (docs: Webhooks → Requests)."));
      secretSlot.scrollIntoView({ block: "nearest" });
      toast("Webhook saved");
      void loadDeliveries();
    }, "Saving…");
  });

  replace(
    ctx.main,
    pageHeader("Webhook", "Events of this phone, POSTed to your server and retried until it answers 2xx.", phonePicker(ctx, "webhook", phoneId)),
    h("div", { class: "grid-2" }, card(cardTitle("Current"), current, secretSlot), card(formTitle, form)),
    card(cardTitle("Recent deliveries", btn("Refresh", () => void loadDeliveries(), "btn btn-small btn-ghost", "refresh")), deliveriesBox),
  );
  replace(current, loading());
  replace(deliveriesBox, loading("Loading deliveries…"));

  try {
    const res = await api.webhooks.getWebhook({ phoneId }, { signal: ctx.signal });
    fill(res.webhook ?? null);
  } catch (e) {
    if (api.isCode(e, Code.NotFound)) fill(null);
    else {
      replace(current);
      fail(e);
    }
  }

  let token = "";
  let deliveries: Delivery[] = [];
  const renderDeliveries = (): void => {
    if (!deliveries.length) {
      replace(deliveriesBox, empty("No deliveries yet", hook ? "Attempts appear here as events happen (this list refreshes by itself)." : "Set a webhook first."));
      return;
    }
    replace(
      deliveriesBox,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", id: "deliveries-table" },
          h("thead", null, h("tr", null, h("th", null, "When"), h("th", null, "Event"), h("th", null, "Attempt"), h("th", null, "Answer"), h("th", null, "Time"), h("th", null, "Response"), h("th", null, h("span", { class: "visually-hidden" }, "Actions")))),
          h("tbody", null, deliveries.map(deliveryRow)),
        ),
      ),
      token ? btn("Load more", () => void loadDeliveries(true), "btn btn-small") : null,
    );
  };

  const redeliver = async (d: Delivery, b: HTMLButtonElement): Promise<void> => {
    await submitting(b, null, async () => {
      await api.webhooks.redeliverEvent({ phoneId, eventId: d.eventId });
      toast(`Sending ${d.event} again`);
      setTimeout(() => void loadDeliveries(), 1500);
    }, "Sending…");
  };

  const deliveryRow = (d: Delivery): HTMLElement => {
    const code = d.responseStatusCode;
    const ok = code >= 200 && code < 300;
    const rb: HTMLButtonElement = btn("Redeliver", () => void redeliver(d, rb), "btn btn-small", "refresh", { "aria-label": `Redeliver ${d.event} ${d.eventId}` });
    const body = d.responseBody;
    return h(
      "tr",
      { "data-event-id": d.eventId, "data-code": String(code) },
      h("td", { title: fmtTs(d.attemptedAt, true) }, relative(tsDate(d.attemptedAt))),
      h("td", null, h("code", null, d.event), h("div", { class: "muted small mono" }, d.eventId), d.redelivery ? h("span", { class: "badge" }, "redelivery") : null),
      h("td", null, String(d.attempt), d.nextAttemptAt ? h("div", { class: "muted small" }, `next ${relative(tsDate(d.nextAttemptAt))}`) : null),
      h("td", null, code ? pill(String(code), ok ? "ok" : "bad", String(code)) : pill("No answer", "bad", "0"), d.error ? h("div", { class: "small bad-text" }, d.error) : null),
      h("td", { class: "nowrap" }, `${d.responseDurationMs} ms`),
      h("td", { class: "resp-cell" }, body ? (body.length > 80 ? h("details", null, h("summary", null, h("code", null, `${body.slice(0, 80)}…`)), h("pre", { class: "pre" }, body)) : h("code", null, body)) : h("span", { class: "muted" }, "—")),
      h("td", null, rb),
    );
  };

  const loadDeliveries = async (more = false): Promise<void> => {
    try {
      const res = await api.webhooks.listDeliveries({ phoneId, pageSize: 25, pageToken: more ? token : "" }, { signal: ctx.signal });
      deliveries = more ? [...deliveries, ...res.deliveries] : res.deliveries;
      token = res.nextPageToken;
      keepFocus(deliveriesBox, renderDeliveries);
    } catch (e) {
      if (api.isCode(e, Code.NotFound)) {
        deliveries = [];
        token = "";
        renderDeliveries();
        return;
      }
      fail(e);
    }
  };
  await loadDeliveries();

  // New events lead to new attempts: look again shortly after one, and every 10 s.
  let pending: ReturnType<typeof setTimeout> | undefined;
  listen(ctx, events, (ev) => {
    if (ev.phoneId !== phoneId || !hook) return;
    clearTimeout(pending);
    pending = setTimeout(() => void loadDeliveries(), 1500);
  });
  every(ctx, 10000, () => {
    if (hook && !token) void loadDeliveries();
  });
}
