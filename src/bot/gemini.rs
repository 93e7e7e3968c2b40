//! Google Gemini: `POST {base}/v1beta/models/{model}:generateContent` with
//! the key in `x-goog-api-key`; the system prompt as `systemInstruction`,
//! the chat as `contents` with roles `user` and `model`.

use serde_json::{Value, json};

use super::provider::{Ask, Failure, Role, endpoint, read};

pub(crate) async fn generate(http: &reqwest::Client, ask: &Ask<'_>) -> Result<String, Failure> {
    let model = ask.model.trim_start_matches("models/");
    let model: String = url::form_urlencoded::byte_serialize(model.as_bytes()).collect();
    let url = endpoint(
        ask.base_url,
        "v1beta",
        &format!("models/{model}:generateContent"),
    );
    let response = http
        .post(url)
        .timeout(ask.timeout)
        .header("x-goog-api-key", ask.api_key)
        .json(&body(ask))
        .send()
        .await;
    let answer = read(response, ask.timeout).await?;
    reply(&answer)
}

/// The request body.
pub(crate) fn body(ask: &Ask<'_>) -> Value {
    // The conversation starts with the person: Gemini wants a user turn
    // first (an earlier message of ours without a question is left out).
    let contents: Vec<Value> = ask
        .turns
        .iter()
        .skip_while(|turn| turn.role == Role::Model)
        .map(|turn| {
            let role = match turn.role {
                Role::User => "user",
                Role::Model => "model",
            };
            json!({"role": role, "parts": [{"text": turn.text}]})
        })
        .collect();
    let mut body = json!({ "contents": contents });
    if !ask.system_prompt.trim().is_empty() {
        body["systemInstruction"] = json!({"parts": [{"text": ask.system_prompt}]});
    }
    body
}

/// The text of the first candidate.
fn reply(answer: &Value) -> Result<String, Failure> {
    let Some(candidate) = answer["candidates"].get(0) else {
        let why = answer["promptFeedback"]["blockReason"]
            .as_str()
            .map(|r| format!("the prompt was blocked ({r})"))
            .unwrap_or_else(|| "no candidates".into());
        return Err(Failure::BadAnswer(why));
    };
    let text: String = candidate["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|part| part["thought"] != json!(true))
        .filter_map(|part| part["text"].as_str())
        .collect();
    if text.trim().is_empty() {
        let reason = candidate["finishReason"].as_str().unwrap_or("no text");
        return Err(Failure::BadAnswer(format!("an empty reply ({reason})")));
    }
    Ok(text.trim().to_owned())
}
