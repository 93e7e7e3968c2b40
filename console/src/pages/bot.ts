// AI bot: a Pro phone's auto-reply (provider, model, key, prompt). The key
// is write-only: the page never shows it, only that one is stored.

import { Code } from "@connectrpc/connect";
import * as api from "../api";
import { h, replace } from "../dom";
import { PROVIDER, fmtTs, relative, tsDate } from "../format";
import { BotProvider, type Bot } from "../gen/wadesk/v1/bot_pb";
import { Plan } from "../gen/wadesk/v1/common_pb";
import { phonePicker, pickPhone, type PageCtx } from "../page";
import { card, cardTitle, check, details, empty, fail, field, loading, notice, pageHeader, pill, submitting, toast } from "../ui";

const DEFAULT_MODEL: Record<BotProvider, string> = {
  [BotProvider.UNSPECIFIED]: "",
  [BotProvider.GEMINI]: "gemini-2.5-flash",
  [BotProvider.OPENAI]: "gpt-4o-mini",
};

export async function botPage(ctx: PageCtx): Promise<void> {
  ctx.title("AI bot");
  const picked = await pickPhone(ctx, "bot");
  if (!picked) return;
  // The plan decides what this page shows: read it fresh.
  let phone = picked;
  try {
    phone = (await api.phones.getPhone({ phoneId: picked.phoneId }, { signal: ctx.signal })).phone ?? picked;
  } catch (e) {
    fail(e);
  }
  const phoneId = phone.phoneId;
  const header = pageHeader("AI bot", "Let Google Gemini or OpenAI answer the people who write to this phone.", phonePicker(ctx, "bot", phoneId));

  const proOnly = (why?: string): void => {
    replace(
      ctx.main,
      header,
      card(
        h(
          "div",
          { class: "empty", id: "bot-unavailable" },
          h("p", { class: "empty-title" }, "The AI bot is available on the Pro plan only"),
          h("p", { class: "muted" }, `${phone.name} is on the Trial plan: up to 30 unique recipients and no AI auto-reply. Pro phones have no recipient cap and may use the bot.`),
          why ? h("p", { class: "muted small" }, `The gateway says: ${why}`) : null,
        ),
      ),
    );
  };

  if (phone.plan === Plan.TRIAL) {
    proOnly();
    return;
  }

  replace(ctx.main, header, loading());
  let bot: Bot | null = null;
  try {
    bot = (await api.bots.getBot({ phoneId }, { signal: ctx.signal })).bot ?? null;
  } catch (e) {
    if (api.isCode(e, Code.PermissionDenied)) {
      proOnly(api.problem(e).message);
      return;
    }
    if (!api.isCode(e, Code.NotFound)) {
      replace(ctx.main, header);
      fail(e);
      return;
    }
  }

  const provider = h(
    "select",
    { name: "provider", required: true },
    [BotProvider.GEMINI, BotProvider.OPENAI].map((p) => h("option", { value: String(p), selected: (bot?.provider ?? BotProvider.GEMINI) === p }, PROVIDER[p])),
  );
  const model = h("input", { name: "model", type: "text", autocomplete: "off", spellcheck: "false", value: bot?.model ?? "" });
  const setModelHint = (): void => {
    model.placeholder = `Default: ${DEFAULT_MODEL[Number(provider.value) as BotProvider]}`;
  };
  provider.addEventListener("change", setModelHint);
  setModelHint();
  const key = h("input", {
    name: "api_key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    value: "",
    placeholder: bot?.apiKey ? `•••• set (${bot.apiKey})` : "Paste your API key",
  });
  const prompt = h("textarea", { name: "system_prompt", rows: "6", placeholder: "You are Acme's friendly assistant. Answer briefly; for orders, ask for the order number." });
  prompt.value = bot?.systemPrompt ?? "";
  const enabled = h("input", { type: "checkbox", name: "is_enabled", checked: bot ? bot.isEnabled : true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, bot ? "Save changes" : "Turn on the bot");

  const form = h(
    "form",
    { class: "form", novalidate: true, id: "bot-form" },
    field("Provider", provider),
    field("Model", model, "Leave empty for the gateway's default for the provider."),
    field(
      "API key",
      key,
      bot?.apiKey ? "A key is stored (encrypted); it is never shown. Leave this empty to keep it, or paste a new one." : "Your Gemini or OpenAI key. Stored encrypted, never shown again.",
    ),
    field("System prompt", prompt, "Instructions for how the AI should answer."),
    check("Enabled: the bot answers new messages", enabled),
    h("div", { class: "form-actions" }, submit),
  );

  const state = h("div");
  const renderState = (): void => {
    if (!bot) {
      replace(state, empty("No bot yet", "Fill in the form to turn on auto-replies for this phone."));
      return;
    }
    const b = bot;
    replace(
      state,
      b.lastError ? notice("bad", h("strong", null, "Last error"), b.lastErrorAt ? ` (${relative(tsDate(b.lastErrorAt))})` : "", ": ", b.lastError) : null,
      details([
        ["State", b.isEnabled ? pill("Answering", "ok", "enabled") : pill("Off", "idle", "disabled")],
        ["Provider", PROVIDER[b.provider]],
        ["Model", h("code", null, b.model || "default")],
        ["API key", h("span", { class: "mono" }, b.apiKey ? `•••• set (${b.apiKey})` : "not set")],
        ["Last reply", b.lastReplyAt ? h("span", { title: fmtTs(b.lastReplyAt, true) }, relative(tsDate(b.lastReplyAt))) : "never"],
      ]),
      h("p", { class: "muted small" }, "The bot answers text messages from people in one-to-one chats, after they have been quiet for a moment."),
    );
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submitting(submit, form, async () => {
      const res = await api.bots.setBot(
        {
          phoneId,
          provider: Number(provider.value) as BotProvider,
          model: model.value.trim(),
          apiKey: key.value ? key.value : undefined,
          systemPrompt: prompt.value,
          isEnabled: enabled.checked,
        },
        { signal: ctx.signal },
      );
      bot = res.bot ?? null;
      key.value = "";
      key.placeholder = bot?.apiKey ? `•••• set (${bot.apiKey})` : "Paste your API key";
      renderState();
      toast("Bot saved");
    }, "Saving…").then(() => {
      if (bot) submit.textContent = "Save changes";
    });
  });

  renderState();
  replace(ctx.main, header, h("div", { class: "grid-2" }, card(cardTitle("Settings"), form), card(cardTitle("Status"), state)));
}
