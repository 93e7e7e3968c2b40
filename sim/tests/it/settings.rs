//! What the server says about an account and about itself: privacy settings
//! and server properties, read by a real whatsapp-rust client.

use wacore::iq::privacy::{PrivacyCategory, PrivacyValue};
use wacore_binary::builder::NodeBuilder;
use wadesk_sim::{SimConfig, Simulator};

use crate::common::*;

/// `<privacy/>` lists every category with WhatsApp's defaults (a client that
/// got an empty list concluded read receipts were off), and a change sticks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_settings_list_the_categories_and_keep_changes() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let c = paired_client(&sim, "15554450001", "Privacy").await;

    let settings = c.client.fetch_privacy_settings().await.unwrap();
    let value = |s: &wacore::iq::privacy::PrivacySettingsResponse, cat| s.get_value(&cat).cloned();
    assert_eq!(
        value(&settings, PrivacyCategory::ReadReceipts),
        Some(PrivacyValue::All),
        "read receipts are on: {settings:?}"
    );
    for cat in [
        PrivacyCategory::Last,
        PrivacyCategory::Online,
        PrivacyCategory::Profile,
        PrivacyCategory::Status,
        PrivacyCategory::GroupAdd,
        PrivacyCategory::CallAdd,
        PrivacyCategory::Messages,
    ] {
        assert!(value(&settings, cat.clone()).is_some(), "{cat:?} listed");
    }

    c.client
        .set_privacy_setting(PrivacyCategory::ReadReceipts, PrivacyValue::None)
        .await
        .unwrap();
    let settings = c.client.fetch_privacy_settings().await.unwrap();
    assert_eq!(
        value(&settings, PrivacyCategory::ReadReceipts),
        Some(PrivacyValue::None)
    );
    assert_eq!(
        value(&settings, PrivacyCategory::Last),
        Some(PrivacyValue::All)
    );
    c.shutdown().await;
}

/// `<iq xmlns="w"><props protocol="2" hash=""/></iq>` (Baileys asks this at
/// every login) gets the server properties, with a hash, like the `abt` props.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_props_are_answered() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ev = sim.subscribe();
    let c = paired_client(&sim, "15554450002", "Props").await;

    let ask = NodeBuilder::new("iq")
        .attr("xmlns", "w")
        .attr("type", "get")
        .attr("to", "s.whatsapp.net")
        .children([NodeBuilder::new("props")
            .attr("protocol", "2")
            .attr("hash", "")
            .build()])
        .build();
    let answer = c
        .client
        .send_iq_node(ask, None)
        .await
        .unwrap()
        .to_owned_node();
    assert_eq!(
        answer
            .attrs
            .get("type")
            .map(|v| v.as_str().into_owned())
            .as_deref(),
        Some("result")
    );
    let props = answer
        .get_optional_child("props")
        .expect("a <props> answer");
    let attr = |n: &wacore_binary::Node, k: &str| n.attrs.get(k).map(|v| v.as_str().into_owned());
    assert_eq!(attr(props, "protocol").as_deref(), Some("2"));
    assert!(attr(props, "hash").is_some_and(|h| !h.is_empty()));
    let list: Vec<(String, String)> = props
        .get_children_by_tag("prop")
        .filter_map(|p| Some((attr(p, "config_code")?, attr(p, "config_value")?)))
        .collect();
    assert!(!list.is_empty(), "{answer:?}");
    assert!(
        list.iter()
            .all(|(code, _)| code.parse::<u32>().is_ok_and(|c| c > 0))
    );

    // The client's own abt props still work, and no IQ went unanswered.
    c.client.fetch_props().await.unwrap();
    let unhandled = std::iter::from_fn(|| ev.try_recv().ok())
        .filter(|e| matches!(e, wadesk_sim::SimEvent::UnhandledIq { .. }))
        .count();
    assert_eq!(unhandled, 0);
    c.shutdown().await;
}
