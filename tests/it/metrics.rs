//! GET /metrics after real traffic: a send through the simulator, webhook
//! deliveries to a loopback receiver, failed requests over REST and gRPC, a
//! campaign, a live stream, a dropped connection. Each scrape is parsed as
//! the Prometheus text format, strictly, before any value is read.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use axum::{Router, http::StatusCode, routing::post};
use serde_json::json;
use wadesk::store;

use crate::{
    db_tests,
    grpc::phone_client,
    phones::{pair, start},
    support::{Db, TestApp, eventually, send, serve_http},
};

/// One sample of a scrape.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed scrape.
struct Scrape {
    samples: Vec<Sample>,
}

impl Scrape {
    /// The value of the sample `name` with exactly these labels; 0 when
    /// there is none (a counter not yet counted).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map_or(0.0, |s| s.value)
    }

    /// Every sample of `name`, for failure messages.
    fn dump(&self, name: &str) -> String {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| format!("{:?} {}\n", s.labels, s.value))
            .collect()
    }

    fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.name == name)
    }

    /// Every label value of every sample.
    fn label_values(&self) -> impl Iterator<Item = &str> {
        self.samples
            .iter()
            .flat_map(|s| s.labels.values().map(String::as_str))
    }
}

/// Parses the text format strictly: every line is a `# HELP`, `# TYPE`,
/// `# UNIT` or `# EOF` comment or a sample of a family typed before it;
/// names and label names are valid, label values are quoted with only the
/// format's escapes, values are numbers. Panics, quoting the line, on
/// anything else.
fn parse(text: &str) -> Scrape {
    let mut typed: Vec<(String, String)> = Vec::new();
    let mut samples = Vec::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && !n.starts_with(|c: char| c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(name_ok(name), "bad family name: {line}");
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "info",
                            "summary",
                            "untyped",
                            "unknown"
                        ]
                        .contains(&kind),
                        "bad type: {line}"
                    );
                    typed.push((name.to_owned(), kind.to_owned()));
                }
                (Some("HELP" | "UNIT"), Some(name), _) => {
                    assert!(name_ok(name), "bad family name: {line}")
                }
                (Some("EOF"), None, None) => {}
                _ => panic!("not a comment of the format: {line}"),
            }
            continue;
        }
        assert!(!line.trim().is_empty(), "an empty line in the scrape");
        let end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("no value: {line}"));
        let name = &line[..end];
        assert!(name_ok(name), "bad sample name: {line}");
        let family = typed
            .iter()
            .rev()
            .find(|(family, _)| {
                name == family
                    || ["_total", "_bucket", "_sum", "_count", "_created", "_info"]
                        .iter()
                        .any(|suffix| name.strip_suffix(suffix) == Some(family.as_str()))
            })
            .unwrap_or_else(|| panic!("a sample of no typed family: {line}"));
        assert!(!family.0.is_empty());
        let mut rest = &line[end..];
        let mut labels = BTreeMap::new();
        if let Some(after) = rest.strip_prefix('{') {
            let mut chars = after.char_indices().peekable();
            let mut key = String::new();
            let close;
            loop {
                let (i, c) = chars
                    .next()
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                match c {
                    '}' if key.is_empty() => {
                        close = i;
                        break;
                    }
                    '=' => {
                        assert!(name_ok(&key), "bad label name {key:?}: {line}");
                        assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                        let mut value = String::new();
                        loop {
                            match chars.next().map(|(_, c)| c) {
                                Some('"') => break,
                                Some('\\') => match chars.next().map(|(_, c)| c) {
                                    Some('\\') => value.push('\\'),
                                    Some('"') => value.push('"'),
                                    Some('n') => value.push('\n'),
                                    other => panic!("bad escape {other:?}: {line}"),
                                },
                                Some(c) => value.push(c),
                                None => panic!("unclosed label value: {line}"),
                            }
                        }
                        assert!(
                            labels.insert(std::mem::take(&mut key), value).is_none(),
                            "a label twice: {line}"
                        );
                        match chars.next().map(|(_, c)| c) {
                            Some(',') => {}
                            Some('}') => {
                                close = chars.peek().map_or(after.len(), |(i, _)| *i) - 1;
                                break;
                            }
                            other => panic!("{other:?} after a label: {line}"),
                        }
                    }
                    c => key.push(c),
                }
            }
            rest = &after[close + 1..];
        }
        let value = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no space before the value: {line}"));
        let value = value.split(' ').next().unwrap_or_default();
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value {v:?}: {line}")),
        };
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    assert!(!samples.is_empty(), "an empty scrape");
    Scrape { samples }
}

/// Scrapes `url` (no token) and parses the answer.
async fn scrape_at(app: &TestApp, url: &str) -> Scrape {
    let response = app.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse(&response.text().await.unwrap())
}

async fn scrape(app: &TestApp) -> Scrape {
    scrape_at(app, &app.url("/metrics")).await
}

/// Scrapes until `check` holds (30 s at most), returning that scrape.
async fn scrape_until(app: &TestApp, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
    eventually(what, || async {
        let scraped = scrape(app).await;
        check(&scraped).then_some(scraped)
    })
    .await
}

/// A webhook receiver on loopback: 200, or 500 while `failing`.
struct Hook {
    url: String,
    hits: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hook() -> Hook {
    let hits = Arc::new(AtomicUsize::new(0));
    let failing = Arc::new(AtomicBool::new(false));
    let (h, f) = (hits.clone(), failing.clone());
    let router = Router::new().route(
        "/hook",
        post(move || {
            let (h, f) = (h.clone(), f.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                if f.load(Ordering::SeqCst) {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let (base, task) = serve_http(router).await;
    Hook {
        url: format!("{base}/hook"),
        hits,
        failing,
        task,
    }
}

async fn traffic_is_counted(db: Db) {
    let (sim, app) = start(db.clone()).await;
    let phone = app.create_phone("Metered").await;
    pair(&app, &sim, &phone, "919812349001").await;
    sim.create_phone("919812349002");
    let receiver = hook().await;
    let (status, body) = app
        .post(
            "/api/webhook/set",
            json!({"phone_id": phone, "webhook_url": receiver.url}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let webhook_id = store::webhooks::find_for_phone(&app.core.db, &app.account_id, &phone)
        .await
        .unwrap()
        .unwrap()
        .id;

    let before = scrape(&app).await;
    assert_eq!(
        before.value("wadesk_phones", &[("status", "connected")]),
        1.0
    );
    assert_eq!(before.value("wadesk_phones", &[("status", "pending")]), 0.0);
    assert_eq!(
        before.value("wadesk_phone_connected", &[("phone_id", &phone)]),
        1.0
    );
    assert_eq!(before.value("wadesk_metrics_database_up", &[]), 1.0);
    let pool_max = match db {
        Db::Sqlite => 8.0,
        Db::Postgres(_) => 32.0,
    };
    assert_eq!(
        before.value("wadesk_db_pool_max_connections", &[]),
        pool_max
    );
    let open = before.value("wadesk_db_pool_connections", &[("state", "idle")])
        + before.value("wadesk_db_pool_connections", &[("state", "in_use")]);
    assert!((1.0..=pool_max).contains(&open), "{open} connections open");
    let send_labels = [
        ("protocol", "rest"),
        ("method", "POST"),
        ("route", "/api/send"),
        ("code", "200"),
    ];
    assert_eq!(before.value("wadesk_requests_total", &send_labels), 0.0);

    // A send through the simulator.
    let (status, body) = app
        .post(
            "/api/send",
            json!({"phone_id": phone, "to": "919812349002", "message": "metered"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], json!("sent"), "{body}");
    // Failed requests: an unknown phone, a path nothing serves.
    let (status, _) = app.get("/api/phones/ph_doesnotexist1/status").await;
    assert_eq!(status, 404);
    let (status, _) = app.get("/api/nowhere/ph_secret_path").await;
    assert_eq!(status, 404);
    // gRPC: one call refused without a token, one answered; and the same
    // method over REST, which must not count as gRPC.
    let mut anonymous = phone_client(&app, "").await;
    let refused = anonymous
        .list_phones(wadesk::proto::ListPhonesRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let mut client = phone_client(&app, &app.token).await;
    client
        .list_phones(wadesk::proto::ListPhonesRequest {})
        .await
        .unwrap();
    assert_eq!(app.get("/api/phones").await.0, 200);
    // gRPC-web over HTTP/1.1: one empty ListPhonesRequest frame.
    let web = app
        .http
        .post(app.url("/wadesk.v1.PhoneService/ListPhones"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .bearer_auth(&app.token)
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await
        .unwrap();
    assert_eq!(web.status(), 200);
    let body = web.bytes().await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("grpc-status:0"));

    // Every event so far reaches the receiver; the lag goes back to 0.
    let after = scrape_until(&app, "the webhook caught up and was counted", |s| {
        let hits = receiver.hits.load(Ordering::SeqCst) as f64;
        hits >= 1.0
            && s.value("wadesk_webhook_attempts_total", &[("outcome", "delivered")]) == hits
            && s.value("wadesk_webhook_lag_events", &[("webhook_id", &webhook_id)]) == 0.0
            && s.value(
                "wadesk_messages_total",
                &[("kind", "text"), ("source", "api"), ("status", "sent")],
            ) == 1.0
    })
    .await;
    let delivered = after.value("wadesk_webhook_attempts_total", &[("outcome", "delivered")]);
    assert_eq!(
        after.value(
            "wadesk_webhook_attempt_duration_seconds_count",
            &[("outcome", "delivered")]
        ),
        delivered
    );
    assert_eq!(
        after.value(
            "wadesk_messages_total",
            &[("kind", "text"), ("source", "api"), ("status", "queued")]
        ),
        1.0
    );
    assert_eq!(
        after.value(
            "wadesk_send_duration_seconds_count",
            &[("source", "api"), ("outcome", "sent")]
        ),
        1.0
    );
    assert_eq!(after.value("wadesk_requests_total", &send_labels), 1.0);
    assert_eq!(
        after.value(
            "wadesk_request_duration_seconds_count",
            &[
                ("protocol", "rest"),
                ("method", "POST"),
                ("route", "/api/send")
            ]
        ),
        1.0
    );
    assert_eq!(
        after.value(
            "wadesk_requests_total",
            &[
                ("protocol", "rest"),
                ("method", "GET"),
                ("route", "/api/phones/{phone_id}/status"),
                ("code", "404")
            ]
        ),
        1.0,
        "{}",
        after.dump("wadesk_requests_total")
    );
    assert_eq!(
        after.value(
            "wadesk_requests_total",
            &[
                ("protocol", "rest"),
                ("method", "GET"),
                ("route", "unmatched"),
                ("code", "404")
            ]
        ),
        1.0
    );
    let list = "/wadesk.v1.PhoneService/ListPhones";
    for (protocol, code) in [
        ("grpc", "UNAUTHENTICATED"),
        ("grpc", "OK"),
        ("grpc-web", "OK"),
    ] {
        let labels = [
            ("protocol", protocol),
            ("method", "POST"),
            ("route", list),
            ("code", code),
        ];
        assert_eq!(
            after.value("wadesk_requests_total", &labels),
            1.0,
            "{protocol} {code}: {}",
            after.dump("wadesk_requests_total")
        );
    }
    assert_eq!(
        after.value(
            "wadesk_requests_total",
            &[
                ("protocol", "rest"),
                ("method", "GET"),
                ("route", "/api/phones"),
                ("code", "200")
            ]
        ),
        1.0
    );
    // Raw paths never become labels.
    for value in after.label_values() {
        assert!(
            !value.contains("ph_doesnotexist1") && !value.contains("ph_secret_path"),
            "a raw path as a label: {value}"
        );
    }
    let head = store::events::head(&app.core.db).await.unwrap() as f64;
    assert!(head > 0.0);
    let seen = after.value("wadesk_event_log_head", &[]);
    assert!(seen > 0.0 && seen <= head, "head {seen} of {head}");

    // The receiver fails: events wait behind the first, and the lag shows
    // them; once it answers again the lag goes back to 0.
    receiver.failing.store(true, Ordering::SeqCst);
    app.append_event(&phone, "one").await;
    app.append_event(&phone, "two").await;
    scrape_until(&app, "a rejected attempt and a lag of 2", |s| {
        s.value("wadesk_webhook_attempts_total", &[("outcome", "rejected")]) >= 1.0
            && s.value("wadesk_webhook_lag_events", &[("webhook_id", &webhook_id)]) >= 2.0
    })
    .await;
    app.stop().await;
    sim.shutdown();
}

async fn queues_streams_and_reconnects(db: Db) {
    let (sim, app) = start(db).await;
    let phone = app.create_phone("Queues").await;
    pair(&app, &sim, &phone, "919812349011").await;

    // A phone never linked: its message waits in the outbox.
    let idle = app.create_phone("Idle").await;
    let before = scrape(&app).await;
    assert_eq!(before.value("wadesk_outbox_messages", &[]), 0.0);
    assert_eq!(before.value("wadesk_phones", &[("status", "pending")]), 1.0);
    assert!(
        !before.label_values().any(|v| v == idle),
        "a phone never linked is not listed"
    );
    store::messages::insert_outbound(
        &app.core.db,
        store::messages::NewOutbound {
            account_id: app.account_id.clone(),
            phone_id: idle.clone(),
            peer: "919812349019".into(),
            body: store::messages::Body::text("waits"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(scrape(&app).await.value("wadesk_outbox_messages", &[]), 1.0);

    // A campaign an hour between messages: the first goes, two wait.
    let numbers = ["919812349012", "919812349013", "919812349014"];
    for n in numbers {
        sim.create_phone(n);
    }
    let (status, body) = app
        .post(
            "/api/bulk-send",
            json!({"phone_id": phone, "numbers": numbers, "message": "one by one", "delay": 3_600_000}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let bulk_id = body["bulk_id"].as_str().unwrap().to_owned();
    scrape_until(&app, "two recipients waiting", |s| {
        s.value("wadesk_bulk_queue_recipients", &[("status", "running")]) == 2.0
            && s.value(
                "wadesk_messages_total",
                &[("kind", "text"), ("source", "bulk"), ("status", "sent")],
            ) == 1.0
    })
    .await;
    let (status, body) = app
        .post(&format!("/api/bulk-send/{bulk_id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let cancelled = scrape(&app).await;
    for status in ["queued", "running", "paused"] {
        assert_eq!(
            cancelled.value("wadesk_bulk_queue_recipients", &[("status", status)]),
            0.0,
            "{status}"
        );
    }

    // A live event stream is a subscriber while it is open.
    assert_eq!(
        scrape(&app).await.value("wadesk_event_subscribers", &[]),
        0.0
    );
    let stream = app
        .request(reqwest::Method::GET, "/api/events")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    scrape_until(&app, "one subscriber", |s| {
        s.value("wadesk_event_subscribers", &[]) == 1.0
    })
    .await;
    drop(stream);
    scrape_until(&app, "no subscriber", |s| {
        s.value("wadesk_event_subscribers", &[]) == 0.0
    })
    .await;

    // The connection drops and comes back: one reconnect.
    let reconnects = [("phone_id", phone.as_str())];
    assert_eq!(
        scrape(&app)
            .await
            .value("wadesk_phone_reconnects_total", &reconnects),
        0.0
    );
    assert_eq!(sim.set_outage(true), 1);
    scrape_until(&app, "the phone disconnected", |s| {
        s.value("wadesk_phone_connected", &reconnects) == 0.0
            && s.value("wadesk_phones", &[("status", "connected")]) == 0.0
    })
    .await;
    sim.set_outage(false);
    app.wait_status(&phone, "connected", 60).await;
    scrape_until(&app, "the phone reconnected, counted once", |s| {
        s.value("wadesk_phone_connected", &reconnects) == 1.0
            && s.value("wadesk_phone_reconnects_total", &reconnects) == 1.0
    })
    .await;
    app.stop().await;
    sim.shutdown();
}

db_tests!(traffic_is_counted, queues_streams_and_reconnects);

const TOKEN: &str = "scrape-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_token_and_cardinality_switch() {
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.metrics.token = Some(TOKEN.into());
        config.metrics.per_phone = false;
    })
    .await;
    let phone = app.create_phone("Many").await;
    let receiver = hook().await;
    let (status, body) = app
        .post(
            "/api/webhook/set",
            json!({"phone_id": phone, "webhook_url": receiver.url}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let url = app.url("/metrics");

    // No token, a wrong one, another scheme, the account's API token: 401.
    let (status, body) = send(app.http.get(&url)).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["status"], json!("UNAUTHENTICATED"));
    let response = app.http.get(&url).send().await.unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"metrics\""
    );
    for authorization in [
        format!("Bearer {TOKEN}x"),
        format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
        format!("Basic {TOKEN}"),
        format!("Bearer {}", app.token),
        TOKEN.to_owned(),
    ] {
        let (status, _) = send(app.http.get(&url).header("authorization", &authorization)).await;
        assert_eq!(status, 401, "{authorization}");
    }
    // The scrape token is not an API token either.
    let (status, _) = send(app.http.get(app.url("/api/phones")).bearer_auth(TOKEN)).await;
    assert_eq!(status, 401);

    // The right one.
    let response = app.http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let scraped = parse(&response.text().await.unwrap());
    // Without per_phone no phone or webhook id is a label, and the totals
    // are there.
    assert!(
        !scraped
            .samples
            .iter()
            .any(|s| s.labels.contains_key("phone_id") || s.labels.contains_key("webhook_id")),
        "an id label without per_phone"
    );
    assert!(!scraped.label_values().any(|v| v == phone));
    assert!(!scraped.has("wadesk_phone_connected"));
    assert_eq!(scraped.value("wadesk_webhook_lag_events", &[]), 0.0);
    assert!(scraped.has("wadesk_webhook_lag_events"));
    assert_eq!(
        scraped.value("wadesk_phones", &[("status", "pending")]),
        1.0
    );

    // OpenMetrics when asked for, as Prometheus asks.
    let response = app
        .http
        .get(&url)
        .bearer_auth(TOKEN)
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let open = parse(&text);
    assert_eq!(open.value("wadesk_phones", &[("status", "pending")]), 1.0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_of_its_own_or_none() {
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let at = app.metrics_addr.expect("a metrics address");
    assert_ne!(at, app.addr);
    // Not on the main port, where the API still answers.
    assert_eq!(send(app.http.get(app.url("/metrics"))).await.0, 404);
    assert_eq!(app.get("/api/phones").await.0, 200);
    let scraped = scrape_at(&app, &format!("http://{at}/metrics")).await;
    // The API request above was counted; the scrape port serves nothing else.
    assert_eq!(
        scraped.value(
            "wadesk_requests_total",
            &[
                ("protocol", "rest"),
                ("method", "GET"),
                ("route", "/api/phones"),
                ("code", "200")
            ]
        ),
        1.0
    );
    assert_eq!(
        send(app.http.get(format!("http://{at}/api/phones")))
            .await
            .0,
        404
    );
    app.stop().await;

    let app = TestApp::spawn_with(Db::Sqlite, |config| config.metrics.enabled = false).await;
    assert_eq!(app.metrics_addr, None);
    assert_eq!(send(app.http.get(app.url("/metrics"))).await.0, 404);
    app.stop().await;
}

#[test]
fn the_parser_refuses_what_is_not_the_format() {
    let good =
        "# HELP x_total A counter.\n# TYPE x_total counter\nx_total{a=\"1\",b=\"q\\\"\"} 3\n";
    let parsed = parse(good);
    assert_eq!(parsed.value("x_total", &[("a", "1"), ("b", "q\"")]), 3.0);
    for bad in [
        "x_total 3\n",                            // no TYPE
        "# TYPE x counter\nx{a=1} 3\n",           // unquoted
        "# TYPE x gauge\nx{a=\"1\"} three\n",     // not a number
        "# TYPE x gauge\nx{a=\"1\"\n",            // unclosed
        "# TYPE x gauge\nx{a=\"\\q\"} 1\n",       // bad escape
        "# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n", // twice
    ] {
        let result = std::panic::catch_unwind(|| parse(bad));
        assert!(result.is_err(), "accepted: {bad:?}");
    }
}
