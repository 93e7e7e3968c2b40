//! Inbound messages (stored before they are acknowledged) and the event
//! streams that read the log: SSE with Last-Event-ID, and gRPC Subscribe.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tonic::transport::Channel;
use wadesk::proto::{self, message_service_client::MessageServiceClient};

use crate::{
    db_tests,
    grpc::Bearer,
    phones::{pair, start},
    support::{Db, TestApp},
};

/// A Server-Sent Events reader that keeps each event's id.
struct Events {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl Events {
    async fn open(app: &TestApp, query: &str, last_event_id: Option<&str>) -> Events {
        let mut request = app.request(reqwest::Method::GET, &format!("/api/events?{query}"));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        Events {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next event as (id, data).
    async fn next(&mut self) -> (String, Value) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| -> Vec<String> {
                    event
                        .lines()
                        .filter_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim().to_owned())
                        .collect()
                };
                let data = field("data:");
                if data.is_empty() {
                    continue; // keep-alive
                }
                assert!(field("event:").is_empty(), "an error event: {event}");
                let id = field("id:").pop().expect("every event has an id");
                return (id, serde_json::from_str(&data.join("\n")).unwrap());
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(other) => panic!("stream ended: {:?}", other.map(|r| r.err())),
                Err(_) => panic!("no event within 20 s; buffered: {:?}", self.buffer),
            }
        }
    }
}

async fn inbound_messages_are_stored_and_streamed(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Support").await;
    let (ours, theirs) = ("919812340080", "919812340081");
    pair(&app, &sim, &phone, ours).await;
    sim.create_phone(theirs);

    // From now: only what is written after the stream opened.
    let mut stream = Events::open(
        &app,
        &format!("phone_id={phone}&events=message.received"),
        None,
    )
    .await;
    let first = sim
        .phone_send_text(theirs, ours, "Hi, is my order ready?")
        .await
        .unwrap();
    let (cursor1, event) = stream.next().await;
    assert_eq!(event["event"], json!("message.received"));
    assert_eq!(event["phone_id"], json!(phone));
    assert_eq!(
        event["cursor"].to_string(),
        cursor1,
        "the SSE id is the cursor"
    );
    let data = &event["data"];
    assert_eq!(data["event"], json!("message.received"));
    assert_eq!(data["phone_id"], json!(phone));
    assert_eq!(data["from"], json!(theirs));
    assert_eq!(data["message"]["id"], json!(first));
    assert_eq!(data["message"]["type"], json!("text"));
    assert_eq!(data["message"]["text"], json!("Hi, is my order ready?"));
    assert!(data["message"]["timestamp"].as_i64().unwrap() > 1_700_000_000);

    // The message store has it, with its sender.
    let (status, got) = app
        .get(&format!("/api/phones/{phone}/messages/{first}"))
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["message"]["direction"], json!("inbound"));
    assert_eq!(got["message"]["from"], json!(theirs));
    assert_eq!(got["message"]["to"], json!(ours));
    assert_eq!(got["message"]["status"], json!("received"));

    // A location, while nobody listens; then a text.
    drop(stream);
    let location = proto_location(28.6139, 77.209, "Gate 2");
    let second = sim
        .phone_send_message(theirs, ours, location)
        .await
        .unwrap();
    let third = sim.phone_send_text(theirs, ours, "thanks").await.unwrap();
    wait_stored(&app, &phone, &third).await;

    // Resuming with Last-Event-ID replays exactly what was missed, in order.
    let mut resumed = Events::open(
        &app,
        &format!("phone_id={phone}&events=message.*"),
        Some(&cursor1),
    )
    .await;
    let (c2, e2) = resumed.next().await;
    assert_eq!(
        e2["data"]["message"]["id"],
        json!(second),
        "no gap, no repeat"
    );
    assert_eq!(e2["data"]["message"]["type"], json!("location"));
    assert_eq!(
        e2["data"]["message"]["location"],
        json!({"lat": 28.6139, "lng": 77.209, "name": "Gate 2"})
    );
    let (c3, e3) = resumed.next().await;
    assert_eq!(e3["data"]["message"]["id"], json!(third));
    assert!(c2.parse::<u64>().unwrap() < c3.parse::<u64>().unwrap());
    // ... then goes live.
    let fourth = sim.phone_send_text(theirs, ours, "live").await.unwrap();
    let (_, e4) = resumed.next().await;
    assert_eq!(e4["data"]["message"]["id"], json!(fourth));

    // The same from a cursor in the query, over gRPC.
    let channel = Channel::from_shared(app.base.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let bearer = Some(format!("Bearer {}", app.token).parse().unwrap());
    let mut client = MessageServiceClient::with_interceptor(channel, Bearer(bearer));
    let mut grpc = client
        .subscribe(proto::SubscribeRequest {
            phone_id: phone.clone(),
            cursor: cursor1.parse().unwrap(),
            events: vec!["message.received".into()],
        })
        .await
        .unwrap()
        .into_inner();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let event = tokio::time::timeout(Duration::from_secs(10), grpc.message())
            .await
            .expect("an event")
            .unwrap()
            .unwrap();
        let data = event.data.unwrap();
        let message = match &data.fields["message"].kind {
            Some(prost_types::value::Kind::StructValue(s)) => s.clone(),
            other => panic!("{other:?}"),
        };
        match &message.fields["id"].kind {
            Some(prost_types::value::Kind::StringValue(id)) => ids.push(id.clone()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ids, [second.clone(), third.clone(), fourth.clone()]);

    // Inbound messages are listed with direction inbound, newest first.
    let (status, list) = app
        .get(&format!("/api/phones/{phone}/messages?direction=inbound"))
        .await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<&str> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [&fourth, &third, &second, &first]);

    // Bad filters are refused up front.
    let (status, bad) = app.get("/api/events?events=Message%20Received").await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad["error"]["message"].as_str().unwrap().contains("events"));
    app.stop().await;
    sim.shutdown();
}

/// Messages written while the gateway is down arrive once it is back, once.
async fn messages_sent_while_the_gateway_is_down_are_not_lost(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Support").await;
    let (ours, theirs) = ("919812340090", "919812340091");
    pair(&app, &sim, &phone, ours).await;
    sim.create_phone(theirs);
    let before = sim.phone_send_text(theirs, ours, "before").await.unwrap();
    wait_stored(&app, &phone, &before).await;

    // While the gateway is down WhatsApp queues the message for the device.
    let mut during = String::new();
    let app = app
        .restart_after(async {
            during = sim
                .phone_send_text(theirs, ours, "while you were down")
                .await
                .unwrap();
        })
        .await;
    wait_stored(&app, &phone, &during).await;
    let (status, list) = app
        .get(&format!("/api/phones/{phone}/messages?direction=inbound"))
        .await;
    assert_eq!(status, 200, "{list}");
    let texts: Vec<&str> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["while you were down", "before"],
        "each exactly once"
    );
    let events = wadesk::store::events::list_for_phone(&app.core.db, &app.account_id, &phone, 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "message.received")
        .count();
    assert_eq!(events, 2);
    app.stop().await;
    sim.shutdown();
}

fn proto_location(lat: f64, lng: f64, name: &str) -> whatsapp_rust::waproto::whatsapp::Message {
    use whatsapp_rust::waproto::{buffa::MessageField, whatsapp as wa};
    wa::Message {
        location_message: MessageField::some(wa::message::LocationMessage {
            degrees_latitude: Some(lat),
            degrees_longitude: Some(lng),
            name: Some(name.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn wait_stored(app: &TestApp, phone: &str, id: &str) {
    // Generous: after a restart the session reconnects before the queued
    // message is delivered, and CI machines are busy.
    for _ in 0..1200 {
        let (status, _) = app.get(&format!("/api/phones/{phone}/messages/{id}")).await;
        if status == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("inbound message {id} was never stored");
}

/// A picture someone sends: stored with its metadata, downloadable later.
async fn inbound_media_is_stored_and_downloadable(db: Db) {
    use sha2::Digest;
    use whatsapp_rust::download::MediaType;
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Support").await;
    let ours = "919812340110";
    pair(&app, &sim, &phone, ours).await;
    // The other person uses a real whatsapp-rust client too.
    let them = crate::support::paired_client(&sim, "919812340111", "Asha").await;
    let data: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..300_000u32).map(|i| (i * 13 % 251) as u8))
        .collect();
    let upload = them
        .client
        .upload(data.clone(), MediaType::Document, Default::default())
        .await
        .unwrap();
    let message = whatsapp_rust::media::document_message(
        upload,
        whatsapp_rust::media::DocumentOptions {
            mimetype: Some("application/pdf".into()),
            file_name: Some("receipt 12.pdf".into()),
            caption: Some("my receipt".into()),
            ..Default::default()
        },
    );
    let to: whatsapp_rust::Jid = format!("{ours}@s.whatsapp.net").parse().unwrap();
    let id = them
        .client
        .send_message(to, message)
        .await
        .unwrap()
        .message_id
        .to_string();
    wait_stored(&app, &phone, &id).await;
    let (_, got) = app.get(&format!("/api/phones/{phone}/messages/{id}")).await;
    let m = &got["message"];
    assert_eq!(m["type"], json!("document"), "{got}");
    assert_eq!(m["from"], json!("919812340111"));
    assert_eq!(m["text"], json!("my receipt"));
    let sha = sha2::Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    assert_eq!(
        m["media"],
        json!({"mime_type": "application/pdf", "size": data.len(), "sha256": sha, "filename": "receipt 12.pdf"})
    );

    let response = app
        .request(
            reqwest::Method::GET,
            &format!("/api/phones/{phone}/messages/{id}/media"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"receipt 12.pdf\""
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), data.as_slice());

    // Errors are the API's JSON errors.
    let response = app
        .http
        .get(app.url(&format!("/api/phones/{phone}/messages/{id}/media")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, body) = crate::support::send(app.request(
        reqwest::Method::GET,
        &format!("/api/phones/{phone}/messages/nope/media"),
    ))
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["success"], json!(false));
    them.shutdown().await;
    app.stop().await;
    sim.shutdown();
}

/// The tail that feeds live streams reads nothing while no stream listens
/// and starts again from the head when one subscribes: a subscriber gets
/// every event appended after it subscribed, in order, and none from the
/// idle spell before (those it replays from the log by cursor).
async fn the_stream_tail_resumes_from_the_head_after_an_idle_spell(db: Db) {
    let app = TestApp::spawn(db).await;
    let phone = app.create_phone("Tail").await;
    for round in 0..3 {
        for i in 0..3 {
            app.append_event(&phone, &format!("unheard {round}.{i}"))
                .await;
        }
        // Let the tail wake for those and find nobody listening.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut live = app.core.tail.subscribe().await.unwrap();
        let mut sent = Vec::new();
        for i in 0..5 {
            sent.push(app.append_event(&phone, &format!("live {round}.{i}")).await);
        }
        for want in sent {
            let got = tokio::time::timeout(Duration::from_secs(10), live.recv())
                .await
                .expect("a live event within 10 s")
                .unwrap();
            assert_eq!(
                (got.cursor, &got.payload),
                (want.cursor, &want.payload),
                "round {round}"
            );
        }
        drop(live);
    }
    app.stop().await;
}

db_tests!(
    the_stream_tail_resumes_from_the_head_after_an_idle_spell,
    inbound_media_is_stored_and_downloadable,
    inbound_messages_are_stored_and_streamed,
    messages_sent_while_the_gateway_is_down_are_not_lost,
);
