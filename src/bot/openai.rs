//! OpenAI chat completions (or any server that speaks them):
//! `POST {base}/v1/chat/completions` with `Authorization: Bearer KEY`; the
//! system prompt as the first message, then the chat with roles `user` and
//! `assistant`.

use serde_json::{Value, json};

use super::provider::{Ask, Failure, Role, endpoint, read};

pub(crate) async fn generate(http: &reqwest::Client, ask: &Ask<'_>) -> Result<String, Failure> {
    let url = endpoint(ask.base_url, "v1", "chat/completions");
    let response = http
        .post(url)
        .timeout(ask.timeout)
        .bearer_auth(ask.api_key)
        .json(&body(ask))
        .send()
        .await;
    let answer = read(response, ask.timeout).await?;
    reply(&answer)
}

/// The request body.
pub(crate) fn body(ask: &Ask<'_>) -> Value {
    let mut messages = Vec::with_capacity(ask.turns.len() + 1);
    if !ask.system_prompt.trim().is_empty() {
        messages.push(json!({"role": "system", "content": ask.system_prompt}));
    }
    for turn in ask.turns {
        let role = match turn.role {
            Role::User => "user",
            Role::Model => "assistant",
        };
        messages.push(json!({"role": role, "content": turn.text}));
    }
    json!({"model": ask.model, "messages": messages})
}

/// The content of the first choice.
fn reply(answer: &Value) -> Result<String, Failure> {
    let Some(choice) = answer["choices"].get(0) else {
        return Err(Failure::BadAnswer("no choices".into()));
    };
    match choice["message"]["content"].as_str().map(str::trim) {
        Some(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => {
            let why = choice["message"]["refusal"]
                .as_str()
                .map(|r| format!("refused: {r}"))
                .or_else(|| {
                    choice["finish_reason"]
                        .as_str()
                        .map(|r| format!("an empty reply ({r})"))
                })
                .unwrap_or_else(|| "an empty reply".into());
            Err(Failure::BadAnswer(why))
        }
    }
}
