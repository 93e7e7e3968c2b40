//! Media through the simulator's loopback media host, and the admin HTTP API.

use std::time::Duration;

use crate::common::*;
use sha2::{Digest, Sha256};
use wadesk_sim::{SimConfig, SimEvent, Simulator};
use whatsapp_rust::download::MediaType;
use whatsapp_rust::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_upload_and_download_between_clients() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (a_num, b_num) = ("15553330001", "15553330002");
    let (a, mut b) = tokio::join!(
        paired_client(&sim, a_num, "Alice"),
        paired_client(&sim, b_num, "Bob"),
    );
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let up = a
        .client
        .upload(data.clone(), MediaType::Image, Default::default())
        .await
        .expect("upload to the media host");
    assert_eq!(sim.media_blob_count(), 1);
    let msg = whatsapp_rust::media::image_message(
        up,
        whatsapp_rust::media::ImageOptions {
            caption: Some("a picture".into()),
            ..Default::default()
        },
    );
    let to: Jid = format!("{b_num}@s.whatsapp.net").parse().unwrap();
    a.client.send_message(to, msg).await.expect("send image");
    let img = b
        .wait_for(Duration::from_secs(5), "image", |ev| match ev {
            Event::Messages(batch) => batch
                .messages
                .iter()
                .find_map(|m| m.message.image_message.as_option().cloned()),
            _ => None,
        })
        .await;
    assert_eq!(img.caption.as_deref(), Some("a picture"));
    let got = b
        .client
        .download(&img)
        .await
        .expect("download from the media host");
    assert_eq!(got, data);
    assert_eq!(
        img.file_sha256.as_deref(),
        Some(Sha256::digest(&data).as_slice())
    );

    // The virtual phone of B records the declared plaintext hash too (own primary copy
    // is not involved here: B's primary gets the message from A directly).
    let phone = sim.phone_messages(b_num);
    let rec = phone
        .iter()
        .find(|m| m.kind == "image")
        .expect("primary got the image");
    assert_eq!(
        rec.media_sha256.as_deref(),
        Some(hex(&Sha256::digest(&data)).as_str())
    );
    assert_eq!(rec.caption.as_deref(), Some("a picture"));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn admin(sim: &Simulator, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, body) = http_request(
        method,
        &format!("{}{path}", sim.http_url()),
        &[("Content-Type".into(), "application/json".into())],
        body.as_bytes(),
    )
    .await
    .unwrap();
    let v = if body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::String(
            String::from_utf8_lossy(&body).into(),
        ))
    };
    (status, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_drives_a_virtual_phone() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (gw, vp) = ("15554440001", "15554440002");

    // Pair a client through the admin API's scan.
    let (s, v) = admin(&sim, "POST", &format!("/admin/phones/{gw}"), "").await;
    assert_eq!(s, 201, "{v}");
    let mut a = TestClient::start(&sim, None, Some("Gateway")).await;
    let qr = a.wait_qr().await;
    let (s, v) = admin(&sim, "POST", "/admin/phones/19999999999/scan", &qr).await;
    assert_eq!(s, 404, "unknown numbers cannot scan: {v}");
    let (s, v) = admin(&sim, "POST", &format!("/admin/phones/{gw}/scan"), &qr).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["device"], 1);
    a.wait_connected(Duration::from_secs(5)).await;

    let (s, _) = admin(&sim, "POST", &format!("/admin/phones/{vp}"), "").await;
    assert_eq!(s, 201);
    let mut sim_ev = sim.subscribe();
    let to: Jid = format!("{vp}@s.whatsapp.net").parse().unwrap();
    let id = a
        .client
        .send_text(to, "hello phone")
        .await
        .unwrap()
        .message_id
        .to_string();
    sim_wait(
        &mut sim_ev,
        Duration::from_secs(5),
        "phone receives",
        |e| match e {
            SimEvent::PhoneReceived { number, .. } if number == vp => Some(()),
            _ => None,
        },
    )
    .await;
    let (s, v) = admin(&sim, "GET", &format!("/admin/phones/{vp}/messages"), "").await;
    assert_eq!(s, 200);
    assert_eq!(v[0]["id"], id.as_str());
    assert_eq!(v[0]["from"], gw);
    assert_eq!(v[0]["kind"], "text");
    assert_eq!(v[0]["text"], "hello phone");

    let (s, v) = admin(
        &sim,
        "POST",
        &format!("/admin/phones/{vp}/read"),
        &format!("{{\"ids\":[\"{id}\"]}}"),
    )
    .await;
    assert_eq!((s, v["read"].as_u64()), (200, Some(1)));
    a.wait_for(Duration::from_secs(5), "read receipt", |ev| match ev {
        Event::Receipt(r)
            if r.message_ids.iter().any(|m| m.as_str() == id)
                && r.r#type == wacore::types::presence::ReceiptType::Read =>
        {
            Some(())
        }
        _ => None,
    })
    .await;

    let (s, v) = admin(
        &sim,
        "POST",
        &format!("/admin/phones/{vp}/send"),
        &format!("{{\"to\":\"+{gw}\",\"text\":\"pong\"}}"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let text = a
        .wait_for(Duration::from_secs(5), "reply", |ev| match ev {
            Event::Messages(b) => b
                .messages
                .iter()
                .find_map(|m| m.message.text_content().map(str::to_string)),
            _ => None,
        })
        .await;
    assert_eq!(text, "pong");
    let (s, v) = admin(
        &sim,
        "POST",
        &format!("/admin/phones/{vp}/send"),
        "{\"to\":\"12345678\",\"text\":\"x\"}",
    )
    .await;
    assert_eq!(s, 400, "a number nobody created is not on WhatsApp: {v}");

    let (s, _) = admin(&sim, "POST", &format!("/admin/phones/{vp}/offline"), "").await;
    assert_eq!(s, 204);
    let (s, _) = admin(&sim, "POST", &format!("/admin/phones/{vp}/online"), "").await;
    assert_eq!(s, 204);
    let (s, _) = admin(&sim, "GET", "/admin/nothing", "").await;
    assert_eq!(s, 404);

    let (s, _) = admin(&sim, "DELETE", &format!("/admin/phones/{gw}/devices/1"), "").await;
    assert_eq!(s, 204);
    a.wait_for(Duration::from_secs(5), "LoggedOut", |ev| {
        matches!(ev, Event::LoggedOut(_)).then_some(())
    })
    .await;
    a.shutdown().await;
}
