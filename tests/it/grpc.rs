//! gRPC over real TCP (tonic client), gRPC-web over HTTP/1.1, and a client
//! in another language (Python grpcio).

use prost::Message;
use tonic::{
    Code, Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};
use wadesk::proto::{self, phone_service_client::PhoneServiceClient};

use crate::{
    db_tests,
    support::{Db, TestApp},
};

#[derive(Clone)]
pub struct Bearer(pub Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type PhoneClient = PhoneServiceClient<InterceptedService<Channel, Bearer>>;

pub async fn phone_client(app: &TestApp, token: &str) -> PhoneClient {
    let channel = Channel::from_shared(app.base.clone())
        .unwrap()
        .connect()
        .await
        .expect("h2c connection");
    let bearer = (!token.is_empty()).then(|| format!("Bearer {token}").parse().unwrap());
    PhoneServiceClient::with_interceptor(channel, Bearer(bearer))
}

async fn tonic_client_over_tcp(db: Db) {
    let app = TestApp::spawn(db).await;
    let phone = app.create_phone("Business Line").await;

    let mut anonymous = phone_client(&app, "").await;
    let err = anonymous
        .list_phones(proto::ListPhonesRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let mut client = phone_client(&app, &app.token).await;
    let phones = client
        .list_phones(proto::ListPhonesRequest {})
        .await
        .unwrap()
        .into_inner()
        .phones;
    assert_eq!(phones.len(), 1);
    assert_eq!(phones[0].phone_id, phone);
    assert_eq!(
        phones[0].status(),
        proto::PhoneStatus::Pending,
        "gRPC sees typed enums"
    );
    assert_eq!(phones[0].plan(), proto::Plan::Trial);

    let err = client
        .get_phone_status(proto::GetPhoneStatusRequest {
            phone_id: "ph_nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .create_phone(proto::CreatePhoneRequest { name: " ".into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("name:"), "{}", err.message());

    // Health needs no token.
    let channel = Channel::from_shared(app.base.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        serving.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    app.stop().await;
}

async fn grpc_web_over_http1(db: Db) {
    let app = TestApp::spawn(db).await;
    let phone = app.create_phone("Web").await;
    let http1 = reqwest::Client::builder().http1_only().build().unwrap();
    // One uncompressed, empty ListPhonesRequest frame.
    let frame = vec![0u8, 0, 0, 0, 0];
    let response = http1
        .post(app.url("/wadesk.v1.PhoneService/ListPhones"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("origin", "https://dashboard.example")
        .bearer_auth(&app.token)
        .body(frame)
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    let body = response.bytes().await.unwrap();
    // A data frame with the message, then a trailers frame (flag 0x80).
    assert_eq!(body[0], 0);
    let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
    let message = proto::ListPhonesResponse::decode(&body[5..5 + len]).unwrap();
    assert_eq!(message.phones[0].phone_id, phone);
    let trailers = &body[5 + len..];
    assert_eq!(trailers[0], 0x80);
    let text = String::from_utf8_lossy(&trailers[5..]);
    assert!(text.contains("grpc-status:0"), "{text}");
    app.stop().await;
}

/// Issue 18, defect 6: a request with no message at all is the caller's
/// error (INVALID_ARGUMENT), over gRPC and gRPC-web; it was INTERNAL.
async fn empty_request_body_is_invalid_argument(db: Db) {
    use tower::ServiceExt;
    let app = TestApp::spawn(db).await;
    let h2 = Channel::from_shared(app.base.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = http::Request::post(app.url("/wadesk.v1.PhoneService/ListPhones"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {}", app.token))
        .body(tonic::body::Body::empty())
        .unwrap();
    let response = h2.oneshot(request).await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(header("grpc-status"), "3", "{:?}", response.headers());
    assert!(header("grpc-message").contains("no%20message"));

    let http1 = reqwest::Client::builder().http1_only().build().unwrap();
    let response = http1
        .post(app.url("/wadesk.v1.PhoneService/ListPhones"))
        .header("content-type", "application/grpc-web+proto")
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = format!("{:?}", response.headers());
    let body = response.bytes().await.unwrap();
    let all = format!("{headers} {}", String::from_utf8_lossy(&body));
    assert!(
        all.contains("\"grpc-status\": \"3\"") || all.contains("grpc-status:3"),
        "{all}"
    );
    app.stop().await;
}

/// Python grpcio with stubs generated from proto/ (scripts/test installs
/// grpcio-tools in a virtualenv and sets WADESK_TEST_PYTHON).
async fn python_grpcio_client_lists_phones(db: Db) {
    let Ok(python) = std::env::var("WADESK_TEST_PYTHON") else {
        eprintln!(
            "skipping the Python grpcio client: WADESK_TEST_PYTHON is not set (scripts/test sets it)"
        );
        return;
    };
    let app = TestApp::spawn(db).await;
    let phone = app.create_phone("From Python").await;
    let output = tokio::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/list_phones.py"
        ))
        .env("WADESK_ADDR", app.addr.to_string())
        .env("WADESK_TOKEN", &app.token)
        .env(
            "WADESK_PROTO_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/proto"),
        )
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!(
            "{phone} From Python PHONE_STATUS_PENDING PLAN_TRIAL"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("unauthenticated: UNAUTHENTICATED"),
        "{stdout}"
    );
    // grpcio-reflection speaks v1alpha only: the services it lists, and a
    // call made from the descriptors it fetched.
    for service in [
        "wadesk.v1.PhoneService",
        "wadesk.v1.SendService",
        "wadesk.v1.MessageService",
    ] {
        assert!(
            stdout.contains(&format!("reflected service: {service}\n")),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains(&format!("reflected phone: {phone} From Python")),
        "{stdout}"
    );
    app.stop().await;
}

/// A real gRPC-web client library (@connectrpc/connect's grpc-web transport,
/// in node, as a browser dashboard would use it) reads the event stream:
/// the replay after a cursor, then live events, in order.
async fn grpc_web_client_library_reads_the_event_stream(db: Db) {
    let Ok(node) = std::env::var("WADESK_TEST_NODE") else {
        eprintln!(
            "skipping the gRPC-web client library: WADESK_TEST_NODE is not set (scripts/test sets it)"
        );
        return;
    };
    use tokio::io::AsyncBufReadExt as _;
    let app = TestApp::spawn(db).await;
    let phone = app.create_phone("Dashboard").await;
    let append = async |text: &str| app.append_event(&phone, text).await.id;
    // Resume after an event the client has "seen" (cursor 0 would mean now).
    append("seen before").await;
    let start = wadesk::store::events::head(&app.core.db).await.unwrap();
    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        ids.push(append(text).await);
    }
    let mut child = tokio::process::Command::new(node)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/node/subscribe.mjs"
        ))
        .env("WADESK_ADDR", app.addr.to_string())
        .env("WADESK_TOKEN", &app.token)
        .env("PHONE_ID", &phone)
        .env("CURSOR", start.to_string())
        .env("COUNT", "5")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || -> serde_json::Value {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("an event within 30 s")
            .unwrap()
            .expect("the client is still running");
        serde_json::from_str(&line).unwrap()
    };
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next().await);
    }
    // Live, after the replay.
    for text in ["four", "five"] {
        ids.push(append(text).await);
    }
    for _ in 0..2 {
        got.push(next().await);
    }
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("the client ends")
        .unwrap();
    assert!(status.success());
    let texts: Vec<&str> = got.iter().map(|e| e["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["one", "two", "three", "four", "five"]);
    let got_ids: Vec<&str> = got
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(got_ids, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let cursors: Vec<u64> = got
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    assert!(
        got.iter()
            .all(|e| e["phone_id"] == serde_json::json!(phone))
    );
    app.stop().await;
}

db_tests!(
    grpc_web_client_library_reads_the_event_stream,
    tonic_client_over_tcp,
    grpc_web_over_http1,
    empty_request_body_is_invalid_argument,
    python_grpcio_client_lists_phones
);
