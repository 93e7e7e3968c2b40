//! `wadesk-sim`: prints its URLs, serves the admin API, refuses to
//! listen anywhere but loopback.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_prints_urls_and_serves_admin_api() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wadesk-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--https",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ws = lines.next().unwrap().unwrap();
    let http = lines.next().unwrap().unwrap();
    let https = lines.next().unwrap().unwrap();
    assert!(
        https.starts_with("https:     https://127.0.0.1:"),
        "{https}"
    );
    assert!(
        ws.starts_with("websocket: ws://127.0.0.1:") && ws.ends_with("/ws/chat"),
        "{ws}"
    );
    let http = http
        .strip_prefix("http:")
        .expect("http line")
        .trim()
        .to_string();
    let (status, body) = crate::common::http_request(
        "POST",
        &format!("{http}/admin/phones/15550009999"),
        &[],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let (status, ca) =
        crate::common::http_request("GET", &format!("{http}/admin/ca.pem"), &[], b"")
            .await
            .unwrap();
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&ca).starts_with("-----BEGIN CERTIFICATE-----"));
    let _ = child.kill();
    let _ = child.wait();

    let out = Command::new(env!("CARGO_BIN_EXE_wadesk-sim"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "non-loopback listen must be refused");
}
