//! What a client without a token can do to the server: connections that
//! send part of their headers (or nothing) are closed, one address cannot
//! hold more than its share, and the health checks keep answering.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

use crate::support::{Db, TestApp};

/// A connection from `from` (any 127/8 address) to `to`.
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the server closes `stream` within `within` (EOF or a reset).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // A 408 or similar before the close is fine; keep reading.
            Ok(Ok(_)) => continue,
        }
    }
}

async fn healthz_from(from: &str, app: &TestApp) -> u16 {
    let client = reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    client
        .get(app.url("/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Issue 18, defect 1: a connection that sent part of its headers stayed
/// open (still open after 45 s), and one client opening thousands of them
/// ran the server out of file descriptors until /healthz stopped answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_capped_per_address() {
    let app = TestApp::spawn_with(Db::Sqlite, |c| {
        c.server.header_timeout = Duration::from_secs(1);
        c.server.max_connections_per_ip = 10;
        c.server.max_connections = 25;
    })
    .await;
    // Ten connections from one address: half a request head each, or
    // nothing at all.
    let mut held = Vec::new();
    for i in 0..10 {
        let mut stream = connect_from("127.0.0.1", app.addr).await;
        if i % 2 == 0 {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .unwrap();
        }
        held.push(stream);
    }
    // The eleventh from that address is closed at once.
    let mut eleventh = connect_from("127.0.0.1", app.addr).await;
    let _ = eleventh
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(
        closed_within(&mut eleventh, Duration::from_secs(5)).await,
        "an address over server.max_connections_per_ip is refused"
    );
    // Everyone else is served meanwhile.
    assert_eq!(healthz_from("127.0.0.2", &app).await, 200);
    // And the held ones are closed once the header timeout passes.
    for (i, stream) in held.iter_mut().enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(10)).await,
            "connection {i} (partial or silent) is closed after server.header_timeout_secs"
        );
    }
    // Their places are free again.
    assert_eq!(healthz_from("127.0.0.1", &app).await, 200);

    // The total cap: 25 connections from five addresses fill it; the 26th,
    // from a sixth address, is closed at once.
    let mut many = Vec::new();
    for i in 0..25 {
        let from = format!("127.0.1.{}", 1 + i / 5);
        many.push(connect_from(&from, app.addr).await);
    }
    // Each connection is counted as it is accepted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = connect_from("127.0.2.1", app.addr).await;
    let _ = over
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(
        closed_within(&mut over, Duration::from_secs(5)).await,
        "past server.max_connections a new connection is refused"
    );
    drop(many);
    app.stop().await;
}

/// A complete request is answered, and its keep-alive connection is kept
/// for the next one (the header timeout is not a request timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_keep_alive_requests_still_work() {
    let app = TestApp::spawn_with(Db::Sqlite, |c| {
        c.server.header_timeout = Duration::from_secs(2);
    })
    .await;
    let mut stream = connect_from("127.0.0.1", app.addr).await;
    for _ in 0..3 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    app.stop().await;
}
