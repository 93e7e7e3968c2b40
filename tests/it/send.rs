//! Sending through the durable outbox: real whatsapp-rust sessions on both
//! sides of the protocol simulator.

use std::time::Duration;

use serde_json::{Value, json};
use wadesk_sim::{PhoneMessage, Simulator};

use crate::{
    db_tests,
    phones::{pair, start},
    support::{Db, TestApp, send},
};

/// Waits until virtual phone `number` has received a message `pick` accepts.
pub(crate) async fn received(
    sim: &Simulator,
    number: &str,
    pick: impl Fn(&PhoneMessage) -> bool,
) -> PhoneMessage {
    for _ in 0..200 {
        if let Some(m) = sim.phone_messages(number).into_iter().find(|m| pick(m)) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{number} never received the message; has {:?}",
        sim.phone_messages(number)
    );
}

/// Polls the message until its status is `want` (30 s at most: a loaded CI
/// machine runs a hundred of these tests at once).
async fn message_status(app: &TestApp, phone: &str, id: &str, want: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = app.get(&format!("/api/phones/{phone}/messages/{id}")).await;
        assert_eq!(status, 200, "{body}");
        if body["message"]["status"] == want {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "message {id} never became {want}; last: {body}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn text_and_location_arrive_with_receipts(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    pair(&app, &sim, &phone, "919812340020").await;
    sim.create_phone("919812340021");

    let (status, body) = app
        .post("/api/send", json!({"phone_id": phone, "to": "+91 98123-40021", "message": "Hello! Your order has been confirmed."}))
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["message_id"].as_str().unwrap().to_owned();
    assert_eq!(
        body,
        json!({"success": true, "message_id": id, "to": "919812340021", "status": "sent"}),
        "the reference's shape, key for key"
    );
    let got = received(&sim, "919812340021", |m| m.id == id).await;
    assert_eq!(got.from, "919812340020");
    assert_eq!(got.kind, "text");
    assert_eq!(
        got.text.as_deref(),
        Some("Hello! Your order has been confirmed.")
    );

    // Delivery and read receipts move the status forward.
    message_status(&app, &phone, &id, "delivered").await;
    sim.phone_mark_read("919812340021", std::slice::from_ref(&id))
        .unwrap();
    let read = message_status(&app, &phone, &id, "read").await;
    assert_eq!(read["message"]["direction"], json!("outbound"));
    assert_eq!(read["message"]["to"], json!("919812340021"));
    let events: Vec<String> =
        wadesk::store::events::list_for_phone(&app.core.db, &app.account_id, &phone, 0)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.event == "message.status")
            .map(|e| {
                serde_json::from_str::<Value>(&e.payload).unwrap()["status"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
    assert_eq!(events, ["sent", "delivered", "read"]);

    let (status, body) = app
        .post("/api/send-location", json!({"phone_id": phone, "to": "919812340021", "lat": 28.6139, "lng": 77.209, "name": "Our Store — New Delhi"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["message_id"].as_str().unwrap().to_owned();
    let got = received(&sim, "919812340021", |m| m.id == id).await;
    assert_eq!(got.kind, "location");
    assert_eq!(
        got.location,
        Some((28.6139, 77.209, Some("Our Store — New Delhi".into())))
    );
    app.stop().await;
    sim.shutdown();
}

async fn idempotency_key_sends_once(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    pair(&app, &sim, &phone, "919812340030").await;
    sim.create_phone("919812340031");
    let body = json!({"phone_id": phone, "to": "919812340031", "message": "only once"});
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, answer) = send(
            app.request(reqwest::Method::POST, "/api/send")
                .header("Idempotency-Key", "order-42")
                .json(&body),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        ids.push(answer["message_id"].as_str().unwrap().to_owned());
    }
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    received(&sim, "919812340031", |m| m.id == ids[0]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let copies: Vec<String> = sim
        .phone_messages("919812340031")
        .into_iter()
        .filter(|m| m.text.as_deref() == Some("only once"))
        .map(|m| m.id)
        .collect();
    assert_eq!(
        copies.len(),
        1,
        "a retried request never sends a second message: {copies:?}"
    );

    // Issue 18, defect 7: the same key with another request (another text,
    // or another send path) is refused with 409, naming the key; it was
    // answered with the first message's 200 and never sent.
    for (path, other) in [
        (
            "/api/send",
            json!({"phone_id": phone, "to": "919812340031", "message": "something else"}),
        ),
        (
            "/api/send-location",
            json!({"phone_id": phone, "to": "919812340031", "lat": 28.6, "lng": 77.2}),
        ),
    ] {
        let (status, answer) = send(
            app.request(reqwest::Method::POST, path)
                .header("Idempotency-Key", "order-42")
                .json(&other),
        )
        .await;
        assert_eq!(status, 409, "{path}: {answer}");
        assert_eq!(answer["error"]["status"], "ALREADY_EXISTS", "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("order-42") && message.contains("different request"),
            "{message}"
        );
    }
    // The same request still replays.
    let (status, answer) = send(
        app.request(reqwest::Method::POST, "/api/send")
            .header("Idempotency-Key", "order-42")
            .json(&body),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["message_id"], json!(ids[0]));
    app.stop().await;
    sim.shutdown();
}

async fn trial_cap_and_unknown_numbers(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Trial").await;
    pair(&app, &sim, &phone, "919812340040").await;
    let number = |i: usize| format!("9198000000{i:02}");
    for i in 1..=31 {
        sim.create_phone(&number(i));
    }
    let send_to = |i: usize| {
        app.post(
            "/api/send",
            json!({"phone_id": phone, "to": number(i), "message": format!("hello {i}")}),
        )
    };
    for i in 1..=30 {
        let (status, body) = send_to(i).await;
        assert_eq!(status, 200, "recipient {i}: {body}");
    }
    // GetPhone shows the usage the cap counts.
    let (_, shown) = app.get(&format!("/api/phones/{phone}")).await;
    assert_eq!(shown["trial_recipients_used"], json!(30), "{shown}");
    assert_eq!(shown["trial_recipients_limit"], json!(30), "{shown}");
    let (status, body) = send_to(31).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("30 unique recipients"),
        "{body}"
    );
    // Someone already reached can still be messaged.
    let (status, body) = send_to(1).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        sim.phone_messages(&number(31)).is_empty(),
        "the refused send went nowhere"
    );

    // On Pro there is no cap; a number nobody registered is not on WhatsApp.
    wadesk::store::phones::set_plan(
        &app.core.db,
        wadesk::store::phones::find(&app.core.db, &phone)
            .await
            .unwrap()
            .unwrap(),
        wadesk::store::entity::vocab::Plan::Pro,
    )
    .await
    .unwrap();
    // As `wadesk phone set-plan` does, from another process: the server's
    // copy of the phone lives for auth.cache_ms (1 s by default).
    let upgraded_at = std::time::Instant::now();
    let (status, body) = loop {
        let (status, body) = send_to(31).await;
        if status != 403 || upgraded_at.elapsed() > std::time::Duration::from_secs(5) {
            break (status, body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "Pro phones have no cap: {body}");
    let (_, shown) = app.get(&format!("/api/phones/{phone}")).await;
    assert!(shown["trial_recipients_used"].is_null(), "{shown}");
    let (status, body) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": "919812340049", "message": "anyone?"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not on WhatsApp"),
        "{body}"
    );
    app.stop().await;
    sim.shutdown();
}

async fn queued_messages_go_out_after_a_restart(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    pair(&app, &sim, &phone, "919812340050").await;
    sim.create_phone("919812340051");
    // Persisted, never handed over (as if the process died right after).
    // Written while the gateway is down: written while it runs, the running
    // session's own outbox drain (right after it reports connected) could
    // send it before the restart, and the delivery receipt then reached a
    // connection on its way out.
    let (db, account_id, phone_id) = (app.core.db.clone(), app.account_id.clone(), phone.clone());
    let row = std::sync::Arc::new(std::sync::Mutex::new(None));
    let written = row.clone();
    let app = app
        .restart_after(async move {
            let inserted = wadesk::store::messages::insert_outbound(
                &db,
                wadesk::store::messages::NewOutbound {
                    account_id,
                    phone_id,
                    peer: "919812340051".into(),
                    body: wadesk::store::messages::Body::text("survived a crash"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            *written.lock().unwrap() = Some(inserted);
        })
        .await;
    let row = row.lock().unwrap().take().expect("the row was written");
    let got = received(&sim, "919812340051", |m| m.id == row.wa_id).await;
    assert_eq!(got.text.as_deref(), Some("survived a crash"));
    message_status(&app, &phone, &row.wa_id, "delivered").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let copies = sim
        .phone_messages("919812340051")
        .into_iter()
        .filter(|m| m.id == row.wa_id)
        .count();
    assert_eq!(copies, 1, "sent exactly once");
    app.stop().await;
    sim.shutdown();
}

/// Files served from loopback, as a customer's file server would.
pub(crate) struct Files {
    pub(crate) base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Files {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `len` bytes that start with `magic` and continue with a pattern.
fn file(magic: &[u8], len: usize) -> Vec<u8> {
    let mut v = magic.to_vec();
    v.extend((0..len - magic.len()).map(|i| (i * 31 % 251) as u8));
    v
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn png() -> Vec<u8> {
    file(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 150_000)
}
fn mp4() -> Vec<u8> {
    file(b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2", 300_000)
}
fn mp3() -> Vec<u8> {
    file(b"ID3\x03\0\0\0\0\0\0", 120_000)
}
fn ogg() -> Vec<u8> {
    file(b"OggS\0\x02\0\0\0\0\0\0\0\0", 60_000)
}
pub(crate) fn pdf() -> Vec<u8> {
    file(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 90_000)
}

pub(crate) async fn serve_files() -> Files {
    use axum::{
        Router,
        http::{StatusCode, header},
        response::IntoResponse,
        routing::get,
    };
    let bytes = |b: Vec<u8>, ct: &'static str| {
        move || async move { ([(header::CONTENT_TYPE, ct)], b).into_response() }
    };
    let router = Router::new()
        .route("/photo.png", get(bytes(png(), "image/png")))
        .route("/clip.mp4", get(bytes(mp4(), "video/mp4")))
        .route("/song.mp3", get(bytes(mp3(), "audio/mpeg")))
        .route("/voice.ogg", get(bytes(ogg(), "audio/ogg")))
        .route(
            "/files/Invoice%20042.pdf",
            get(bytes(pdf(), "application/pdf")),
        )
        // Lies about its type: HTML served as a JPEG.
        .route(
            "/fake.jpg",
            get(bytes(
                b"<!DOCTYPE html><html>login</html>".to_vec(),
                "image/jpeg",
            )),
        )
        // 6 MB: over WhatsApp's 5 MB image limit.
        .route(
            "/huge.png",
            get(bytes(
                file(b"\x89PNG\r\n\x1a\n", 6 * 1024 * 1024),
                "image/png",
            )),
        )
        .route("/gone.png", get(|| async { StatusCode::NOT_FOUND }))
        // A public-looking URL that redirects into a private address.
        .route(
            "/redirect.png",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://[::1]:9/secret.png")],
                )
                    .into_response()
            }),
        );
    let (base, task) = crate::support::serve_http(router).await;
    Files { base, task }
}

async fn every_media_kind_arrives_intact(db: Db) {
    let (sim, app) = start(db).await;
    let files = serve_files().await;
    let phone = app.create_phone("Shop").await;
    pair(&app, &sim, &phone, "919812340060").await;
    let to = "919812340061";
    sim.create_phone(to);
    let base = &files.base;
    let cases = [
        (
            "/api/send-image",
            json!({"url": format!("{base}/photo.png"), "caption": "Product photo"}),
            png(),
            "image",
            "image/png",
        ),
        (
            "/api/send-video",
            json!({"url": format!("{base}/clip.mp4"), "caption": "How to use it"}),
            mp4(),
            "video",
            "video/mp4",
        ),
        (
            "/api/send-document",
            json!({"url": format!("{base}/files/Invoice%20042.pdf"), "filename": "invoice.pdf"}),
            pdf(),
            "document",
            "application/pdf",
        ),
        (
            "/api/send-audio",
            json!({"url": format!("{base}/song.mp3")}),
            mp3(),
            "audio",
            "audio/mpeg",
        ),
        (
            "/api/send-audio",
            json!({"url": format!("{base}/voice.ogg")}),
            ogg(),
            "audio",
            "audio/ogg; codecs=opus",
        ),
        // No filename: the URL's own (decoded) name is used.
        (
            "/api/send-document",
            json!({"url": format!("{base}/files/Invoice%20042.pdf")}),
            pdf(),
            "document",
            "application/pdf",
        ),
    ];
    for (path, mut body, source, kind, mime) in cases {
        body["phone_id"] = json!(phone);
        body["to"] = json!(to);
        let (status, answer) = app.post(path, body.clone()).await;
        assert_eq!(status, 200, "{path}: {answer}");
        let id = answer["message_id"].as_str().unwrap().to_owned();
        assert_eq!(
            answer,
            json!({"success": true, "message_id": id, "to": to, "status": "sent"}),
        );
        let got = received(&sim, to, |m| m.id == id).await;
        assert_eq!(got.kind, kind, "{path}");
        assert_eq!(got.media_mime.as_deref(), Some(mime), "{path}");
        assert_eq!(got.media_size, Some(source.len() as u64), "{path}");
        assert_eq!(
            got.media_downloaded_sha256.as_deref(),
            Some(sha256_hex(&source).as_str()),
            "{path}: the bytes the phone downloaded and decrypted are the source file"
        );
        assert_eq!(got.caption.as_deref(), body["caption"].as_str(), "{path}");
        if kind == "document" {
            let want = body["filename"].as_str().unwrap_or("Invoice 042.pdf");
            assert_eq!(got.file_name.as_deref(), Some(want));
        }
        // The message store shows the media it sent.
        let stored = message_status(&app, &phone, &id, "delivered").await;
        assert_eq!(stored["message"]["type"], json!(kind));
        assert_eq!(
            stored["message"]["media"]["sha256"],
            json!(sha256_hex(&source))
        );
        assert_eq!(stored["message"]["media"]["size"], json!(source.len()));
        assert_eq!(stored["message"]["media"]["mime_type"], json!(mime));
    }

    // ListMessages: newest first, in pages, filtered.
    let (status, page) = app
        .get(&format!(
            "/api/phones/{phone}/messages?page_size=4&direction=outbound"
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    let first: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(first, ["document", "audio", "audio", "document"]);
    let token = page["next_page_token"].as_str().unwrap();
    assert!(!token.is_empty());
    let (status, rest) = app
        .get(&format!(
            "/api/phones/{phone}/messages?page_size=4&page_token={token}"
        ))
        .await;
    assert_eq!(status, 200, "{rest}");
    let second: Vec<&str> = rest["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(second, ["video", "image"]);
    assert_eq!(rest["next_page_token"], json!(""));
    let (status, none) = app
        .get(&format!("/api/phones/{phone}/messages?direction=inbound"))
        .await;
    assert_eq!(status, 200, "{none}");
    assert_eq!(none["messages"], json!([]));
    let (status, bad) = app
        .get(&format!(
            "/api/phones/{phone}/messages?page_token=nonsense!"
        ))
        .await;
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("page_token")
    );
    app.stop().await;
    sim.shutdown();
}

async fn bad_sends_are_refused_and_nothing_is_stored(db: Db) {
    let (sim, app) = start(db).await;
    let files = serve_files().await;
    let phone = app.create_phone("Shop").await;
    pair(&app, &sim, &phone, "919812340070").await;
    sim.create_phone("919812340071");
    let base = &files.base;
    let ok = "919812340071";
    let cases = [
        ("/api/send", json!({"phone_id": phone, "to": ok}), "message"),
        (
            "/api/send",
            json!({"phone_id": phone, "message": "hi"}),
            "to",
        ),
        (
            "/api/send",
            json!({"phone_id": phone, "to": "12ab", "message": "hi"}),
            "to",
        ),
        (
            "/api/send-location",
            json!({"phone_id": phone, "to": ok, "lat": 91.0, "lng": 10.0}),
            "lat",
        ),
        (
            "/api/send-location",
            json!({"phone_id": phone, "to": ok, "lat": 10.0, "lng": -180.5}),
            "lng",
        ),
        (
            "/api/send-location",
            json!({"phone_id": phone, "to": ok, "lat": 10.0}),
            "lng",
        ),
        (
            "/api/send-image",
            json!({"phone_id": phone, "to": ok}),
            "url",
        ),
        (
            "/api/send-image",
            json!({"phone_id": phone, "to": ok, "url": "ftp://example.com/a.png"}),
            "url",
        ),
        (
            "/api/send-image",
            json!({"phone_id": phone, "to": ok, "url": format!("{base}/gone.png")}),
            "HTTP 404",
        ),
        (
            "/api/send-image",
            json!({"phone_id": phone, "to": ok, "url": "http://127.0.0.1:9/nothing-listens.png"}),
            "could not fetch",
        ),
        (
            "/api/send-image",
            json!({"phone_id": phone, "to": ok, "url": format!("{base}/fake.jpg")}),
            "text/html",
        ),
        (
            "/api/send-video",
            json!({"phone_id": phone, "to": ok, "url": format!("{base}/photo.png")}),
            "but videos take MP4",
        ),
        (
            "/api/send-image",
            json!({"phone_id": phone, "to": ok, "url": format!("{base}/huge.png")}),
            "5 MB limit",
        ),
        (
            "/api/send-image",
            json!({"phone_id": phone, "to": ok, "url": "http://169.254.169.254/latest/meta-data"}),
            "link-local",
        ),
        (
            "/api/send-document",
            json!({"phone_id": phone, "to": ok, "url": "http://10.1.2.3/a.pdf"}),
            "private",
        ),
        (
            "/api/send-image",
            json!({"phone_id": phone, "to": ok, "url": format!("{base}/redirect.png")}),
            "::1",
        ),
        (
            "/api/send-document",
            json!({"phone_id": phone, "to": ok, "url": format!("{base}/files/Invoice%20042.pdf"), "filename": "../etc/passwd"}),
            "filename",
        ),
    ];
    for (path, body, expect) in cases {
        let (status, answer) = app.post(path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(expect),
            "{path} {body}: {message:?} should name {expect:?}"
        );
        assert_eq!(answer["success"], json!(false));
    }
    let (status, list) = app.get(&format!("/api/phones/{phone}/messages")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["messages"],
        json!([]),
        "nothing stored for refused sends"
    );
    assert!(sim.phone_messages(ok).is_empty());
    app.stop().await;
    sim.shutdown();
}

/// The status writer commits what is queued in order, many changes per
/// transaction, each with its message.status event, and never moves a
/// message back: a "sent" that reaches it after the message's "delivered"
/// leaves the message delivered and writes no event.
async fn status_changes_land_in_order_and_never_move_back(db: Db) {
    use wadesk::{
        sessions::statuses::Statuses,
        store::{
            entity::vocab::MessageStatus,
            messages::{self, NewOutbound, Target},
        },
    };
    let app = TestApp::spawn(db).await;
    let phone = app.create_phone("Writer").await;
    // A writer of its own (not the server's), ended by dropping it.
    let writer = Statuses::start(
        app.core.events.clone(),
        &Default::default(),
        &app.core.metrics,
    );
    let mut rows = Vec::new();
    for i in 0..50 {
        let new = NewOutbound {
            account_id: app.account_id.clone(),
            phone_id: phone.clone(),
            peer: format!("9190000{i:05}"),
            body: wadesk::store::messages::Body::text(format!("message {i}")),
            ..Default::default()
        };
        rows.push(messages::insert_outbound(&app.core.db, new).await.unwrap());
    }
    // All queued before the writer runs again: they share transactions.
    for row in rows.iter().step_by(2) {
        let target = Target::WaId {
            phone_id: phone.clone(),
            wa_id: row.wa_id.clone(),
        };
        writer.record(target, MessageStatus::Delivered, None);
    }
    let answers: Vec<_> = rows
        .iter()
        .map(|row| writer.enqueue(Target::Id(row.id.clone()), MessageStatus::Sent, None))
        .collect();
    writer.flush().await;
    for (i, (row, answer)) in rows.iter().zip(answers).enumerate() {
        let answer = answer
            .await
            .expect("every change is answered")
            .expect("every change is written");
        let stored = messages::find(&app.core.db, &row.id)
            .await
            .unwrap()
            .unwrap();
        if i % 2 == 0 {
            assert!(answer.is_none(), "message {i} moved back: {answer:?}");
            assert_eq!(stored.status, MessageStatus::Delivered, "message {i}");
        } else {
            assert_eq!(
                answer.map(|r| r.status),
                Some(MessageStatus::Sent),
                "message {i}"
            );
            assert_eq!(stored.status, MessageStatus::Sent, "message {i}");
        }
    }
    let events = wadesk::store::events::list_for_phone(&app.core.db, &app.account_id, &phone, 0)
        .await
        .unwrap();
    let got: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.event == "message.status")
        .map(|e| {
            let payload: Value = serde_json::from_str(&e.payload).unwrap();
            let field = |name: &str| payload[name].as_str().unwrap().to_owned();
            (field("message_id"), field("status"))
        })
        .collect();
    let want: Vec<(String, String)> = (rows
        .iter()
        .step_by(2)
        .map(|r| (r.wa_id.clone(), "delivered")))
    .chain(
        rows.iter()
            .skip(1)
            .step_by(2)
            .map(|r| (r.wa_id.clone(), "sent")),
    )
    .map(|(id, status)| (id, status.to_owned()))
    .collect();
    assert_eq!(got, want);
    app.stop().await;
}

/// Replies and mentions both ways, as the other side's phone decrypted
/// them: a reply from a virtual phone reaches the gateway with the quoted
/// id and mentions; the gateway's replies (text and location, quoting an
/// inbound and an outbound message) show as quotes on the virtual phone.
async fn replies_and_mentions_both_ways(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812340050";
    let peer = "919812340051";
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(peer);
    sim.create_phone("919812340052");

    let (status, first) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": peer, "message": "Your order shipped"}),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let first_id = first["message_id"].as_str().unwrap().to_owned();
    received(&sim, peer, |m| m.id == first_id).await;

    // The customer answers it, mentioning the shop's number.
    let (status, body) = send(
        app.http
            .post(format!("{}/admin/phones/{peer}/send", sim.http_url()))
            .json(&json!({
                "to": own, "text": "@919812340050 when does it arrive?",
                "reply_to": first_id, "reply_to_from": own, "mentions": [own],
            })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let inbound_id = body["id"].as_str().unwrap().to_owned();
    let inbound = loop {
        let (_, list) = app
            .get(&format!("/api/phones/{phone}/messages?direction=inbound"))
            .await;
        if let Some(m) = list["messages"].as_array().and_then(|m| m.first()).cloned() {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(inbound["message_id"], json!(inbound_id));
    assert_eq!(inbound["reply_to"], json!(first_id), "{inbound}");
    assert_eq!(inbound["mentions"], json!([own]), "{inbound}");

    // The shop replies to the customer's message, mentioning them.
    let (status, reply) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": peer, "message": "@919812340051 tomorrow",
                   "reply_to": inbound_id, "mentions": ["+91 98123 40051"]}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let reply_id = reply["message_id"].as_str().unwrap().to_owned();
    let got = received(&sim, peer, |m| m.id == reply_id).await;
    assert_eq!(got.text.as_deref(), Some("@919812340051 tomorrow"));
    assert_eq!(
        got.quoted_id.as_deref(),
        Some(inbound_id.as_str()),
        "{got:?}"
    );
    assert_eq!(got.quoted_from.as_deref(), Some(peer), "{got:?}");
    assert_eq!(
        got.quoted_text.as_deref(),
        Some("@919812340050 when does it arrive?"),
        "{got:?}"
    );
    assert_eq!(got.mentions, [peer]);
    let (_, shown) = app
        .get(&format!("/api/phones/{phone}/messages/{reply_id}"))
        .await;
    assert_eq!(shown["message"]["reply_to"], json!(inbound_id), "{shown}");
    assert_eq!(shown["message"]["mentions"], json!([peer]), "{shown}");

    // A location quoting the shop's own first message.
    let (status, pin) = app
        .post(
            "/api/send-location",
            json!({"phone_id": phone, "to": peer, "lat": 28.61, "lng": 77.2,
                   "name": "Warehouse", "reply_to": first_id}),
        )
        .await;
    assert_eq!(status, 200, "{pin}");
    let pin_id = pin["message_id"].as_str().unwrap().to_owned();
    let got = received(&sim, peer, |m| m.id == pin_id).await;
    assert_eq!(got.kind, "location");
    assert_eq!(got.quoted_id.as_deref(), Some(first_id.as_str()));
    assert_eq!(got.quoted_from.as_deref(), Some(own), "our own message");
    assert_eq!(got.quoted_text.as_deref(), Some("Your order shipped"));

    // A reply to a message that is not there, or of another chat, and a
    // bad mention are refused naming the field, and nothing is sent.
    let before = sim.phone_messages(peer).len();
    for (request, field) in [
        (
            json!({"to": peer, "message": "x", "reply_to": "3EB0NOPE"}),
            "reply_to",
        ),
        (
            json!({"to": "919812340052", "message": "x", "reply_to": first_id}),
            "reply_to",
        ),
        (
            json!({"to": peer, "message": "x", "mentions": ["12"]}),
            "mentions",
        ),
    ] {
        let mut request = request;
        request["phone_id"] = json!(phone);
        let (status, body) = app.post("/api/send", request.clone()).await;
        assert_eq!(status, 400, "{request}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{request}: {body}"
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        sim.phone_messages(peer).len(),
        before,
        "nothing more arrived"
    );
    assert!(sim.phone_messages("919812340052").is_empty());
    app.stop().await;
    sim.shutdown();
}

/// Reactions both ways: the gateway's reaction reaches the virtual phone
/// (emoji and the message it is on, as that phone decrypted it) and can be
/// taken back; a virtual phone's reaction is stored and is a
/// `message.reaction` event; bad reactions name their field.
async fn reactions_both_ways(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812340060";
    let peer = "919812340061";
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(peer);
    let (status, sent) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": peer, "message": "Order #12 is ready"}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let sent_id = sent["message_id"].as_str().unwrap().to_owned();
    received(&sim, peer, |m| m.id == sent_id).await;

    let react = async |id: &str, emoji: &str| {
        app.post(
            &format!("/api/phones/{phone}/messages/{id}/react"),
            json!({"emoji": emoji}),
        )
        .await
    };
    let (status, body) = react(&sent_id, "\u{1f44d}").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reacted_to"], json!(sent_id));
    assert_eq!(body["to"], json!(peer));
    let reaction_id = body["message_id"].as_str().unwrap().to_owned();
    let got = received(&sim, peer, |m| m.id == reaction_id).await;
    assert_eq!(got.kind, "reaction");
    assert_eq!(got.text.as_deref(), Some("\u{1f44d}"));
    assert_eq!(got.reacted_to.as_deref(), Some(sent_id.as_str()));
    // Taken back: an empty emoji.
    let (status, body) = react(&sent_id, "").await;
    assert_eq!(status, 200, "{body}");
    let removal = body["message_id"].as_str().unwrap().to_owned();
    let got = received(&sim, peer, |m| m.id == removal).await;
    assert_eq!(got.text.as_deref(), Some(""));

    // The customer reacts to the shop's message.
    let (status, body) = send(
        app.http
            .post(format!("{}/admin/phones/{peer}/send", sim.http_url()))
            .json(&json!({"to": own, "react_to": sent_id, "emoji": "\u{2764}\u{fe0f}"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let their = body["id"].as_str().unwrap().to_owned();
    let event = loop {
        let rows = wadesk::store::events::list_for_phone(&app.core.db, &app.account_id, &phone, 0)
            .await
            .unwrap();
        if let Some(e) = rows.into_iter().find(|e| e.event == "message.reaction") {
            break e;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let payload: Value = serde_json::from_str(&event.payload).unwrap();
    assert_eq!(payload["from"], json!(peer), "{payload}");
    assert_eq!(payload["message"]["id"], json!(their), "{payload}");
    assert_eq!(
        payload["message"]["emoji"],
        json!("\u{2764}\u{fe0f}"),
        "{payload}"
    );
    assert_eq!(
        payload["message"]["reacted_to"],
        json!(sent_id),
        "{payload}"
    );

    // Bad reactions name their field; nothing is sent.
    let before = sim.phone_messages(peer).len();
    for (id, emoji, field) in [
        ("3EB0NOTHERE", "\u{1f44d}", "message_id"),
        (sent_id.as_str(), "ok", "emoji"),
        (sent_id.as_str(), "\u{1f44d} \u{1f44d}", "emoji"),
    ] {
        let (status, body) = react(id, emoji).await;
        assert_eq!(status, 400, "{id} {emoji}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{body}"
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sim.phone_messages(peer).len(), before);
    app.stop().await;
    sim.shutdown();
}

/// Waits for the phone's event named `name` whose payload `pick` accepts.
pub(crate) async fn event_named(
    app: &TestApp,
    phone: &str,
    name: &str,
    pick: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..400 {
        let rows = wadesk::store::events::list_for_phone(&app.core.db, &app.account_id, phone, 0)
            .await
            .unwrap();
        if let Some(payload) = rows
            .into_iter()
            .filter(|e| e.event == name)
            .map(|e| serde_json::from_str::<Value>(&e.payload).unwrap())
            .find(|p| pick(p))
        {
            return payload;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no {name} event");
}

/// Polls virtual phone `number`'s copy of message `id` until `done`.
pub(crate) async fn phone_copy(
    sim: &Simulator,
    number: &str,
    id: &str,
    done: impl Fn(&PhoneMessage) -> bool,
) -> PhoneMessage {
    for _ in 0..400 {
        if let Some(m) = sim
            .phone_messages(number)
            .into_iter()
            .find(|m| m.id == id && done(m))
        {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{number}'s copy of {id} never changed: {:?}",
        sim.phone_messages(number)
    );
}

/// Edits and deletions for everyone both ways: the virtual phone shows the
/// gateway's edit and loses the deleted message; a contact's edit and
/// deletion change the stored message and are events; what may not be
/// edited or deleted is refused naming `message_id` with the reason.
async fn edits_and_deletions_both_ways(db: Db) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812340070";
    let peer = "919812340071";
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(peer);
    let text = async |message: &str| {
        let (status, body) = app
            .post(
                "/api/send",
                json!({"phone_id": phone, "to": peer, "message": message}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["message_id"].as_str().unwrap().to_owned()
    };
    let action = async |id: &str, what: &str, body: Value| {
        app.post(&format!("/api/phones/{phone}/messages/{id}/{what}"), body)
            .await
    };
    let price = text("Price is 100").await;
    received(&sim, peer, |m| m.id == price).await;

    let (status, body) = action(&price, "edit", json!({"text": "Price is 90"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["edited"], json!(price));
    let copy = phone_copy(&sim, peer, &price, |m| {
        m.text.as_deref() == Some("Price is 90")
    })
    .await;
    assert_eq!(copy.earlier_texts, ["Price is 100"]);
    let (_, shown) = app
        .get(&format!("/api/phones/{phone}/messages/{price}"))
        .await;
    assert_eq!(shown["message"]["text"], json!("Price is 90"), "{shown}");
    assert_eq!(
        shown["message"]["earlier_texts"],
        json!(["Price is 100"]),
        "{shown}"
    );
    assert!(shown["message"]["edited_at"].is_string(), "{shown}");

    let (status, body) = action(&price, "revoke", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let copy = phone_copy(&sim, peer, &price, |m| m.revoked).await;
    assert_eq!(copy.text, None);
    let (_, shown) = app
        .get(&format!("/api/phones/{phone}/messages/{price}"))
        .await;
    assert!(shown["message"]["revoked_at"].is_string(), "{shown}");
    assert!(shown["message"]["text"].is_null(), "{shown}");

    // The contact edits, then deletes, a message of theirs.
    let sim_send = async |body: Value| {
        let (status, answer) = send(
            app.http
                .post(format!("{}/admin/phones/{peer}/send", sim.http_url()))
                .json(&body),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        answer["id"].as_str().unwrap().to_owned()
    };
    let hello = sim_send(json!({"to": own, "text": "Helo"})).await;
    event_named(&app, &phone, "message.received", |p| {
        p["message"]["id"] == json!(hello)
    })
    .await;
    sim_send(json!({"to": own, "edit_of": hello, "text": "Hello"})).await;
    let edited = event_named(&app, &phone, "message.edited", |p| {
        p["message"]["id"] == json!(hello)
    })
    .await;
    assert_eq!(edited["message"]["text"], json!("Hello"), "{edited}");
    assert_eq!(edited["from"], json!(peer), "{edited}");
    let (_, shown) = app
        .get(&format!("/api/phones/{phone}/messages/{hello}"))
        .await;
    assert_eq!(shown["message"]["text"], json!("Hello"), "{shown}");
    assert_eq!(
        shown["message"]["earlier_texts"],
        json!(["Helo"]),
        "{shown}"
    );
    sim_send(json!({"to": own, "revoke": hello})).await;
    event_named(&app, &phone, "message.revoked", |p| {
        p["message"]["id"] == json!(hello)
    })
    .await;
    let (_, shown) = app
        .get(&format!("/api/phones/{phone}/messages/{hello}"))
        .await;
    assert!(shown["message"]["revoked_at"].is_string(), "{shown}");
    assert!(shown["message"]["text"].is_null(), "{shown}");

    // What may not be changed, and why.
    let (status, pin) = app
        .post(
            "/api/send-location",
            json!({"phone_id": phone, "to": peer, "lat": 1.5, "lng": 2.5}),
        )
        .await;
    assert_eq!(status, 200, "{pin}");
    let pin = pin["message_id"].as_str().unwrap().to_owned();
    let old = text("Old news").await;
    wadesk::store::entity::message::Entity::update_many()
        .col_expr(
            wadesk::store::entity::message::Column::CreatedAt,
            (wadesk::store::now_ms() - 20 * 60 * 1000).into(),
        )
        .filter(wadesk::store::entity::message::Column::WaId.eq(old.as_str()))
        .exec(&app.core.db)
        .await
        .unwrap();
    let before = sim.phone_messages(peer).len();
    for (id, what, why) in [
        (hello.as_str(), "edit", "not one this phone sent"),
        (hello.as_str(), "revoke", "not one this phone sent"),
        (price.as_str(), "edit", "deleted for everyone already"),
        (pin.as_str(), "edit", "only text messages can be edited"),
        (old.as_str(), "edit", "WhatsApp allows edits for 15 minutes"),
        ("3EB0NOTHERE", "revoke", "no message"),
    ] {
        let request = if what == "edit" {
            json!({"text": "x"})
        } else {
            json!({})
        };
        let (status, body) = action(id, what, request).await;
        assert_eq!(status, 400, "{what} {id}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("message_id:") && message.contains(why),
            "{what} {id}: {body}"
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        sim.phone_messages(peer).len(),
        before,
        "nothing more was sent"
    );
    app.stop().await;
    sim.shutdown();
}

/// Read receipts, typing and the chat list: marking a message read turns
/// the sender's ticks blue up to it (as the virtual phone records them),
/// the chat list counts what is unread, and a typing state reaches the
/// other phone.
async fn read_receipts_typing_and_chats(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812340080";
    let (a, b) = ("919812340081", "919812340082");
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);
    sim.create_phone(b);
    let (status, hi) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": a, "message": "Hi A"}),
        )
        .await;
    assert_eq!(status, 200, "{hi}");
    received(&sim, a, |m| m.text.as_deref() == Some("Hi A")).await;
    let mut ids = Vec::new();
    for (from, text) in [(a, "one"), (a, "two"), (b, "hey")] {
        let id = sim.phone_send_text(from, own, text).await.unwrap();
        event_named(&app, &phone, "message.received", |p| {
            p["message"]["id"] == json!(id)
        })
        .await;
        ids.push(id);
    }
    let (one, two) = (ids[0].clone(), ids[1].clone());

    let chats = async |query: &str| {
        let (status, body) = app.get(&format!("/api/phones/{phone}/chats{query}")).await;
        assert_eq!(status, 200, "{body}");
        body
    };
    let listed = chats("").await;
    let rows = listed["chats"].as_array().unwrap();
    let peers: Vec<&str> = rows.iter().map(|c| c["chat"].as_str().unwrap()).collect();
    assert_eq!(peers, [b, a], "most recent first: {listed}");
    assert_eq!(rows[1]["unread"], json!(2), "{listed}");
    assert_eq!(rows[1]["last_message"]["text"], json!("two"), "{listed}");
    assert_eq!(rows[0]["unread"], json!(1), "{listed}");
    // Pages.
    let first = chats("?page_size=1").await;
    assert_eq!(first["chats"].as_array().unwrap().len(), 1);
    let token = first["next_page_token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty(), "{first}");
    let second = chats(&format!("?page_size=1&page_token={token}")).await;
    assert_eq!(second["chats"][0]["chat"], json!(a), "{second}");

    // Read up to "one": A's phone sees it read, not "two".
    let read_status = |id: &str| {
        sim.phone_sent(a)
            .into_iter()
            .find(|s| s.id == id)
            .map(|s| s.status)
            .unwrap_or_default()
    };
    let (status, body) = app
        .post(
            &format!("/api/phones/{phone}/messages/{one}/read"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["marked"], json!(1), "{body}");
    for _ in 0..400 {
        if read_status(&one) == "read" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(read_status(&one), "read");
    assert_ne!(read_status(&two), "read");
    assert_eq!(chats("").await["chats"][1]["unread"], json!(1));
    // The whole chat.
    let (status, body) = app
        .post(&format!("/api/phones/{phone}/chats/{a}/read"), json!({}))
        .await;
    assert_eq!((status, &body["marked"]), (200, &json!(1)), "{body}");
    for _ in 0..400 {
        if read_status(&two) == "read" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(read_status(&two), "read");
    let (_, again) = app
        .post(&format!("/api/phones/{phone}/chats/{a}/read"), json!({}))
        .await;
    assert_eq!(again["marked"], json!(0), "{again}");
    assert_eq!(chats("").await["chats"][1]["unread"], json!(0));

    // Typing, then recording, then stopped, as B's phone was shown.
    for state in ["composing", "recording", "paused"] {
        let (status, body) = app
            .post(
                &format!("/api/phones/{phone}/chats/{b}/typing"),
                json!({"state": state}),
            )
            .await;
        assert_eq!(status, 200, "{state}: {body}");
    }
    let mut seen = Vec::new();
    for _ in 0..400 {
        seen = sim.phone_chat_states(b);
        if seen.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let states: Vec<(&str, &str)> = seen
        .iter()
        .map(|s| (s.from.as_str(), s.state.as_str()))
        .collect();
    assert_eq!(
        states,
        [(own, "composing"), (own, "recording"), (own, "paused")]
    );

    // Bad input names its field.
    let hi = hi["message_id"].as_str().unwrap();
    for (path, body, field) in [
        (
            format!("/api/phones/{phone}/messages/{hi}/read"),
            json!({}),
            "message_id",
        ),
        (
            format!("/api/phones/{phone}/chats/{b}/typing"),
            json!({"state": "singing"}),
            "state",
        ),
        (
            format!("/api/phones/{phone}/chats/12/typing"),
            json!({"state": "paused"}),
            "chat",
        ),
    ] {
        let (status, answer) = app.post(&path, body).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(field),
            "{path}: {answer}"
        );
    }
    app.stop().await;
    sim.shutdown();
}

db_tests!(
    read_receipts_typing_and_chats,
    edits_and_deletions_both_ways,
    reactions_both_ways,
    replies_and_mentions_both_ways,
    status_changes_land_in_order_and_never_move_back,
    every_media_kind_arrives_intact,
    bad_sends_are_refused_and_nothing_is_stored,
    text_and_location_arrive_with_receipts,
    idempotency_key_sends_once,
    trial_cap_and_unknown_numbers,
    queued_messages_go_out_after_a_restart,
);
