//! The SSRF matrix: every place the gateway fetches a caller's URL (media
//! sends, webhooks, Sheets) tried with every address form that must not be
//! reached, directly and through redirects, and with a DNS answer that
//! changes between the check and the connection. Each is refused with a 400
//! naming the field (or, for a stored webhook, a failed delivery), and
//! nothing reaches the trap servers listening on those addresses.
//!
//! Forms that are not loopback are tried end to end only inside a network
//! namespace that has loopback alone (`unshare --net`, as root): there a
//! failing guard cannot send a packet off the machine. The namespace gets
//! the forbidden addresses on its loopback interface, each with a trap
//! server, plus one global address (9.9.9.9) for the "public" server the
//! redirects and the rebinding start from; its own `/etc/hosts` (a bind
//! mount in a private mount namespace) is the test-controlled resolver. The
//! address classifier itself is unit-tested for every form (src/fetch/addr.rs).
//! Outside the namespace only loopback forms are tried.
//!
//! Bot providers are not in the matrix: their base URLs are operator
//! configuration, not caller input.

use std::{
    net::{IpAddr, SocketAddr},
    process::Command,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    extract::{Path, Query},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use serde_json::{Value, json};
use wadesk_sim::Simulator;

use crate::{
    phones::{pair, start_with},
    support::{TestApp, eventually, record_count},
};

/// Set (to the hosts file's path) for the run inside the namespace.
const NETNS_ENV: &str = "WADESK_SSRF_NETNS_HOSTS";

/// The namespace's one global address: the "public" server's.
const PUBLIC: &str = "9.9.9.9";

/// Forbidden addresses given to the namespace's loopback, each with a trap.
const TRAP_ADDRS: &[&str] = &[
    "127.0.0.1",
    "::1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "192.0.0.8",
    "198.18.0.1",
    "fc00::1",
    "fec0::1",
    "2001::1",
    "100::1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::1",
];

/// Every request a trap or the public server saw: (where, path).
type Hits = Arc<Mutex<Vec<(String, String)>>>;

/// Servers on `addrs`, all on one port (the first address's free port),
/// recording each request and answering 200.
async fn traps(addrs: &[IpAddr], hits: &Hits) -> u16 {
    let mut port = 0;
    for ip in addrs {
        let Ok(listener) = tokio::net::TcpListener::bind(SocketAddr::new(*ip, port)).await else {
            // An address the namespace could not take: its cases still
            // must answer 400, and nothing can reach it anyway.
            continue;
        };
        port = listener.local_addr().unwrap().port();
        let hits = hits.clone();
        let name = ip.to_string();
        let router = Router::new().fallback(any(move |uri: axum::http::Uri| {
            let hits = hits.clone();
            let name = name.clone();
            async move {
                hits.lock().unwrap().push((name, uri.path().to_owned()));
                "trap"
            }
        }));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    }
    assert_ne!(port, 0, "at least one trap listens");
    port
}

#[derive(serde::Deserialize)]
struct To {
    to: String,
}

/// The server redirects start from (allowed by the guard): `/redirect?to=`
/// answers 302 to `to`; `/spreadsheets/d/{n}/export` redirects to the n-th
/// of `targets`; `/hook` takes webhook deliveries (closing the connection,
/// so the next one resolves its name again); `/photo.png` is an image.
fn public_router(targets: Arc<Vec<String>>, hits: Hits, label: &'static str) -> Router {
    let recorded = move |path: &str| {
        hits.lock()
            .unwrap()
            .push((label.to_owned(), path.to_owned()))
    };
    let on_hook = recorded.clone();
    Router::new()
        .route(
            "/redirect",
            get(|Query(to): Query<To>| async move {
                (StatusCode::FOUND, [(header::LOCATION, to.to)]).into_response()
            }),
        )
        .route(
            "/spreadsheets/d/{n}/export",
            get(move |Path(n): Path<usize>| {
                let targets = targets.clone();
                async move {
                    (StatusCode::FOUND, [(header::LOCATION, targets[n].clone())]).into_response()
                }
            }),
        )
        .route(
            "/hook",
            any(move |headers: HeaderMap| {
                on_hook("/hook");
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                async move {
                    let mut response: Response = format!("ok {host}").into_response();
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, "close".parse().unwrap());
                    response
                }
            }),
        )
        .route(
            "/photo.png",
            get(|| async { ([(header::CONTENT_TYPE, "image/png")], crate::send::png()) }),
        )
}

/// One form tried at one place, and what it must answer.
struct Refusals<'a> {
    app: &'a TestApp,
    phone: &'a str,
    to: &'a str,
    tried: usize,
}

impl Refusals<'_> {
    async fn expect_400(&mut self, path: &str, body: Value, field: &str) {
        let (status, answer) = self.app.post(path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body} must be refused: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(field),
            "{path} {body}: the error names {field}: {message}"
        );
        self.tried += 1;
    }

    /// A media send of `url`.
    async fn media(&mut self, url: &str) {
        let body = json!({"phone_id": self.phone, "to": self.to, "url": url});
        self.expect_400("/api/send-image", body, "url").await;
    }

    /// A webhook set to `url`.
    async fn webhook(&mut self, url: &str) {
        let body = json!({"phone_id": self.phone, "webhook_url": url, "events": []});
        self.expect_400("/api/webhook/set", body, "webhook_url")
            .await;
    }
}

fn loopback_forms(port: u16) -> Vec<String> {
    [
        "http://127.0.0.1:{p}/x.png",
        "http://127.1:{p}/x.png",
        "http://127.0.1:{p}/x.png",
        "http://2130706433:{p}/x.png",
        "http://0x7f000001:{p}/x.png",
        "http://0x7f.0x0.0x0.0x1:{p}/x.png",
        "http://0177.0.0.1:{p}/x.png",
        "http://127.000.000.001:{p}/x.png",
        "http://0.0.0.0:{p}/x.png",
        "http://0:{p}/x.png",
        "http://[::1]:{p}/x.png",
        "http://[0:0:0:0:0:0:0:1]:{p}/x.png",
        "http://[::ffff:127.0.0.1]:{p}/x.png",
        "http://[::ffff:7f00:1]:{p}/x.png",
        "http://localhost:{p}/x.png",
        "http://example.com@127.0.0.1:{p}/x.png",
        "http://user:pass@[::1]:{p}/x.png",
        "http://127.0.0.1:{p}\\@example.com/x.png",
        "https://127.0.0.1:{p}/x.png",
    ]
    .iter()
    .map(|f| f.replace("{p}", &port.to_string()))
    .collect()
}

fn other_forms(port: u16) -> Vec<String> {
    [
        "http://10.0.0.1:{p}/x.png",
        "http://167772161:{p}/x.png",
        "http://012.0.0.1:{p}/x.png",
        "http://10.1:{p}/x.png",
        "http://172.16.0.1:{p}/x.png",
        "http://192.168.1.1:{p}/x.png",
        "http://169.254.169.254:{p}/latest/meta-data",
        "http://0xa9fea9fe:{p}/latest/meta-data",
        "http://2852039166:{p}/latest/meta-data",
        "http://100.64.0.1:{p}/x.png",
        "http://192.0.0.8:{p}/x.png",
        "http://198.18.0.1:{p}/x.png",
        "http://224.0.0.1:{p}/x.png",
        "http://255.255.255.255:{p}/x.png",
        "http://[fc00::1]:{p}/x.png",
        "http://[fd12:3456::1]:{p}/x.png",
        "http://[fe80::1]:{p}/x.png",
        "http://[fec0::1]:{p}/x.png",
        "http://[2001::1]:{p}/x.png",
        "http://[2001:db8::1]:{p}/x.png",
        "http://[100::1]:{p}/x.png",
        "http://[ff02::1]:{p}/x.png",
        "http://[64:ff9b::a9fe:a9fe]:{p}/latest/meta-data",
        "http://[2002:a9fe:a9fe::1]:{p}/latest/meta-data",
        "http://[::ffff:169.254.169.254]:{p}/latest/meta-data",
        "http://[::169.254.169.254]:{p}/latest/meta-data",
        "http://[::ffff:10.0.0.1]:{p}/x.png",
        "http://[::127.0.0.1]:{p}/x.png",
        "http://[64:ff9b::127.0.0.1]:{p}/x.png",
        "http://[2002:7f00:1::1]:{p}/x.png",
        "http://internal.test:{p}/x.png",
        "http://meta.test:{p}/latest/meta-data",
        "http://private.test:{p}/x.png",
        "http://public.test@10.0.0.1:{p}/x.png",
    ]
    .iter()
    .map(|f| f.replace("{p}", &port.to_string()))
    .collect()
}

/// Not http or https: refused before any lookup.
const SCHEMES: &[&str] = &[
    "file:///etc/passwd",
    "ftp://127.0.0.1/x.png",
    "gopher://127.0.0.1:70/_GET",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "dict://127.0.0.1:11211/stat",
    "ws://127.0.0.1/x",
];

fn encoded(url: &str) -> String {
    url::form_urlencoded::byte_serialize(url.as_bytes()).collect()
}

/// A phone of `app` linked through `sim`, and a number it can send to.
async fn linked(app: &TestApp, sim: &Simulator, from: &str, to: &str) -> String {
    let phone = app.create_phone("Shop").await;
    pair(app, sim, &phone, from).await;
    sim.create_phone(to);
    phone
}

/// Loopback forms, schemes and redirects into loopback, on the machine
/// itself: the redirect server listens on 127.0.0.2, the one range the
/// operator allowed, and the allowed range keeps working (an image from it
/// is sent).
async fn matrix_on_loopback() {
    let hits: Hits = Arc::default();
    let port = traps(
        &["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
        &hits,
    )
    .await;
    let public_hits: Hits = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let redirector = format!("http://{}", listener.local_addr().unwrap());
    let router = public_router(Arc::new(Vec::new()), public_hits.clone(), "127.0.0.2");
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let (sim, app) = start_with(crate::support::Db::Sqlite, |c| {
        c.fetch.allow_ranges = vec!["127.0.0.2/32".into()];
    })
    .await;
    let to = "919812361001";
    let phone = linked(&app, &sim, "919812361000", to).await;
    let mut refusals = Refusals {
        app: &app,
        phone: &phone,
        to,
        tried: 0,
    };
    let forms = loopback_forms(port);
    for form in forms
        .iter()
        .map(String::as_str)
        .chain(SCHEMES.iter().copied())
    {
        refusals.media(form).await;
        refusals.webhook(form).await;
        refusals
            .media(&format!("{redirector}/redirect?to={}", encoded(form)))
            .await;
    }
    // The allowed range works, for a media send and for a webhook.
    let (status, body) = app
        .post(
            "/api/send-image",
            json!({"phone_id": phone, "to": to, "url": format!("{redirector}/photo.png")}),
        )
        .await;
    assert_eq!(status, 200, "the allowed range is fetched: {body}");
    let (status, body) = app
        .post(
            "/api/webhook/set",
            json!({"phone_id": phone, "webhook_url": format!("{redirector}/hook"), "events": []}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let tried = refusals.tried;
    assert_eq!(
        *hits.lock().unwrap(),
        Vec::<(String, String)>::new(),
        "nothing reaches a trap"
    );
    record_count(
        "ssrf-loopback",
        &format!(
            "SSRF matrix on loopback: {tried} cases refused ({} loopback forms and {} schemes, each as a media URL, a webhook URL and a redirect target), 0 requests reached a trap",
            forms.len(),
            SCHEMES.len()
        ),
    );
    app.stop().await;
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_on_loopback() {
    matrix_on_loopback().await;
}

/// Runs [`inside_a_network_namespace`] in a new network and mount
/// namespace (root only: skipped with the reason otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_in_a_network_namespace() {
    let why_not = if !nix_is_root() {
        Some("not root")
    } else if Command::new("unshare")
        .args(["--net", "--mount", "true"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        Some("unshare --net --mount does not work here")
    } else if Command::new("ip").arg("-V").output().is_err() {
        Some("no ip command (iproute2)")
    } else {
        None
    };
    if let Some(why) = why_not {
        let line = format!("SSRF matrix in a network namespace: skipped ({why})");
        eprintln!("{line}");
        record_count("ssrf-netns", &line);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, hosts_file("flip.test", PUBLIC)).unwrap();
    let mut script = String::from("set -e\nip link set lo up\n");
    script.push_str(&format!("ip addr add {PUBLIC}/32 dev lo\n"));
    for addr in TRAP_ADDRS
        .iter()
        .filter(|a| !["127.0.0.1", "::1"].contains(a))
    {
        let len = if addr.contains(':') { 128 } else { 32 };
        script.push_str(&format!(
            "ip addr add {addr}/{len} dev lo nodad 2>/dev/null || true\n"
        ));
    }
    script.push_str(&format!("mount --bind {} /etc/hosts\n", hosts.display()));
    script.push_str(
        "exec \"$0\" --exact ssrf::inside_a_network_namespace --include-ignored --nocapture --test-threads=1\n",
    );
    let exe = std::env::current_exe().unwrap();
    let status = tokio::process::Command::new("unshare")
        .args(["--net", "--mount", "--", "sh", "-c", &script])
        .arg(&exe)
        .env(NETNS_ENV, &hosts)
        .status()
        .await
        .unwrap();
    assert!(
        status.success(),
        "the matrix inside the namespace failed: {status}"
    );
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .map(|u| u.split_whitespace().next() == Some("0"))
            })
        })
        .unwrap_or(false)
}

fn hosts_file(flip: &str, flip_to: &str) -> String {
    format!(
        "127.0.0.1 localhost\n::1 localhost\n{PUBLIC} public.test\n127.0.0.1 internal.test\n\
         169.254.169.254 meta.test\n10.0.0.1 private.test\n{flip_to} {flip}\n"
    )
}

/// The whole matrix, run only by [`refused_in_a_network_namespace`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run inside a network namespace by ssrf::refused_in_a_network_namespace"]
async fn inside_a_network_namespace() {
    let hosts = std::env::var(NETNS_ENV).expect("run by refused_in_a_network_namespace");
    // Never go on where a packet could leave: loopback must be the only
    // interface.
    // (/proc/self/net is this process's namespace; /sys may still show
    // the host's.)
    let interfaces: Vec<String> = std::fs::read_to_string("/proc/self/net/dev")
        .unwrap()
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim().to_owned()))
        .collect();
    assert_eq!(interfaces, ["lo"], "not an isolated network namespace");

    let hits: Hits = Arc::default();
    let trap_ips: Vec<IpAddr> = TRAP_ADDRS.iter().map(|a| a.parse().unwrap()).collect();
    let port = traps(&trap_ips, &hits).await;
    let mut forms = loopback_forms(port);
    forms.extend(other_forms(port));

    let public_hits: Hits = Arc::default();
    let listener = tokio::net::TcpListener::bind((PUBLIC, port)).await.unwrap();
    let public = format!("http://public.test:{port}");
    let router = public_router(Arc::new(forms.clone()), public_hits.clone(), "public");
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let sheets = public.clone();
    let (sim, app) = start_with(crate::support::Db::Sqlite, move |c| {
        c.fetch.allow_ranges = Vec::new();
        c.sheets.base_url = sheets;
        c.webhooks.retry_schedule = vec![Duration::from_millis(50)];
        c.webhooks.timeout = Duration::from_secs(2);
    })
    .await;
    let to = "919812362001";
    let phone = linked(&app, &sim, "919812362000", to).await;
    let mut refusals = Refusals {
        app: &app,
        phone: &phone,
        to,
        tried: 0,
    };
    for (n, form) in forms.iter().enumerate() {
        refusals.media(form).await;
        refusals.webhook(form).await;
        refusals
            .media(&format!("{public}/redirect?to={}", encoded(form)))
            .await;
        // Sheets: the sheet's export redirects to the form.
        refusals
            .expect_400(
                "/api/bulk-send/sheet",
                json!({"phone_id": phone, "sheet_id": n.to_string(), "message": "Hi"}),
                "sheet_id",
            )
            .await;
    }
    for form in SCHEMES {
        refusals.media(form).await;
        refusals.webhook(form).await;
    }
    // The global address itself works: a media send from it.
    let (status, body) = app
        .post(
            "/api/send-image",
            json!({"phone_id": phone, "to": to, "url": format!("{public}/photo.png")}),
        )
        .await;
    assert_eq!(status, 200, "a global address is fetched: {body}");

    // DNS rebinding: the webhook's name is global when it is set and when
    // the first delivery connects, then answers loopback. The second
    // delivery must dial what the guard checked: nothing, since loopback
    // is refused.
    let (status, body) = app
        .post(
            "/api/webhook/set",
            json!({"phone_id": phone, "webhook_url": format!("http://flip.test:{port}/hook"), "events": ["message.received"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.append_event(&phone, "first").await;
    eventually("the first delivery reaches the public server", || async {
        public_hits
            .lock()
            .unwrap()
            .iter()
            .any(|(_, path)| path == "/hook")
            .then_some(())
    })
    .await;
    std::fs::write(&hosts, hosts_file("flip.test", "127.0.0.1")).unwrap();
    app.append_event(&phone, "second").await;
    let failed = eventually("the second delivery fails", || async {
        let (_, body) = app.get(&format!("/api/webhook/{phone}/deliveries")).await;
        body["deliveries"]
            .as_array()?
            .iter()
            .find(|d| !d["error"].is_null())
            .cloned()
    })
    .await;
    let error = failed["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error.contains("loopback") || error.contains("127.0.0.1"),
        "the delivery names the refused address: {failed}"
    );
    let hook_hits = public_hits
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, path)| path == "/hook")
        .count();
    refusals.tried += 1;

    let tried = refusals.tried;
    assert_eq!(
        *hits.lock().unwrap(),
        Vec::<(String, String)>::new(),
        "nothing reaches a trap"
    );
    assert_eq!(
        hook_hits, 1,
        "only the first delivery reached the public server"
    );
    let line = format!(
        "SSRF matrix in a network namespace: {tried} cases refused ({} address forms as media URL, webhook URL, media redirect target and Sheets redirect target; {} schemes; 1 DNS rebinding of a webhook), {} traps listening, 0 requests reached a trap",
        forms.len(),
        SCHEMES.len(),
        TRAP_ADDRS.len(),
    );
    eprintln!("{line}");
    record_count("ssrf-netns", &line);
    app.stop().await;
    sim.shutdown();
}
