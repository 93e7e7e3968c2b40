//! Pairing by code ("link with phone number"): the client's `companion_hello`,
//! the user typing the code into the virtual phone (`primary_hello`), and the
//! client's `companion_finish`, from which the phone derives the adv secret and
//! links the device as after a QR scan.
//! Client side: wacore `src/pair_code.rs`, whatsapp-rust `src/pair_code.rs`.

use anyhow::{anyhow, bail};
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use wacore_libsignal::protocol::{KeyPair, PublicKey};

use crate::nodes::{self, SERVER, attr, new_id, parse_jid, unix_now};
use crate::pairing::link_device;
use crate::state::{ConnRole, PairCodeRequest, Shared};

/// `<link_code_companion_reg stage=..>` IQs from a registering client.
pub(crate) fn link_code_iq(shared: &Shared, conn: u64, id: &str, reg: &Node) -> Node {
    match attr(reg, "stage").as_deref() {
        Some("companion_hello") => {
            let number = attr(reg, "jid")
                .and_then(|j| parse_jid(&j))
                .map(|j| j.user.to_string())
                .unwrap_or_default();
            let wrapped =
                nodes::child_bytes(reg, "link_code_pairing_wrapped_companion_ephemeral_pub")
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
            let mut st = shared.state();
            let registering = matches!(
                st.conns.get(&conn).map(|h| &h.role),
                Some(ConnRole::Registering { .. })
            );
            if !registering || wrapped.len() != 80 {
                return nodes::iq_error(id, 400, "bad-request");
            }
            if st.dir.phone(&number).is_none() {
                // As on WhatsApp: a number that is not registered cannot link devices.
                return nodes::iq_error(id, 404, "item-not-found");
            }
            let pairing_ref = format!("2@{}", BASE64_STANDARD.encode(new_id()));
            st.pair_codes.insert(
                conn,
                PairCodeRequest {
                    number,
                    pairing_ref: pairing_ref.clone(),
                    wrapped_companion_ephemeral: wrapped,
                    primary_ephemeral: None,
                    companion_ephemeral: None,
                },
            );
            nodes::iq_result(id)
                .children([NodeBuilder::new("link_code_companion_reg")
                    .attr("stage", "companion_hello")
                    .children([NodeBuilder::new("link_code_pairing_ref")
                        .bytes(pairing_ref.into_bytes())
                        .build()])
                    .build()])
                .build()
        }
        Some("companion_finish") => match finish_pair_code(shared, conn, reg) {
            Ok(()) => nodes::iq_result(id).build(),
            Err(e) => {
                log::warn!("conn {conn}: pair-code finish refused: {e:#}");
                nodes::iq_error(id, 400, "bad-request")
            }
        },
        _ => nodes::iq_error(id, 400, "bad-request"),
    }
}

/// The user types `code` into the virtual phone `number`: the phone answers the waiting
/// client's companion_hello with its `primary_hello`.
pub(crate) fn enter_pair_code(shared: &Shared, number: &str, code: &str) -> anyhow::Result<()> {
    let code = code.trim().to_ascii_uppercase();
    let (conn, wrapped_companion, account) = {
        let st = shared.state();
        let account = st
            .dir
            .phone(number)
            .ok_or_else(|| anyhow!("{number} is not a virtual phone"))?
            .account_kp
            .clone();
        let (conn, req) = st
            .pair_codes
            .iter()
            .find(|(_, r)| r.number == number && r.primary_ephemeral.is_none())
            .ok_or_else(|| anyhow!("no client is waiting for a pair code on {number}"))?;
        (*conn, req.wrapped_companion_ephemeral.clone(), account)
    };
    // PBKDF2 with 131072 rounds, twice: done outside the state lock.
    let companion_eph =
        wacore::pair_code::PairCodeUtils::decrypt_primary_ephemeral_pub(&wrapped_companion, &code)
            .map_err(|e| anyhow!("unwrap companion ephemeral: {e:?}"))?;
    let primary_eph = KeyPair::generate(&mut rand::rng());
    let eph_pub: [u8; 32] = primary_eph.public_key.public_key_bytes().try_into()?;
    let wrapped = wacore::pair_code::PairCodeUtils::encrypt_ephemeral_pub(&eph_pub, &code);

    let mut st = shared.state();
    let req = st
        .pair_codes
        .get_mut(&conn)
        .ok_or_else(|| anyhow!("the client went away"))?;
    req.companion_ephemeral = Some(companion_eph);
    req.primary_ephemeral = Some(primary_eph);
    let node = NodeBuilder::new("notification")
        .attr("from", SERVER)
        .attr("type", "link_code_companion_reg")
        .attr("id", new_id())
        .attr("t", unix_now().to_string())
        .children([NodeBuilder::new("link_code_companion_reg")
            .attr("stage", "primary_hello")
            .children([
                NodeBuilder::new("link_code_pairing_wrapped_primary_ephemeral_pub")
                    .bytes(wrapped.to_vec())
                    .build(),
                NodeBuilder::new("primary_identity_pub")
                    .bytes(account.public_key.public_key_bytes().to_vec())
                    .build(),
                NodeBuilder::new("link_code_pairing_ref")
                    .bytes(req.pairing_ref.clone().into_bytes())
                    .build(),
            ])
            .build()])
        .build();
    let h = st
        .conns
        .get(&conn)
        .ok_or_else(|| anyhow!("the client went away"))?;
    h.send(node);
    Ok(())
}

/// companion_finish: recover the adv secret from the key bundle, then link as after a scan.
fn finish_pair_code(shared: &Shared, conn: u64, reg_node: &Node) -> anyhow::Result<()> {
    let bundle = nodes::child_bytes(reg_node, "link_code_pairing_wrapped_key_bundle")
        .ok_or_else(|| anyhow!("no key bundle"))?;
    let companion_identity: [u8; 32] = nodes::child_bytes(reg_node, "companion_identity_public")
        .ok_or_else(|| anyhow!("no companion identity"))?
        .try_into()
        .map_err(|_| anyhow!("companion identity is not 32 bytes"))?;
    let mut st = shared.state();
    let req = st
        .pair_codes
        .remove(&conn)
        .ok_or_else(|| anyhow!("no pair-code request on this connection"))?;
    let (Some(primary_eph), Some(companion_eph)) = (req.primary_ephemeral, req.companion_ephemeral)
    else {
        bail!("the phone has not entered the code yet");
    };
    let (reg, noise_pub) = match st.conns.get(&conn) {
        Some(h) => match &h.role {
            ConnRole::Registering { reg, .. } => (reg.clone(), h.noise_pub),
            _ => bail!("connection is not registering"),
        },
        None => bail!("connection vanished"),
    };
    if reg.identity != companion_identity {
        bail!("companion identity differs from the registered one");
    }
    let account = st
        .dir
        .phone(&req.number)
        .ok_or_else(|| anyhow!("phone vanished"))?
        .account_kp
        .clone();
    let eph_shared = primary_eph
        .private_key
        .calculate_agreement(&PublicKey::from_djb_public_key_bytes(&companion_eph)?)?;
    if bundle.len() < 32 + 12 + 16 {
        bail!("key bundle too short");
    }
    let (salt, rest) = bundle.split_at(32);
    let (iv, ct) = rest.split_at(12);
    let mut key = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(
        &eph_shared,
        Some(salt),
        b"link_code_pairing_key_bundle_encryption_key",
        &mut key,
    )
    .map_err(|e| anyhow!("hkdf: {e:?}"))?;
    let mut plain = Vec::new();
    let iv: [u8; 12] = iv.try_into()?;
    wacore_libsignal::crypto::aes_256_gcm_decrypt(&key, &iv, b"", ct, &mut plain)
        .map_err(|_| anyhow!("key bundle does not decrypt (wrong code?)"))?;
    if plain.len() != 96
        || plain[..32] != companion_identity
        || plain[32..64] != *account.public_key.public_key_bytes()
    {
        bail!("key bundle content mismatch");
    }
    let id_shared = account
        .private_key
        .calculate_agreement(&PublicKey::from_djb_public_key_bytes(&companion_identity)?)?;
    let mut ikm = Vec::with_capacity(96);
    ikm.extend_from_slice(&eph_shared);
    ikm.extend_from_slice(&id_shared);
    ikm.extend_from_slice(&plain[64..96]);
    let mut adv_secret = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(&ikm, None, b"adv_secret", &mut adv_secret)
        .map_err(|e| anyhow!("hkdf: {e:?}"))?;
    let number = req.number.clone();
    link_device(
        &mut st,
        conn,
        reg,
        noise_pub,
        companion_identity,
        adv_secret,
        &number,
    )?;
    Ok(())
}
