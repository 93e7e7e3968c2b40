//! Property-based fuzzing of the REST API: schemathesis (tests/python/
//! fuzz_api.py) against a real `wadesk serve` with a real token, over every
//! operation of /openapi.json, with the checks not_a_server_error,
//! response_schema_conformance, status_code_conformance and
//! content_type_conformance. 0 failures, or the test fails with
//! schemathesis's report, which has a curl command for each failure.
//!
//! The server and schemathesis run in a network namespace with loopback
//! alone (`unshare -n` as root, `unshare -rn` otherwise): the fuzzer invents
//! webhook and media URLs, and a host name in one must never be looked up
//! or fetched off this machine.

use std::process::Stdio;

use wadesk_sim::{SimConfig, Simulator};

use crate::{process::Gateway, support::Db};

/// Examples per operation and phase: the whole run takes a few minutes on
/// two cores. FUZZ_MAX_EXAMPLES overrides it for a longer local run.
const MAX_EXAMPLES: &str = "20";
/// Fixed, so a failure can be run again (FUZZ_SEED overrides it).
const SEED: &str = "18";

#[tokio::test]
async fn schemathesis_finds_no_failures() {
    let Ok(python) = std::env::var("WADESK_TEST_PYTHON") else {
        println!(
            "skipping the schemathesis fuzz run: WADESK_TEST_PYTHON is not set (scripts/test sets it)"
        );
        return;
    };
    // Only for the environment's shape: fuzz_api.py starts `wadesk sim`
    // inside the namespace and points the server at that one.
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::new(&Db::Sqlite, &sim, &dir, &[]).await;
    let api = gateway.create_account(gateway.command());
    let reports = dir.path().join("schemathesis");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/fuzz_api.py");

    let root = is_root();
    let mut command = tokio::process::Command::new("unshare");
    command.args(if root { &["-n"][..] } else { &["-r", "-n"][..] });
    command.args([
        "--",
        "sh",
        "-c",
        "ip link set lo up && exec \"$0\" \"$@\"",
        &python,
        script,
        crate::process::BIN,
        &reports.display().to_string(),
        &api.token,
    ]);
    command.envs(gateway.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
        .env("RUST_LOG", "warn")
        .env(
            "FUZZ_MAX_EXAMPLES",
            std::env::var("FUZZ_MAX_EXAMPLES").unwrap_or_else(|_| MAX_EXAMPLES.into()),
        )
        .env(
            "FUZZ_SEED",
            std::env::var("FUZZ_SEED").unwrap_or_else(|_| SEED.into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = command
        .output()
        .await
        .expect("unshare runs (util-linux; root, or unprivileged user namespaces)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    sim.shutdown();
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("fuzz: "))
        .unwrap_or_else(|| panic!("the fuzz run did not finish:\n{stdout}\n{stderr}"))
        .to_owned();
    // Written to stderr directly, past the test harness's capture, so that
    // scripts/test's output shows the figures.
    {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "schemathesis {last}");
    }
    let figure = |name: &str| -> u64 {
        last.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {last}"))
    };
    assert!(
        out.status.success() && figure("failures") == 0 && figure("exit") == 0,
        "schemathesis found failures (each with a curl command to reproduce it):\n{stdout}\n{stderr}"
    );
    let doc = wadesk::server::openapi_document(100_000).unwrap();
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        figure("operations") as usize,
        documented,
        "every documented operation is fuzzed: {last}"
    );
    assert!(figure("examples") > 0, "{last}");
}

/// Whether this process runs as root (then `unshare -n` needs no user
/// namespace).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}
