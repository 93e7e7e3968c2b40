//! The AI auto-reply bot: a person writes to a Pro phone whose bot is
//! enabled, and the bot answers through Gemini or OpenAI.
//!
//! The bot is a durable reader of the event log, like webhook delivery:
//! inbound processing only stores the message and its `message.received`
//! event, and never waits for a provider. Each bot row holds a cursor:
//! every event of its phone up to it has been answered or found not to be
//! for the bot. The worker reads the events after it into a debounce
//! table in memory (one entry per person), answers a person once they
//! have been quiet for `bot.debounce_ms`, and moves the stored cursor up to
//! the oldest event still waiting. After a restart (even a crash) it reads
//! again from there; a chat whose newest message is already ours (the
//! reply went out before the crash, or someone answered through the API)
//! is not answered again.
//!
//! What gets an answer: a text from a person in a one-to-one chat. Not our
//! own messages (those sent from the phone itself are not stored as
//! inbound), not the bot's or the API's (outbound), not status broadcasts
//! or channels (not stored), not groups, not another phone of this gateway
//! (two bots would talk forever), not a sender known only by LID.
//!
//! The question: the system prompt and the chat's last `bot.history_turns`
//! messages from the message store (inbound as the user, outbound as the
//! model/assistant). The answer goes through the outbox like any send
//! (status, message.status events), with source "bot". Failures (refused
//! key, rate limit, server error, timeout) are recorded on the bot
//! (GetBot's last_error) and as a `bot.error` event; rate limits, server
//! errors, timeouts and broken connections are retried (`bot.retries`),
//! refused requests never.

pub(crate) mod gemini;
pub(crate) mod openai;
pub(crate) mod provider;
pub(crate) mod setup;

use std::{
    collections::{HashMap, hash_map::Entry},
    sync::Arc,
    time::Duration,
};

use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use serde_json::json;
use tokio::{
    sync::Notify,
    task::{JoinHandle, JoinSet},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub(crate) use crate::sealed::KeyBox;
use crate::{
    config,
    events::EventKind,
    send::{Content, Message, Outcome, Sender},
    sessions::SessionManager,
    store::{
        self,
        bots::{PROVIDER_GEMINI, PROVIDER_OPENAI},
        entity::{
            bot, event,
            vocab::{Direction, Source},
        },
        events::{self, EventLog},
    },
};
use provider::{Ask, Failure, Role, Turn};

/// The longest Retry-After a retry waits for; a longer one is a failure.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Bot knobs (config `[bot]`), checked at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub gemini_base_url: String,
    pub openai_base_url: String,
    pub gemini_model: String,
    pub openai_model: String,
    pub history_turns: u64,
    pub debounce: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub retry_backoff: Duration,
    /// Replies to one chat per hour (0: no limit).
    pub max_replies_per_chat_per_hour: u64,
}

impl Settings {
    pub fn from_config(c: &config::Bot) -> anyhow::Result<Settings> {
        for (key, value) in [
            ("gemini_base_url", &c.gemini_base_url),
            ("openai_base_url", &c.openai_base_url),
        ] {
            let url = url::Url::parse(value)
                .with_context(|| format!("bot.{key}: {value:?} is not a URL"))?;
            if !matches!(url.scheme(), "http" | "https") {
                anyhow::bail!("bot.{key}: {value:?} is not an http(s) URL");
            }
        }
        Ok(Settings {
            gemini_base_url: c.gemini_base_url.clone(),
            openai_base_url: c.openai_base_url.clone(),
            gemini_model: c.gemini_model.clone(),
            openai_model: c.openai_model.clone(),
            history_turns: c.history_turns,
            debounce: c.debounce,
            timeout: c.timeout,
            retries: c.retries,
            retry_backoff: c.retry_backoff,
            max_replies_per_chat_per_hour: c.max_replies_per_chat_per_hour,
        })
    }

    /// The model used when SetBot names none.
    pub fn default_model(&self, provider: &str) -> &str {
        if provider == PROVIDER_OPENAI {
            &self.openai_model
        } else {
            &self.gemini_model
        }
    }

    fn base_url(&self, provider: &str) -> &str {
        if provider == PROVIDER_OPENAI {
            &self.openai_base_url
        } else {
            &self.gemini_base_url
        }
    }
}

/// Wakes the worker after a bot changed.
#[derive(Clone, Default)]
pub struct Kick(Arc<Notify>);

impl Kick {
    pub fn kick(&self) {
        self.0.notify_one();
    }
}

/// What the worker and its reply tasks share.
struct Ctx {
    db: DatabaseConnection,
    events: EventLog,
    sender: Sender,
    sessions: Arc<SessionManager>,
    keys: KeyBox,
    settings: Settings,
    http: reqwest::Client,
    /// Chat-state hints on their way (awaited when the worker stops).
    hints: TaskTracker,
}

/// The running worker.
pub(crate) struct Worker {
    cancel: CancellationToken,
    task: JoinHandle<()>,
    hints: TaskTracker,
}

impl Worker {
    /// Starts the one bot worker of this process.
    pub(crate) fn spawn(
        events: EventLog,
        sender: Sender,
        sessions: Arc<SessionManager>,
        keys: KeyBox,
        settings: Settings,
        kick: Kick,
        cancel: CancellationToken,
    ) -> Worker {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let hints = TaskTracker::new();
        let ctx = Arc::new(Ctx {
            db: events.db().clone(),
            events,
            sender,
            sessions,
            keys,
            settings,
            http,
            hints: hints.clone(),
        });
        let task = tokio::spawn(run(ctx, kick, cancel.clone()));
        Worker {
            cancel,
            task,
            hints,
        }
    }

    /// Stops: questions in flight are abandoned (their messages are
    /// answered after a restart: the cursor has not passed them).
    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        if let Err(err) = self.task.await {
            tracing::error!(error = %err, "bot worker ended badly");
        }
        self.hints.close();
        self.hints.wait().await;
    }
}

/// Without any wake-up, look again this often: a safety net.
const IDLE_POLL: Duration = Duration::from_secs(30);

/// Events read per query.
const PAGE: u64 = 200;

/// One person waiting for a reply.
struct Waiting {
    /// Their oldest unanswered event.
    first_cursor: i64,
    /// Their newest event.
    last_cursor: i64,
    /// When they will have been quiet long enough.
    due: Instant,
    /// A reply task is running (up to `taken`).
    taken: Option<i64>,
}

/// One enabled bot as the worker follows it.
struct Run {
    account_id: String,
    /// The phone's own number.
    number: Option<String>,
    /// Events up to here are read into `waiting`.
    scanned: i64,
    /// The stored cursor.
    stored: i64,
    waiting: HashMap<String, Waiting>,
}

impl Run {
    /// Where the stored cursor may move: before the oldest event still
    /// waiting, or everything read.
    fn safe_cursor(&self) -> i64 {
        self.waiting
            .values()
            .map(|w| w.first_cursor - 1)
            .min()
            .unwrap_or(self.scanned)
    }
}

async fn run(ctx: Arc<Ctx>, kick: Kick, cancel: CancellationToken) {
    let mut appended = ctx.events.watch();
    let mut runs: HashMap<String, Run> = HashMap::new();
    // Each reply task ends with whether it ran to its end (false: stopped by
    // shutdown, so the question is still open and the cursor stays before it).
    let mut tasks: JoinSet<bool> = JoinSet::new();
    // Reply tasks: phone and person by task.
    let mut busy: HashMap<tokio::task::Id, (String, String)> = HashMap::new();
    // The bots are read again after a SetBot (kick) and on the idle poll;
    // the events when some were appended (in this process) since the last
    // reading, and on the idle poll.
    let mut resync = true;
    let mut last_sweep = Instant::now();
    let mut rescan = true;
    loop {
        let mut wake_at = Instant::now() + IDLE_POLL;
        if last_sweep.elapsed() >= IDLE_POLL {
            resync = true;
        }
        if resync {
            last_sweep = Instant::now();
            match sync(&ctx, &mut runs).await {
                Ok(()) => resync = false,
                Err(err) => {
                    tracing::error!(error = %err, "bot worker: reading bots");
                    wake_at = Instant::now() + Duration::from_secs(1);
                }
            }
            rescan = true;
        }
        let scanning = std::mem::take(&mut rescan);
        for (phone_id, run) in runs.iter_mut() {
            if scanning && let Err(err) = scan(&ctx, phone_id, run).await {
                tracing::error!(phone_id, error = %err, "bot worker: reading events");
                wake_at = wake_at.min(Instant::now() + Duration::from_secs(1));
                rescan = true;
            }
            let now = Instant::now();
            for (peer, waiting) in run.waiting.iter_mut() {
                if waiting.taken.is_some() {
                    continue;
                }
                if waiting.due > now {
                    wake_at = wake_at.min(waiting.due);
                    continue;
                }
                waiting.taken = Some(waiting.last_cursor);
                let (ctx, cancel) = (ctx.clone(), cancel.clone());
                let (phone, person) = (phone_id.clone(), peer.clone());
                let task = tasks.spawn(async move {
                    tokio::select! {
                        () = cancel.cancelled() => false,
                        () = answer(&ctx, &phone, &person) => true,
                    }
                });
                busy.insert(task.id(), (phone_id.clone(), peer.clone()));
            }
            store_cursor(&ctx, phone_id, run).await;
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            changed = appended.changed() => {
                if changed.is_err() {
                    break;
                }
                rescan = true;
            }
            () = kick.0.notified() => resync = true,
            Some(done) = tasks.join_next_with_id() => {
                let (id, ended) = match &done {
                    Ok((id, ended)) => (*id, *ended),
                    Err(err) => {
                        tracing::error!(error = %err, "bot reply task ended badly");
                        (err.id(), true)
                    }
                };
                // A reply stopped by shutdown is not an answer: its question
                // stays open, so the cursor stored on the bot stays before it
                // and the next start asks again.
                if let Some((phone_id, peer)) = busy.remove(&id)
                    && ended
                    && let Some(run) = runs.get_mut(&phone_id)
                {
                    finished(run, &peer);
                    store_cursor(&ctx, &phone_id, run).await;
                }
            }
            () = tokio::time::sleep_until(wake_at) => {}
        }
    }
    tasks.shutdown().await;
}

/// Follows the enabled bots: new ones from their stored cursor, changed
/// ones anew, disabled ones no more.
async fn sync(ctx: &Ctx, runs: &mut HashMap<String, Run>) -> Result<(), sea_orm::DbErr> {
    let bots = store::bots::enabled(&ctx.db).await?;
    runs.retain(|phone_id, _| bots.iter().any(|b| b.phone_id == *phone_id));
    for bot in bots {
        // A changed configuration keeps who is waiting, unless the bot was
        // switched off and on again meanwhile (its cursor then moved ahead).
        let fresh = match runs.get_mut(&bot.phone_id) {
            Some(run) if bot.last_cursor > run.stored.max(run.scanned) => true,
            Some(_) => false,
            None => true,
        };
        if fresh {
            let number = store::phones::find(&ctx.db, &bot.phone_id)
                .await?
                .and_then(|p| p.number);
            runs.insert(
                bot.phone_id.clone(),
                Run {
                    account_id: bot.account_id.clone(),
                    number,
                    scanned: bot.last_cursor,
                    stored: bot.last_cursor,
                    waiting: HashMap::new(),
                },
            );
        } else if let Some(run) = runs.get_mut(&bot.phone_id)
            && run.number.is_none()
        {
            run.number = store::phones::find(&ctx.db, &bot.phone_id)
                .await?
                .and_then(|p| p.number);
        }
    }
    Ok(())
}

/// Reads the phone's new message.received events into the debounce table.
async fn scan(ctx: &Ctx, phone_id: &str, run: &mut Run) -> Result<(), sea_orm::DbErr> {
    let filter = events::Filter {
        account_id: run.account_id.clone(),
        phone_id: Some(phone_id.to_owned()),
        names: vec![EventKind::MessageReceived.as_str().into()],
    };
    loop {
        let page = events::list_after(&ctx.db, &filter, run.scanned, PAGE).await?;
        let full = page.len() as u64 == PAGE;
        for event in page {
            run.scanned = event.cursor;
            let Some(peer) = for_the_bot(&event, run.number.as_deref()) else {
                continue;
            };
            let due = Instant::now() + ctx.settings.debounce;
            match run.waiting.entry(peer.clone()) {
                Entry::Occupied(mut waiting) => {
                    let waiting = waiting.get_mut();
                    waiting.last_cursor = event.cursor;
                    waiting.due = due;
                }
                Entry::Vacant(slot) => {
                    slot.insert(Waiting {
                        first_cursor: event.cursor,
                        last_cursor: event.cursor,
                        due,
                        taken: None,
                    });
                    typing(ctx, phone_id, &peer, true);
                }
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// A reply task ended: the person is done with, unless they wrote again
/// meanwhile (then they wait for the next reply, which sees it all).
fn finished(run: &mut Run, peer: &str) {
    let Some(waiting) = run.waiting.get_mut(peer) else {
        return;
    };
    match waiting.taken.take() {
        Some(taken) if waiting.last_cursor > taken => waiting.first_cursor = taken + 1,
        _ => {
            run.waiting.remove(peer);
        }
    }
}

async fn store_cursor(ctx: &Ctx, phone_id: &str, run: &mut Run) {
    let safe = run.safe_cursor();
    if safe <= run.stored {
        return;
    }
    match store::bots::advance_cursor(&ctx.db, phone_id, safe).await {
        Ok(()) => run.stored = safe,
        Err(err) => tracing::error!(phone_id, error = %err, "bot worker: storing the cursor"),
    }
}

/// The person a message.received event asks the bot to answer, if any.
fn for_the_bot(event: &event::Model, own_number: Option<&str>) -> Option<String> {
    let payload: serde_json::Value = serde_json::from_str(&event.payload).ok()?;
    if !payload["group"].is_null() || payload["message"]["type"] != "text" {
        return None;
    }
    let text = payload["message"]["text"].as_str()?;
    if text.trim().is_empty() {
        return None;
    }
    let from = payload["from"].as_str()?;
    if from.is_empty() || Some(from) == own_number || payload["lid"].as_str() == Some(from) {
        // Ourselves, or a sender WhatsApp named only by LID (no number to
        // answer to).
        return None;
    }
    Some(from.to_owned())
}

/// Shows (or stops showing) "typing..." in the person's chat; best effort,
/// in the background.
fn typing(ctx: &Ctx, phone_id: &str, peer: &str, on: bool) {
    let Some(client) = ctx.sessions.client(phone_id) else {
        return;
    };
    let Ok(jid) = format!("{peer}@s.whatsapp.net").parse::<whatsapp_rust::Jid>() else {
        return;
    };
    ctx.hints.spawn(async move {
        let chatstate = client.chatstate();
        let sent = if on {
            chatstate.send_composing(&jid).await
        } else {
            chatstate.send_paused(&jid).await
        };
        if let Err(err) = sent {
            tracing::debug!(error = %err, "bot: chat state not sent");
        }
    });
}

/// Answers one person; every failure is recorded, none escapes.
async fn answer(ctx: &Ctx, phone_id: &str, peer: &str) {
    if let Err(err) = try_answer(ctx, phone_id, peer).await {
        tracing::error!(phone_id, error = %err, "bot reply");
    }
}

async fn try_answer(ctx: &Ctx, phone_id: &str, peer: &str) -> anyhow::Result<()> {
    let db = &ctx.db;
    let Some(bot) = store::bots::find(db, phone_id).await? else {
        return Ok(());
    };
    let Some(phone) = store::phones::find(db, phone_id).await? else {
        return Ok(());
    };
    if !bot.enabled || crate::plan::require_ai(&phone).is_err() {
        return Ok(());
    }
    if store::bots::is_our_number(db, peer).await? {
        tracing::debug!(phone_id, "bot: not answering another phone of this gateway");
        return Ok(());
    }
    let chat = store::bots::chat(db, phone_id, peer, ctx.settings.history_turns).await?;
    if chat
        .first()
        .is_none_or(|m| m.direction != Direction::Inbound)
    {
        // Answered already (before a restart, or through the API).
        typing(ctx, phone_id, peer, false);
        return Ok(());
    }
    let cap = ctx.settings.max_replies_per_chat_per_hour;
    if cap > 0 {
        let since = store::now_ms() - 3_600_000;
        let sent = store::bots::replies_since(db, phone_id, peer, since).await?;
        if sent >= cap {
            typing(ctx, phone_id, peer, false);
            let error = format!(
                "not answering {peer}: {sent} replies to this chat in the last hour (bot.max_replies_per_chat_per_hour is {cap}); another bot may be answering ours"
            );
            return fail(ctx, &bot, peer, error, None).await;
        }
    }
    let turns = provider::alternate(
        chat.iter()
            .rev()
            .filter_map(|m| {
                let text = m.text.as_ref().or(m.caption.as_ref())?.trim();
                (!text.is_empty()).then(|| Turn {
                    role: if m.direction == Direction::Inbound {
                        Role::User
                    } else {
                        Role::Model
                    },
                    text: text.to_owned(),
                })
            })
            .collect(),
    );
    let api_key = match ctx.keys.open(phone_id, &bot.api_key_enc) {
        Ok(key) => key,
        Err(why) => return fail(ctx, &bot, peer, why.to_owned(), None).await,
    };
    let ask = Ask {
        base_url: ctx.settings.base_url(&bot.provider),
        model: &bot.model,
        api_key: &api_key,
        system_prompt: &bot.system_prompt,
        turns: &turns,
        timeout: ctx.settings.timeout,
    };
    typing(ctx, phone_id, peer, true);
    let reply = match ask_with_retries(ctx, &bot.provider, &ask).await {
        Ok(reply) => reply,
        Err(failure) => {
            typing(ctx, phone_id, peer, false);
            let status = failure.status();
            let error = format!("{}: {}", bot.provider, failure.describe(&api_key));
            return fail(ctx, &bot, peer, error, status).await;
        }
    };
    drop(api_key);
    // Without a running session the reply stays queued and goes out when
    // the phone connects, like any send.
    let outcome = ctx
        .sender
        .send(Message {
            phone: &phone,
            to: peer.to_owned(),
            content: Content::text(reply),
            source: Source::Bot,
            idempotency: None,
            campaign: None,
            context: Default::default(),
        })
        .await?;
    store::bots::replied(db, phone_id, store::now_ms()).await?;
    match outcome {
        Outcome::Failed { row, failure } => {
            let error = format!("sending the reply {} failed: {failure}", row.wa_id);
            fail(ctx, &bot, peer, error, None).await
        }
        Outcome::Sent(row) | Outcome::Replayed(row) | Outcome::Queued { row, .. } => {
            tracing::info!(phone_id, message_id = %row.wa_id, status = row.status.as_str(), "bot replied");
            Ok(())
        }
        Outcome::Skipped => Ok(()),
    }
}

/// Asks the bot's provider, again after failures where that is safe.
async fn ask_with_retries(ctx: &Ctx, provider: &str, ask: &Ask<'_>) -> Result<String, Failure> {
    let mut attempt = 0;
    loop {
        let result = if provider == PROVIDER_GEMINI {
            gemini::generate(&ctx.http, ask).await
        } else {
            openai::generate(&ctx.http, ask).await
        };
        let failure = match result {
            Ok(reply) => return Ok(reply),
            Err(failure) => failure,
        };
        if !failure.retryable() || attempt >= ctx.settings.retries {
            return Err(failure);
        }
        let backoff = ctx.settings.retry_backoff * 2u32.saturating_pow(attempt);
        let pause = match &failure {
            Failure::Http {
                retry_after: Some(asked),
                ..
            } if *asked > MAX_RETRY_AFTER => return Err(failure),
            Failure::Http {
                retry_after: Some(asked),
                ..
            } => backoff.max(*asked),
            _ => backoff,
        };
        attempt += 1;
        tracing::info!(provider, attempt, pause_ms = pause.as_millis() as u64, failure = %failure.describe(ask.api_key), "bot: asking again");
        tokio::time::sleep(pause).await;
    }
}

/// Records a failed reply on the bot and as a bot.error event.
async fn fail(
    ctx: &Ctx,
    bot: &bot::Model,
    peer: &str,
    error: String,
    status: Option<u16>,
) -> anyhow::Result<()> {
    tracing::warn!(phone_id = %bot.phone_id, %error, "bot reply failed");
    let now = store::now_ms();
    store::bots::failed(&ctx.db, &bot.phone_id, &error, now).await?;
    let payload = json!({
        "to": peer,
        "provider": bot.provider,
        "model": bot.model,
        "status": status,
        "error": error,
        "timestamp": now / 1000,
    });
    ctx.events
        .append(events::NewEvent {
            account_id: &bot.account_id,
            phone_id: Some(&bot.phone_id),
            kind: EventKind::BotError,
            payload,
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
