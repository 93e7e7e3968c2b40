//! Linking phones through the API, with real whatsapp-rust sessions against
//! the protocol simulator.

use std::time::Duration;

use futures::StreamExt;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use wadesk::sim::{SimConfig, Simulator};

use crate::{
    db_tests,
    support::{Api, Db, TestApp},
};

/// Reads Server-Sent Events `data:` payloads from a streaming response.
struct Sse {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl Sse {
    fn new(response: reqwest::Response) -> Sse {
        Sse {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next data payload, or None when the stream ends. Keep-alive
    /// comments do not extend the 20 s allowed for it.
    async fn next(&mut self) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim)
                    .collect();
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return Some(serde_json::from_str(&data.join("\n")).expect("JSON event"));
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(_) => return None,
                Err(_) => panic!("no SSE event within 20 s; buffered: {:?}", self.buffer),
            }
        }
    }
}

pub async fn start(db: Db) -> (Simulator, TestApp) {
    let sim = Simulator::start(SimConfig::default())
        .await
        .expect("simulator starts");
    let ws = sim.ws_url();
    let media = sim.http_url().trim_start_matches("http://").to_owned();
    let app = TestApp::spawn_with(db, move |config| {
        config.whatsapp.server_url = ws;
        config.whatsapp.plain_http_media_hosts = vec![media];
    })
    .await;
    (sim, app)
}

/// Pairs `phone_id` as virtual number `number` through the REST QR stream.
pub async fn pair(app: &impl Api, sim: &Simulator, phone_id: &str, number: &str) -> u32 {
    sim.create_phone(number);
    let response = app
        .request(reqwest::Method::GET, &format!("/api/phones/{phone_id}/qr"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut sse = Sse::new(response);
    let first = sse.next().await.expect("a QR event");
    assert_eq!(first["type"], json!("qr"), "{first}");
    assert_eq!(first["status"], json!("pending"));
    let qr = first["qr"].as_str().unwrap().to_owned();
    assert!(qr.split(',').count() >= 4, "ref,noise,identity,adv: {qr}");
    assert!(
        first["qr_image"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml;base64,")
    );
    assert!(first["expires_at"].as_str().unwrap().ends_with('Z'));

    let device = sim
        .scan(&qr, number)
        .await
        .expect("the virtual phone scans")
        .device;
    let mut seen = Vec::new();
    while let Some(event) = sse.next().await {
        seen.push(event["type"].as_str().unwrap().to_owned());
        if event["type"] == "connected" {
            assert_eq!(event["number"], json!(number), "{event}");
            assert_eq!(event["status"], json!("connected"));
        }
    }
    assert_eq!(
        seen,
        ["paired", "connected"],
        "the stream ends once connected"
    );
    device
}

async fn key_rows(app: &TestApp, phone_id: &str) -> i64 {
    let db = &app.core.db;
    let sql = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT COUNT(*) AS n FROM wastore_device WHERE phone_id = $1"
        }
        _ => "SELECT COUNT(*) AS n FROM wastore_device WHERE phone_id = ?",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [phone_id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn events_of(app: &TestApp, phone_id: &str) -> Vec<String> {
    wadesk::store::events::list_for_phone(&app.core.db, &app.account_id, phone_id, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

async fn qr_pairing_connects_and_survives_a_restart(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Business Line").await;
    pair(&app, &sim, &phone, "919812340001").await;

    let (_, list) = app.get("/api/phones").await;
    assert_eq!(list["phones"][0]["status"], json!("connected"));
    assert_eq!(list["phones"][0]["number"], json!("919812340001"));
    let status = app.wait_status(&phone, "connected", 5).await;
    assert!(status["last_seen"].as_str().is_some(), "{status}");
    assert_eq!(status["battery"], Value::Null);
    assert_eq!(status["push_name"], json!("wadesk"), "{status}");
    assert!(
        status["connected_since"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{status}"
    );
    assert!(status["reconnects"].as_u64().is_some(), "{status}");
    assert!(
        key_rows(&app, &phone).await > 0,
        "session keys live in our database"
    );
    let events = events_of(&app, &phone).await;
    assert!(events.contains(&"phone.qr".to_owned()), "{events:?}");
    assert!(events.contains(&"phone.connected".to_owned()), "{events:?}");

    // A restart reconnects with the stored keys: no QR, no pairing.
    let app = app.restart().await;
    app.wait_status(&phone, "connected", 10).await;
    let (_, phones) = app.get("/api/phones").await;
    assert_eq!(phones["phones"][0]["number"], json!("919812340001"));

    // Asking to pair a connected phone just says so.
    let response = app
        .request(reqwest::Method::GET, &format!("/api/phones/{phone}/qr"))
        .send()
        .await
        .unwrap();
    let mut sse = Sse::new(response);
    assert_eq!(sse.next().await.unwrap()["type"], json!("connected"));
    assert!(sse.next().await.is_none());
    app.stop().await;
    sim.shutdown();
}

async fn unlink_from_the_phone_logs_out_and_deletes_keys(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Line").await;
    let device = pair(&app, &sim, &phone, "919812340002").await;
    assert!(key_rows(&app, &phone).await > 0);

    assert!(
        sim.unlink("919812340002", device),
        "the simulator knows the device"
    );
    let status = app.wait_status(&phone, "logged_out", 10).await;
    assert!(
        status["reason"].as_str().unwrap().contains("unlinked"),
        "{status}"
    );
    assert_eq!(
        key_rows(&app, &phone).await,
        0,
        "keys of an unlinked device are deleted"
    );
    assert!(
        events_of(&app, &phone)
            .await
            .contains(&"phone.logged_out".to_owned())
    );

    // It can be paired again.
    pair(&app, &sim, &phone, "919812340002").await;
    app.wait_status(&phone, "connected", 5).await;
    app.stop().await;
    sim.shutdown();
}

async fn logout_and_delete_through_the_api(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Line").await;
    pair(&app, &sim, &phone, "919812340003").await;

    let (status, body) = app
        .post(&format!("/api/phones/{phone}/logout"), Value::Null)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], json!("logged_out"));
    assert_eq!(key_rows(&app, &phone).await, 0);
    app.wait_status(&phone, "logged_out", 2).await;

    let other = app.create_phone("Second").await;
    pair(&app, &sim, &other, "919812340004").await;
    let (status, _) =
        crate::support::send(app.request(reqwest::Method::DELETE, &format!("/api/phones/{other}")))
            .await;
    assert_eq!(status, 200);
    assert_eq!(key_rows(&app, &other).await, 0);
    let (status, _) = app.get(&format!("/api/phones/{other}/status")).await;
    assert_eq!(status, 404);
    app.stop().await;
    sim.shutdown();
}

async fn pairing_by_code_links_by_number(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("By code").await;
    sim.create_phone("919812340005");
    let (status, body) = app
        .post(
            &format!("/api/phones/{phone}/pair-code"),
            json!({"number": "+91 98123 40005"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let code = body["code"].as_str().unwrap().to_owned();
    assert_eq!(
        code.chars().filter(|c| c.is_ascii_alphanumeric()).count(),
        8,
        "{code}"
    );
    sim.enter_pair_code("919812340005", &code)
        .expect("the virtual phone accepts the code");
    let status = app.wait_status(&phone, "connected", 30).await;
    assert_eq!(status["phone_id"], json!(phone));
    let (_, list) = app.get("/api/phones").await;
    assert_eq!(list["phones"][0]["number"], json!("919812340005"));
    app.stop().await;
    sim.shutdown();
}

db_tests!(
    pairing_by_code_links_by_number,
    qr_pairing_connects_and_survives_a_restart,
    unlink_from_the_phone_logs_out_and_deletes_keys,
    logout_and_delete_through_the_api,
);
