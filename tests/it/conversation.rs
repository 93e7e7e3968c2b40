//! The kinds of message beyond the first six: contact cards, polls and
//! their votes, forwards. Real whatsapp-rust in the gateway, virtual phones
//! on the simulator's side; every assertion about what arrived is about
//! what the virtual phone decoded.

use serde_json::{Value, json};
use wadesk_sim::Simulator;

use crate::{
    db_tests,
    phones::{pair, start},
    send::{event_named, phone_copy, received, serve_files, sha256_hex},
    support::{Db, TestApp, send},
};

/// A virtual phone sends through the simulator's admin API; its message id.
async fn phone_sends(app: &TestApp, sim: &Simulator, from: &str, body: Value) -> String {
    let (status, answer) = send(
        app.http
            .post(format!("{}/admin/phones/{from}/send", sim.http_url()))
            .json(&body),
    )
    .await;
    assert_eq!(status, 200, "{body}: {answer}");
    answer["id"].as_str().unwrap().to_owned()
}

/// A 400 whose message starts with the field named.
fn refused(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 400, "{field}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(field), "{field}: {body}");
}

/// Contact cards both ways: what the gateway sends arrives as vCards the
/// virtual phone reads back to the same names and numbers; a card a
/// contact sends arrives parsed in the webhook payload and the stored
/// message; bad cards are refused naming `contacts`.
async fn contact_cards_both_ways(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812341000";
    let a = "919812341001";
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);

    let cards = json!([
        {"name": "Asha Rao", "numbers": ["+91 98765 43210"]},
        {"name": "Rao, Dr; clinic", "numbers": ["14155550100", "919812341009"]},
    ]);
    let (status, sent) = app
        .post(
            "/api/send-contact",
            json!({"phone_id": phone, "to": a, "contacts": cards}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let id = sent["message_id"].as_str().unwrap().to_owned();
    let got = received(&sim, a, |m| m.id == id).await;
    assert_eq!(got.kind, "contact");
    let seen: Vec<(&str, Vec<&str>)> = got
        .contacts
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.numbers.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("Asha Rao", vec!["919876543210"]),
            ("Rao, Dr; clinic", vec!["14155550100", "919812341009"]),
        ]
    );
    assert!(got.contacts[0].vcard.contains("VERSION:3.0"));
    // One card is a single contact message.
    let (status, one) = app
        .post(
            "/api/send-contact",
            json!({"phone_id": phone, "to": a, "contacts": [{"name": "Ravi", "numbers": ["919812341008"]}]}),
        )
        .await;
    assert_eq!(status, 200, "{one}");
    let one_id = one["message_id"].as_str().unwrap().to_owned();
    let got = received(&sim, a, |m| m.id == one_id).await;
    assert_eq!(got.contacts.len(), 1);
    assert_eq!(got.contacts[0].numbers, ["919812341008"]);
    // As stored.
    let (status, stored) = app.get(&format!("/api/phones/{phone}/messages/{id}")).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["message"]["type"], json!("contact"));
    assert_eq!(
        stored["message"]["contacts"][1]["numbers"],
        json!(["14155550100", "919812341009"]),
        "{stored}"
    );

    // A contact sends a card.
    let theirs = phone_sends(
        &app,
        &sim,
        a,
        json!({"to": own, "contacts": [{"name": "Meera", "numbers": ["447700900123"]}]}),
    )
    .await;
    let payload = event_named(&app, &phone, "message.received", |p| {
        p["message"]["id"] == json!(theirs)
    })
    .await;
    assert_eq!(payload["message"]["type"], json!("contact"), "{payload}");
    assert_eq!(
        payload["message"]["contacts"],
        json!([{"name": "Meera", "numbers": ["447700900123"]}]),
        "{payload}"
    );

    // Bad cards name `contacts`; nothing is sent.
    let before = sim.phone_messages(a).len();
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"name": format!("C{i}"), "numbers": ["919812341008"]}))
        .collect();
    for contacts in [
        json!([]),
        json!(eleven),
        json!([{"name": "", "numbers": ["919812341008"]}]),
        json!([{"name": "No numbers", "numbers": []}]),
        json!([{"name": "Bad", "numbers": ["12"]}]),
        json!([{"name": "Six", "numbers": ["919812341001", "919812341002", "919812341003", "919812341004", "919812341005", "919812341006"]}]),
    ] {
        let (status, body) = app
            .post(
                "/api/send-contact",
                json!({"phone_id": phone, "to": a, "contacts": contacts}),
            )
            .await;
        refused(status, &body, "contacts");
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(sim.phone_messages(a).len(), before);
    app.stop().await;
    sim.shutdown();
}

/// Polls: the virtual phones see the question and options, vote (opened by
/// the gateway with the poll's secret), change their vote; GetMessage
/// counts each voter's latest vote; a contact's own poll arrives; bad
/// polls are refused naming the field.
async fn polls_and_votes(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812341010";
    let (a, b) = ("919812341011", "919812341012");
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);
    sim.create_phone(b);

    let poll = |to: &str| {
        json!({
            "phone_id": phone, "to": to, "question": "Lunch on Friday?",
            "options": ["Pizza", "Salad", "Soup"], "selectable_count": 2,
        })
    };
    let mut polls = Vec::new();
    for to in [a, b] {
        let (status, sent) = app.post("/api/send-poll", poll(to)).await;
        assert_eq!(status, 200, "{sent}");
        let id = sent["message_id"].as_str().unwrap().to_owned();
        let got = received(&sim, to, |m| m.id == id).await;
        assert_eq!(got.kind, "poll");
        let seen = got.poll.expect("the phone shows a poll");
        assert_eq!(seen.question, "Lunch on Friday?");
        assert_eq!(seen.options, ["Pizza", "Salad", "Soup"]);
        assert_eq!(seen.selectable, 2);
        polls.push(id);
    }
    let (to_a, to_b) = (polls[0].clone(), polls[1].clone());

    // A votes twice (the second replaces the first); B votes once.
    let vote = async |from: &str, poll: &str, options: Value| {
        let id = phone_sends(
            &app,
            &sim,
            from,
            json!({"to": own, "vote": {"poll": poll, "options": options}}),
        )
        .await;
        event_named(&app, &phone, "poll.vote", |p| {
            p["message"]["id"] == json!(id)
        })
        .await
    };
    let first = vote(a, &to_a, json!(["Pizza", "Soup"])).await;
    assert_eq!(first["from"], json!(a), "{first}");
    assert_eq!(first["message"]["poll_id"], json!(to_a), "{first}");
    assert_eq!(
        first["message"]["options"],
        json!(["Pizza", "Soup"]),
        "{first}"
    );
    let second = vote(a, &to_a, json!(["Salad"])).await;
    assert_eq!(second["message"]["options"], json!(["Salad"]), "{second}");
    vote(b, &to_b, json!(["Soup", "Pizza"])).await;

    let tallies = async |id: &str| {
        let (status, body) = app.get(&format!("/api/phones/{phone}/messages/{id}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["message"]["type"], json!("poll"), "{body}");
        body["message"]["poll"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["name"].as_str().unwrap().to_owned(),
                    o["votes"].as_u64().unwrap_or_default(),
                    o["voters"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        tallies(&to_a).await,
        [
            ("Pizza".into(), 0, json!([])),
            ("Salad".into(), 1, json!([a])),
            ("Soup".into(), 0, json!([])),
        ]
    );
    assert_eq!(
        tallies(&to_b).await,
        [
            ("Pizza".into(), 1, json!([b])),
            ("Salad".into(), 0, json!([])),
            ("Soup".into(), 1, json!([b])),
        ]
    );
    // Votes are changes, not messages of the chat.
    let (_, chat) = app.get(&format!("/api/phones/{phone}/chats")).await;
    let last_types: Vec<&Value> = chat["chats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["last_message"]["type"])
        .collect();
    assert!(last_types.iter().all(|t| **t == json!("poll")), "{chat}");

    // A contact's own poll.
    let theirs = phone_sends(
        &app,
        &sim,
        a,
        json!({"to": own, "poll": {"question": "Which day?", "options": ["Mon", "Tue"]}}),
    )
    .await;
    let payload = event_named(&app, &phone, "message.received", |p| {
        p["message"]["id"] == json!(theirs)
    })
    .await;
    assert_eq!(payload["message"]["type"], json!("poll"), "{payload}");
    assert_eq!(
        payload["message"]["poll"],
        json!({"question": "Which day?", "options": ["Mon", "Tue"], "selectable_count": 1}),
        "{payload}"
    );

    // Bad polls name their field; nothing is sent.
    let before = sim.phone_messages(a).len();
    let thirteen: Vec<String> = (1..=13).map(|i| format!("Option {i}")).collect();
    for (change, field) in [
        (json!({"options": ["Only one"]}), "options"),
        (json!({"options": thirteen}), "options"),
        (json!({"options": ["Same", " Same "]}), "options"),
        (json!({"question": "  "}), "question"),
        (json!({"selectable_count": 4}), "selectable_count"),
    ] {
        let mut body = poll(a);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = app.post("/api/send-poll", body).await;
        refused(status, &answer, field);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(sim.phone_messages(a).len(), before);
    app.stop().await;
    sim.shutdown();
}

/// Forwards: a text, an image (the recipient downloads the same file from
/// WhatsApp's upload, not fetched again) and a contact's card go on to
/// another number marked forwarded; a contact's forwarded message arrives
/// marked; a poll, an unknown id and a reaction are refused naming
/// `message_id`.
async fn forwards(db: Db) {
    let (sim, app) = start(db).await;
    let files = serve_files().await;
    let phone = app.create_phone("Shop").await;
    let own = "919812341020";
    let (a, b) = ("919812341021", "919812341022");
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);
    sim.create_phone(b);
    let sent_id = |body: &Value| body["message_id"].as_str().unwrap().to_owned();

    let (status, text) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": a, "message": "Your order shipped"}),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let (status, image) = app
        .post(
            "/api/send-image",
            json!({"phone_id": phone, "to": a, "url": format!("{}/photo.png", files.base), "caption": "Catalogue"}),
        )
        .await;
    assert_eq!(status, 200, "{image}");
    let card = phone_sends(
        &app,
        &sim,
        a,
        json!({"to": own, "contacts": [{"name": "Meera", "numbers": ["447700900123"]}]}),
    )
    .await;
    event_named(&app, &phone, "message.received", |p| {
        p["message"]["id"] == json!(card)
    })
    .await;

    let forward = async |id: &str, to: &str| {
        app.post(
            &format!("/api/phones/{phone}/messages/{id}/forward"),
            json!({"to": to}),
        )
        .await
    };
    for (source, kind) in [
        (sent_id(&text), "text"),
        (sent_id(&image), "image"),
        (card.clone(), "contact"),
    ] {
        let (status, body) = forward(&source, b).await;
        assert_eq!(status, 200, "{kind}: {body}");
        assert_eq!(body["forwarded"], json!(source), "{body}");
        assert_eq!(body["to"], json!(b), "{body}");
        let id = sent_id(&body);
        let got = received(&sim, b, |m| m.id == id).await;
        assert_eq!(got.kind, kind, "{got:?}");
        assert!(got.forwarded, "{kind} not shown as forwarded: {got:?}");
        match kind {
            "text" => assert_eq!(got.text.as_deref(), Some("Your order shipped")),
            "image" => {
                assert_eq!(got.caption.as_deref(), Some("Catalogue"));
                let copy = phone_copy(&sim, b, &id, |m| m.media_downloaded_sha256.is_some()).await;
                assert_eq!(
                    copy.media_downloaded_sha256.as_deref(),
                    Some(sha256_hex(&crate::send::png()).as_str())
                );
            }
            _ => assert_eq!(got.contacts[0].numbers, ["447700900123"]),
        }
        let (_, stored) = app.get(&format!("/api/phones/{phone}/messages/{id}")).await;
        assert_eq!(stored["message"]["forwarded"], json!(true), "{stored}");
    }

    // A contact forwards something to us.
    let theirs = phone_sends(
        &app,
        &sim,
        a,
        json!({"to": own, "text": "fwd", "forwarded": true}),
    )
    .await;
    let payload = event_named(&app, &phone, "message.received", |p| {
        p["message"]["id"] == json!(theirs)
    })
    .await;
    assert_eq!(payload["message"]["forwarded"], json!(true), "{payload}");

    // What cannot be forwarded.
    let (status, poll) = app
        .post(
            "/api/send-poll",
            json!({"phone_id": phone, "to": a, "question": "Q?", "options": ["A", "B"]}),
        )
        .await;
    assert_eq!(status, 200, "{poll}");
    let (status, reaction) = app
        .post(
            &format!("/api/phones/{phone}/messages/{}/react", sent_id(&text)),
            json!({"emoji": "\u{1f44d}"}),
        )
        .await;
    assert_eq!(status, 200, "{reaction}");
    let before = sim.phone_messages(b).len();
    for id in [sent_id(&poll), sent_id(&reaction), "3EB0NOTHERE".to_owned()] {
        let (status, body) = forward(&id, b).await;
        refused(status, &body, "message_id");
    }
    let (status, body) = forward(&sent_id(&text), "12").await;
    refused(status, &body, "to");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(sim.phone_messages(b).len(), before);
    app.stop().await;
    sim.shutdown();
}

/// An OGG/Opus stream of `seconds` in 20 ms packets of filler (the gateway
/// reads the container, not the codec), one page a second.
fn opus_ogg(seconds: u32) -> Vec<u8> {
    use ogg::writing::{PacketWriteEndInfo, PacketWriter};
    let pre_skip: u16 = 312;
    let mut out = Vec::new();
    let mut w = PacketWriter::new(&mut out);
    let mut head = b"OpusHead\x01\x01".to_vec();
    head.extend(pre_skip.to_le_bytes());
    head.extend(48_000u32.to_le_bytes());
    head.extend([0, 0, 0]);
    w.write_packet(head, 9, PacketWriteEndInfo::EndPage, 0)
        .unwrap();
    w.write_packet(b"OpusTags".to_vec(), 9, PacketWriteEndInfo::EndPage, 0)
        .unwrap();
    for i in 1..=seconds * 50 {
        let end = match (i == seconds * 50, i % 50 == 0) {
            (true, _) => PacketWriteEndInfo::EndStream,
            (_, true) => PacketWriteEndInfo::EndPage,
            _ => PacketWriteEndInfo::NormalPacket,
        };
        let granule = u64::from(pre_skip) + u64::from(i) * 960;
        w.write_packet(vec![0xfc, 0xff, 0xfe], 9, end, granule)
            .unwrap();
    }
    drop(w);
    out
}

/// An image of `width` x `height` in `format`, with some colour in it.
fn picture(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([(x % 256) as u8, (y % 256) as u8, 128, 255])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img)
        .to_rgb8()
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// Stickers and voice notes: a PNG and a JPEG arrive as 512x512 WebP
/// stickers (decoded from what the virtual phone downloaded), a WebP as
/// it is; a 6 MB image is refused; a voice note arrives push-to-talk with
/// the duration read from its file; other audio is refused saying what a
/// voice note takes.
async fn stickers_and_voice_notes(db: Db) {
    use axum::{Router, http::header, response::IntoResponse, routing::get};
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812341030";
    let a = "919812341031";
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);
    let webp = {
        let img = image::RgbaImage::from_pixel(512, 512, image::Rgba([10, 200, 30, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::WebP).unwrap();
        out.into_inner()
    };
    let serve = |b: Vec<u8>, ct: &'static str| {
        move || async move { ([(header::CONTENT_TYPE, ct)], b).into_response() }
    };
    let mut huge = picture(64, 64, image::ImageFormat::Png);
    huge.resize(6 * 1024 * 1024, 0);
    let router = Router::new()
        .route(
            "/wide.png",
            get(serve(
                picture(300, 120, image::ImageFormat::Png),
                "image/png",
            )),
        )
        .route(
            "/tall.jpg",
            get(serve(
                picture(90, 700, image::ImageFormat::Jpeg),
                "image/jpeg",
            )),
        )
        .route("/ready.webp", get(serve(webp.clone(), "image/webp")))
        .route("/huge.png", get(serve(huge, "image/png")))
        .route("/note.ogg", get(serve(opus_ogg(7), "audio/ogg")))
        .route(
            "/song.mp3",
            get(serve(
                b"ID3\x03\0\0\0\0\0\0 not a voice note".to_vec(),
                "audio/mpeg",
            )),
        );
    let (base, task) = crate::support::serve_http(router).await;

    for (file, as_is) in [
        ("wide.png", false),
        ("tall.jpg", false),
        ("ready.webp", true),
    ] {
        let (status, sent) = app
            .post(
                "/api/send-sticker",
                json!({"phone_id": phone, "to": a, "url": format!("{base}/{file}")}),
            )
            .await;
        assert_eq!(status, 200, "{file}: {sent}");
        let id = sent["message_id"].as_str().unwrap().to_owned();
        received(&sim, a, |m| m.id == id).await;
        let got = phone_copy(&sim, a, &id, |m| m.media_downloaded.is_some()).await;
        assert_eq!(got.kind, "sticker", "{file}");
        assert_eq!(got.media_mime.as_deref(), Some("image/webp"), "{file}");
        let bytes = got.media_downloaded.unwrap();
        if as_is {
            assert_eq!(bytes, webp, "{file} was changed");
        }
        let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::WebP)
            .unwrap_or_else(|e| panic!("{file}: the phone got no WebP: {e}"));
        assert_eq!((decoded.width(), decoded.height()), (512, 512), "{file}");
        if file == "wide.png" {
            // Letterboxed: transparent above, the picture in the middle.
            let rgba = decoded.to_rgba8();
            assert_eq!(rgba.get_pixel(256, 5)[3], 0, "top should be transparent");
            assert_eq!(rgba.get_pixel(256, 256)[3], 255);
        }
    }
    let (status, body) = app
        .post(
            "/api/send-sticker",
            json!({"phone_id": phone, "to": a, "url": format!("{base}/huge.png")}),
        )
        .await;
    refused(status, &body, "url");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("5 MB"),
        "{body}"
    );

    let (status, sent) = app
        .post(
            "/api/send-voice",
            json!({"phone_id": phone, "to": a, "url": format!("{base}/note.ogg")}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["seconds"], json!(7), "{sent}");
    let id = sent["message_id"].as_str().unwrap().to_owned();
    let got = received(&sim, a, |m| m.id == id).await;
    assert_eq!((got.kind.as_str(), got.seconds), ("voice", Some(7)));
    assert_eq!(got.media_mime.as_deref(), Some("audio/ogg; codecs=opus"));
    let (_, stored) = app.get(&format!("/api/phones/{phone}/messages/{id}")).await;
    assert_eq!(stored["message"]["type"], json!("voice"), "{stored}");
    let (status, body) = app
        .post(
            "/api/send-voice",
            json!({"phone_id": phone, "to": a, "url": format!("{base}/song.mp3")}),
        )
        .await;
    refused(status, &body, "url");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("OGG/Opus"),
        "{body}"
    );
    task.abort();
    app.stop().await;
    sim.shutdown();
}

/// Media by upload: a file posted raw, as multipart or as base64 JSON gets
/// a media_id that sends take instead of a url (the virtual phone
/// downloads the same bytes); `data` inline works too; a deleted or
/// expired upload, a file of the wrong type and one over a kind's limit
/// are refused naming the field; the sweeper deletes expired files.
async fn media_by_upload(db: Db) {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812341040";
    let a = "919812341041";
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);
    let raw = async |body: Vec<u8>, content_type: &str, query: &str| {
        send(
            app.http
                .post(app.url(&format!("/api/media{query}")))
                .bearer_auth(&app.token)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    };
    let png = crate::send::png();
    let (status, up) = raw(png.clone(), "application/octet-stream", "").await;
    assert_eq!(status, 200, "{up}");
    let media = &up["media"];
    assert_eq!(media["mime_type"], json!("image/png"), "{up}");
    assert_eq!(media["sha256"], json!(sha256_hex(&png)), "{up}");
    let image_id = media["media_id"].as_str().unwrap().to_owned();
    // Kept 24 hours by default.
    let at = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    assert_eq!(
        at(&media["expires_at"]) - at(&media["created_at"]),
        86_400,
        "{up}"
    );
    let (status, got) = app.get(&format!("/api/media/{image_id}")).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["media"]["size"], up["media"]["size"], "{got}");

    // Multipart, with the file's name.
    let pdf = crate::send::pdf();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf.clone()).file_name("Invoice 7.pdf"),
    );
    let (status, doc) = send(
        app.http
            .post(app.url("/api/media"))
            .bearer_auth(&app.token)
            .multipart(form),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["media"]["file_name"], json!("Invoice 7.pdf"), "{doc}");
    let doc_id = doc["media"]["media_id"].as_str().unwrap().to_owned();

    // JSON, base64, kept a minute.
    let (status, small) = app
        .post(
            "/api/media",
            json!({"data": STANDARD.encode(&png), "expires_in_seconds": 60}),
        )
        .await;
    assert_eq!(status, 200, "{small}");
    assert_eq!(
        at(&small["media"]["expires_at"]) - at(&small["media"]["created_at"]),
        60
    );

    // Sends by media_id and by data: the phone downloads the same bytes.
    for (path, body, bytes) in [
        (
            "/api/send-image",
            json!({"phone_id": phone, "to": a, "media_id": image_id, "caption": "By upload"}),
            png.clone(),
        ),
        (
            "/api/send-document",
            json!({"phone_id": phone, "to": a, "media_id": doc_id}),
            pdf.clone(),
        ),
        (
            "/api/send-image",
            json!({"phone_id": phone, "to": a, "data": STANDARD.encode(&png)}),
            png.clone(),
        ),
    ] {
        let (status, sent) = app.post(path, body.clone()).await;
        assert_eq!(status, 200, "{body}: {sent}");
        let id = sent["message_id"].as_str().unwrap().to_owned();
        received(&sim, a, |m| m.id == id).await;
        let got = phone_copy(&sim, a, &id, |m| m.media_downloaded_sha256.is_some()).await;
        assert_eq!(
            got.media_downloaded_sha256.as_deref(),
            Some(sha256_hex(&bytes).as_str()),
            "{body}"
        );
        if path.ends_with("document") {
            assert_eq!(got.file_name.as_deref(), Some("Invoice 7.pdf"));
        }
    }

    // Refused, naming the field.
    let (status, body) = raw(
        b"<!DOCTYPE html><html>login</html>".to_vec(),
        "text/html",
        "",
    )
    .await;
    refused(status, &body, "file");
    let (status, body) = raw(Vec::new(), "image/png", "").await;
    refused(status, &body, "file");
    let (status, body) = raw(png.clone(), "image/png", "?expires_in_seconds=99999999").await;
    refused(status, &body, "expires_in_seconds");
    let mut huge = png.clone();
    huge.resize(6 * 1024 * 1024, 7);
    let (status, big) = raw(huge, "image/png", "").await;
    assert_eq!(status, 200, "{big}");
    let big_id = big["media"]["media_id"].as_str().unwrap();
    let send_image = async |fields: Value| {
        let mut body = json!({"phone_id": phone, "to": a});
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        app.post("/api/send-image", body).await
    };
    let (status, body) = send_image(json!({"media_id": big_id})).await;
    refused(status, &body, "media_id");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("5 MB"),
        "{body}"
    );
    let (status, body) = send_image(json!({"media_id": doc_id})).await;
    refused(status, &body, "media_id");
    let (status, body) =
        send_image(json!({"media_id": image_id, "url": "http://127.0.0.1:9/x.png"})).await;
    refused(status, &body, "url");
    let (status, body) = send_image(json!({})).await;
    refused(status, &body, "url");
    // Deleted: gone for sends and reads.
    let (status, body) = send(
        app.http
            .delete(app.url(&format!("/api/media/{image_id}")))
            .bearer_auth(&app.token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send_image(json!({"media_id": image_id})).await;
    refused(status, &body, "media_id");
    let (status, _) = app.get(&format!("/api/media/{image_id}")).await;
    assert_eq!(status, 404);
    // Expired: refused at once, its file deleted by the sweep.
    let (status, short) = raw(png.clone(), "image/png", "?expires_in_seconds=1").await;
    assert_eq!(status, 200, "{short}");
    let short_id = short["media"]["media_id"].as_str().unwrap().to_owned();
    let file = app.core.config.data_dir.join("uploads").join(&short_id);
    assert!(file.exists());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = send_image(json!({"media_id": short_id})).await;
    refused(status, &body, "media_id");
    assert!(app.core.uploads.sweep().await.unwrap() >= 1);
    assert!(!file.exists(), "the expired upload's file is still there");
    app.stop().await;
    sim.shutdown();
}

/// A contact's typing and calls: chat.typing events for each state; a
/// call is a call.received event; with the phone set to decline calls,
/// the virtual phone sees its call rejected and gets the phone's reply.
async fn calls_and_typing(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812341050";
    let a = "919812341051";
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);
    let admin = |path: &str| format!("{}/admin/phones/{a}/{path}", sim.http_url());

    for state in ["composing", "recording", "paused"] {
        let (status, body) = send(
            app.http
                .post(admin("typing"))
                .json(&json!({"to": own, "state": state})),
        )
        .await;
        assert_eq!(status, 204, "{body}");
        let event = event_named(&app, &phone, "chat.typing", |p| p["state"] == json!(state)).await;
        assert_eq!(event["from"], json!(a), "{event}");
    }

    let call = async |video: bool| {
        let (status, body) = send(
            app.http
                .post(admin("call"))
                .json(&json!({"to": own, "video": video})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let id = body["call_id"].as_str().unwrap().to_owned();
        let event = event_named(&app, &phone, "call.received", |p| p["call_id"] == json!(id)).await;
        (id, event)
    };
    // Settings off (the default): the call rings on.
    let (first, event) = call(false).await;
    assert_eq!(event["from"], json!(a), "{event}");
    assert_eq!(event["video"], json!(false), "{event}");
    assert_eq!(event["rejected"], json!(false), "{event}");
    let (status, settings) = app.get(&format!("/api/phones/{phone}/calls")).await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(
        settings["settings"]["reject_calls"],
        json!(false),
        "{settings}"
    );

    // A reply needs reject_calls.
    let (status, body) = app
        .post(
            &format!("/api/phones/{phone}/calls"),
            json!({"reply": "Write to us here"}),
        )
        .await;
    refused(status, &body, "reply");
    let reply = "We can't take calls: write to us here and we answer within the hour.";
    let (status, settings) = app
        .post(
            &format!("/api/phones/{phone}/calls"),
            json!({"reject_calls": true, "reply": reply}),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["settings"]["reply"], json!(reply), "{settings}");
    // Read back at once (the API's phone cache is dropped on a change).
    let (_, read) = app.get(&format!("/api/phones/{phone}/calls")).await;
    assert_eq!(read["settings"]["reject_calls"], json!(true), "{read}");
    assert_eq!(read["settings"]["reply"], json!(reply), "{read}");

    let (second, event) = call(true).await;
    assert_eq!(event["video"], json!(true), "{event}");
    assert_eq!(event["rejected"], json!(true), "{event}");
    let replied = event["replied"]
        .as_str()
        .expect("the reply's message id")
        .to_owned();
    let got = received(&sim, a, |m| m.id == replied).await;
    assert_eq!(got.text.as_deref(), Some(reply));
    let calls = sim.phone_calls(a);
    let placed = |id: &str| calls.iter().find(|c| c.call_id == id).unwrap().clone();
    assert!(placed(&second).rejected, "{calls:?}");
    assert!(placed(&second).video);
    assert!(!placed(&first).rejected, "{calls:?}");
    // The reply is an outbound message like any other.
    let (_, stored) = app
        .get(&format!("/api/phones/{phone}/messages/{replied}"))
        .await;
    assert_eq!(stored["message"]["to"], json!(a), "{stored}");
    app.stop().await;
    sim.shutdown();
}

/// Link previews: the page's Open Graph title, description and image
/// (as a JPEG thumbnail) reach the virtual phone with the text; a page
/// that cannot be fetched, a text without a link and a private address
/// the guard refuses send the text alone and say why.
async fn link_previews(db: Db) {
    use axum::{Router, http::header, response::IntoResponse, routing::get};
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812341060";
    let a = "919812341061";
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);
    let page = r#"<!doctype html><html><head><title>Fallback</title>
        <meta property="og:title" content="Red running shoes">
        <meta property="og:description" content="Light, with a thick sole. In stock.">
        <meta property="og:image" content="/shoe.png"></head><body>Shoes</body></html>"#;
    let router = Router::new()
        .route(
            "/p/42",
            get(
                move || async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page) },
            ),
        )
        .route(
            "/shoe.png",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/png")],
                    picture(640, 480, image::ImageFormat::Png),
                )
                    .into_response()
            }),
        );
    let (base, task) = crate::support::serve_http(router).await;

    let text = format!("The shoes you asked about: {base}/p/42 (size 42 in stock)");
    let (status, sent) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": a, "message": text, "link_preview": true}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(
        sent["link_preview"]["title"],
        json!("Red running shoes"),
        "{sent}"
    );
    assert_eq!(sent["link_preview"]["thumbnail"], json!(true), "{sent}");
    let id = sent["message_id"].as_str().unwrap().to_owned();
    let got = received(&sim, a, |m| m.id == id).await;
    assert_eq!(got.text.as_deref(), Some(text.as_str()));
    let preview = got.link_preview.expect("the phone shows a preview");
    assert_eq!(preview.url, format!("{base}/p/42"));
    assert_eq!(preview.title.as_deref(), Some("Red running shoes"));
    assert_eq!(
        preview.description.as_deref(),
        Some("Light, with a thick sole. In stock.")
    );
    assert!(
        preview.thumbnail_jpeg && preview.thumbnail_bytes > 500,
        "{preview:?}"
    );

    // Sent without a preview, saying why.
    for (message, why) in [
        (format!("Gone: {base}/missing"), "404"),
        ("No link here".to_owned(), "no http(s) link"),
        ("Private: http://10.1.2.3/admin".to_owned(), "10.1.2.3"),
    ] {
        let (status, sent) = app
            .post(
                "/api/send",
                json!({"phone_id": phone, "to": a, "message": message, "link_preview": true}),
            )
            .await;
        assert_eq!(status, 200, "{sent}");
        let error = sent["link_preview_error"].as_str().unwrap_or_default();
        assert!(error.contains(why), "{message}: {sent}");
        let id = sent["message_id"].as_str().unwrap().to_owned();
        let got = received(&sim, a, |m| m.id == id).await;
        assert_eq!(got.text.as_deref(), Some(message.as_str()));
        assert!(got.link_preview.is_none());
    }
    task.abort();
    app.stop().await;
    sim.shutdown();
}

/// What a contact's phone sends that the simulator encrypts and uploads
/// as a phone does: a sticker and a voice note arrive with their types,
/// the voice note's length, and their files downloadable, byte for byte.
async fn inbound_stickers_and_voice_notes(db: Db) {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919812341070";
    let a = "919812341071";
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);
    let sticker = picture(64, 64, image::ImageFormat::WebP);
    let voice = opus_ogg(4);
    for (kind, bytes, mime, seconds) in [
        ("sticker", &sticker, "image/webp", None),
        ("voice", &voice, "audio/ogg; codecs=opus", Some(4)),
    ] {
        let id = phone_sends(
            &app,
            &sim,
            a,
            json!({"to": own, "media": {"kind": kind, "data": STANDARD.encode(bytes), "mime": mime, "seconds": seconds}}),
        )
        .await;
        let payload = event_named(&app, &phone, "message.received", |p| {
            p["message"]["id"] == json!(id)
        })
        .await;
        let message = &payload["message"];
        assert_eq!(message["type"], json!(kind), "{payload}");
        assert_eq!(message["media"]["mime_type"], json!(mime), "{payload}");
        assert_eq!(
            message["media"]["sha256"],
            json!(sha256_hex(bytes)),
            "{payload}"
        );
        if let Some(seconds) = seconds {
            assert_eq!(message["seconds"], json!(seconds), "{payload}");
        }
        let file = app
            .http
            .get(app.url(&format!("/api/phones/{phone}/messages/{id}/media")))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(file.status(), 200, "{kind}");
        assert_eq!(
            file.bytes().await.unwrap().as_ref(),
            bytes.as_slice(),
            "{kind}"
        );
    }
    app.stop().await;
    sim.shutdown();
}

db_tests!(
    contact_cards_both_ways,
    polls_and_votes,
    forwards,
    stickers_and_voice_notes,
    media_by_upload,
    calls_and_typing,
    link_previews,
    inbound_stickers_and_voice_notes
);
