//! A virtual phone's sender keys (Signal's group cipher): the keys other
//! members distributed to it, its own key per group, and which devices
//! already have its own key.
//!
//! A key is named by group and sending device (`GROUP@g.us` and
//! `NUMBER.DEVICE`): the server always names the sending device in a group
//! message's `participant`, so the distribution and the messages under it
//! meet under one name.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use wacore_libsignal::protocol::{
    SenderKeyDistributionMessage, SenderKeyName, SenderKeyRecord, SenderKeyStore,
    SignalProtocolError, create_sender_key_distribution_message, group_decrypt, group_encrypt,
    process_sender_key_distribution_message,
};

use crate::signal::PrimarySignal;

/// Sender key records by name, and the devices our own keys went to.
#[derive(Default)]
pub struct SenderKeys {
    records: HashMap<String, SenderKeyRecord>,
    /// Per group JID: the (number, device) pairs that got our own key.
    distributed: HashMap<String, BTreeSet<(String, u32)>>,
}

#[async_trait]
impl SenderKeyStore for SenderKeys {
    async fn store_sender_key(
        &mut self,
        name: &SenderKeyName,
        record: SenderKeyRecord,
    ) -> Result<(), SignalProtocolError> {
        self.records.insert(name.cache_key().to_string(), record);
        Ok(())
    }

    async fn load_sender_key(
        &self,
        name: &SenderKeyName,
    ) -> Result<Option<SenderKeyRecord>, SignalProtocolError> {
        Ok(self.records.get(name.cache_key()).cloned())
    }
}

/// The name of the sender key of `number`'s `device` in `group_jid`.
pub fn key_name(group_jid: &str, number: &str, device: u32) -> SenderKeyName {
    SenderKeyName::from_parts(group_jid, &format!("{number}.{device}"))
}

impl PrimarySignal {
    /// Takes in a sender key another member distributed (an SKDM).
    pub async fn process_distribution(
        &mut self,
        name: &SenderKeyName,
        skdm: &[u8],
    ) -> anyhow::Result<()> {
        let skdm = SenderKeyDistributionMessage::try_from(skdm)?;
        process_sender_key_distribution_message(name, &skdm, &mut self.sender_keys).await?;
        Ok(())
    }

    /// Decrypts a group message (skmsg) under the sender key `name`.
    pub async fn group_decrypt(
        &mut self,
        name: &SenderKeyName,
        skmsg: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        Ok(group_decrypt(skmsg, &mut self.sender_keys, name).await?)
    }

    /// Our own key for a group, as an SKDM (made on first use).
    pub async fn own_distribution(&mut self, name: &SenderKeyName) -> anyhow::Result<Vec<u8>> {
        let skdm = create_sender_key_distribution_message(
            name,
            &mut self.sender_keys,
            &mut rand::make_rng::<rand::rngs::StdRng>(),
        )
        .await?;
        Ok(skdm.into_serialized().into_vec())
    }

    /// Encrypts a group message under our own key `name`.
    pub async fn group_encrypt(
        &mut self,
        name: &SenderKeyName,
        plaintext: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        let msg = group_encrypt(
            &mut self.sender_keys,
            name,
            plaintext,
            &mut rand::make_rng::<rand::rngs::StdRng>(),
        )
        .await?;
        Ok(msg.into_serialized().into_vec())
    }

    /// Before sending to `group_jid` whose member devices are now `devices`:
    /// if a device that had our key is no longer a member's, our key is
    /// dropped (a new one is distributed to everyone), as clients rotate
    /// after a removal. Returns the devices that still need our key.
    pub fn devices_needing_key(
        &mut self,
        name: &SenderKeyName,
        group_jid: &str,
        devices: &[(String, u32)],
    ) -> Vec<(String, u32)> {
        let had = self
            .sender_keys
            .distributed
            .entry(group_jid.to_string())
            .or_default();
        if had.iter().any(|d| !devices.contains(d)) {
            had.clear();
            self.sender_keys.records.remove(name.cache_key());
        }
        devices
            .iter()
            .filter(|d| !had.contains(*d))
            .cloned()
            .collect()
    }

    /// Records that `device` got our key for `group_jid`.
    pub fn mark_distributed(&mut self, group_jid: &str, device: (String, u32)) {
        self.sender_keys
            .distributed
            .entry(group_jid.to_string())
            .or_default()
            .insert(device);
    }
}
