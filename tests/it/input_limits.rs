//! What one request may send (issue 18, "Limits"): bodies, the request
//! target, headers, JSON nesting and list lengths each have a limit, and
//! past it the answer is a clear error in the API's JSON shape, early: a
//! body is refused before it is read whole.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::support::{Db, TestApp};

/// The status and JSON body of the one HTTP/1.1 response on `stream`
/// (Content-Length framed, as the gateway's errors are).
async fn read_response(mut stream: impl AsyncReadExt + Unpin) -> (u16, Value) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let status: u16 = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = &buf[end + 4..buf.len().min(end + 4 + length)];
            return (status, serde_json::from_slice(body).unwrap_or(Value::Null));
        }
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return (0, Value::Null);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The API's error shape with this HTTP status and gRPC status name; the
/// message.
fn error_message(status: u16, body: &Value, http: u16, grpc: &str) -> String {
    assert_eq!(status, http, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"]["code"], http, "{body}");
    assert_eq!(body["error"]["status"], grpc, "{body}");
    body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A Content-Length over the limit is answered 413 at once, without the
/// server waiting for (or reading) the body; before, it read the body up
/// to the limit first, so a client that declared 100 MB and sent nothing
/// got no answer at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let app = TestApp::spawn_with(Db::Sqlite, |c| {
        c.server.max_body_bytes = 64 * 1024;
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n",
        app.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Not a byte of the body is sent.
    let (status, body) = tokio::time::timeout(Duration::from_secs(3), read_response(&mut stream))
        .await
        .expect("answered without the body");
    let message = error_message(status, &body, 413, "RESOURCE_EXHAUSTED");
    assert!(message.contains("65536 bytes"), "{message}");

    // Same with `Expect: 100-continue`: no 100, the 413 straight away.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 70000\r\nExpect: 100-continue\r\n\r\n",
        app.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (status, _) = tokio::time::timeout(Duration::from_secs(3), read_response(&mut stream))
        .await
        .expect("answered without the body");
    assert_eq!(status, 413);
    app.stop().await;
}

/// A huge chunked body sent slowly is cut off once it passes the limit:
/// the 413 comes after about the limit's worth, not after the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_chunked_body_gets_413_as_soon_as_it_passes_the_limit() {
    let limit = 64 * 1024;
    let app = TestApp::spawn_with(Db::Sqlite, |c| {
        c.server.max_body_bytes = limit;
    })
    .await;
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /api/send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.token
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let answer = tokio::spawn(read_response(reader));
    // 16 MiB in 8 KiB chunks, 10 ms apart: 20 s if it were all read.
    let chunk = [b' '; 8192];
    let started = Instant::now();
    let mut sent = 0usize;
    while sent < 16 << 20 && !answer.is_finished() {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        if writer.write_all(&frame).await.is_err() {
            break;
        }
        sent += chunk.len();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), answer)
        .await
        .expect("answered")
        .unwrap();
    let message = error_message(status, &body, 413, "RESOURCE_EXHAUSTED");
    assert!(message.contains("larger than 65536 bytes"), "{message}");
    assert!(
        sent < 1 << 20,
        "413 only after {sent} bytes (limit {limit})"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "413 after {:?}",
        started.elapsed()
    );
    app.stop().await;
}

/// gRPC messages are held to the same limit, and gRPC metadata to the
/// header limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_message_over_the_limit_is_resource_exhausted() {
    use wadesk::proto::{SendTextRequest, send_service_client::SendServiceClient};
    let app = TestApp::spawn_with(Db::Sqlite, |c| {
        c.server.max_body_bytes = 16 * 1024;
    })
    .await;
    let mut client = SendServiceClient::connect(app.base.clone()).await.unwrap();
    let mut request = tonic::Request::new(SendTextRequest {
        phone_id: "ph_x".into(),
        to: "919876543210".into(),
        message: "x".repeat(20 * 1024),
        ..Default::default()
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", app.token).parse().unwrap(),
    );
    let status = client.send_text(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");

    // Metadata over server.max_header_bytes: the same code, not an HTTP
    // 431 a gRPC client would read as UNKNOWN.
    let mut request = tonic::Request::new(SendTextRequest::default());
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", app.token).parse().unwrap(),
    );
    request
        .metadata_mut()
        .insert("x-big", "b".repeat(20 * 1024).parse().unwrap());
    let status = client.send_text(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("server.max_header_bytes"),
        "{status:?}"
    );
    app.stop().await;
}

/// A request target over `server.max_uri_bytes` gets 414 naming the path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_path_or_query_gets_414() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let long_path = format!("/api/phones/{}", "p".repeat(9000));
    let (status, body) = app.get(&long_path).await;
    let message = error_message(status, &body, 414, "RESOURCE_EXHAUSTED");
    assert!(
        message.contains("/api/phones/ppp") && message.contains("server.max_uri_bytes"),
        "{message}"
    );
    let long_query = format!("/api/phones?x={}", "q".repeat(9000));
    let (status, body) = app.get(&long_query).await;
    error_message(status, &body, 414, "RESOURCE_EXHAUSTED");
    // Just under it, the request is served.
    let (status, _) = app.get(&format!("/api/phones?{}", "&".repeat(8000))).await;
    assert_eq!(status, 200);
    app.stop().await;
}

/// Too many header fields, or too many bytes of them, get 431 in the API's
/// shape; far past the limit hyper answers 431 itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_or_too_large_headers_get_431() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let mut many = app.request(reqwest::Method::GET, "/api/phones");
    for i in 0..150 {
        many = many.header(format!("x-h{i}"), "1");
    }
    let (status, body) = crate::support::send(many).await;
    let message = error_message(status, &body, 431, "RESOURCE_EXHAUSTED");
    assert!(message.contains("header fields"), "{message}");

    let big = app
        .request(reqwest::Method::GET, "/api/phones")
        .header("x-big", "b".repeat(20 * 1024));
    let (status, body) = crate::support::send(big).await;
    let message = error_message(status, &body, 431, "RESOURCE_EXHAUSTED");
    assert!(message.contains("`x-big`"), "{message}");

    let huge = app
        .request(reqwest::Method::GET, "/api/phones")
        .header("x-huge", "h".repeat(200 * 1024));
    if let Ok(response) = huge.send().await {
        assert_eq!(response.status().as_u16(), 431);
    }
    // The server is fine afterwards.
    assert_eq!(app.get("/api/phones").await.0, 200);
    app.stop().await;
}

fn nested(depth: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
}

/// JSON nested past `server.max_json_depth` is a 400 saying so, also past
/// serde_json's own limit of 128 and far past it (no stack overflow).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_json_gets_a_clear_400() {
    let app = TestApp::spawn(Db::Sqlite).await;
    for depth in [33, 129, 200, 100_000] {
        let body = format!(r#"{{"phone_id": {}}}"#, nested(depth, "1"));
        let (status, reply) = crate::support::send(
            app.request(reqwest::Method::POST, "/api/send")
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        let message = error_message(status, &reply, 400, "INVALID_ARGUMENT");
        assert!(
            message.contains("more than 32 levels deep"),
            "{depth}: {message}"
        );
    }
    // Within the limit the body is read as usual, and the field is named.
    let (status, reply) = app.post("/api/send", json!({"phone_id": [[[[1]]]]})).await;
    let message = error_message(status, &reply, 400, "INVALID_ARGUMENT");
    assert!(message.contains("`phone_id`"), "{message}");
    app.stop().await;
}

/// A list longer than `server.max_list_items` is a 400 naming the field, in
/// a body or as a repeated query parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lists_get_a_400_naming_the_field() {
    let app = TestApp::spawn_with(Db::Sqlite, |c| {
        c.server.max_list_items = 10;
        c.bulk.max_numbers = 10;
    })
    .await;
    let numbers: Vec<String> = (0..11).map(|i| format!("9198765432{i:02}")).collect();
    let (status, reply) = app
        .post(
            "/api/bulk-send",
            json!({"phone_id": "ph_x", "numbers": numbers, "message": "hi"}),
        )
        .await;
    let message = error_message(status, &reply, 400, "INVALID_ARGUMENT");
    assert_eq!(message, "field `numbers`: at most 10 items, got 11");
    // Ten are fine as far as the list goes (the phone is unknown).
    let (status, _) = app
        .post(
            "/api/bulk-send",
            json!({"phone_id": "ph_x", "numbers": &numbers[..10], "message": "hi"}),
        )
        .await;
    assert_eq!(status, 404);

    let query: String = (0..11).map(|_| "events=message.received&").collect();
    let (status, reply) = app.get(&format!("/api/events?{query}")).await;
    let message = error_message(status, &reply, 400, "INVALID_ARGUMENT");
    assert!(message.contains("`events`"), "{message}");
    app.stop().await;
}

/// bulk.max_numbers above server.max_list_items could never be reached over
/// REST: the configuration is refused.
#[test]
fn bulk_numbers_may_not_exceed_the_list_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = wadesk::config::Config::for_data_dir(dir.path());
    config.bulk.max_numbers = 200_000;
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("server.max_list_items"), "{err}");
}
