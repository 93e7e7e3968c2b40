//! The gateway as a real process: SIGKILL while a phone is connected, start
//! it again, and the phone reconnects with its stored keys, no pairing.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::json;
use wadesk_sim::{SimConfig, Simulator};

use crate::{
    db_tests,
    phones::pair,
    support::{Api, Db, Remote, fresh_postgres_database, send},
};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_wadesk");

/// A `wadesk` binary with its environment (also used by the webhook tests).
pub(crate) struct Gateway {
    pub(crate) envs: Vec<(String, String)>,
    pub(crate) base: String,
}

impl Gateway {
    /// A gateway on a free loopback port, a temporary data directory (kept
    /// alive by `dir`), a fresh database for `db`, pointed at `sim`, plus
    /// `extra` environment.
    pub(crate) async fn new(
        db: &Db,
        sim: &Simulator,
        dir: &tempfile::TempDir,
        extra: &[(&str, &str)],
    ) -> Gateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let database_url = match db {
            Db::Sqlite => String::new(),
            Db::Postgres(admin) => fresh_postgres_database(admin).await,
        };
        let mut envs = vec![
            ("WADESK__DATA_DIR".into(), dir.path().display().to_string()),
            ("WADESK__DATABASE_URL".into(), database_url),
            ("WADESK__SERVER__LISTEN".into(), format!("127.0.0.1:{port}")),
            ("WADESK__WHATSAPP__SERVER_URL".into(), sim.ws_url()),
            // The tests poll; the limiter has its own test.
            ("WADESK__LIMITS__REQUESTS_PER_MINUTE".into(), "0".into()),
        ];
        envs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Gateway {
            envs,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command.envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command.env("RUST_LOG", "info");
        // Captured for the secrets check (a test may take it instead).
        command.stderr(crate::support::process_stderr());
        command
    }

    /// Creates an account with `command` (this binary's, or another's) as a
    /// user does, and a client for the API with the token it printed.
    pub(crate) fn create_account(&self, mut command: Command) -> Remote {
        let out = command
            .args(["account", "create", "--name", "Shop"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("token:").map(|t| t.trim().to_owned()))
            .expect("the token is printed");
        crate::support::secret(&token);
        Remote {
            base: self.base.clone(),
            token,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) async fn start(&self) -> Child {
        let mut child = self
            .command()
            .arg("serve")
            .stdout(Stdio::null())
            .spawn()
            .expect("wadesk serve starts");
        let http = reqwest::Client::new();
        for _ in 0..400 {
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await
                && r.status().is_success()
            {
                return child;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("wadesk serve never answered /readyz with 200");
    }
}

async fn sigkill_then_restart_reconnects_without_pairing(db: Db) {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::new(&db, &sim, &dir, &[]).await;
    let api = gateway.create_account(gateway.command());

    let mut child = gateway.start().await;
    let (status, body) = send(
        api.request(reqwest::Method::POST, "/api/phones")
            .json(&json!({"name": "Line"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let phone = body["phone"]["phone_id"].as_str().unwrap().to_owned();
    pair(&api, &sim, &phone, "919812340060").await;
    // Let the session settle (prekey upload, device state) as in real use.
    tokio::time::sleep(Duration::from_millis(500)).await;

    child.kill().unwrap(); // SIGKILL: no graceful shutdown, nothing flushed on the way out
    child.wait().unwrap();

    let mut child = gateway.start().await;
    let mut last = serde_json::Value::Null;
    for _ in 0..400 {
        let (_, body) =
            send(api.request(reqwest::Method::GET, &format!("/api/phones/{phone}/status"))).await;
        if body["status"] == "connected" {
            last = body;
            break;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        last["status"],
        json!("connected"),
        "reconnected after SIGKILL: {last}"
    );
    let (_, list) = send(api.request(reqwest::Method::GET, "/api/phones")).await;
    assert_eq!(list["phones"][0]["number"], json!("919812340060"));
    child.kill().unwrap();
    child.wait().unwrap();
    sim.shutdown();
}

db_tests!(sigkill_then_restart_reconnects_without_pairing);

/// `wadesk sim` runs the simulator library (its own tests cover it as the
/// `wadesk-sim` program): it prints its URLs and refuses other hosts.
#[test]
fn sim_command_prints_its_urls_and_stays_on_loopback() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(BIN)
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--https",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ws = lines.next().unwrap().unwrap();
    let http = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(ws.starts_with("websocket: ws://127.0.0.1:"), "{ws}");
    assert!(http.starts_with("http:      http://127.0.0.1:"), "{http}");

    let out = Command::new(BIN)
        .args(["sim", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "non-loopback listen must be refused");
}

/// Issue 18, defect 3: under the usual umask (022) the data directory was
/// 0755 and wadesk.db with its -wal and -shm 0644, while they hold the
/// linked numbers' keys. Now 0700 and 0600, from the first start.
#[tokio::test]
async fn data_directory_and_database_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_env = data.display().to_string();
    let gateway = Gateway::new(
        &Db::Sqlite,
        &sim,
        &dir,
        &[("WADESK__DATA_DIR", data_env.as_str())],
    )
    .await;
    let umask = |gateway: &Gateway| {
        let mut command = Command::new("sh");
        command.args(["-c", "umask 022; exec \"$0\" \"$@\"", BIN]);
        command.envs(gateway.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command.env("RUST_LOG", "info");
        // Captured for the secrets check (a test may take it instead).
        command.stderr(crate::support::process_stderr());
        command
    };
    gateway.create_account(umask(&gateway));
    let mut child = umask(&gateway)
        .arg("serve")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    for _ in 0..400 {
        if http
            .get(format!("{}/healthz", gateway.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mode = |name: &str| {
        std::fs::metadata(data.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "the data directory");
    for file in ["wadesk.db", "wadesk.db-wal", "wadesk.db-shm", "secret"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    sim.shutdown();
}

/// Issue 18, defect 9: `token revoke --help` (and the README) said a
/// revoked token "stops working at once", while a running server keeps its
/// copy of the token's record for auth.cache_ms. The words now say so.
#[test]
fn token_revoke_says_when_it_takes_effect() {
    let out = Command::new(BIN)
        .args(["token", "revoke", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(!help.contains("at once"), "{help}");
    assert!(help.contains("auth.cache_ms"), "{help}");
    let readme = include_str!("../../README.md");
    let line = readme
        .lines()
        .find(|l| l.contains("wadesk token revoke"))
        .unwrap();
    assert!(line.contains("auth.cache_ms"), "{line}");
}

/// `account create --email` reads the password from standard input (or
/// asks on a terminal, never from an argument), refuses a bad one without
/// writing anything, and `account set-password` changes it; the password
/// never appears in the output.
#[test]
fn account_passwords_from_the_cli() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(BIN)
            .args(args)
            .env("WADESK__DATA_DIR", dir.path())
            .env("WADESK__WHATSAPP__SERVER_URL", "ws://127.0.0.1:9/ws/chat")
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), all)
    };
    let password = "cli password 0123";
    crate::support::secret(password);
    crate::support::secret("another password 1");
    // No terminal and no --password-stdin: refused, nothing written.
    let (ok, out) = run(
        &[
            "account",
            "create",
            "--name",
            "Shop",
            "--email",
            "a@example.com",
        ],
        None,
    );
    assert!(!ok && out.contains("--password-stdin"), "{out}");
    let (ok, out) = run(
        &[
            "account",
            "create",
            "--name",
            "Shop",
            "--email",
            "a@example.com",
            "--password-stdin",
        ],
        Some("short\n"),
    );
    assert!(!ok && out.contains("at least 10 characters"), "{out}");
    let (ok, out) = run(
        &[
            "account",
            "create",
            "--name",
            "Shop",
            "--email",
            "not-an-email",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    assert!(!ok && out.contains("email"), "{out}");
    let (ok, out) = run(
        &[
            "account",
            "create",
            "--name",
            "Shop",
            "--email",
            "A@Example.com",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    assert!(ok, "{out}");
    assert!(!out.contains(password), "{out}");
    assert!(
        out.contains("sign in at http://") && out.contains("a@example.com"),
        "{out}"
    );
    let account = out
        .lines()
        .find_map(|l| l.strip_prefix("account: "))
        .unwrap()
        .trim()
        .to_owned();
    crate::support::captured(&out);
    // The refused attempts wrote no account: the email is taken only once.
    let (ok, out) = run(
        &[
            "account",
            "create",
            "--name",
            "Again",
            "--email",
            "a@example.com",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    assert!(!ok && out.contains(&account), "{out}");
    let (ok, out) = run(
        &[
            "account",
            "set-password",
            "--account",
            &account,
            "--password-stdin",
        ],
        Some("another password 1\n"),
    );
    assert!(ok, "{out}");
    let (ok, out) = run(
        &[
            "account",
            "set-password",
            "--account",
            "acc_nobody",
            "--password-stdin",
        ],
        Some("another password 1\n"),
    );
    assert!(!ok && out.contains("no account acc_nobody"), "{out}");
}
