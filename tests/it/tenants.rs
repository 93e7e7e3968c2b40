//! The tenant matrix: for every RPC in the embedded descriptors that takes
//! an id (`*_id` fields of its request), another account's id answers
//! exactly as an id that does not exist (404 NOT_FOUND, same message once
//! the id itself is taken out), over REST, gRPC and gRPC-web. The cases are
//! generated from the proto services: an RPC whose request takes an id and
//! has no entry in [`other_fields`] fails the test, and so does an id field
//! this test has no value for (a new kind of resource).
//!
//! Each account owns one of everything: a phone with a webhook, a queued
//! message, a campaign, and an event. Every id field of a request gets the
//! caller's own id, except the one under test, which gets the other
//! account's (then an unknown one): a mix of the caller's phone and another
//! account's message must not leak either.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor};
use serde_json::{Value, json};
use tonic::{
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::Channel,
};

use wadesk_sim::Simulator;

use crate::support::{Db, Remote, TestApp, issue_token, record_count, send};

/// Ids that filter a list rather than name a resource: an unknown one
/// answers an empty list (and so must another account's).
const FILTERS: &[(&str, &str)] = &[("ListDeliveries", "event_id")];

/// Ids a request refers to rather than the resource it addresses: an
/// unknown one is the caller's bad input, 400 naming the field (and so must
/// another account's be).
const REFERENCES: &[(&str, &str)] = &[
    ("ReactToMessage", "message_id"),
    ("EditMessage", "message_id"),
    ("RevokeMessage", "message_id"),
    ("MarkMessageRead", "message_id"),
    ("ForwardMessage", "message_id"),
    ("SendImage", "media_id"),
    ("SendVideo", "media_id"),
    ("SendDocument", "media_id"),
    ("SendAudio", "media_id"),
    ("SendSticker", "media_id"),
    ("SendVoice", "media_id"),
];

/// Ids that are not resources of an account: a Google Sheet, and a
/// WhatsApp group (the phone, whose id is in the matrix, decides which
/// groups it reaches).
const NOT_RESOURCES: &[&str] = &["sheet_id", "group_id"];

/// A group id for the group RPCs' cases.
const GROUP: &str = "120363000000000001@g.us";

/// The request fields each RPC gets besides its ids: valid values, so that
/// only the id under test decides the answer. `None`: the RPC is not in the
/// matrix yet, which fails the test when its request takes an id.
fn other_fields(method: &str) -> Option<Value> {
    let to = "919812370001";
    Some(match method {
        "SendText" => json!({"to": to, "message": "Hi"}),
        // The file by media_id (the id under test; no url beside it).
        "SendImage" | "SendVideo" | "SendDocument" | "SendAudio" | "SendSticker" | "SendVoice" => {
            json!({"to": to})
        }
        "GetMedia" | "DeleteMedia" | "GetCallSettings" => json!({}),
        "SetCallSettings" => json!({"reject_calls": true}),
        "CheckNumbers" => json!({"numbers": [to]}),
        "GetContact" | "BlockContact" | "UnblockContact" | "SubscribePresence" => {
            json!({"number": to})
        }
        "ListBlocked" | "GetProfile" => json!({}),
        "SetProfile" => json!({"about": "Open"}),
        "SetPresence" => json!({"presence": "PRESENCE_AVAILABLE"}),
        // Groups are WhatsApp's: the phone decides which it reaches (a
        // group it is not in is a 404, tests/it/groups.rs).
        "CreateGroup" => json!({"subject": "Orders", "participants": [to]}),
        "ListGroups" => json!({}),
        "GetGroup" | "GetInviteLink" | "RevokeInviteLink" | "LeaveGroup" | "ListJoinRequests" => {
            json!({"group_id": GROUP})
        }
        "UpdateGroup" => json!({"group_id": GROUP, "subject": "Orders"}),
        "AddParticipants"
        | "RemoveParticipants"
        | "PromoteParticipants"
        | "DemoteParticipants"
        | "ApproveJoinRequests"
        | "RejectJoinRequests" => {
            json!({"group_id": GROUP, "participants": [to]})
        }
        "JoinGroup" => json!({"invite": "AbCdEf123456"}),
        "GetInviteInfo" => json!({"code": "AbCdEf123456"}),
        "SetGroupSettings" => json!({"group_id": GROUP, "announce": true}),
        "SendLocation" => json!({"to": to, "lat": 28.6, "lng": 77.2}),
        "SendContact" => json!({"to": to, "contacts": [{"name": "Asha", "numbers": [to]}]}),
        "SendPoll" => json!({"to": to, "question": "Lunch?", "options": ["Yes", "No"]}),
        "ForwardMessage" => json!({"to": to}),
        "ReactToMessage" => json!({"emoji": "\u{1f44d}"}),
        "EditMessage" => json!({"text": "Corrected"}),
        "RevokeMessage" | "MarkMessageRead" | "ListChats" => json!({}),
        "MarkChatRead" => json!({"chat": to}),
        "SendTyping" => json!({"chat": to, "state": "TYPING_STATE_COMPOSING"}),
        "BulkSend" => json!({"numbers": [to], "message": "Hi"}),
        "BulkSendSheet" => json!({"sheet_id": "Sheet_1", "message": "Hi"}),
        "SetWebhook" => json!({"webhook_url": "http://127.0.0.1:9/hook", "events": []}),
        "RequestPairCode" => json!({"number": "919812370009"}),
        "SetBot" => json!({"provider": "BOT_PROVIDER_OPENAI", "api_key": "sk-test-not-real"}),
        "GetBulk" | "ListBulks" | "PauseBulk" | "ResumeBulk" | "CancelBulk"
        | "ListBulkRecipients" | "GetMessage" | "ListMessages" | "Subscribe" | "GetPhone"
        | "GetPhoneStatus" | "PairPhone" | "LogoutPhone" | "DeletePhone" | "GetWebhook"
        | "DeleteWebhook" | "ListDeliveries" | "RedeliverEvent" | "GetBot" | "RevokeToken" => {
            json!({})
        }
        _ => return None,
    })
}

/// One account's resources, by request field name.
struct Owned {
    token: String,
    ids: BTreeMap<&'static str, String>,
}

async fn owned(
    app: &TestApp,
    sim: &Simulator,
    number: &str,
    account_id: &str,
    token: String,
) -> Owned {
    let post = |path: &str, body: Value| {
        send(app.http.post(app.url(path)).bearer_auth(&token).json(&body))
    };
    let (status, phone) = post("/api/phones", json!({"name": "Shop"})).await;
    assert_eq!(status, 200, "{phone}");
    let phone = phone["phone"]["phone_id"].as_str().unwrap().to_owned();
    let remote = Remote {
        base: app.base.clone(),
        token: token.clone(),
        http: reqwest::Client::new(),
    };
    crate::phones::pair(&remote, sim, &phone, number).await;
    let (status, sent) = post(
        "/api/send",
        json!({"phone_id": phone, "to": "919812370002", "message": "Hello"}),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let (status, bulk) = post(
        "/api/bulk-send",
        json!({"phone_id": phone, "numbers": ["919812370003"], "message": "Hi", "delay": 60000}),
    )
    .await;
    assert_eq!(status, 200, "{bulk}");
    let (status, hook) = post(
        "/api/webhook/set",
        json!({"phone_id": phone, "webhook_url": "http://127.0.0.1:9/hook", "events": []}),
    )
    .await;
    assert_eq!(status, 200, "{hook}");
    let event = app
        .core
        .events
        .append(wadesk::store::events::NewEvent {
            account_id,
            phone_id: Some(&phone),
            kind: wadesk::events::EventKind::MessageReceived,
            payload: json!({"text": "hi"}),
        })
        .await
        .unwrap();
    let (status, upload) = send(
        app.http
            .post(app.url("/api/media"))
            .bearer_auth(&token)
            .header("content-type", "image/png")
            .body(crate::send::png()),
    )
    .await;
    assert_eq!(status, 200, "{upload}");
    Owned {
        token,
        ids: BTreeMap::from([
            ("phone_id", phone),
            (
                "media_id",
                upload["media"]["media_id"].as_str().unwrap().to_owned(),
            ),
            (
                "message_id",
                sent["message_id"].as_str().unwrap().to_owned(),
            ),
            ("bulk_id", bulk["bulk_id"].as_str().unwrap().to_owned()),
            ("event_id", event.id),
            (
                "token_id",
                wadesk::store::tokens::list_for_account(&app.core.db, account_id)
                    .await
                    .unwrap()[0]
                    .id
                    .clone(),
            ),
        ]),
    }
}

/// An id of the same form that nobody owns.
fn unknown(like: &str) -> String {
    let prefix = like.split_once('_').map_or("x", |(p, _)| p);
    format!("{prefix}_{}", "q".repeat(16))
}

/// How one call ended: the gRPC code name and the message with the id
/// under test replaced by `<id>` (REST: the error body without its
/// request id).
#[derive(Debug, PartialEq)]
struct Answer {
    status: String,
    message: String,
}

/// Bytes in, bytes out: the request is a DynamicMessage encoded by the test.
#[derive(Default, Clone)]
struct Raw;

impl Encoder for Raw {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

fn encode(method: &MethodDescriptor, request: &Value) -> Bytes {
    let message = DynamicMessage::deserialize(method.input(), request.clone())
        .unwrap_or_else(|e| panic!("{} {request}: {e}", method.full_name()));
    message.encode_to_vec().into()
}

async fn over_grpc(
    channel: &Channel,
    token: &str,
    method: &MethodDescriptor,
    request: &Value,
) -> (String, String) {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let path: http::uri::PathAndQuery =
        format!("/{}/{}", method.parent_service().full_name(), method.name())
            .parse()
            .unwrap();
    let mut call = tonic::Request::new(encode(method, request));
    call.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let status = if method.is_server_streaming() {
        match grpc.server_streaming(call, path, Raw).await {
            Ok(response) => match response.into_inner().message().await {
                Ok(_) => tonic::Status::ok(""),
                Err(status) => status,
            },
            Err(status) => status,
        }
    } else {
        match grpc.unary(call, path, Raw).await {
            Ok(_) => tonic::Status::ok(""),
            Err(status) => status,
        }
    };
    (
        wadesk_gateway::grpc_code_name(status.code() as i32).to_owned(),
        status.message().to_owned(),
    )
}

async fn over_grpc_web(
    app: &TestApp,
    token: &str,
    method: &MethodDescriptor,
    request: &Value,
) -> (String, String) {
    let body = encode(method, request);
    let mut frame = Vec::with_capacity(body.len() + 5);
    frame.put_u8(0);
    frame.put_u32(body.len() as u32);
    frame.extend_from_slice(&body);
    let http1 = reqwest::Client::builder().http1_only().build().unwrap();
    let response = http1
        .post(app.url(&format!(
            "/{}/{}",
            method.parent_service().full_name(),
            method.name()
        )))
        .header("content-type", "application/grpc-web+proto")
        .bearer_auth(token)
        .body(frame)
        .send()
        .await
        .unwrap();
    let mut trailers: BTreeMap<String, String> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut body = response.bytes().await.unwrap();
    // Frames: data (flag 0) and, last, trailers (flag 0x80).
    while body.len() >= 5 {
        let flag = body[0];
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        let payload = body.slice(5..5 + len);
        body.advance(5 + len);
        if flag & 0x80 != 0 {
            for line in String::from_utf8_lossy(&payload).split("\r\n") {
                if let Some((k, v)) = line.split_once(':') {
                    trailers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
        }
    }
    let code: i32 = trailers
        .get("grpc-status")
        .and_then(|c| c.parse().ok())
        .unwrap_or(-1);
    let message = trailers
        .get("grpc-message")
        // Percent-encoded as sent; ids have no characters to encode.
        .cloned()
        .unwrap_or_default();
    (wadesk_gateway::grpc_code_name(code).to_owned(), message)
}

async fn over_rest(
    app: &TestApp,
    token: &str,
    binding: &wadesk_gateway::BindingInfo,
    request: &Value,
) -> (String, String) {
    let mut fields = request.as_object().unwrap().clone();
    let mut path = binding.path.clone();
    for (name, value) in request.as_object().unwrap() {
        let hole = format!("{{{name}}}");
        if path.contains(&hole) {
            path = path.replace(&hole, value.as_str().unwrap());
            fields.remove(name);
        }
    }
    let method = reqwest::Method::from_bytes(binding.http_method.as_str().as_bytes()).unwrap();
    let mut call = app.http.request(method, app.url(&path)).bearer_auth(token);
    if binding.body == "*" {
        call = call.json(&Value::Object(fields));
    } else {
        let query: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
        call = call.query(&query);
    }
    let response = call.send().await.unwrap();
    let status = response.status();
    let is_json = response.headers().get("content-type").is_some_and(|ct| {
        ct.to_str()
            .unwrap_or_default()
            .starts_with("application/json")
    });
    let mut body: Value = if is_json {
        response.json().await.unwrap()
    } else {
        Value::Null
    };
    if status.is_success() {
        return ("OK".into(), String::new());
    }
    if let Some(error) = body["error"].as_object_mut() {
        error.remove("request_id");
    }
    (
        body["error"]["status"].as_str().unwrap_or("?").to_owned(),
        body["error"].to_string(),
    )
}

async fn matrix(db: Db) {
    let (sim, app) = crate::phones::start(db).await;
    for number in ["919812370001", "919812370002", "919812370003"] {
        sim.create_phone(number);
    }
    let other = wadesk::store::accounts::create(&app.core.db, "other")
        .await
        .unwrap();
    let other_token = issue_token(&app.core, &other.id, None).await;
    let mine = owned(
        &app,
        &sim,
        "919812370100",
        &app.account_id,
        app.token.clone(),
    )
    .await;
    let theirs = owned(&app, &sim, "919812370200", &other.id, other_token).await;
    assert_ne!(mine.token, theirs.token);

    let pool = DescriptorPool::decode(wadesk::server::FILE_DESCRIPTOR_SET).unwrap();
    let gateway = wadesk::server::gateway().unwrap();
    let bindings = gateway.bindings();
    let channel = Channel::from_shared(app.base.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut missing = Vec::new();
    let mut cases = 0;
    let mut rpcs = 0;
    // Time spent on calls with another account's ids and with unknown ones
    // (measured and printed, not asserted: timing belongs to benchmarks).
    let mut took = [std::time::Duration::ZERO; 2];
    for service in pool.services() {
        if !service.full_name().starts_with("wadesk.") {
            continue;
        }
        for method in service.methods() {
            let ids: Vec<String> = method
                .input()
                .fields()
                .map(|f| f.name().to_owned())
                .filter(|n| n.ends_with("_id") && !NOT_RESOURCES.contains(&n.as_str()))
                .collect();
            if ids.is_empty() {
                continue;
            }
            let Some(base) = other_fields(method.name()) else {
                missing.push(format!(
                    "{} (no case in tenants::other_fields)",
                    method.full_name()
                ));
                continue;
            };
            rpcs += 1;
            let binding = bindings
                .iter()
                .find(|b| b.grpc_method == method.full_name())
                .unwrap_or_else(|| panic!("{} has no REST binding", method.full_name()));
            for field in &ids {
                let (Some(own), Some(foreign)) =
                    (mine.ids.get(field.as_str()), theirs.ids.get(field.as_str()))
                else {
                    missing.push(format!("{}: no {field} to try", method.full_name()));
                    continue;
                };
                let unknown = unknown(own);
                let filter = FILTERS.contains(&(method.name(), field.as_str()));
                let request = |value: &str| {
                    let mut request = base.clone();
                    for id in &ids {
                        let own = mine.ids.get(id.as_str()).cloned().unwrap_or_default();
                        request[id] = json!(if id == field { value.to_owned() } else { own });
                    }
                    request
                };
                for transport in ["REST", "gRPC", "gRPC-web"] {
                    let mut answers = Vec::new();
                    for (i, value) in [foreign.as_str(), unknown.as_str()].into_iter().enumerate() {
                        let request = request(value);
                        let started = std::time::Instant::now();
                        let (status, message) = match transport {
                            "REST" => over_rest(&app, &mine.token, binding, &request).await,
                            "gRPC" => over_grpc(&channel, &mine.token, &method, &request).await,
                            _ => over_grpc_web(&app, &mine.token, &method, &request).await,
                        };
                        took[i] += started.elapsed();
                        answers.push(Answer {
                            status,
                            message: message.replace(value, "<id>"),
                        });
                        cases += 1;
                    }
                    let what = format!(
                        "{transport} {} with another account's {field}",
                        method.full_name()
                    );
                    assert_eq!(
                        answers[0], answers[1],
                        "{what} answers as an unknown id does"
                    );
                    if REFERENCES.contains(&(method.name(), field.as_str())) {
                        assert_eq!(
                            answers[0].status, "INVALID_ARGUMENT",
                            "{what}: {:?}",
                            answers[0]
                        );
                        assert!(
                            answers[0].message.contains(field.as_str()),
                            "{what}: {:?}",
                            answers[0]
                        );
                    } else if !filter {
                        assert_eq!(answers[0].status, "NOT_FOUND", "{what}: {:?}", answers[0]);
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "RPCs without a tenant case: {missing:#?}"
    );

    let timed = (cases / 2) as f64;
    // The inbound media download (REST only, outside the gateway).
    for (phone, message) in [
        (
            theirs.ids["phone_id"].as_str(),
            mine.ids["message_id"].as_str(),
        ),
        (
            mine.ids["phone_id"].as_str(),
            theirs.ids["message_id"].as_str(),
        ),
    ] {
        let path = format!("/api/phones/{phone}/messages/{message}/media");
        let (status, body) = send(app.request(reqwest::Method::GET, &path)).await;
        assert_eq!(status, 404, "{path}: {body}");
        cases += 1;
    }
    let db = if app.config.database_url.is_empty() {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    record_count(
        &format!("tenants-{db}"),
        &format!(
            "tenant matrix ({db}): {cases} calls over {rpcs} RPCs with ids (REST, gRPC, gRPC-web; another account's id vs an unknown one) plus the media download: every one answered as an unknown id; mean time {:.2} ms with another account's ids, {:.2} ms with unknown ones",
            took[0].as_secs_f64() * 1000.0 / timed,
            took[1].as_secs_f64() * 1000.0 / timed,
        ),
    );
    app.stop().await;
    sim.shutdown();
}

crate::db_tests!(matrix);
