//! An account's device list as peers see it: which devices are listed, the
//! signed key-index list that vouches for them, and the `devices`
//! notifications that tell an account's other devices about a link or unlink.

use buffa::Message as _;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use waproto::whatsapp as wa;

use crate::delivery::deliver;
use crate::directory::Phone;
use crate::nodes::{self, device_pn_jid, unix_now};
use crate::state::State;

/// Prefix of the account signature over an `ADVKeyIndexList` (the client does not check it).
const ADV_PREFIX_KEY_INDEX_LIST: &[u8] = &[6, 2];

/// Devices a peer may encrypt to, as (device, key index): the primary, and
/// companions that finished linking (signed their identity).
pub(crate) fn listed_devices(phone: &Phone) -> Vec<(u32, u32)> {
    phone
        .devices
        .values()
        .filter(|d| d.id == 0 || d.adv_identity.is_some())
        .map(|d| (d.id, d.key_index))
        .collect()
}

/// `ADVSignedKeyIndexList` of the account's currently valid key indexes.
pub(crate) fn key_index_list(phone: &Phone) -> Vec<u8> {
    let valid = phone.valid_key_indexes();
    let details = wa::ADVKeyIndexList {
        raw_id: Some(phone.created_at as u32),
        timestamp: Some(unix_now()),
        current_index: Some(valid.iter().copied().max().unwrap_or(0)),
        valid_indexes: valid,
        account_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let mut msg = ADV_PREFIX_KEY_INDEX_LIST.to_vec();
    msg.extend_from_slice(&details);
    // whatsapp-rust does not check this signature; an empty one is still well formed.
    let sig = phone
        .account_kp
        .private_key
        .calculate_signature(&msg, &mut rand::rng())
        .map(|s| s.to_vec())
        .unwrap_or_default();
    wa::ADVSignedKeyIndexList {
        details: Some(details),
        account_signature: Some(sig),
        account_signature_key: Some(phone.account_kp.public_key.public_key_bytes().to_vec()),
    }
    .encode_to_vec()
}

/// `<notification type="devices"><add|remove>` telling an account's other devices that
/// `device` was linked or unlinked (they refresh their cached device list).
fn devices_notification(phone: &Phone, op: &'static str, device: u32, key_index: u32) -> Node {
    NodeBuilder::new("notification")
        .attr("from", phone.pn_jid())
        .attr("type", "devices")
        .attr("id", nodes::new_id())
        .attr("t", unix_now().to_string())
        .children([NodeBuilder::new(op)
            .children([
                NodeBuilder::new("device")
                    .attr("jid", device_pn_jid(&phone.number, device))
                    .attr("key-index", key_index.to_string())
                    .build(),
                NodeBuilder::new("key-index-list")
                    .attr("ts", unix_now().to_string())
                    .bytes(key_index_list(phone))
                    .build(),
            ])
            .build()])
        .build()
}

/// Send a devices notification to every companion of the account except `device`.
pub(crate) fn notify_own_devices(
    st: &mut State,
    number: &str,
    op: &'static str,
    device: u32,
    key_index: u32,
) {
    let Some(phone) = st.dir.phone(number) else {
        return;
    };
    let node = devices_notification(phone, op, device, key_index);
    let others: Vec<u32> = phone
        .devices
        .keys()
        .copied()
        .filter(|d| *d != 0 && *d != device)
        .collect();
    for d in others {
        deliver(st, number, d, node.clone());
    }
}
