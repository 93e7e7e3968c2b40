//! The bot's decisions that need no provider or session.

use serde_json::json;

use super::*;

fn received(payload: serde_json::Value) -> event::Model {
    event::Model {
        cursor: 1,
        id: "evt_1".into(),
        account_id: "acc".into(),
        phone_id: Some("ph".into()),
        event: "message.received".into(),
        payload: payload.to_string(),
        created_at: 0,
    }
}

fn text_from(from: &str) -> serde_json::Value {
    json!({"event": "message.received", "phone_id": "ph", "from": from,
           "message": {"id": "X", "type": "text", "text": "hi", "timestamp": 1},
           "push_name": null, "lid": null, "group": null})
}

#[test]
fn only_a_persons_text_in_a_one_to_one_chat() {
    let own = Some("919800000001");
    assert_eq!(
        for_the_bot(&received(text_from("919800000002")), own).as_deref(),
        Some("919800000002")
    );
    let mut group = text_from("919800000002");
    group["group"] = json!("120363000000000001");
    assert_eq!(for_the_bot(&received(group), own), None, "groups");
    let mut image = text_from("919800000002");
    image["message"]["type"] = json!("image");
    assert_eq!(for_the_bot(&received(image), own), None, "not text");
    let mut blank = text_from("919800000002");
    blank["message"]["text"] = json!("  ");
    assert_eq!(
        for_the_bot(&received(blank), own),
        None,
        "nothing to answer"
    );
    assert_eq!(
        for_the_bot(&received(text_from("919800000001")), own),
        None,
        "ourselves"
    );
    let mut lid_only = text_from("112233445566");
    lid_only["lid"] = json!("112233445566");
    assert_eq!(for_the_bot(&received(lid_only), own), None, "no number");
    let mut resolved = text_from("919800000002");
    resolved["lid"] = json!("112233445566");
    assert!(for_the_bot(&received(resolved), own).is_some());
}

#[test]
fn the_cursor_stops_before_the_oldest_waiting_person() {
    let mut run = Run {
        account_id: "acc".into(),
        number: None,
        scanned: 40,
        stored: 0,
        waiting: HashMap::new(),
    };
    assert_eq!(run.safe_cursor(), 40);
    let waiting = |first, last| Waiting {
        first_cursor: first,
        last_cursor: last,
        due: Instant::now(),
        taken: None,
    };
    run.waiting.insert("a".into(), waiting(12, 30));
    run.waiting.insert("b".into(), waiting(20, 20));
    assert_eq!(run.safe_cursor(), 11);
    // a's reply covered up to 25; a wrote again at 30.
    run.waiting.get_mut("a").unwrap().taken = Some(25);
    finished(&mut run, "a");
    assert_eq!(run.waiting["a"].first_cursor, 26);
    assert_eq!(run.safe_cursor(), 19);
    run.waiting.get_mut("b").unwrap().taken = Some(20);
    finished(&mut run, "b");
    assert!(!run.waiting.contains_key("b"));
    assert_eq!(run.safe_cursor(), 25);
}
