//! The registry's own output: names, labels, the per-phone switch.

use std::time::Duration;

use super::*;

/// The classic text format of `metrics` (no database values).
fn text(metrics: &Metrics) -> String {
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &metrics.inner.registry)
        .unwrap();
    out
}

#[test]
fn counted_values_carry_their_labels() {
    let metrics = Metrics::new(true);
    metrics.message(MessageKind::Text, Some(Source::Bulk), MessageStatus::Sent);
    metrics.message(MessageKind::Text, Some(Source::Bulk), MessageStatus::Sent);
    metrics.message(MessageKind::Image, None, MessageStatus::Received);
    metrics.send(Source::Api, SendOutcome::Sent, Duration::from_millis(30));
    metrics.webhook_attempt(AttemptOutcome::Rejected, Duration::from_millis(3));
    metrics.reconnected("ph_a");
    let out = text(&metrics);
    for line in [
        r#"wadesk_messages_total{kind="text",source="bulk",status="sent"} 2"#,
        r#"wadesk_messages_total{kind="image",source="inbound",status="received"} 1"#,
        r#"wadesk_send_duration_seconds_bucket{source="api",outcome="sent",le="0.05"} 1"#,
        r#"wadesk_send_duration_seconds_bucket{source="api",outcome="sent",le="0.025"} 0"#,
        r#"wadesk_webhook_attempts_total{outcome="rejected"} 1"#,
        r#"wadesk_phone_reconnects_total{phone_id="ph_a"} 1"#,
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
}

#[test]
fn without_per_phone_no_id_is_a_label() {
    let metrics = Metrics::new(false);
    metrics.reconnected("ph_a");
    metrics.reconnected("ph_b");
    let out = text(&metrics);
    assert!(
        out.lines().any(|l| l == "wadesk_phone_reconnects_total 2"),
        "{out}"
    );
    assert!(!out.contains("phone_id"), "{out}");
    assert!(!out.contains("wadesk_phone_connected"), "{out}");
}
