//! A phone's bot as its owner sets it up: provider, model, api key (sealed
//! at rest, shown only as a hint), system prompt, on or off. Pro phones
//! only. Every change wakes the bot worker.

use sea_orm::DatabaseConnection;

use super::{KeyBox, Kick, Settings};
use crate::{
    error::{Error, Result},
    store::{
        self,
        entity::{bot, phone},
    },
    values,
};

/// What a SetBot asks for, checked (fields left out keep their values).
#[derive(Debug)]
pub(crate) struct BotChange {
    pub provider: &'static str,
    pub model: Option<String>,
    pub api_key: Option<String>,
    pub system_prompt: Option<String>,
    pub enabled: Option<bool>,
}

impl BotChange {
    /// Checks each field as a request gives it, naming the bad one.
    pub(crate) fn parse(
        provider: Option<&'static str>,
        api_key: Option<&str>,
        model: Option<&str>,
        system_prompt: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<BotChange> {
        let provider =
            provider.ok_or_else(|| Error::invalid("provider", "must be gemini or openai"))?;
        let api_key = api_key.map(str::trim);
        if api_key.is_some_and(str::is_empty) {
            return Err(Error::invalid("api_key", "must not be empty"));
        }
        if let Some(key) = api_key {
            values::max_len("api_key", key, crate::rules::API_KEY_MAX)?;
            if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::invalid("api_key", "must not contain spaces"));
            }
        }
        let model = model.map(str::trim).filter(|m| !m.is_empty());
        if let Some(model) = model {
            check_model(model)?;
        }
        if let Some(prompt) = system_prompt {
            values::max_len("system_prompt", prompt, crate::rules::SYSTEM_PROMPT_MAX)?;
        }
        Ok(BotChange {
            provider,
            model: model.map(str::to_owned),
            api_key: api_key.map(str::to_owned),
            system_prompt: system_prompt.map(str::to_owned),
            enabled,
        })
    }
}

/// A model ID as providers spell them (`gemini-2.5-flash`, `gpt-4o-mini`,
/// `ft:gpt-4o-mini:org::id`): printable, no spaces.
fn check_model(model: &str) -> Result<()> {
    values::max_len("model", model, crate::rules::MODEL_MAX)?;
    if model
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#'))
    {
        return Err(Error::invalid(
            "model",
            "must be a model ID such as gemini-2.5-flash or gpt-4o-mini",
        ));
    }
    Ok(())
}

/// The bots of every account, by handle.
#[derive(Clone)]
pub(crate) struct Bots {
    db: DatabaseConnection,
    settings: Settings,
    keys: KeyBox,
    kick: Kick,
}

impl Bots {
    pub(crate) fn new(
        db: DatabaseConnection,
        settings: Settings,
        keys: KeyBox,
        kick: Kick,
    ) -> Bots {
        Bots {
            db,
            settings,
            keys,
            kick,
        }
    }

    /// Sets up (or changes) the phone's bot. The first time needs an api
    /// key; a model left out keeps the old one for the same provider, else
    /// the provider's default.
    pub(crate) async fn set(&self, phone: &phone::Model, change: BotChange) -> Result<bot::Model> {
        crate::plan::require_ai(phone)?;
        let existing = store::bots::find_for_phone(&self.db, &phone.account_id, &phone.id).await?;
        if existing.is_none() && change.api_key.is_none() {
            return Err(Error::invalid(
                "api_key",
                "is required the first time a phone's bot is set",
            ));
        }
        let provider = change.provider;
        let model = match (change.model, &existing) {
            (Some(model), _) => model,
            (None, Some(old)) if old.provider == provider => old.model.clone(),
            (None, _) => self.settings.default_model(provider).to_owned(),
        };
        let config = store::bots::Config {
            provider: provider.to_owned(),
            model,
            api_key_enc: change
                .api_key
                .map(|key| (self.keys.seal(&phone.id, &key), crate::sealed::mask(&key))),
            system_prompt: change
                .system_prompt
                .or_else(|| existing.as_ref().map(|b| b.system_prompt.clone()))
                .unwrap_or_default(),
            enabled: change
                .enabled
                .or(existing.as_ref().map(|b| b.enabled))
                .unwrap_or(true),
        };
        let saved = store::bots::set(&self.db, &phone.account_id, &phone.id, config).await?;
        tracing::info!(phone_id = %phone.id, provider, model = %saved.model, enabled = saved.enabled, "bot set");
        self.kick.kick();
        Ok(saved)
    }

    /// The phone's bot, or 404 saying how to set one.
    pub(crate) async fn get(&self, phone: &phone::Model) -> Result<bot::Model> {
        crate::plan::require_ai(phone)?;
        store::bots::find_for_phone(&self.db, &phone.account_id, &phone.id)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "phone {} has no bot; set one with POST /api/bot/set",
                    phone.id
                ))
            })
    }
}
