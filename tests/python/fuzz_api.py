"""Schemathesis over the running gateway's /openapi.json.

Run by tests/it/fuzz_api.rs inside a network namespace that has only
loopback (so a URL the fuzzer invents, e.g. a webhook on some host name,
can never be looked up or reached off the machine). Starts `wadesk sim`
and `wadesk serve` (with the environment it was given, pointed at that
simulator), waits until it is ready, creates a phone
so that generated requests can name a real one, and runs `schemathesis run`
on every operation: examples, coverage, fuzzing and stateful phases, with a
fixed seed and bounded examples. Prints schemathesis's own summary (with a
curl command reproducing each failure) and a last line for the Rust test:

    fuzz: operations=N examples=N failures=N

Arguments: the wadesk binary, a directory for reports, the API token.
Environment: WADESK__* for the server; FUZZ_MAX_EXAMPLES, FUZZ_SEED.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request


def request(method, url, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def wait_ready(base, server):
    for _ in range(400):
        if server.poll() is not None:
            sys.exit(f"wadesk serve exited with {server.returncode} before it was ready")
        try:
            status, _ = request("GET", f"{base}/readyz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("wadesk serve never answered /readyz with 200")


def figures(report_path):
    """Operations tested, examples tried and failures, from the NDJSON events."""
    operations = set()
    examples = 0
    failures = 0
    with open(report_path) as f:
        for line in f:
            event = json.loads(line)
            for name, body in event.items():
                if name == "ScenarioFinished":
                    recorder = body.get("recorder", {})
                    label = recorder.get("label")
                    if label and " -> " not in label and label.split(" ", 1)[0].isupper():
                        operations.add(label)
                    interactions = recorder.get("interactions", {})
                    examples += len(interactions)
                    for check_list in recorder.get("checks", {}).values():
                        failures += sum(1 for c in check_list if c.get("status") == "FAILURE")
    return operations, examples, failures


def main():
    binary, report_dir, token = sys.argv[1:4]
    base = "http://" + os.environ["WADESK__SERVER__LISTEN"]
    # The simulator runs in this namespace too, so pairing reaches it.
    sim = subprocess.Popen(
        [binary, "sim", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    ws = sim.stdout.readline().split("websocket:", 1)[1].strip()
    env = dict(os.environ, WADESK__WHATSAPP__SERVER_URL=ws)
    server = subprocess.Popen([binary, "serve"], stdout=subprocess.DEVNULL, env=env)
    try:
        wait_ready(base, server)
        status, body = request("POST", f"{base}/api/phones", token, {"name": "Fuzz line"})
        assert status == 200, body
        os.makedirs(report_dir, exist_ok=True)
        ndjson = os.path.join(report_dir, "events.ndjson")
        cmd = [
            sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json",
            "--url", base,
            "--header", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error,response_schema_conformance,"
            "status_code_conformance,content_type_conformance",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", os.environ.get("FUZZ_MAX_EXAMPLES", "20"),
            "--seed", os.environ.get("FUZZ_SEED", "18"),
            "--request-timeout", "2",
            "--workers", "1",
            "--generation-database", "none",
            "--report", "ndjson",
            "--report-ndjson-path", ndjson,
            "--no-color",
            "--output-truncate", "false",
        ]
        run = subprocess.run(cmd)
        operations, examples, failures = figures(ndjson)
        print(
            f"fuzz: operations={len(operations)} examples={examples} "
            f"failures={failures} exit={run.returncode}"
        )
        return run.returncode
    finally:
        for process in (server, sim):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
