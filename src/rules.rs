//! The rules request fields are held to (lengths, ranges, patterns, required
//! fields), in one place: the checks in [`crate::values`] and the handlers
//! read their limits from the constants here, and [`table`] states the same
//! constants in the OpenAPI document, keyed by the protobuf full name of the
//! field or message, so generated clients and fuzzers know them.
//!
//! A pattern here may be narrower than the check behind it (e.g. the phone
//! number pattern takes no spaces around a leading `+`). What a pattern
//! cannot say is still checked by the server and answered 400 naming the
//! field: a URL's host must resolve to an address the fetch guard allows, a
//! name may not be made only of invisible characters from above the first
//! Unicode plane, a campaign message's placeholders must be known.

use serde_json::json;
use wadesk_gateway::FieldRules;

use crate::events::EventKind;

/// A text message, a campaign message (characters).
pub(crate) const MESSAGE_MAX: usize = 65_536;
/// A media caption (characters).
pub(crate) const CAPTION_MAX: usize = 1024;
/// A document's file name (characters).
pub(crate) const FILENAME_MAX: usize = 255;
/// A location's label (characters).
pub(crate) const LOCATION_NAME_MAX: usize = 1000;
/// A phone's name (characters).
pub(crate) const PHONE_NAME_MAX: usize = 100;
/// The longest gap a campaign may ask for, in milliseconds (one hour).
pub(crate) const DELAY_MAX_MS: u32 = 3_600_000;
/// A Google Sheet ID (ASCII letters, digits, `-` and `_`).
pub(crate) const SHEET_ID_MAX: usize = 128;
/// A webhook URL, as normalized (characters).
pub(crate) const WEBHOOK_URL_MAX: usize = 2048;
/// A bot's provider api key (characters).
pub(crate) const API_KEY_MAX: usize = 1000;
/// A bot's system prompt (characters).
pub(crate) const SYSTEM_PROMPT_MAX: usize = 20_000;
/// A bot's model ID (characters).
pub(crate) const MODEL_MAX: usize = 200;

/// Contact cards in one message, numbers on one card, a card's name.
pub(crate) const CONTACT_CARDS_MAX: usize = 10;
pub(crate) const CONTACT_NUMBERS_MAX: usize = 5;
pub(crate) const CONTACT_NAME_MAX: usize = 100;

/// The text sent to a caller whose call the phone declined (characters).
pub(crate) const CALL_REPLY_MAX: usize = 4096;

/// A message id as a caller gives it back (`reply_to`): WhatsApp's ids are
/// far shorter.
pub(crate) const MESSAGE_ID_MAX: usize = 128;

/// The Idempotency-Key header of a send (printable ASCII).
pub(crate) const IDEMPOTENCY_KEY_MAX: usize = 255;

/// At least one character that is not white space (checks trim first).
const NOT_BLANK: &str = r"\S";
/// A phone number with country code, 8 to 15 digits, no leading zero,
/// optionally after `+` or `00`, with ` ().-` between digits
/// ([`crate::values::normalize_number`] accepts a little more).
const PHONE_NUMBER: &str = r"^(\+|00)?[1-9]([ ().-]*[0-9]){7,14}$";
/// An http(s) URL with a host.
const HTTP_URL: &str = r"^https?://[^\s/?#@]+";
/// Control characters and bidirectional overrides and isolates.
const NOT_PLAIN: &str = r"\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069";
/// Characters that draw nothing (see `values::display_name`; the planes
/// above the first are left out of the pattern and still refused).
const INVISIBLE: &str = r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0";

/// The rules of every request field and message that has any.
/// `max_numbers` is the configured `bulk.max_numbers`.
pub(crate) fn table(max_numbers: usize) -> FieldRules {
    let mut rules = FieldRules::default();
    let not_blank = |max: usize| json!({"minLength": 1, "maxLength": max, "pattern": NOT_BLANK});
    let required_id = json!({"minLength": 1, "pattern": NOT_BLANK});
    let phone = json!({"pattern": PHONE_NUMBER});
    let url = json!({"pattern": HTTP_URL});

    let sends = [
        ("SendTextRequest", &["phone_id", "to", "message"][..]),
        ("SendImageRequest", &["phone_id", "to"]),
        ("SendVideoRequest", &["phone_id", "to"]),
        ("SendDocumentRequest", &["phone_id", "to"]),
        ("SendAudioRequest", &["phone_id", "to"]),
        ("SendLocationRequest", &["phone_id", "to", "lat", "lng"]),
        ("SendStickerRequest", &["phone_id", "to"]),
        ("SendVoiceRequest", &["phone_id", "to"]),
        ("SendContactRequest", &["phone_id", "to", "contacts"]),
        (
            "SendPollRequest",
            &["phone_id", "to", "question", "options"],
        ),
    ];
    for (message, required) in sends {
        rules.add(
            format!("wadesk.v1.{message}"),
            json!({"required": required}),
        );
        rules.add(format!("wadesk.v1.{message}.phone_id"), required_id.clone());
        rules.add(format!("wadesk.v1.{message}.to"), phone.clone());
        // Media sends: a URL, or the file by media_id or data.
        if message.contains("Image")
            || message.contains("Video")
            || message.contains("Document")
            || message.contains("Audio")
            || message.contains("Sticker")
            || message.contains("Voice")
        {
            rules.add(format!("wadesk.v1.{message}.url"), url.clone());
            rules.add(
                format!("wadesk.v1.{message}.media_id"),
                json!({"maxLength": MESSAGE_ID_MAX}),
            );
        }
        rules.add(
            format!("wadesk.v1.{message}.reply_to"),
            json!({"maxLength": MESSAGE_ID_MAX}),
        );
    }
    for message in ["SendTextRequest", "SendImageRequest", "SendVideoRequest"] {
        rules.add(
            format!("wadesk.v1.{message}.mentions"),
            json!({"items": phone.clone()}),
        );
    }
    rules.add("wadesk.v1.SendTextRequest.message", not_blank(MESSAGE_MAX));
    for message in ["SendImageRequest", "SendVideoRequest"] {
        rules.add(
            format!("wadesk.v1.{message}.caption"),
            json!({"maxLength": CAPTION_MAX}),
        );
    }
    rules.add(
        "wadesk.v1.SendDocumentRequest.filename",
        json!({"maxLength": FILENAME_MAX, "pattern": r"^[^/\\\x00-\x1f\x7f-\x9f]*$"}),
    );
    rules.add(
        "wadesk.v1.SendLocationRequest.lat",
        json!({"type": "number", "minimum": -90, "maximum": 90}),
    );
    rules.add(
        "wadesk.v1.SendLocationRequest.lng",
        json!({"type": "number", "minimum": -180, "maximum": 180}),
    );
    rules.add(
        "wadesk.v1.SendLocationRequest.name",
        json!({"maxLength": LOCATION_NAME_MAX}),
    );

    rules.add(
        "wadesk.v1.SendContactRequest.contacts",
        json!({"minItems": 1, "maxItems": CONTACT_CARDS_MAX}),
    );
    rules.add(
        "wadesk.v1.ContactCard",
        json!({"required": ["name", "numbers"]}),
    );
    rules.add("wadesk.v1.ContactCard.name", not_blank(CONTACT_NAME_MAX));
    rules.add(
        "wadesk.v1.ContactCard.numbers",
        json!({"minItems": 1, "maxItems": CONTACT_NUMBERS_MAX, "items": phone.clone()}),
    );
    rules.add(
        "wadesk.v1.SendPollRequest.question",
        not_blank(crate::polls::QUESTION_MAX),
    );
    rules.add(
        "wadesk.v1.SendPollRequest.options",
        json!({
            "minItems": crate::polls::MIN_OPTIONS,
            "maxItems": crate::polls::MAX_OPTIONS,
            "uniqueItems": true,
            "items": not_blank(crate::polls::OPTION_MAX),
        }),
    );
    rules.add(
        "wadesk.v1.SendPollRequest.selectable_count",
        json!({"maximum": crate::polls::MAX_OPTIONS}),
    );
    rules.add(
        "wadesk.v1.ForwardMessageRequest",
        json!({"required": ["to"]}),
    );
    rules.add("wadesk.v1.ForwardMessageRequest.to", phone.clone());

    rules.add(
        "wadesk.v1.SetCallSettingsRequest.reply",
        json!({"maxLength": CALL_REPLY_MAX}),
    );

    rules.add(
        "wadesk.v1.CreateTokenRequest",
        json!({"required": ["name"]}),
    );
    rules.add(
        "wadesk.v1.CreateTokenRequest.name",
        not_blank(crate::accounts::NAME_MAX),
    );
    rules.add(
        "wadesk.v1.CreateTokenRequest.expires_in_seconds",
        json!({"maximum": crate::accounts::MAX_EXPIRY_SECS}),
    );
    rules.add(
        "wadesk.v1.ChangePasswordRequest",
        json!({"required": ["new_password"]}),
    );
    rules.add(
        "wadesk.v1.ChangePasswordRequest.new_password",
        json!({
            "minLength": crate::auth::password::MIN_LEN,
            "maxLength": crate::auth::password::MAX_LEN,
        }),
    );
    rules.add(
        "wadesk.v1.CreatePhoneRequest",
        json!({"required": ["name"]}),
    );
    rules.add(
        "wadesk.v1.CreatePhoneRequest.name",
        json!({
            "minLength": 1,
            "maxLength": PHONE_NAME_MAX,
            "pattern": format!("^[^{NOT_PLAIN}]*[^\\s{NOT_PLAIN}{INVISIBLE}][^{NOT_PLAIN}]*$"),
        }),
    );
    rules.add(
        "wadesk.v1.CheckNumbersRequest",
        json!({"required": ["phone_id", "numbers"]}),
    );
    rules.add(
        "wadesk.v1.CheckNumbersRequest.numbers",
        json!({"minItems": 1, "maxItems": crate::contacts::MAX_NUMBERS, "items": phone.clone()}),
    );
    for message in [
        "GetContactRequest",
        "BlockContactRequest",
        "UnblockContactRequest",
        "SubscribePresenceRequest",
    ] {
        rules.add(
            format!("wadesk.v1.{message}"),
            json!({"required": ["phone_id", "number"]}),
        );
        rules.add(format!("wadesk.v1.{message}.number"), phone.clone());
    }
    rules.add(
        "wadesk.v1.SetProfileRequest.name",
        not_blank(crate::profile::NAME_MAX_CHARS),
    );
    rules.add(
        "wadesk.v1.SetProfileRequest.about",
        json!({"maxLength": crate::profile::ABOUT_MAX_CHARS}),
    );
    rules.add("wadesk.v1.SetProfileRequest.picture_url", url.clone());
    let group_id = json!({"pattern": r"^\s*[0-9]{1,30}(-[0-9]{1,20})?(@g\.us)?\s*$"});
    let members =
        json!({"minItems": 1, "maxItems": crate::groups::MAX_PARTICIPANTS, "items": phone.clone()});
    rules.add(
        "wadesk.v1.CreateGroupRequest",
        json!({"required": ["phone_id", "subject", "participants"]}),
    );
    rules.add(
        "wadesk.v1.CreateGroupRequest.subject",
        not_blank(crate::groups::SUBJECT_MAX),
    );
    rules.add(
        "wadesk.v1.UpdateGroupRequest.subject",
        not_blank(crate::groups::SUBJECT_MAX),
    );
    rules.add(
        "wadesk.v1.UpdateGroupRequest.description",
        json!({"maxLength": crate::groups::DESCRIPTION_MAX}),
    );
    rules.add("wadesk.v1.UpdateGroupRequest.picture_url", url.clone());
    rules.add(
        "wadesk.v1.SetGroupSettingsRequest.disappearing_seconds",
        json!({"enum": crate::groups::TIMERS}),
    );
    for message in [
        "CreateGroupRequest",
        "AddParticipantsRequest",
        "RemoveParticipantsRequest",
        "PromoteParticipantsRequest",
        "DemoteParticipantsRequest",
        "ApproveJoinRequestsRequest",
        "RejectJoinRequestsRequest",
    ] {
        rules.add(format!("wadesk.v1.{message}.participants"), members.clone());
    }
    for message in [
        "GetGroupRequest",
        "UpdateGroupRequest",
        "AddParticipantsRequest",
        "RemoveParticipantsRequest",
        "PromoteParticipantsRequest",
        "DemoteParticipantsRequest",
        "GetInviteLinkRequest",
        "RevokeInviteLinkRequest",
        "LeaveGroupRequest",
        "SetGroupSettingsRequest",
        "ListJoinRequestsRequest",
        "ApproveJoinRequestsRequest",
        "RejectJoinRequestsRequest",
    ] {
        rules.add(format!("wadesk.v1.{message}.group_id"), group_id.clone());
    }
    rules.add(
        "wadesk.v1.GetInviteInfoRequest.code",
        json!({"pattern": "^[A-Za-z0-9]{1,64}$"}),
    );
    rules.add(
        "wadesk.v1.JoinGroupRequest",
        json!({"required": ["phone_id", "invite"]}),
    );
    rules.add(
        "wadesk.v1.RequestPairCodeRequest",
        json!({"required": ["phone_id", "number"]}),
    );
    rules.add("wadesk.v1.RequestPairCodeRequest.number", phone.clone());
    rules.add(
        "wadesk.v1.ListMessagesRequest.chat",
        json!({"pattern": format!("^$|{}", &PHONE_NUMBER)}),
    );
    // Cursors are stored as signed 64-bit numbers.
    rules.add(
        "wadesk.v1.SubscribeRequest.cursor",
        json!({"maximum": i64::MAX}),
    );
    let events = json!({"items": {"pattern": event_names_pattern()}});
    rules.add("wadesk.v1.SubscribeRequest.events", events.clone());

    for (message, source) in [
        ("BulkSendRequest", "numbers"),
        ("BulkSendSheetRequest", "sheet_id"),
    ] {
        rules.add(
            format!("wadesk.v1.{message}"),
            json!({"required": ["phone_id", source, "message"]}),
        );
        rules.add(format!("wadesk.v1.{message}.phone_id"), required_id.clone());
        rules.add(
            format!("wadesk.v1.{message}.message"),
            not_blank(MESSAGE_MAX),
        );
        rules.add(
            format!("wadesk.v1.{message}.delay"),
            json!({"maximum": DELAY_MAX_MS}),
        );
    }
    rules.add(
        "wadesk.v1.BulkSendRequest.numbers",
        json!({"minItems": 1, "maxItems": max_numbers}),
    );
    rules.add(
        "wadesk.v1.BulkSendSheetRequest.sheet_id",
        json!({"pattern": format!("^[A-Za-z0-9_-]{{1,{SHEET_ID_MAX}}}$")}),
    );

    rules.add(
        "wadesk.v1.SetWebhookRequest",
        json!({"required": ["phone_id", "webhook_url"]}),
    );
    rules.add("wadesk.v1.SetWebhookRequest.phone_id", required_id.clone());
    rules.add(
        "wadesk.v1.SetWebhookRequest.webhook_url",
        json!({"pattern": HTTP_URL, "maxLength": WEBHOOK_URL_MAX}),
    );
    rules.add("wadesk.v1.SetWebhookRequest.events", events);
    rules.add(
        "wadesk.v1.RedeliverEventRequest",
        json!({"required": ["phone_id", "event_id"]}),
    );
    rules.add(
        "wadesk.v1.RedeliverEventRequest.event_id",
        required_id.clone(),
    );

    rules.add(
        "wadesk.v1.SetBotRequest",
        json!({"required": ["phone_id", "provider"]}),
    );
    rules.add("wadesk.v1.SetBotRequest.phone_id", required_id);
    rules.add(
        "wadesk.v1.SetBotRequest.provider",
        json!({"enum": ["gemini", "openai"]}),
    );
    rules.add(
        "wadesk.v1.SetBotRequest.model",
        json!({"maxLength": MODEL_MAX, "pattern": r"^\s*[^\s\x00-\x1f\x7f-\x9f?#]*\s*$"}),
    );
    rules.add(
        "wadesk.v1.SetBotRequest.api_key",
        json!({"minLength": 1, "maxLength": API_KEY_MAX, "pattern": r"^[^\s\x00-\x1f\x7f-\x9f]+$"}),
    );
    rules.add(
        "wadesk.v1.SetBotRequest.system_prompt",
        json!({"maxLength": SYSTEM_PROMPT_MAX}),
    );
    rules
}

/// Event names as [`crate::events::EventFilter::parse`] takes them: a name,
/// a family (`phone.*`) or `*`, several separated by commas.
fn event_names_pattern() -> String {
    let mut names: Vec<String> = EventKind::ALL
        .iter()
        .map(|k| k.as_str().replace('.', r"\."))
        .collect();
    let mut families: Vec<String> = EventKind::ALL
        .iter()
        .map(|k| format!(r"{}\.\*", k.family()))
        .collect();
    families.dedup();
    names.extend(families);
    names.push(r"\*".into());
    let one = format!("({})", names.join("|"));
    format!(r"^ *{one}? *(, *{one}? *)*$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> serde_json::Value {
        crate::server::openapi_document(100_000).unwrap()
    }

    /// Issue 18, defect 5: the rules the server checks were not in the
    /// document. A few of them, where a client reads them.
    #[test]
    fn rules_appear_in_the_document() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let text = &schemas["wadesk.v1.SendTextRequest"];
        assert_eq!(text["required"], json!(["phone_id", "to", "message"]));
        assert_eq!(text["properties"]["message"]["maxLength"], MESSAGE_MAX);
        assert_eq!(text["properties"]["to"]["pattern"], PHONE_NUMBER);
        let location = &schemas["wadesk.v1.SendLocationRequest"]["properties"];
        assert_eq!(location["lat"]["minimum"], -90);
        assert_eq!(location["lng"]["maximum"], 180);
        assert_eq!(
            schemas["wadesk.v1.CreatePhoneRequest"]["properties"]["name"]["maxLength"],
            PHONE_NAME_MAX
        );
        let bulk = &schemas["wadesk.v1.BulkSendRequest"]["properties"];
        assert_eq!(bulk["numbers"]["maxItems"], 100_000);
        assert_eq!(bulk["delay"]["maximum"], DELAY_MAX_MS);
        // The pair-code body leaves out the path's phone_id, in `required` too.
        let pair = &doc["paths"]["/api/phones/{phone_id}/pair-code"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"];
        assert_eq!(pair["required"], json!(["number"]));
        // A query parameter.
        let events = doc["paths"]["/api/events"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "events")
            .unwrap()["schema"]["items"]["pattern"]
            .clone();
        let events = regex_lite(events.as_str().unwrap());
        for ok in [
            "message.received",
            "phone.*",
            "*",
            "message.status, phone.*",
        ] {
            assert!(events(ok), "{ok}");
        }
        assert!(!events("nope"));
    }

    /// Issue 18, defect 5: the media download was missing, and so were the
    /// health checks.
    #[test]
    fn routes_beside_the_gateway_are_documented() {
        let doc = doc();
        let media = &doc["paths"]["/api/phones/{phone_id}/messages/{message_id}/media"]["get"];
        assert_eq!(
            media["responses"]["200"]["content"]["*/*"]["schema"]["format"],
            "binary"
        );
        for status in ["401", "404"] {
            assert!(media["responses"][status].is_object(), "{status}");
        }
        assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([]));
        assert!(doc["paths"]["/readyz"]["get"]["responses"]["503"].is_object());
        let send = &doc["paths"]["/api/send"]["post"];
        assert!(send["responses"]["409"].is_object());
        assert!(
            send["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
        );
    }

    /// Every rule names a field or message of the protos: a renamed field
    /// fails here instead of quietly leaving the document.
    #[test]
    fn every_rule_names_a_field_or_message() {
        let pool =
            prost_reflect::DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap();
        let table = table(1);
        for name in table.names() {
            let (parent, field) = name.rsplit_once('.').unwrap();
            let found = pool.get_message_by_name(name).is_some()
                || pool
                    .get_message_by_name(parent)
                    .is_some_and(|m| m.get_field_by_name(field).is_some());
            assert!(found, "{name} is neither a message nor a field");
        }
    }

    /// The phone number pattern agrees with the normalizer on what it takes.
    #[test]
    fn phone_pattern_is_no_wider_than_the_check() {
        let matches = regex_lite(PHONE_NUMBER);
        for number in [
            "919876543210",
            "+919876543210",
            "0091 98765 43210",
            "+91 (98765) 43210",
            "12345678",
        ] {
            assert!(matches(number), "{number}");
            assert!(
                crate::values::normalize_number(number).is_some(),
                "{number}"
            );
        }
        for number in [
            "1234567",
            "0987654321",
            "1234567890123456",
            "+0091987654321",
            "91x",
        ] {
            assert!(!matches(number), "{number}");
        }
    }

    /// The patterns are written for JSON Schema (ECMA-262) and Python's
    /// `re` alike; here the `regex` crate checks them (it takes the same
    /// `\uXXXX` and `\xXX` forms).
    fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
        let re = regex::Regex::new(pattern).unwrap();
        move |s| re.is_match(s)
    }
}
