//! Unary REST calls: routing, JSON both ways, errors.

use serde_json::json;

use crate::{Probe, app, app_with, assert_error, gateway, get, post, send};

#[tokio::test]
async fn get_with_path_query_and_headers() {
    let app = app();
    let r = send(
        &app,
        "GET",
        "/api/things/t%201?status=on-hold&count=12345678901234&tags=a&tags=b%2Bc&filter.owner=ann",
        None,
        &[
            ("authorization", "Bearer tok"),
            ("x-request-id", "rq-1"),
            ("connection", "keep-alive"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: Vec<&str> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "success",
            "thing_id",
            "name",
            "status",
            "count",
            "big",
            "battery",
            "created_at",
            "tags",
            "scores",
            "label",
            "plan",
            "note",
            "blob",
            "history",
            "seen_headers",
            "ratio"
        ]
    );
    assert_eq!(r.json["success"], true);
    assert_eq!(r.json["thing_id"], "t 1");
    assert_eq!(r.json["status"], "on-hold");
    assert_eq!(r.json["tags"], json!(["a", "b+c"]));
    assert_eq!(r.json["label"], json!({"text": "ann"}));
    // Stable shapes: defaults present, unset presence fields null.
    assert_eq!(r.json["big"], 0);
    assert_eq!(r.json["plan"], "unspecified");
    assert_eq!(r.json["battery"], json!(null));
    assert_eq!(r.json["created_at"], json!(null));
    assert_eq!(r.json["note"], json!(null));
    assert_eq!(r.json["scores"], json!({}));
    assert_eq!(r.json["history"], json!([]));
    // 64-bit integers are numbers.
    assert!(r.text.contains("\"count\":12345678901234"), "{}", r.text);
    let seen = r.json["seen_headers"].as_str().unwrap();
    for header in ["authorization", "x-request-id"] {
        assert!(
            seen.split(',').any(|h| h == header),
            "{header} not forwarded: {seen}"
        );
    }
    for header in ["host", "content-length", "connection"] {
        assert!(
            !seen.split(',').any(|h| h == header),
            "{header} forwarded: {seen}"
        );
    }
}

#[tokio::test]
async fn additional_binding_with_multi_segment_variable() {
    let r = get(&app(), "/api/v2/shelves/s1/things/t2").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], "shelves/s1");
    assert_eq!(r.json["thing_id"], "t2");
}

#[tokio::test]
async fn body_star_round_trips_every_kind() {
    let body = r#"{
        "thing_id": "t9", "name": "Nine", "status": "THING_STATUS_ACTIVE",
        "count": "9007199254740993", "big": 18446744073709551615, "battery": 87,
        "created_at": "2025-04-16T10:30:00Z", "tags": ["x"], "scores": {"a": "5", "b": 6},
        "label": {"text": "L"}, "plan": "pro", "note": "hi", "blob": "aGk=",
        "history": [2, "on-hold", "active", "THING_STATUS_UNSPECIFIED"], "ratio": 0.1
    }"#;
    let r = post(&app(), "/api/things", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"], "active");
    assert!(r.text.contains("\"count\":9007199254740993"), "{}", r.text);
    assert!(
        r.text.contains("\"big\":18446744073709551615"),
        "{}",
        r.text
    );
    assert_eq!(r.json["battery"], 87);
    assert_eq!(r.json["created_at"], "2025-04-16T10:30:00Z");
    assert_eq!(r.json["scores"], json!({"a": 5, "b": 6}));
    assert_eq!(r.json["plan"], "pro");
    assert_eq!(r.json["note"], "hi");
    assert_eq!(r.json["blob"], "aGk=");
    assert_eq!(
        r.json["history"],
        json!(["on-hold", "on-hold", "active", "unspecified"])
    );
    assert!(
        r.text.contains("\"ratio\":0.1,") || r.text.ends_with("\"ratio\":0.1}"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn body_field_and_query() {
    let r = send(
        &app(),
        "PATCH",
        "/api/things/t3?dry_run=true",
        Some(r#"{"name": "x"}"#),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["thing_id"], "t3");
    assert_eq!(r.json["name"], "x (dry run)");
    // The PUT additional binding takes the whole message as body.
    let body = r#"{"thing": {"name": "y"}, "dry_run": true}"#;
    let r = send(&app(), "PUT", "/api/things/t3", Some(body), &[]).await;
    assert_eq!(
        (r.json["thing_id"].as_str(), r.json["name"].as_str()),
        (Some("t3"), Some("y (dry run)"))
    );
}

#[tokio::test]
async fn response_body_and_nested_path_variable() {
    let app = app();
    let r = get(&app, "/api/things/t4/label").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({"success": true, "text": "label of t4"}));

    let r = post(&app, "/api/owners/bob/things", r#"{"thing_id": "t5"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["thing_id"], "t5");
    assert_eq!(r.json["label"]["text"], "bob");
}

#[tokio::test]
async fn literal_segments_win_over_variables() {
    let app = app();
    let r = post(&app, "/api/bulk/sheet", r#"{"sheet_id": "s1"}"#).await;
    assert_eq!(
        (r.json["handled_by"].as_str(), r.json["bulk_id"].as_str()),
        (Some("ImportSheet"), Some("s1"))
    );
    let r = get(&app, "/api/bulk/b1").await;
    assert_eq!(
        (r.json["handled_by"].as_str(), r.json["bulk_id"].as_str()),
        (Some("GetBulk"), Some("b1"))
    );
    // Same method: the literal binding wins over the variable one.
    let r = get(&app, "/api/bulk/stats").await;
    assert_eq!(r.json["handled_by"], "GetBulkStats", "{}", r.text);
    // GET on the literal path falls through to the variable binding.
    let r = get(&app, "/api/bulk/sheet").await;
    assert_eq!(
        (r.json["handled_by"].as_str(), r.json["bulk_id"].as_str()),
        (Some("GetBulk"), Some("sheet"))
    );
    let r = send(&app, "POST", "/api/bulk/b1/cancel", None, &[]).await;
    assert_eq!(r.json["handled_by"], "CancelBulk", "{}", r.text);
    // A body-less rule refuses a JSON body instead of silently dropping it.
    let r = post(&app, "/api/bulk/b1/cancel", r#"{"bulk_id": "b2"}"#).await;
    assert!(assert_error(&r, 400, "INVALID_ARGUMENT").contains("query parameters"));
}

#[tokio::test]
async fn wrong_method_is_405_and_unknown_path_is_left_to_the_fallback() {
    let app = app();
    let r = send(&app, "POST", "/api/things/t1", Some("{}"), &[]).await;
    let message = assert_error(&r, 405, "UNIMPLEMENTED");
    assert!(message.contains("POST"), "{message}");
    let allow = r.headers.get("allow").unwrap().to_str().unwrap();
    for m in ["GET", "PATCH", "PUT", "DELETE"] {
        assert!(allow.contains(m), "{allow}");
    }
    let r = get(&app, "/api/nothing/here").await;
    assert_eq!(assert_error(&r, 404, "NOT_FOUND"), "no such path");
}

#[tokio::test]
async fn bad_input_is_400_naming_the_problem() {
    let app = app();
    let cases = [
        (r#"{"thing_id": "x", "colour": "red"}"#, "colour"),
        (r#"{"label": {"txt": "a"}}"#, "label.txt"),
        (r#"{"thing_id": "x",}"#, "line 1 column 18"),
        (r#"{"count": "abc"}"#, "count"),
        (r#"{"battery": 3000000000}"#, "battery"),
        (r#"{"status": "bogus"}"#, "\"on-hold\""),
        (r#"{"tags": "x"}"#, "tags"),
        (r#"{"tags": ["a", 1]}"#, "tags[1]"),
        (r#"{"created_at": "yesterday"}"#, "created_at"),
        (r#"[1, 2]"#, "JSON object"),
    ];
    for (body, needle) in cases {
        let r = post(&app, "/api/things", body).await;
        let message = assert_error(&r, 400, "INVALID_ARGUMENT");
        assert!(
            message.contains(needle),
            "{body}: `{message}` lacks `{needle}`"
        );
    }
    let r = get(&app, "/api/things/t1?colour=red").await;
    assert!(assert_error(&r, 400, "INVALID_ARGUMENT").contains("colour"));
    let r = get(&app, "/api/things/t1?count=12x").await;
    assert!(assert_error(&r, 400, "INVALID_ARGUMENT").contains("count"));
    let r = get(&app, "/api/things/t1?thing_id=other").await;
    assert!(assert_error(&r, 400, "INVALID_ARGUMENT").contains("thing_id"));
}

#[tokio::test]
async fn grpc_errors_map_to_http() {
    let app = app();
    let table = [
        (3, 400, "INVALID_ARGUMENT"),
        (9, 400, "FAILED_PRECONDITION"),
        (11, 400, "OUT_OF_RANGE"),
        (16, 401, "UNAUTHENTICATED"),
        (7, 403, "PERMISSION_DENIED"),
        (5, 404, "NOT_FOUND"),
        (6, 409, "ALREADY_EXISTS"),
        (10, 409, "ABORTED"),
        (1, 499, "CANCELLED"),
        (12, 501, "UNIMPLEMENTED"),
        (14, 503, "UNAVAILABLE"),
        (4, 504, "DEADLINE_EXCEEDED"),
        (13, 500, "INTERNAL"),
        (2, 500, "UNKNOWN"),
        (15, 500, "DATA_LOSS"),
    ];
    for (code, http, name) in table {
        let body = json!({"code": code, "message": "phone ph_1: ça a échoué à 100%"}).to_string();
        let r = post(&app, "/api/fail", &body).await;
        assert_eq!(
            assert_error(&r, http, name),
            "phone ph_1: ça a échoué à 100%"
        );
    }
}

/// A rate limit and a service asking to be retried both say when.
#[tokio::test]
async fn rate_limit_and_unavailable_carry_retry_after() {
    for (code, http, name, secs) in [
        (8, 429, "RESOURCE_EXHAUSTED", "30"),
        (14, 503, "UNAVAILABLE", "5"),
    ] {
        let body = format!(r#"{{"code": {code}, "message": "later", "retry_after": "{secs}"}}"#);
        let r = post(&app(), "/api/fail", &body).await;
        assert_eq!(assert_error(&r, http, name), "later");
        assert_eq!(r.headers.get("retry-after").unwrap(), secs);
    }
}

#[tokio::test]
async fn omit_success_and_empty_request() {
    let r = get(&app(), "/api/ping").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, r#"{"pong":"pong"}"#);
}

#[tokio::test]
async fn body_limit_is_413() {
    let app = app_with(&gateway().with_body_limit(64), Probe::default());
    let body = json!({"name": "x".repeat(200)}).to_string();
    let r = post(&app, "/api/things", &body).await;
    assert_error(&r, 413, "RESOURCE_EXHAUSTED");
}

#[test]
fn error_response_shape() {
    let body = wadesk_gateway::error_body(http::StatusCode::NOT_FOUND, "NOT_FOUND", "gone");
    assert_eq!(
        body.to_string(),
        r#"{"success":false,"error":{"code":404,"status":"NOT_FOUND","message":"gone"}}"#
    );
}
