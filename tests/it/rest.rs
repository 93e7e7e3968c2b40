//! The REST contract: the reference's paths, shapes and error codes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    db_tests,
    support::{Db, TestApp, send},
};

/// Every documented path with a valid body for `phone`, and the name of a
/// required field to leave out.
fn documented(phone: &str) -> Vec<(Method, String, Value, &'static str)> {
    vec![
        (
            Method::POST,
            "/api/send".into(),
            json!({"phone_id": phone, "to": "919876543210", "message": "hi"}),
            "message",
        ),
        (
            Method::POST,
            "/api/send-image".into(),
            json!({"phone_id": phone, "to": "919876543210", "url": "http://127.0.0.1:9/a.jpg"}),
            "url",
        ),
        (
            Method::POST,
            "/api/send-video".into(),
            json!({"phone_id": phone, "to": "919876543210", "url": "http://127.0.0.1:9/a.mp4"}),
            "url",
        ),
        (
            Method::POST,
            "/api/send-document".into(),
            json!({"phone_id": phone, "to": "919876543210", "url": "http://127.0.0.1:9/a.pdf", "filename": "a.pdf"}),
            "url",
        ),
        (
            Method::POST,
            "/api/send-audio".into(),
            json!({"phone_id": phone, "to": "919876543210", "url": "http://127.0.0.1:9/a.mp3"}),
            "to",
        ),
        (
            Method::POST,
            "/api/send-location".into(),
            json!({"phone_id": phone, "to": "919876543210", "lat": 28.6139, "lng": 77.209, "name": "Store"}),
            "lat",
        ),
        (
            Method::POST,
            "/api/bulk-send".into(),
            json!({"phone_id": phone, "numbers": ["919876543210"], "message": "hi", "delay": 3000}),
            "numbers",
        ),
        (
            Method::POST,
            "/api/bulk-send/sheet".into(),
            json!({"phone_id": phone, "sheet_id": "abc123", "message": "hi"}),
            "sheet_id",
        ),
        (
            Method::POST,
            "/api/webhook/set".into(),
            json!({"phone_id": phone, "webhook_url": "http://127.0.0.1:9/hook"}),
            "webhook_url",
        ),
        (
            Method::POST,
            "/api/bot/set".into(),
            json!({"phone_id": phone, "provider": "gemini", "api_key": "k"}),
            "phone_id",
        ),
    ]
}

fn without(body: &Value, field: &str) -> Value {
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove(field);
    body
}

fn assert_error(status: u16, body: &Value, want: u16, grpc: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["error"]["code"], json!(want), "{body}");
    assert_eq!(body["error"]["status"], json!(grpc), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

async fn every_documented_path_checks_token_fields_and_phone(db: Db) {
    let app = TestApp::spawn(db).await;
    let phone = app.create_phone("Business Line").await;
    let mut paths = documented("ph_doesnotexist");
    paths.push((Method::GET, "/api/phones".into(), Value::Null, ""));
    paths.push((
        Method::GET,
        "/api/phones/ph_doesnotexist/status".into(),
        Value::Null,
        "",
    ));
    for (method, path, body, missing) in paths {
        // 401 without a token.
        let mut request = app.http.request(method.clone(), app.url(&path));
        if !body.is_null() {
            request = request.json(&body);
        }
        let (status, err) = send(request).await;
        assert_error(status, &err, 401, "UNAUTHENTICATED");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("missing bearer token"),
            "{path}: {err}"
        );
        if body.is_null() {
            continue;
        }
        // 400 naming the missing field.
        let (status, err) = send(
            app.request(method.clone(), &path)
                .json(&without(&body, missing)),
        )
        .await;
        assert_error(status, &err, 400, "INVALID_ARGUMENT");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{missing}:")),
            "{path}: {err}"
        );
        // 404 for an unknown phone.
        let (status, err) = send(app.request(method.clone(), &path).json(&body)).await;
        assert_error(status, &err, 404, "NOT_FOUND");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("ph_doesnotexist"),
            "{path}: {err}"
        );
    }
    let (status, err) = app.get("/api/phones/ph_doesnotexist/status").await;
    assert_error(status, &err, 404, "NOT_FOUND");
    // The known phone is pending: sends answer 404 "not connected", as the reference says.
    for (method, path, body, _) in documented(&phone).into_iter().take(7) {
        let (status, err) = send(app.request(method, &path).json(&body)).await;
        assert_error(status, &err, 404, "NOT_FOUND");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not connected"),
            "{path}: {err}"
        );
    }
    app.stop().await;
}

async fn list_phones_and_status_have_the_reference_shapes(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, body) = app.get("/api/phones").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"success": true, "phones": []}));

    let phone = app.create_phone("Business Line").await;
    assert!(phone.starts_with("ph_"), "{phone}");
    let (status, body) = app.get("/api/phones").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"success": true, "phones": [{
            "phone_id": phone, "number": null, "name": "Business Line",
            "status": "pending", "plan": "trial"
        }]})
    );

    let (status, body) = app.get(&format!("/api/phones/{phone}/status")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phone_id"], json!(phone));
    assert_eq!(body["status"], json!("pending"));
    assert_eq!(body["battery"], Value::Null, "battery is never invented");
    assert!(body.as_object().unwrap().contains_key("battery"));
    assert!(body.as_object().unwrap().contains_key("last_seen"));
    assert!(
        body.get("success").is_none(),
        "the reference shows status without success: {body}"
    );

    let (status, body) = app.get(&format!("/api/phones/{phone}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phone"]["phone_id"], json!(phone));
    assert!(
        body["created_at"].as_str().unwrap().ends_with('Z'),
        "{body}"
    );
    app.stop().await;
}

async fn another_accounts_phone_is_not_found(db: Db) {
    let app = TestApp::spawn(db).await;
    let phone = app.create_phone("Mine").await;
    let other = wadesk::store::accounts::create(&app.core.db, "other")
        .await
        .unwrap();
    let other_token = crate::support::issue_token(&app.core, &other.id, None).await;
    let (status, body) = send(
        app.http
            .get(app.url(&format!("/api/phones/{phone}/status")))
            .bearer_auth(&other_token),
    )
    .await;
    assert_error(status, &body, 404, "NOT_FOUND");
    let (_, list) = send(
        app.http
            .get(app.url("/api/phones"))
            .bearer_auth(&other_token),
    )
    .await;
    assert_eq!(list["phones"], json!([]));
    // Deleting works for the owner only.
    let (status, _) = send(
        app.http
            .delete(app.url(&format!("/api/phones/{phone}")))
            .bearer_auth(&other_token),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = send(app.request(Method::DELETE, &format!("/api/phones/{phone}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get("/api/phones").await.1["phones"], json!([]));
    app.stop().await;
}

async fn bad_json_and_unknown_paths_get_clear_errors(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, body) = app
        .post("/api/phones", json!({"name": "x", "colour": "red"}))
        .await;
    assert_error(status, &body, 400, "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );

    let (status, body) = send(
        app.request(Method::POST, "/api/phones")
            .header("content-type", "application/json")
            .body("{\"name\": "),
    )
    .await;
    assert_error(status, &body, 400, "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("column"),
        "{body}"
    );

    let (status, body) = app
        .post(
            "/api/send-location",
            json!({"phone_id": "ph_x", "to": "919876543210", "lat": 95.0, "lng": 0}),
        )
        .await;
    assert_error(status, &body, 400, "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("lat"),
        "{body}"
    );

    let (status, body) = app
        .post(
            "/api/send",
            json!({"phone_id": "ph_x", "to": "12ab", "message": "hi"}),
        )
        .await;
    assert_error(status, &body, 400, "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("to:"),
        "{body}"
    );

    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": "ph_x", "provider": "claude", "api_key": "k"}),
        )
        .await;
    assert_error(status, &body, 400, "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("provider"),
        "{body}"
    );

    let (status, body) = app.get("/api/nothing-here").await;
    assert_error(status, &body, 404, "NOT_FOUND");
    let (status, body) = send(app.http.get(app.url("/nope"))).await;
    assert_error(status, &body, 404, "NOT_FOUND");
    app.stop().await;
}

async fn trial_phone_cannot_configure_the_bot(db: Db) {
    let app = TestApp::spawn(db).await;
    let phone = app.create_phone("Line").await;
    let (status, body) = app
        .post(
            "/api/bot/set",
            json!({"phone_id": phone, "provider": "openai", "api_key": "sk-test"}),
        )
        .await;
    assert_error(status, &body, 403, "PERMISSION_DENIED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Pro plan only"),
        "{body}"
    );
    app.stop().await;
}

async fn openapi_and_health_need_no_token(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, doc) = send(app.http.get(app.url("/openapi.json"))).await;
    assert_eq!(status, 200);
    for path in [
        "/api/send",
        "/api/bulk-send",
        "/api/phones",
        "/api/phones/{phone_id}/status",
        "/api/webhook/set",
    ] {
        assert!(doc["paths"].get(path).is_some(), "openapi lacks {path}");
    }
    let (status, body) = send(app.http.get(app.url("/healthz"))).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, body) = send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"status": "ready", "checks": {
                "database": "ok", "migrations": "ok", "sessions": "started", "draining": false
            }})
        )
    );
    // A browser on another origin may call the API.
    let response = app
        .http
        .request(Method::OPTIONS, app.url("/api/phones"))
        .header("origin", "https://dashboard.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert!(
        response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    app.stop().await;
}

db_tests!(
    every_documented_path_checks_token_fields_and_phone,
    list_phones_and_status_have_the_reference_shapes,
    another_accounts_phone_is_not_found,
    bad_json_and_unknown_paths_get_clear_errors,
    trial_phone_cannot_configure_the_bot,
    openapi_and_health_need_no_token,
);
