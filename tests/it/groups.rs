//! Groups: run through the gateway's whatsapp-rust client against the
//! simulator's groups (its `w:g2` server side and virtual phones with
//! sender keys). What a group is, is read back from the simulator's admin
//! API; what the gateway answers is checked against it.

use serde_json::{Value, json};
use wadesk_sim::Simulator;

use crate::{
    db_tests,
    phones::{pair, start},
    send::{event_named, received, serve_files, sha256_hex},
    support::{Db, TestApp, make_pro, send},
};

/// A 400 whose message starts with the field named.
fn refused(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 400, "{field}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(field), "{field}: {body}");
}

/// The simulator's admin API: POST `path` with `body`.
async fn admin(app: &TestApp, sim: &Simulator, path: &str, body: Value) -> (u16, Value) {
    send(
        app.http
            .post(format!("{}{path}", sim.http_url()))
            .json(&body),
    )
    .await
}

/// The simulator's record of a group.
async fn sim_group(app: &TestApp, sim: &Simulator, id: &str) -> Value {
    let (status, body) = send(
        app.http
            .get(format!("{}/admin/groups/{id}", sim.http_url())),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn members(group: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = group["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["number"].as_str().unwrap().to_owned(),
                p["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Creating and running a group: per-number results (added, already in,
/// not on WhatsApp), roles, invite links and joining by one, settings,
/// subject and description, join requests; refusals and bad input.
async fn group_management(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919840000000";
    let [a, b, c, d, e, f] = [
        "919840000001",
        "919840000002",
        "919840000003",
        "919840000004",
        "919840000005",
        "919840000006",
    ];
    let nobody = "919840099999";
    pair(&app, &sim, &phone, own).await;
    for n in [a, b, c, d, e, f] {
        sim.create_phone(n);
    }
    let base = format!("/api/phones/{phone}/groups");

    let (status, created) = app
        .post(
            &base,
            json!({"subject": "Orders", "participants": [a, b, c, nobody]}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let group = created["group"].clone();
    let id = group["group_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("120363") && id.ends_with("@g.us"), "{id}");
    let statuses: Vec<(&str, &str)> = created["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["number"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [(a, "ok"), (b, "ok"), (c, "ok"), (nobody, "not_on_whatsapp")]
    );
    assert_eq!(group["subject"], "Orders");
    assert_eq!(group["owner"], own);
    assert!(
        group["invite_link"]
            .as_str()
            .unwrap()
            .starts_with("https://chat.whatsapp.com/")
    );
    let roles = members(&group);
    assert!(
        roles.contains(&(own.to_owned(), "superadmin".to_owned())),
        "{group}"
    );
    assert!(
        roles.contains(&(a.to_owned(), "member".to_owned())),
        "{group}"
    );
    let kept = sim_group(&app, &sim, &id).await;
    let mut kept_members: Vec<String> = kept["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_str().unwrap().to_owned())
        .collect();
    kept_members.sort();
    assert_eq!(kept_members, [own, a, b, c]);

    // Listed, and read back.
    let (status, list) = app.get(&base).await;
    assert_eq!(status, 200, "{list}");
    assert!(
        list["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["group_id"] == json!(id))
    );
    let path = format!("{base}/{id}");
    let (status, read) = app.get(&path).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["group"]["size"], 4);

    // Participant changes, a result per number.
    let (status, added) = app
        .post(
            &format!("{path}/participants/add"),
            json!({"participants": [d, a, nobody]}),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    let statuses: Vec<&str> = added["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "already_in", "not_on_whatsapp"], "{added}");
    let (status, body) = app
        .post(
            &format!("{path}/participants/promote"),
            json!({"participants": [a]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, read) = app.get(&path).await;
    assert!(members(&read["group"]).contains(&(a.to_owned(), "admin".to_owned())));
    let (status, _) = app
        .post(
            &format!("{path}/participants/demote"),
            json!({"participants": [a]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, removed) = app
        .post(
            &format!("{path}/participants/remove"),
            json!({"participants": [c]}),
        )
        .await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["participants"][0]["status"], "ok");
    let (_, read) = app.get(&path).await;
    let roles = members(&read["group"]);
    assert!(
        roles.contains(&(a.to_owned(), "member".to_owned())),
        "{read}"
    );
    assert!(!roles.iter().any(|(n, _)| n == c), "{read}");
    assert!(roles.iter().any(|(n, _)| n == d), "{read}");

    // Invite links: a new one replaces the old; a phone joins with it.
    let (status, link) = app.get(&format!("{path}/invite")).await;
    assert_eq!(status, 200, "{link}");
    let (status, revoked) = app.post(&format!("{path}/invite/revoke"), json!({})).await;
    assert_eq!(status, 200, "{revoked}");
    assert_ne!(revoked["code"], link["code"]);
    let code = revoked["code"].as_str().unwrap().to_owned();
    let (status, info) = app.get(&format!("{base}/invite/{code}")).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["group"]["subject"], "Orders");
    let (status, body) = app
        .get(&format!("{base}/invite/{}", link["code"].as_str().unwrap()))
        .await;
    refused(status, &body, "code");
    let (status, joined) = admin(
        &app,
        &sim,
        &format!("/admin/phones/{e}/join"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(status, 200, "{joined}");
    let (_, read) = app.get(&path).await;
    assert!(
        members(&read["group"]).iter().any(|(n, _)| n == e),
        "{read}"
    );

    // Settings, subject and description.
    let (status, set) = app
        .post(
            &format!("{path}/settings"),
            json!({"announce": true, "disappearing_seconds": 86400, "join_approval": true}),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    let settings = &set["group"]["settings"];
    assert_eq!(settings["announce"], true, "{set}");
    assert_eq!(settings["disappearing_seconds"], 86400);
    assert_eq!(settings["join_approval"], true);
    let kept = sim_group(&app, &sim, &id).await;
    assert_eq!(kept["announcement"], true, "{kept}");
    let (status, body) = app
        .post(
            &format!("{path}/settings"),
            json!({"disappearing_seconds": 5}),
        )
        .await;
    refused(status, &body, "disappearing_seconds");
    let (status, body) = app.post(&format!("{path}/settings"), json!({})).await;
    refused(status, &body, "announce");
    let (status, updated) = send(app.request(reqwest::Method::PATCH, &path).json(&json!({
        "subject": "Orders (north)",
        "description": "Weekday orders only",
    })))
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["group"]["subject"], "Orders (north)");
    assert_eq!(updated["group"]["description"], "Weekday orders only");
    let kept = sim_group(&app, &sim, &id).await;
    assert_eq!(kept["subject"], "Orders (north)");
    assert_eq!(kept["description"]["text"], "Weekday orders only");
    // The group's picture: fetched, made a 640x640 JPEG, set; too large a
    // file is refused naming the field, before WhatsApp is asked.
    let wide = crate::contacts::halves_png(900, 300);
    let big = vec![0u8; 6 * 1024 * 1024];
    let (files, _server) = crate::support::serve_http(
        axum::Router::new()
            .route(
                "/wide.png",
                axum::routing::get(move || async move { wide.clone() }),
            )
            .route(
                "/big.jpg",
                axum::routing::get(move || async move { big.clone() }),
            ),
    )
    .await;
    let (status, body) = send(
        app.request(reqwest::Method::PATCH, &path)
            .json(&json!({"picture_url": format!("{files}/wide.png")})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let kept = sim_group(&app, &sim, &id).await;
    assert!(kept["picture"]["size"].as_u64().unwrap() > 0, "{kept}");
    let (status, body) = send(
        app.request(reqwest::Method::PATCH, &path)
            .json(&json!({"picture_url": format!("{files}/big.jpg")})),
    )
    .await;
    refused(status, &body, "picture_url");

    // Join requests: with approval on, a join waits for an admin.
    let (_, link) = app.get(&format!("{path}/invite")).await;
    let (status, pending) = admin(
        &app,
        &sim,
        &format!("/admin/phones/{f}/join"),
        json!({"code": link["code"]}),
    )
    .await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["pending"], true);
    event_named(&app, &phone, "group.join_request", |p| {
        p["group"]["id"] == json!(id) && p["participants"] == json!([f])
    })
    .await;
    let (status, requests) = app.get(&format!("{path}/requests")).await;
    assert_eq!(status, 200, "{requests}");
    assert_eq!(requests["requests"][0]["number"], f, "{requests}");
    let (status, approved) = app
        .post(
            &format!("{path}/requests/approve"),
            json!({"participants": [f]}),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["participants"][0]["status"], "ok");
    let (_, read) = app.get(&path).await;
    assert!(
        members(&read["group"]).iter().any(|(n, _)| n == f),
        "{read}"
    );

    // A group a virtual phone runs, with the gateway's phone a plain member.
    let (status, theirs) = admin(
        &app,
        &sim,
        &format!("/admin/phones/{a}/groups"),
        json!({"subject": "Suppliers", "participants": [own, b]}),
    )
    .await;
    assert_eq!(status, 201, "{theirs}");
    let theirs = theirs["group"]["jid"].as_str().unwrap().to_owned();
    let event = event_named(&app, &phone, "group.joined", |p| {
        p["group"]["id"] == json!(theirs)
    })
    .await;
    assert_eq!(event["by"], a, "{event}");
    assert_eq!(event["group"]["subject"], "Suppliers");
    // a makes b an admin, and b renames the group: the phone hears who did it.
    let digits = theirs.trim_end_matches("@g.us");
    let (status, body) = admin(
        &app,
        &sim,
        &format!("/admin/phones/{a}/groups/{digits}/participants"),
        json!({"action": "promote", "participants": [b]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let event = event_named(&app, &phone, "group.participants", |p| {
        p["group"]["id"] == json!(theirs) && p["action"] == "promoted"
    })
    .await;
    assert_eq!(event["participants"], json!([b]), "{event}");
    assert_eq!(event["by"], a);
    let (status, body) = admin(
        &app,
        &sim,
        &format!("/admin/phones/{b}/groups/{digits}/subject"),
        json!({"subject": "Suppliers (2027)"}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let event = event_named(&app, &phone, "group.updated", |p| {
        p["group"]["id"] == json!(theirs) && p["change"] == "subject"
    })
    .await;
    assert_eq!(event["value"], "Suppliers (2027)", "{event}");
    assert_eq!(event["by"], b);
    assert_eq!(event["group"]["subject"], "Suppliers (2027)");
    let their_path = format!("{base}/{theirs}");
    let (status, read) = app.get(&their_path).await;
    assert_eq!(status, 200, "{read}");
    assert!(
        read["group"].get("invite_link").is_none_or(Value::is_null),
        "not an admin: {read}"
    );
    let (status, body) = app
        .post(&format!("{their_path}/settings"), json!({"announce": true}))
        .await;
    refused(status, &body, "announce");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("403"),
        "{body}"
    );
    let (status, body) = app
        .post(
            &format!("{their_path}/participants/remove"),
            json!({"participants": [b]}),
        )
        .await;
    refused(status, &body, "participants");
    // Leaving it: then it is not the phone's group any more.
    let (status, left) = app.post(&format!("{their_path}/leave"), json!({})).await;
    assert_eq!(status, 200, "{left}");
    let (status, body) = app.get(&their_path).await;
    assert_eq!(status, 404, "{body}");

    // Removed by a group's admin: group.left.
    let (status, temp) = admin(
        &app,
        &sim,
        &format!("/admin/phones/{b}/groups"),
        json!({"subject": "Temp", "participants": [own]}),
    )
    .await;
    assert_eq!(status, 201, "{temp}");
    let temp_digits = temp["group"]["id"].as_str().unwrap().to_owned();
    let temp = temp["group"]["jid"].as_str().unwrap().to_owned();
    event_named(&app, &phone, "group.joined", |p| {
        p["group"]["id"] == json!(temp)
    })
    .await;
    let (status, body) = admin(
        &app,
        &sim,
        &format!("/admin/phones/{b}/groups/{temp_digits}/participants"),
        json!({"action": "remove", "participants": [own]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let event = event_named(&app, &phone, "group.left", |p| {
        p["group"]["id"] == json!(temp)
    })
    .await;
    assert_eq!(event["by"], b, "{event}");

    // A group the phone was never in answers as one that does not exist.
    let (status, other) = admin(
        &app,
        &sim,
        &format!("/admin/phones/{b}/groups"),
        json!({"subject": "Private", "participants": [c]}),
    )
    .await;
    assert_eq!(status, 201, "{other}");
    let (status, body) = app
        .get(&format!(
            "{base}/{}",
            other["group"]["jid"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 404, "{body}");

    // Bad input.
    let (status, body) = app.get(&format!("{base}/not-a-group")).await;
    refused(status, &body, "group_id");
    let (status, body) = app
        .post(&base, json!({"subject": "", "participants": [a]}))
        .await;
    refused(status, &body, "subject");
    let (status, body) = app
        .post(&base, json!({"subject": "X", "participants": ["abc"]}))
        .await;
    refused(status, &body, "participants[0]");
    let (status, body) = app
        .post(
            &format!("{base}/join"),
            json!({"invite": "https://chat.whatsapp.com/!!"}),
        )
        .await;
    refused(status, &body, "invite");
    app.stop().await;
    sim.shutdown();
}

/// Messages in groups: the trial cap counts every participant (a group of
/// 40 is refused on a trial phone that reached nobody; Pro sends); each
/// participant decrypts the gateway's text and image (sender keys through
/// the real clients on both sides); their replies arrive with `chat`,
/// `from` and `group`; a removed participant reads nothing more.
async fn group_messages(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Shop").await;
    let own = "919850000000";
    pair(&app, &sim, &phone, own).await;
    let crowd: Vec<String> = (1..=40).map(|i| format!("9198500010{i:02}")).collect();
    for n in &crowd {
        sim.create_phone(n);
    }
    let mut everyone: Vec<&str> = crowd.iter().map(String::as_str).collect();
    everyone.push(own);
    let (status, big) = admin(
        &app,
        &sim,
        &format!("/admin/phones/{}/groups", crowd[0]),
        json!({"subject": "Market", "participants": everyone[1..]}),
    )
    .await;
    assert_eq!(status, 201, "{big}");
    let big = big["group"]["jid"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": big, "message": "Hello all"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let reason = body["error"]["message"].as_str().unwrap();
    assert!(reason.contains("40 participants"), "{reason}");
    let (status, phone_read) = app.get(&format!("/api/phones/{phone}")).await;
    assert_eq!(status, 200);
    assert_eq!(phone_read["trial_recipients_used"], 0, "{phone_read}");
    make_pro(&app, &phone).await;
    let (status, body) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": big, "message": "Hello all"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let hello = body["message_id"].as_str().unwrap().to_owned();
    for n in [&crowd[0], &crowd[39]] {
        let got = received(&sim, n, |m| m.id == hello).await;
        assert_eq!(got.text.as_deref(), Some("Hello all"));
    }

    // A group of three made through the API.
    let [a, b, c] = ["919850000001", "919850000002", "919850000003"];
    for n in [a, b, c] {
        sim.create_phone(n);
    }
    let (status, created) = app
        .post(
            &format!("/api/phones/{phone}/groups"),
            json!({"subject": "Orders", "participants": [a, b, c]}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["group"]["group_id"].as_str().unwrap().to_owned();
    let digits = id.trim_end_matches("@g.us").to_owned();
    let (status, sent) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": id, "message": "Order 42 is ready"}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["to"], json!(id));
    let text_id = sent["message_id"].as_str().unwrap().to_owned();
    let files = serve_files().await;
    let (status, image) = app
        .post(
            "/api/send-image",
            json!({"phone_id": phone, "to": id, "url": format!("{}/photo.png", files.base), "caption": "The order"}),
        )
        .await;
    assert_eq!(status, 200, "{image}");
    let image_id = image["message_id"].as_str().unwrap().to_owned();
    for n in [a, b, c] {
        let got = received(&sim, n, |m| m.id == text_id).await;
        assert_eq!(got.text.as_deref(), Some("Order 42 is ready"), "{n}");
        assert_eq!(got.group.as_deref(), Some(digits.as_str()), "{n}");
        assert_eq!(got.from, own);
        let got = received(&sim, n, |m| {
            m.id == image_id && m.media_downloaded_sha256.is_some()
        })
        .await;
        assert_eq!(
            got.media_downloaded_sha256.as_deref(),
            Some(sha256_hex(&crate::send::png()).as_str()),
            "{n} decrypted the image"
        );
    }

    // Each participant's receipt: delivered once all three have it, read
    // once all three read it.
    let message_path = format!("/api/phones/{phone}/messages/{text_id}");
    let receipts = |want: &'static str, count: usize| {
        let app = &app;
        let message_path = message_path.clone();
        async move {
            crate::support::eventually("group receipts", || async {
                let (_, body) = app.get(&message_path).await;
                let got = body["message"]["receipts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                (got.iter().filter(|r| r["status"] == want).count() == count).then_some(body)
            })
            .await
        }
    };
    let body = receipts("delivered", 3).await;
    assert_eq!(body["message"]["status"], "delivered", "{body}");
    let mut numbers: Vec<&str> = body["message"]["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, [a, b, c]);
    sim.phone_mark_read(a, std::slice::from_ref(&text_id))
        .unwrap();
    let body = receipts("read", 1).await;
    assert_eq!(
        body["message"]["status"], "delivered",
        "one of three read it: {body}"
    );
    for n in [b, c] {
        sim.phone_mark_read(n, std::slice::from_ref(&text_id))
            .unwrap();
    }
    let body = receipts("read", 3).await;
    crate::support::eventually("read by all", || async {
        let (_, body) = app.get(&message_path).await;
        (body["message"]["status"] == "read").then_some(())
    })
    .await;
    assert_eq!(body["message"]["receipts"].as_array().unwrap().len(), 3);

    // Each participant's reply arrives naming the group and who wrote it.
    for n in [a, b, c] {
        let (status, answer) = admin(
            &app,
            &sim,
            &format!("/admin/phones/{n}/groups/{digits}/send"),
            json!({"text": format!("ok from {n}")}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let reply = answer["id"].as_str().unwrap().to_owned();
        let payload = event_named(&app, &phone, "message.received", |p| {
            p["message"]["id"] == json!(reply)
        })
        .await;
        assert_eq!(payload["from"], n, "{payload}");
        assert_eq!(payload["chat"], json!(id), "{payload}");
        assert_eq!(payload["group"]["id"], json!(id));
        assert_eq!(payload["group"]["subject"], "Orders");
        assert_eq!(payload["message"]["text"], json!(format!("ok from {n}")));
    }
    // 1:1 payloads keep the reference's shape: no `chat`, `group` null.
    let (status, answer) = admin(
        &app,
        &sim,
        &format!("/admin/phones/{a}/send"),
        json!({"to": own, "text": "just us"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let direct = answer["id"].as_str().unwrap().to_owned();
    let payload = event_named(&app, &phone, "message.received", |p| {
        p["message"]["id"] == json!(direct)
    })
    .await;
    assert!(payload.get("chat").is_none(), "{payload}");
    assert!(payload["group"].is_null(), "{payload}");

    // Removed: c reads nothing more; a and b read the next message.
    let (status, removed) = app
        .post(
            &format!("/api/phones/{phone}/groups/{id}/participants/remove"),
            json!({"participants": [c]}),
        )
        .await;
    assert_eq!(status, 200, "{removed}");
    let (status, sent) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": id, "message": "c is gone"}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let after = sent["message_id"].as_str().unwrap().to_owned();
    for n in [a, b] {
        received(&sim, n, |m| m.id == after).await;
    }
    assert!(
        !sim.phone_messages(c).iter().any(|m| m.id == after),
        "a removed participant read the next message"
    );

    // Bad group ids.
    let (status, body) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": "120363abc@g.us", "message": "x"}),
        )
        .await;
    refused(status, &body, "to");
    app.stop().await;
    sim.shutdown();
}

db_tests!(group_management, group_messages);
