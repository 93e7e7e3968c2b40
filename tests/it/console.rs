//! The web console in a real browser: Debian's chromium driven by
//! playwright-core (tests/browser/console.mjs) against a real `wadesk serve`
//! process, whose account was made with `wadesk account create --email` as
//! README says, the protocol simulator and a webhook receiver, all on
//! loopback. Screenshots land in target/console-shots (docs/console.md shows
//! them; scripts/console-screenshots copies them there).

use std::{
    io::Write as _,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{Router, routing::post};
use wadesk_sim::{SimConfig, Simulator};

use crate::{
    process::Gateway,
    support::{Db, capture_dir, secret},
};

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "console password 1";

/// A loopback webhook endpoint answering 200 and counting what it got.
async fn webhook_receiver() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/hook",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let (Ok(node), Ok(chromium)) = (
        std::env::var("WADESK_TEST_NODE"),
        std::env::var("WADESK_TEST_CHROMIUM"),
    ) else {
        eprintln!(
            "skipping the console's browser test: WADESK_TEST_NODE and WADESK_TEST_CHROMIUM are not both set (scripts/test installs chromium and sets them)"
        );
        return;
    };
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let media = format!("[\"{}\"]", sim.http_url().trim_start_matches("http://"));
    let gateway = Gateway::new(
        &Db::Sqlite,
        &sim,
        &dir,
        &[
            ("WADESK__WHATSAPP__PLAIN_HTTP_MEDIA_HOSTS", media.as_str()),
            // The webhook receiver listens on loopback.
            ("WADESK__FETCH__ALLOW_RANGES", "[\"127.0.0.0/8\"]"),
            // The browser signs in more than once.
            ("WADESK__ACCOUNTS__SIGN_IN_FAILURES_PER_MINUTE", "0"),
        ],
    )
    .await;

    // The account, as README's first screen makes it.
    secret(PASSWORD);
    let mut create = gateway
        .command()
        .args([
            "account",
            "create",
            "--name",
            "Asha Traders",
            "--email",
            EMAIL,
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(create.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = create.wait_with_output().unwrap();
    assert!(out.status.success(), "account create");
    let printed = String::from_utf8_lossy(&out.stdout);
    if let Some(token) = printed.lines().find_map(|l| l.strip_prefix("token:")) {
        secret(token.trim());
    }
    let mut serve = gateway.start().await;

    let (webhook_url, hits) = webhook_receiver().await;
    let bulk: Vec<String> = (0..5).map(|i| format!("9198123450{i:02}")).collect();
    for number in &bulk {
        sim.create_phone(number);
    }
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-shots");
    std::fs::create_dir_all(&shots).unwrap();
    // Tokens the page creates are written here, for the secrets check.
    let secrets = capture_dir().join(format!("secrets-console-{}.txt", std::process::id()));
    let output = tokio::process::Command::new(node)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/console.mjs"
        ))
        .env("WADESK_URL", &gateway.base)
        .env("SIM_ADMIN", sim.http_url())
        .env("EMAIL", EMAIL)
        .env("PASSWORD", PASSWORD)
        .env("SHOTS", &shots)
        .env("SECRETS_FILE", &secrets)
        .env("CHROMIUM", &chromium)
        .env("VIRTUAL_NUMBER", "919812345100")
        .env("PEER_NUMBER", "919812345101")
        .env("WEBHOOK_URL", &webhook_url)
        .env("BULK_NUMBERS", bulk.join(","))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(600), output)
        .await
        .expect("the browser test ends within 10 minutes")
        .expect("node runs");
    let _ = serve.kill();
    let _ = serve.wait();
    sim.shutdown();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser test failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    assert!(
        hits.load(Ordering::SeqCst) > 0,
        "the webhook set in the console was delivered to"
    );
}
