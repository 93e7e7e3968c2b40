"""Schemathesis over the running gateway's /openapi.json.

Run by tests/it/fuzz_api.rs inside a network namespace that has only
loopback (so a URL the fuzzer invents, e.g. a webhook on some host name,
can never be looked up or reached off the machine). Starts `wadesk sim`
and `wadesk serve` (with the environment it was given, pointed at that
simulator), waits until it is ready, creates two phones (one
paired with a virtual phone, so sends get past the phone check), and runs `schemathesis run`
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


def pair(base, admin, token, phone_id, number):
    """Links the phone as the simulator's virtual phone `number` through the
    QR stream, as a user scanning the code does."""
    request("POST", f"{admin}/admin/phones/{number}")
    req = urllib.request.Request(f"{base}/api/phones/{phone_id}/qr")
    req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as stream:
        for raw in stream:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event.get("type") == "qr":
                scan = urllib.request.Request(
                    f"{admin}/admin/phones/{number}/scan", data=event["qr"].encode(), method="POST"
                )
                urllib.request.urlopen(scan, timeout=30).read()
            elif event.get("type") == "connected":
                return
            elif event.get("type") in ("failed", "expired"):
                sys.exit(f"pairing failed: {event}")
    sys.exit("the QR stream ended before the phone was connected")


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
    admin = sim.stdout.readline().split("http:", 1)[1].strip()
    env = dict(
        os.environ,
        WADESK__WHATSAPP__SERVER_URL=ws,
        # Sheets come from the simulator's HTTP host (loopback, allowed);
        # campaigns are small, so generating their lists stays fast.
        WADESK__SHEETS__BASE_URL=admin,
        WADESK__FETCH__ALLOW_RANGES='["127.0.0.0/8"]',
        WADESK__BULK__MAX_NUMBERS="20",
    )
    server = subprocess.Popen([binary, "serve"], stdout=subprocess.DEVNULL, env=env)
    try:
        wait_ready(base, server)
        # One phone connected (sends, campaigns and webhooks get past the
        # phone check) and one pending; recipients on WhatsApp too.
        status, body = request("POST", f"{base}/api/phones", token, {"name": "Fuzz line"})
        assert status == 200, body
        connected = body["phone"]["phone_id"]
        pair(base, admin, token, connected, "919812340001")
        recipients = ["919812340002", "10000000"]
        for number in recipients:
            request("POST", f"{admin}/admin/phones/{number}")
        status, body = request("POST", f"{base}/api/phones", token, {"name": "Pending line"})
        assert status == 200, body
        pending = body["phone"]["phone_id"]
        os.makedirs(report_dir, exist_ok=True)
        # Generated phone IDs and recipients are these real ones half of the
        # time, so requests get past the phone check to the code behind it.
        config = os.path.join(report_dir, "schemathesis.toml")
        with open(config, "w") as f:
            f.write(
                f"""[dictionaries.phones]
values = ["{connected}", "{pending}"]

[dictionaries.recipients]
values = {json.dumps(recipients)}

[parameters]
"path.phone_id" = {{ dictionary = "phones", probability = 0.5 }}
"query.phone_id" = {{ dictionary = "phones", probability = 0.5 }}
"body.phone_id" = {{ dictionary = "phones", probability = 0.5 }}
"body.to" = {{ dictionary = "recipients", probability = 0.5 }}

# An event stream is read until the timeout: keep those short.
[[operations]]
include-path-regex = "^/api/(events|phones/[^/]+/qr)$"
request-timeout = 1
"""
            )
        ndjson = os.path.join(report_dir, "events.ndjson")
        cmd = [
            sys.executable, "-m", "schemathesis.cli", "--config-file", config,
            "run", f"{base}/openapi.json",
            "--url", base,
            "--header", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error,response_schema_conformance,"
            "status_code_conformance,content_type_conformance",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", os.environ.get("FUZZ_MAX_EXAMPLES", "20"),
            "--seed", os.environ.get("FUZZ_SEED", "18"),
            "--request-timeout", "30",
            "--suppress-health-check", "too_slow",
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
