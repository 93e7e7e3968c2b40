//! Sending through the durable outbox: real whatsapp-rust sessions on both
//! sides of the protocol simulator.

use std::time::Duration;

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use wadesk::sim::{PhoneMessage, Simulator};

use crate::{
    db_tests,
    phones::{pair, start},
    support::{Db, TestApp, send},
};

/// Waits until virtual phone `number` has received a message `pick` accepts.
async fn received(
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

async fn message_status(app: &TestApp, phone: &str, id: &str, want: &str) -> Value {
    for _ in 0..200 {
        let (status, body) = app.get(&format!("/api/phones/{phone}/messages/{id}")).await;
        assert_eq!(status, 200, "{body}");
        if body["message"]["status"] == want {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("message {id} never became {want}");
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
    let copies = sim
        .phone_messages("919812340031")
        .into_iter()
        .filter(|m| m.text.as_deref() == Some("only once"))
        .count();
    assert_eq!(copies, 1, "a retried request never sends a second message");
    app.stop().await;
    sim.shutdown();
}

async fn trial_cap_and_unknown_numbers(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Trial").await;
    pair(&app, &sim, &phone, "919812340040").await;
    // 30 recipients already reached (written as the outbox records them).
    for i in 0..30 {
        wadesk::store::messages::insert_outbound(
            &app.core.db,
            wadesk::store::messages::NewOutbound {
                account_id: app.account_id.clone(),
                phone_id: phone.clone(),
                peer: format!("9198000000{i:02}"),
                kind: "text".into(),
                text: Some("earlier".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    // Mark them sent so the session does not send them now.
    wadesk::store::entity::message::Entity::update_many()
        .col_expr(
            wadesk::store::entity::message::Column::Status,
            "sent".into(),
        )
        .exec(&app.core.db)
        .await
        .unwrap();
    let (status, body) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": "919812340041", "message": "new"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("30 unique recipients"),
        "{body}"
    );

    // On Pro there is no cap; a number nobody registered is not on WhatsApp.
    wadesk::store::phones::set_plan(
        &app.core.db,
        wadesk::store::phones::find(&app.core.db, &phone)
            .await
            .unwrap()
            .unwrap(),
        "pro",
    )
    .await
    .unwrap();
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
    let row = wadesk::store::messages::insert_outbound(
        &app.core.db,
        wadesk::store::messages::NewOutbound {
            account_id: app.account_id.clone(),
            phone_id: phone.clone(),
            peer: "919812340051".into(),
            kind: "text".into(),
            text: Some("survived a crash".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let app = app.restart().await;
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

db_tests!(
    text_and_location_arrive_with_receipts,
    idempotency_key_sends_once,
    trial_cap_and_unknown_numbers,
    queued_messages_go_out_after_a_restart,
);
