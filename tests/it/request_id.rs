//! Request ids: taken from `X-Request-Id` or made, answered in the header
//! over REST, gRPC and errors' bodies, and on every log line of the request
//! (JSON logs, with the phone and message ids as fields).

use std::{io::Read as _, process::Stdio, time::Duration};

use serde_json::{Value, json};
use wadesk::proto;
use wadesk_sim::{SimConfig, Simulator};

use crate::{
    grpc::phone_client,
    process::Gateway,
    support::{Db, TestApp, send},
};

fn id_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("every answer has a request id")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_answered_and_in_error_bodies() {
    let app = TestApp::spawn(Db::Sqlite).await;

    // A caller's id comes back as it was sent.
    let response = app
        .request(reqwest::Method::GET, "/api/phones")
        .header("x-request-id", "checkout-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(id_of(&response), "checkout-7f3a");

    // Without one (or with one that is not 1-128 visible ASCII
    // characters) the gateway makes a new one per request.
    let first = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    let second = app
        .http
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "a".repeat(129))
        .send()
        .await
        .unwrap();
    let (first, second) = (id_of(&first), id_of(&second));
    assert!(
        first.starts_with("req_") && second.starts_with("req_"),
        "{first} {second}"
    );
    assert_ne!(first, second);

    // Errors name it in the body too: a bad field, an unknown path, a
    // missing token.
    for (request, status) in [
        (
            app.request(reqwest::Method::POST, "/api/send")
                .json(&json!({"phone_id": "ph_nope", "to": "", "message": "hi"})),
            400,
        ),
        (app.request(reqwest::Method::GET, "/api/nowhere"), 404),
        (app.http.get(format!("{}/api/phones", app.base)), 401),
    ] {
        let response = request
            .header("x-request-id", "err-1")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(id_of(&response), "err-1");
        let length: usize = response.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["request_id"], "err-1", "{body}");
        assert_eq!(body["error"]["code"], status, "{body}");
        assert_eq!(length, body.to_string().len());
    }

    // gRPC callers get it as response metadata, on success and on error.
    let mut client = phone_client(&app, &app.token).await;
    let mut request = tonic::Request::new(proto::ListPhonesRequest {});
    request
        .metadata_mut()
        .insert("x-request-id", "grpc-call-1".parse().unwrap());
    let answer = client.list_phones(request).await.unwrap();
    assert_eq!(
        answer.metadata().get("x-request-id").unwrap(),
        "grpc-call-1"
    );
    let mut anonymous = phone_client(&app, "").await;
    let err = anonymous
        .list_phones(proto::ListPhonesRequest {})
        .await
        .unwrap_err();
    assert!(
        err.metadata()
            .get("x-request-id")
            .is_some_and(|v| v.to_str().unwrap().starts_with("req_")),
        "{err:?}"
    );
    app.stop().await;
}

/// A real process with `log.format = "json"`: the send's log line carries
/// the request id (from its span) and the phone and message ids as fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_request_phone_and_message_ids() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::new(&Db::Sqlite, &sim, &dir, &[("WADESK__LOG__FORMAT", "json")]).await;
    let remote = gateway.create_account(gateway.command());
    let log_path = dir.path().join("stderr.log");
    let mut child = gateway
        .command()
        .env("RUST_LOG", "info,wadesk=debug")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("{}/readyz", gateway.base)).send().await
            && r.status().is_success()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(up, "the gateway answers /readyz");

    let (status, phone) = send(
        remote
            .http
            .post(format!("{}/api/phones", remote.base))
            .bearer_auth(&remote.token)
            .json(&json!({"name": "Front desk"})),
    )
    .await;
    assert_eq!(status, 200, "{phone}");
    let phone_id = phone["phone"]["phone_id"].as_str().unwrap().to_owned();
    crate::phones::pair(&remote, &sim, &phone_id, "919812340090").await;
    sim.create_phone("919812340021");
    let (status, sent) = send(
        remote
            .http
            .post(format!("{}/api/send", remote.base))
            .bearer_auth(&remote.token)
            .header("x-request-id", "order-4711")
            .json(&json!({"phone_id": phone_id, "to": "919812340021", "message": "Hello"})),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let message_id = sent["message_id"].as_str().unwrap().to_owned();

    let mut found = None;
    for _ in 0..100 {
        let mut text = String::new();
        std::fs::File::open(&log_path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["fields"]["message"] == "message sent");
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = found.expect("a JSON log line for the sent message");
    assert_eq!(line["span"]["request_id"], "order-4711", "{line}");
    assert_eq!(line["fields"]["phone_id"], phone_id.as_str(), "{line}");
    assert_eq!(line["fields"]["message_id"], message_id.as_str(), "{line}");
}
