"""Verifies webhook deliveries with the Standard Webhooks reference library
(https://github.com/standard-webhooks/standard-webhooks), not wadesk's code.

Reads JSON lines from stdin: {"secret", "id", "timestamp", "signature", "body"};
prints one line per delivery: the verified payload's "event" field.
"""
import json
import sys

from standardwebhooks.webhooks import Webhook

for line in sys.stdin:
    d = json.loads(line)
    payload = Webhook(d["secret"]).verify(
        d["body"],
        {
            "webhook-id": d["id"],
            "webhook-timestamp": d["timestamp"],
            "webhook-signature": d["signature"],
        },
    )
    print(payload["event"])
