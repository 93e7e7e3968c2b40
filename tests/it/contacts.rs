//! Contacts and the phone's own profile: which numbers are on WhatsApp,
//! what a contact shows, blocking, the phone's name, about text, picture
//! and presence. Real whatsapp-rust in the gateway; the simulator keeps
//! what WhatsApp's server keeps (read back through its admin API).

use serde_json::{Value, json};
use wadesk_sim::Simulator;

use crate::{
    db_tests,
    phones::{pair, start},
    send::{event_named, received},
    support::{Db, TestApp, send, serve_http},
};

/// A 400 whose message starts with the field named.
fn refused(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 400, "{field}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(field), "{field}: {body}");
}

/// The simulator's record of a phone's profile, blocklist and presence.
async fn sim_profile(app: &TestApp, sim: &Simulator, number: &str) -> Value {
    let (status, body) = send(
        app.http
            .get(format!("{}/admin/phones/{number}/profile", sim.http_url())),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Changes a virtual phone's profile as its owner would on the phone.
async fn sim_set_profile(app: &TestApp, sim: &Simulator, number: &str, change: Value) {
    let response = app
        .http
        .post(format!("{}/admin/phones/{number}/profile", sim.http_url()))
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

/// A virtual phone sends a text.
async fn phone_texts(app: &TestApp, sim: &Simulator, from: &str, to: &str, text: &str) -> String {
    let (status, answer) = send(
        app.http
            .post(format!("{}/admin/phones/{from}/send", sim.http_url()))
            .json(&json!({"to": to, "text": text})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["id"].as_str().unwrap().to_owned()
}

/// A real PNG of `width` x `height`: red left half, blue right half.
pub(crate) fn halves_png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            image::Rgb([255, 0, 0])
        } else {
            image::Rgb([0, 0, 255])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// CheckNumbers on 500 numbers, 50 of them virtual phones (one a business),
/// written as people type them: exactly those 50 are on WhatsApp, in the
/// order asked; a second check answers from what was kept; bad lists are
/// refused naming the field.
async fn numbers_on_whatsapp(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    pair(&app, &sim, &phone, "919820000000").await;
    let on: Vec<String> = (1..=50).map(|i| format!("9198200001{i:02}")).collect();
    for n in &on {
        sim.create_phone(n);
    }
    sim_set_profile(
        &app,
        &sim,
        &on[7],
        json!({"business": {"name": "Acme Traders"}}),
    )
    .await;
    let mut numbers = Vec::new();
    for i in 0..500 {
        if i % 10 == 3 {
            let n = &on[i / 10];
            // Every other one as a person types it.
            numbers.push(if i % 20 == 3 {
                format!("+{} {}-{}", &n[..2], &n[2..7], &n[7..])
            } else {
                n.clone()
            });
        } else {
            numbers.push(format!("9198300{i:05}"));
        }
    }
    let (status, body) = app
        .post(
            &format!("/api/phones/{phone}/contacts/check"),
            json!({"numbers": numbers}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 500);
    assert_eq!(body["on_whatsapp"], 50);
    let found: Vec<&str> = results
        .iter()
        .filter(|r| r["on_whatsapp"] == true)
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    assert_eq!(found, on.iter().map(String::as_str).collect::<Vec<_>>());
    for (i, r) in results.iter().enumerate() {
        let digits: String = numbers[i].chars().filter(char::is_ascii_digit).collect();
        assert_eq!(r["number"], json!(digits), "answers keep the order asked");
        if r["on_whatsapp"] == true {
            assert_eq!(r["jid"], json!(format!("{digits}@s.whatsapp.net")));
        } else {
            assert_eq!(r["jid"], "");
        }
    }
    let acme = results
        .iter()
        .find(|r| r["number"] == json!(on[7]))
        .unwrap();
    assert_eq!(acme["business"], true, "{acme}");
    assert_eq!(acme["verified_name"], "Acme Traders");
    assert_eq!(results[3]["business"], false);

    // Asked again: the kept answers, with when WhatsApp was asked.
    let (status, again) = app
        .post(
            &format!("/api/phones/{phone}/contacts/check"),
            json!({"numbers": [&on[0], "919830000000"]}),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    let first = results
        .iter()
        .find(|r| r["number"] == json!(on[0]))
        .unwrap();
    assert_eq!(again["results"][0]["checked_at"], first["checked_at"]);
    assert_eq!(again["results"][1]["on_whatsapp"], false);

    // Bad lists.
    let path = format!("/api/phones/{phone}/contacts/check");
    let (status, body) = app.post(&path, json!({"numbers": []})).await;
    refused(status, &body, "numbers");
    let too_many: Vec<String> = (0..501).map(|i| format!("9198300{i:05}")).collect();
    let (status, body) = app.post(&path, json!({"numbers": too_many})).await;
    refused(status, &body, "numbers");
    let (status, body) = app
        .post(
            &path,
            json!({"numbers": ["919830000001", "919830000002", "919830000003", "call me"]}),
        )
        .await;
    refused(status, &body, "numbers[3]");
    app.stop().await;
    sim.shutdown();
}

/// What a contact shows (about text, picture, business profile, the name
/// it wrote with), what its privacy hides, and blocking: a blocked
/// number's messages do not arrive, an unblocked one's do again.
async fn contact_info_and_blocking(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919821000000";
    let (a, b) = ("919821000001", "919821000002");
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);
    sim.create_phone(b);
    use base64::Engine as _;
    let picture = halves_png(200, 200);
    sim_set_profile(
        &app,
        &sim,
        a,
        json!({
            "about": "Fresh fish daily",
            "picture": base64::engine::general_purpose::STANDARD.encode(&picture),
            "business": {
                "name": "Harbour Fish",
                "description": "Fish market",
                "email": "sales@harbour.example",
                "website": ["https://harbour.example"],
                "address": "Dock 4",
                "category": "Grocery Store",
            },
        }),
    )
    .await;
    sim_set_profile(
        &app,
        &sim,
        b,
        json!({"about": "hidden", "privacy": {"status": "none"}}),
    )
    .await;
    let hello = phone_texts(&app, &sim, a, own, "hello").await;
    event_named(&app, &phone, "message.received", |p| {
        p["message"]["id"] == json!(hello)
    })
    .await;

    let (status, body) = app.get(&format!("/api/phones/{phone}/contacts/{a}")).await;
    assert_eq!(status, 200, "{body}");
    let contact = &body["contact"];
    assert_eq!(contact["verified_name"], "Harbour Fish", "{body}");
    assert_eq!(contact["on_whatsapp"], true, "{body}");
    assert_eq!(contact["about"], "Fresh fish daily");
    assert_eq!(contact["push_name"], json!(format!("Sim {a}")));
    assert_eq!(contact["business"], true);
    assert_eq!(contact["verified_name"], "Harbour Fish");
    let profile = &contact["business_profile"];
    assert_eq!(profile["description"], "Fish market", "{body}");
    assert_eq!(profile["email"], "sales@harbour.example");
    assert_eq!(profile["websites"], json!(["https://harbour.example"]));
    assert_eq!(profile["address"], "Dock 4");
    assert_eq!(profile["categories"], json!(["Grocery Store"]));
    assert_eq!(contact["blocked"], false);
    let kept = sim_profile(&app, &sim, a).await;
    assert_eq!(contact["picture_id"], kept["picture"]["id"], "{kept}");
    assert!(
        contact["picture_url"]
            .as_str()
            .unwrap()
            .contains(kept["picture"]["direct_path"].as_str().unwrap())
    );

    // b hides its about text; it has no picture and is not a business.
    let (status, body) = app.get(&format!("/api/phones/{phone}/contacts/{b}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contact"]["on_whatsapp"], true);
    assert!(
        body["contact"].get("about").is_none_or(Value::is_null),
        "{body}"
    );
    assert!(
        body["contact"]
            .get("picture_url")
            .is_none_or(Value::is_null)
    );
    assert_eq!(body["contact"]["business"], false);
    assert!(body["contact"].get("push_name").is_none_or(Value::is_null));
    // Not on WhatsApp.
    let (status, body) = app
        .get(&format!("/api/phones/{phone}/contacts/919821099999"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contact"]["on_whatsapp"], false);
    let (status, body) = app.get(&format!("/api/phones/{phone}/contacts/12ab")).await;
    refused(status, &body, "number");

    // Block a: WhatsApp keeps it, and a's next text does not arrive while b's does.
    let (status, body) = app
        .post(
            &format!("/api/phones/{phone}/contacts/{a}/block"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["blocked"], true);
    let kept = sim_profile(&app, &sim, own).await;
    assert!(kept["blocked"].get(a).is_some(), "{kept}");
    let (status, list) = app
        .get(&format!("/api/phones/{phone}/contacts/blocked"))
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["blocked"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["blocked"][0]["number"], a);
    assert!(list["blocked"][0]["blocked_at"].is_string(), "{list}");
    let (_, body) = app.get(&format!("/api/phones/{phone}/contacts/{a}")).await;
    assert_eq!(body["contact"]["blocked"], true);
    let unheard = phone_texts(&app, &sim, a, own, "are you there?").await;
    let heard = phone_texts(&app, &sim, b, own, "after the block").await;
    event_named(&app, &phone, "message.received", |p| {
        p["message"]["id"] == json!(heard)
    })
    .await;
    let (status, _) = app
        .get(&format!("/api/phones/{phone}/messages/{unheard}"))
        .await;
    assert_eq!(status, 404, "a blocked number's message arrived");

    // Unblock: a is heard again.
    let response = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/phones/{phone}/contacts/{a}/block"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, list) = app
        .get(&format!("/api/phones/{phone}/contacts/blocked"))
        .await;
    assert_eq!(list["blocked"], json!([]), "{list}");
    let again = phone_texts(&app, &sim, a, own, "hello again").await;
    event_named(&app, &phone, "message.received", |p| {
        p["message"]["id"] == json!(again)
    })
    .await;
    // A number not on WhatsApp cannot be blocked.
    let (status, body) = app
        .post(
            &format!("/api/phones/{phone}/contacts/919821099999/block"),
            json!({}),
        )
        .await;
    refused(status, &body, "number");
    app.stop().await;
    sim.shutdown();
}

/// The phone's own name, about text and picture (a wide PNG becomes a
/// 640x640 JPEG of its middle on WhatsApp's side), removing the picture,
/// bad changes refused; presence both ways: the phone shows online and
/// offline, and a followed contact's changes arrive as presence.update
/// (its last seen only where it shares it).
async fn profile_and_presence(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919822000000";
    let (a, b) = ("919822000001", "919822000002");
    pair(&app, &sim, &phone, own).await;
    sim.create_phone(a);
    sim.create_phone(b);
    let wide = halves_png(1200, 400);
    let big = vec![0u8; 6 * 1024 * 1024];
    let router = axum::Router::new()
        .route(
            "/wide.png",
            axum::routing::get(move || async move { wide.clone() }),
        )
        .route(
            "/big.jpg",
            axum::routing::get(move || async move { big.clone() }),
        )
        .route(
            "/doc.pdf",
            axum::routing::get(|| async { b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec() }),
        );
    let (files, _server) = serve_http(router).await;

    let path = format!("/api/phones/{phone}/profile");
    let (status, body) = send(app.request(reqwest::Method::PATCH, &path).json(&json!({
        "name": "Shop Central",
        "about": "Open 9 to 5",
        "picture_url": format!("{files}/wide.png"),
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["profile"]["name"], "Shop Central");
    assert_eq!(body["profile"]["about"], "Open 9 to 5");
    let kept = sim_profile(&app, &sim, own).await;
    assert_eq!(kept["about"], "Open 9 to 5");
    assert_eq!(
        body["profile"]["picture_id"], kept["picture"]["id"],
        "{kept}"
    );
    assert!(
        kept["push_names"]
            .as_object()
            .unwrap()
            .values()
            .any(|n| n == "Shop Central"),
        "{kept}"
    );
    // WhatsApp's picture URL, from the media host's plain-HTTP side.
    let (status, read) = app.get(&path).await;
    assert_eq!(status, 200, "{read}");
    let url = read["profile"]["picture_url"].as_str().unwrap();
    let stored = reqwest::get(url.replace(&sim.https_url(), &sim.http_url()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&stored[..3], b"\xff\xd8\xff", "a JPEG");
    let decoded = image::load_from_memory(&stored).unwrap().into_rgb8();
    assert_eq!((decoded.width(), decoded.height()), (640, 640));
    // The middle 400x400 of the wide picture: red left, blue right.
    assert!(decoded.get_pixel(100, 320)[0] > 200);
    assert!(decoded.get_pixel(540, 320)[2] > 200);
    // The new name goes with the phone's messages.
    let (status, sent) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": a, "message": "hi"}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let id = sent["message_id"].as_str().unwrap().to_owned();
    let got = received(&sim, a, |m| m.id == id).await;
    assert_eq!(got.push_name, "Shop Central");
    assert_eq!(read["profile"]["about"], "Open 9 to 5");
    assert_eq!(read["profile"]["picture_id"], kept["picture"]["id"]);

    // Remove the picture.
    let (status, body) = send(
        app.request(reqwest::Method::PATCH, &path)
            .json(&json!({"remove_picture": true})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["profile"]
            .get("picture_url")
            .is_none_or(Value::is_null),
        "{body}"
    );
    assert!(sim_profile(&app, &sim, own).await["picture"].is_null());

    // Bad changes.
    for (change, field) in [
        (json!({"about": "x".repeat(140)}), "about"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "n".repeat(26)}), "name"),
        (json!({}), "name"),
        (
            json!({"picture_url": format!("{files}/big.jpg")}),
            "picture_url",
        ),
        (
            json!({"picture_url": format!("{files}/doc.pdf")}),
            "picture_url",
        ),
        (
            json!({"picture_url": "http://10.1.2.3/p.png"}),
            "picture_url",
        ),
        (
            json!({"picture_url": format!("{files}/wide.png"), "remove_picture": true}),
            "remove_picture",
        ),
    ] {
        let (status, body) = send(app.request(reqwest::Method::PATCH, &path).json(&change)).await;
        refused(status, &body, field);
    }
    assert_eq!(sim_profile(&app, &sim, own).await["about"], "Open 9 to 5");

    // The phone's own presence.
    let presence = format!("/api/phones/{phone}/presence");
    let (status, body) = app
        .post(&presence, json!({"presence": "unavailable"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sim_profile(&app, &sim, own).await["available"], false);
    let (status, _) = app.post(&presence, json!({"presence": "available"})).await;
    assert_eq!(status, 200);
    assert_eq!(sim_profile(&app, &sim, own).await["available"], true);
    let (status, body) = app.post(&presence, json!({})).await;
    refused(status, &body, "presence");

    // Following contacts: a shares its last seen, b does not.
    sim_set_profile(&app, &sim, b, json!({"privacy": {"last": "none"}})).await;
    for contact in [a, b] {
        let (status, body) = app
            .post(
                &format!("/api/phones/{phone}/presence/subscriptions"),
                json!({"number": contact}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for contact in [a, b] {
        for available in [true, false] {
            let response = app
                .http
                .post(format!(
                    "{}/admin/phones/{contact}/presence",
                    sim.http_url()
                ))
                .json(&json!({"available": available}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 204);
            event_named(&app, &phone, "presence.update", |p| {
                p["from"] == contact && p["available"] == available
            })
            .await;
        }
    }
    let seen = event_named(&app, &phone, "presence.update", |p| {
        p["from"] == a && p["available"] == false && !p["last_seen"].is_null()
    })
    .await;
    assert!(
        seen["last_seen"].as_i64().unwrap() > 1_700_000_000,
        "{seen}"
    );
    let rows = wadesk::store::events::list_for_phone(&app.core.db, &app.account_id, &phone, 0)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .filter(|e| e.event == "presence.update")
            .map(|e| serde_json::from_str::<Value>(&e.payload).unwrap())
            .filter(|p| p["from"] == b)
            .all(|p| p["last_seen"].is_null()),
        "b's last seen is hidden"
    );
    let (status, body) = app
        .post(
            &format!("/api/phones/{phone}/presence/subscriptions"),
            json!({"number": "abc"}),
        )
        .await;
    refused(status, &body, "number");
    app.stop().await;
    sim.shutdown();
}

db_tests!(
    numbers_on_whatsapp,
    contact_info_and_blocking,
    profile_and_presence
);
