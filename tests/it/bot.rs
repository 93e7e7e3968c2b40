//! The AI auto-reply bot end to end: a linked Pro phone on the protocol
//! simulator, and Gemini and OpenAI played by HTTP servers on 127.0.0.1
//! that follow each provider's documented request and response formats,
//! check what the gateway sends, and answer as scripted.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use wadesk::{config::Config, store};
use wadesk_sim::Simulator;

use crate::{
    db_tests,
    phones::{linked_phone, pair, start_with},
    support::{Db, TestApp, eventually, make_pro},
};

/// Which wire format the fake provider speaks.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Gemini,
    OpenAi,
}

/// How the fake provider answers one request.
#[derive(Clone, Debug)]
enum Answer {
    Reply(String),
    /// The reply, after a pause.
    Slow(Duration, String),
    /// An error status with the provider's error body.
    Error(u16, String),
}

/// One request the provider got.
#[derive(Clone, Debug)]
struct Hit {
    path: String,
    /// x-goog-api-key (Gemini) or the bearer token (OpenAI).
    key: String,
    body: Value,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Answer>,
    hits: Vec<Hit>,
}

struct Provider {
    kind: Kind,
    url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn gemini(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = headers
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match next(&inner, uri, key, body).await {
        Answer::Reply(text) => Json(json!({
            "candidates": [{
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "STOP",
                "index": 0
            }],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
            "modelVersion": "gemini-2.5-flash"
        }))
        .into_response(),
        Answer::Error(status, message) => error(status, json!({"error": {
            "code": status, "message": message, "status": "UNAVAILABLE"}})),
        Answer::Slow(..) => unreachable!(),
    }
}

async fn openai(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let model = body["model"].clone();
    match next(&inner, uri, key, body).await {
        Answer::Reply(text) => Json(json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_713_254_400,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        }))
        .into_response(),
        Answer::Error(status, message) => error(
            status,
            json!({"error": {
            "message": message, "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
        ),
        Answer::Slow(..) => unreachable!(),
    }
}

fn error(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

/// Records the request and gives the next scripted answer (a slow one
/// after its pause).
async fn next(inner: &Mutex<Inner>, uri: Uri, key: String, body: Value) -> Answer {
    let answer = {
        let mut inner = inner.lock().unwrap();
        inner.hits.push(Hit {
            path: uri.path().to_owned(),
            key,
            body,
        });
        inner
            .script
            .pop_front()
            .unwrap_or_else(|| Answer::Reply("(unscripted)".into()))
    };
    match answer {
        Answer::Slow(pause, text) => {
            tokio::time::sleep(pause).await;
            Answer::Reply(text)
        }
        other => other,
    }
}

impl Provider {
    async fn start(kind: Kind) -> Provider {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = match kind {
            Kind::Gemini => Router::new().route("/v1beta/{*rest}", post(gemini)),
            Kind::OpenAi => Router::new().route("/v1/chat/completions", post(openai)),
        }
        .with_state(inner.clone());
        let (url, task) = crate::support::serve_http(router).await;
        Provider {
            kind,
            url,
            inner,
            task,
        }
    }

    fn then(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.lock().unwrap().script.extend(answers);
    }

    fn hits(&self) -> Vec<Hit> {
        self.inner.lock().unwrap().hits.clone()
    }

    /// Points the gateway's config at this server, with short waits.
    fn configure(&self, config: &mut Config) {
        match self.kind {
            Kind::Gemini => config.bot.gemini_base_url = self.url.clone(),
            Kind::OpenAi => config.bot.openai_base_url = self.url.clone(),
        }
        config.bot.debounce = Duration::from_millis(600);
        config.bot.timeout = Duration::from_secs(5);
        config.bot.retry_backoff = Duration::from_millis(100);
    }
}

/// Texts virtual phone `number` received from `from`, oldest first.
fn texts_from(sim: &Simulator, number: &str, from: &str) -> Vec<String> {
    sim.phone_messages(number)
        .into_iter()
        .filter(|m| m.from == from && !m.from_me)
        .filter_map(|m| m.text)
        .collect()
}

/// A linked Pro phone `ours`, a person `theirs`, and a provider.
async fn linked(
    db: Db,
    kind: Kind,
    ours: &str,
    theirs: &str,
) -> (Simulator, TestApp, Provider, String) {
    let provider = Provider::start(kind).await;
    let (sim, app, phone) = linked_phone(db, ours, |config| provider.configure(config)).await;
    make_pro(&app, &phone).await;
    sim.create_phone(theirs);
    (sim, app, provider, phone)
}

fn roles_and_texts(
    items: &Value,
    role_key: &str,
    text: impl Fn(&Value) -> Value,
) -> Vec<(String, Value)> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item[role_key].as_str().unwrap().to_owned(), text(item)))
        .collect()
}

async fn gemini_answers_with_the_chat_so_far(db: Db) {
    let (ours, theirs) = ("919812340200", "919812340201");
    let (sim, app, provider, phone) = linked(db, Kind::Gemini, ours, theirs).await;
    let key = "AIzaSyTest-0123456789-key1";
    crate::support::secret(key);
    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "gemini", "api_key": key,
                   "system_prompt": "You are Acme's assistant. Be brief."}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let bot = &body["bot"];
    assert_eq!(bot["provider"], json!("gemini"), "{body}");
    assert_eq!(bot["model"], json!("gemini-2.5-flash"), "the default model");
    assert_eq!(bot["api_key"], json!("...key1"), "masked");
    assert_eq!(bot["is_enabled"], json!(true));
    assert!(!body.to_string().contains(key));

    provider.then([
        Answer::Reply("Hello! How can I help?".into()),
        Answer::Reply("The red shoes are $40.".into()),
    ]);
    let hi = sim.phone_send_text(theirs, ours, "hi").await.unwrap();
    let got = eventually("the first reply", || async {
        let texts = texts_from(&sim, theirs, ours);
        (!texts.is_empty()).then_some(texts)
    })
    .await;
    assert_eq!(got, ["Hello! How can I help?"]);

    let hits = provider.hits();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let hit = &hits[0];
    assert_eq!(hit.path, "/v1beta/models/gemini-2.5-flash:generateContent");
    assert_eq!(hit.key, key, "x-goog-api-key");
    assert_eq!(
        hit.body["systemInstruction"],
        json!({"parts": [{"text": "You are Acme's assistant. Be brief."}]})
    );
    assert_eq!(
        hit.body["contents"],
        json!([{"role": "user", "parts": [{"text": "hi"}]}])
    );

    // The reply went through the outbox, marked as the bot's.
    let messages = store::bots::chat(&app.core.db, &phone, theirs, 10)
        .await
        .unwrap();
    let reply = messages
        .iter()
        .find(|m| m.direction == store::entity::vocab::Direction::Outbound)
        .expect("the reply is stored");
    assert_eq!(reply.source, Some(store::entity::vocab::Source::Bot));
    assert_eq!(reply.text.as_deref(), Some("Hello! How can I help?"));
    assert!(messages.iter().any(|m| m.wa_id == hi));
    let reply_id = reply.wa_id.clone();
    eventually("a message.status event for the reply", || async {
        let events = store::events::list_for_phone(&app.core.db, &app.account_id, &phone, 0)
            .await
            .unwrap();
        events
            .iter()
            .any(|e| e.event == "message.status" && e.payload.contains(&reply_id))
            .then_some(())
    })
    .await;

    // The second question carries the conversation, with the right roles.
    sim.phone_send_text(theirs, ours, "How much are the red shoes?")
        .await
        .unwrap();
    eventually("the second reply", || async {
        (texts_from(&sim, theirs, ours).len() == 2).then_some(())
    })
    .await;
    let hits = provider.hits();
    assert_eq!(hits.len(), 2);
    let contents = roles_and_texts(&hits[1].body["contents"], "role", |c| {
        c["parts"][0]["text"].clone()
    });
    assert_eq!(
        contents,
        [
            ("user".to_owned(), json!("hi")),
            ("model".to_owned(), json!("Hello! How can I help?")),
            ("user".to_owned(), json!("How much are the red shoes?")),
        ]
    );

    let (status, body) = app.get(&format!("/api/bot/{phone}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["bot"]["api_key"], json!("...key1"));
    assert!(body["bot"]["last_reply_at"].as_str().is_some(), "{body}");
    assert!(body["bot"]["last_error"].is_null(), "{body}");
    assert!(!body.to_string().contains(key));
    // At rest the key is encrypted.
    let row = store::bots::find(&app.core.db, &phone)
        .await
        .unwrap()
        .unwrap();
    assert!(!row.api_key_enc.contains(key) && !row.api_key_enc.contains("0123456789"));
    assert!(!format!("{row:?}").contains(key));
    app.stop().await;
    sim.shutdown();
}

async fn openai_debounces_and_never_answers_itself(db: Db) {
    let (ours, theirs) = ("919812340210", "919812340211");
    let (sim, app, provider, phone) = linked(db, Kind::OpenAi, ours, theirs).await;
    // Something we sent earlier through the API: context for the bot.
    let (status, body) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": theirs, "message": "Your order #12 has shipped."}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let key = "sk-proj-test-abcdefghijklmnop-WXYZ";
    crate::support::secret(key);
    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "openai", "model": "gpt-4o-mini-test",
                   "api_key": key, "system_prompt": "Answer as Acme support.", "is_enabled": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["bot"]["model"], json!("gpt-4o-mini-test"));
    assert_eq!(body["bot"]["api_key"], json!("...WXYZ"));

    provider.then([Answer::Reply("It arrives tomorrow.".into())]);
    // Two messages in quick succession: one reply.
    sim.phone_send_text(theirs, ours, "hi").await.unwrap();
    sim.phone_send_text(theirs, ours, "when does it arrive?")
        .await
        .unwrap();
    eventually("the reply", || async {
        texts_from(&sim, theirs, ours)
            .iter()
            .any(|t| t == "It arrives tomorrow.")
            .then_some(())
    })
    .await;
    let hits = provider.hits();
    assert_eq!(hits.len(), 1, "one question for both messages: {hits:?}");
    let hit = &hits[0];
    assert_eq!(hit.path, "/v1/chat/completions");
    assert_eq!(hit.key, key, "Authorization: Bearer");
    assert_eq!(hit.body["model"], json!("gpt-4o-mini-test"));
    let messages = roles_and_texts(&hit.body["messages"], "role", |m| m["content"].clone());
    assert_eq!(
        messages,
        [
            ("system".to_owned(), json!("Answer as Acme support.")),
            ("assistant".to_owned(), json!("Your order #12 has shipped.")),
            ("user".to_owned(), json!("hi\nwhen does it arrive?")),
        ]
    );

    // The owner writes from the phone itself, and the API sends: neither is
    // a person writing to us, and the bot's own reply is not either.
    sim.phone_send_text(ours, theirs, "The owner, typing on the phone")
        .await
        .unwrap();
    let (status, body) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": theirs, "message": "Sent through the API"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(provider.hits().len(), 1, "the bot never answers itself");
    let bot_replies = store::bots::chat(&app.core.db, &phone, theirs, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.source == Some(store::entity::vocab::Source::Bot))
        .count();
    assert_eq!(bot_replies, 1);

    // Switched off: no answer.
    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "openai", "is_enabled": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["bot"]["is_enabled"], json!(false));
    assert_eq!(body["bot"]["model"], json!("gpt-4o-mini-test"), "kept");
    assert_eq!(body["bot"]["api_key"], json!("...WXYZ"), "kept");
    sim.phone_send_text(theirs, ours, "hello?").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(provider.hits().len(), 1, "a disabled bot does not answer");
    app.stop().await;
    sim.shutdown();
}

async fn provider_failures_are_recorded_and_retried_only_when_safe(db: Db) {
    let (ours, theirs) = ("919812340220", "919812340221");
    let (sim, app, provider, phone) = linked(db, Kind::OpenAi, ours, theirs).await;
    let bad = "sk-bad-key-0000000000-BAD1";
    crate::support::secret(bad);
    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "openai", "api_key": bad}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["bot"]["model"],
        json!("gpt-4o-mini"),
        "the default model"
    );
    provider.then([Answer::Error(
        401,
        format!("Incorrect API key provided: {bad}. You can find your API key at https://platform.openai.com/account/api-keys."),
    )]);
    sim.phone_send_text(theirs, ours, "hi").await.unwrap();
    let bot = eventually("a recorded error", || async {
        let (_, body) = app.get(&format!("/api/bot/{phone}")).await;
        body["bot"]["last_error"].is_string().then_some(body)
    })
    .await;
    let error = bot["bot"]["last_error"].as_str().unwrap();
    assert!(
        error.contains("401") && error.contains("api_key"),
        "{error}"
    );
    assert!(
        !bot.to_string().contains(bad),
        "the key is never shown: {bot}"
    );
    assert!(bot["bot"]["last_error_at"].is_string(), "{bot}");
    assert!(bot["bot"]["last_reply_at"].is_null(), "{bot}");
    let events = store::events::list_for_phone(&app.core.db, &app.account_id, &phone, 0)
        .await
        .unwrap();
    let error_event = events
        .iter()
        .find(|e| e.event == "bot.error")
        .expect("a bot.error event");
    let payload: Value = serde_json::from_str(&error_event.payload).unwrap();
    assert_eq!(payload["status"], json!(401));
    assert_eq!(payload["to"], json!(theirs));
    assert!(!error_event.payload.contains(bad));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(provider.hits().len(), 1, "a refused key is not asked again");
    assert!(texts_from(&sim, theirs, ours).is_empty(), "no reply");

    // A new key clears the error; a 503 is asked again, and answered.
    let good = "sk-good-key-111111111-GOOD";
    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "openai", "api_key": good}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["bot"]["last_error"].is_null(), "{body}");
    provider.then([
        Answer::Error(503, "The server is overloaded.".into()),
        Answer::Reply("Sorry for the wait!".into()),
    ]);
    sim.phone_send_text(theirs, ours, "hello again")
        .await
        .unwrap();
    eventually("the reply after a retry", || async {
        (texts_from(&sim, theirs, ours) == ["Sorry for the wait!"]).then_some(())
    })
    .await;
    let hits = provider.hits();
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert!(hits[1..].iter().all(|h| h.key == good));
    app.stop().await;
    sim.shutdown();
}

async fn the_bot_is_pro_only_and_checks_its_fields(db: Db) {
    let app = TestApp::spawn(db).await;
    let phone = app.create_phone("Line").await;
    for (status, body) in [
        app.post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "gemini", "api_key": "AIza-test"}),
        )
        .await,
        app.get(&format!("/api/bot/{phone}")).await,
    ] {
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["status"], json!("PERMISSION_DENIED"));
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Pro plan only"),
            "{body}"
        );
    }

    make_pro(&app, &phone).await;
    // "provider: ..." from the handler, "field `provider`: ..." from JSON decoding.
    let field_of = |body: &Value| {
        body["error"]["message"]
            .as_str()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .trim_start_matches("field `")
            .trim_end_matches('`')
            .to_owned()
    };
    for (request, field) in [
        (
            json!({"phone_id": phone, "provider": "claude", "api_key": "k-123456789"}),
            "provider",
        ),
        (
            json!({"phone_id": phone, "api_key": "k-123456789"}),
            "provider",
        ),
        (json!({"phone_id": phone, "provider": "gemini"}), "api_key"),
        (
            json!({"phone_id": phone, "provider": "gemini", "api_key": "  "}),
            "api_key",
        ),
        (
            json!({"phone_id": phone, "provider": "gemini", "api_key": "k-123456789", "model": "bad model"}),
            "model",
        ),
    ] {
        let (status, body) = app.post("/api/bot/set", request.clone()).await;
        assert_eq!(status, 400, "{request}: {body}");
        assert_eq!(field_of(&body), field, "{request}: {body}");
    }
    let (status, body) = app.get(&format!("/api/bot/{phone}")).await;
    assert_eq!(status, 404, "no bot yet: {body}");

    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "openai", "api_key": "sk-abcdefghijklmnop1234", "is_enabled": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["bot"]["model"], json!("gpt-4o-mini"));
    assert_eq!(body["bot"]["is_enabled"], json!(false));
    // Later changes may leave the key out; another provider gets its default model.
    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "gemini", "system_prompt": "Be kind."}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let bot = &body["bot"];
    assert_eq!(bot["provider"], json!("gemini"));
    assert_eq!(bot["model"], json!("gemini-2.5-flash"));
    assert_eq!(bot["api_key"], json!("...1234"));
    assert_eq!(bot["system_prompt"], json!("Be kind."));
    assert_eq!(bot["is_enabled"], json!(false));
    let (status, body) = app.get(&format!("/api/bot/{phone}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["bot"], *bot);
    assert!(!body.to_string().contains("abcdefghijklmnop"));
    app.stop().await;
}

/// A restart while the provider is still thinking: the message is asked
/// about again from the stored cursor and answered once.
async fn a_restart_mid_question_answers_once(db: Db) {
    let (ours, theirs) = ("919812340230", "919812340231");
    let (sim, app, provider, phone) = linked(db, Kind::Gemini, ours, theirs).await;
    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "gemini", "api_key": "AIza-restart-test-key"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    provider.then([
        Answer::Slow(Duration::from_secs(20), "too late".into()),
        Answer::Reply("Back again, how can I help?".into()),
    ]);
    sim.phone_send_text(theirs, ours, "hi").await.unwrap();
    eventually("the question", || async {
        (!provider.hits().is_empty()).then_some(())
    })
    .await;
    let app = app.restart().await;
    app.wait_status(&phone, "connected", 30).await;
    eventually("the reply after the restart", || async {
        (!texts_from(&sim, theirs, ours).is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        texts_from(&sim, theirs, ours),
        ["Back again, how can I help?"],
        "one reply"
    );
    assert_eq!(provider.hits().len(), 2);
    app.stop().await;
    sim.shutdown();
}

/// Another bot answering ours would make an endless conversation: after
/// the per-chat cap the bot stops answering that chat and says why.
async fn a_chat_past_the_reply_cap_is_not_answered(db: Db) {
    let (ours, theirs) = ("919812340290", "919812340291");
    let provider = Provider::start(Kind::OpenAi).await;
    let (sim, app) = start_with(db, |config| {
        provider.configure(config);
        config.bot.max_replies_per_chat_per_hour = 1;
    })
    .await;
    let phone = app.create_phone("Shop").await;
    pair(&app, &sim, &phone, ours).await;
    make_pro(&app, &phone).await;
    sim.create_phone(theirs);
    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "openai", "api_key": "sk-test-cap-0001"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    provider.then([
        Answer::Reply("first answer".into()),
        Answer::Reply("second answer".into()),
    ]);
    sim.phone_send_text(theirs, ours, "hi").await.unwrap();
    eventually("the first reply", || async {
        (texts_from(&sim, theirs, ours) == ["first answer"]).then_some(())
    })
    .await;
    sim.phone_send_text(theirs, ours, "hi again").await.unwrap();
    let error = eventually("the cap recorded on the bot", || async {
        let (_, body) = app.get(&format!("/api/bot/{phone}")).await;
        body["bot"]["last_error"].as_str().map(str::to_owned)
    })
    .await;
    assert!(
        error.contains("1 replies to this chat in the last hour"),
        "{error}"
    );
    assert_eq!(provider.hits().len(), 1, "the provider was not asked again");
    assert_eq!(texts_from(&sim, theirs, ours), ["first answer"]);
    app.stop().await;
    sim.shutdown();
}

db_tests!(
    a_chat_past_the_reply_cap_is_not_answered,
    a_restart_mid_question_answers_once,
    gemini_answers_with_the_chat_so_far,
    openai_debounces_and_never_answers_itself,
    provider_failures_are_recorded_and_retried_only_when_safe,
    the_bot_is_pro_only_and_checks_its_fields,
);
