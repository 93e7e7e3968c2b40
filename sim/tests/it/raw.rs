//! A bare protocol client: Noise XX over the websocket and binary nodes, with
//! keys from wacore's own device generation and wacore's pairing crypto. It
//! does only what a test tells it, so it can behave as clients that are not
//! whatsapp-rust do (Baileys answers a `<message>` with its receipt alone) or
//! leave a stanza unacknowledged on purpose.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use buffa::Message as _;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_websockets::{MaybeTlsStream, Message, WebSocketStream};
use wacore::pair::{DeviceState, PairUtils};
use wacore_binary::builder::NodeBuilder;
use wacore_binary::consts::WA_CONN_HEADER;
use wacore_binary::{Jid, Node, NodeContent};
use wacore_noise::framing::{FrameDecoder, encode_frame};
use wacore_noise::{NoiseCipher, XxHandshakeState};
use wadesk_sim::Simulator;

/// One connection to the simulator, after the Noise handshake.
pub struct RawConn {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    dec: FrameDecoder,
    write: NoiseCipher,
    read: NoiseCipher,
    sent: u32,
    received: u32,
    next_id: u32,
}

pub fn attr(node: &Node, key: &str) -> Option<String> {
    node.attrs.get(key).map(|v| v.as_str().into_owned())
}

pub fn child<'a>(node: &'a Node, tag: &str) -> Option<&'a Node> {
    node.get_optional_child(tag)
}

fn child_bytes<'a>(node: &'a Node, tag: &str) -> Option<&'a [u8]> {
    match &child(node, tag)?.content {
        Some(NodeContent::Bytes(b)) => Some(b),
        _ => None,
    }
}

impl RawConn {
    /// Connects and runs an XX handshake carrying `payload`.
    pub async fn connect(
        sim: &Simulator,
        device: &wacore::store::Device,
    ) -> anyhow::Result<RawConn> {
        let (mut ws, _) = tokio_websockets::ClientBuilder::new()
            .uri(&sim.ws_url())?
            .connect()
            .await?;
        let payload = device.get_client_payload().encode_to_vec();
        let mut hs = XxHandshakeState::new(device.noise_key.clone(), payload, &WA_CONN_HEADER)?;
        ws.send(Message::binary(encode_frame(
            &hs.build_client_hello()?,
            Some(&WA_CONN_HEADER),
        )?))
        .await?;
        let mut dec = FrameDecoder::new();
        let hello = next_frame(&mut ws, &mut dec).await?;
        let finish = hs.read_server_hello_and_build_client_finish(&hello)?;
        ws.send(Message::binary(encode_frame(&finish, None)?))
            .await?;
        let keys = hs.finish()?;
        Ok(RawConn {
            ws,
            dec,
            write: keys.write_cipher,
            read: keys.read_cipher,
            sent: 0,
            received: 0,
            next_id: 0,
        })
    }

    pub async fn send(&mut self, node: &Node) -> anyhow::Result<()> {
        let plain = wacore_binary::marshal::marshal(node)?;
        let ct = self.write.encrypt_with_counter(self.sent, &plain)?;
        self.sent += 1;
        self.ws
            .send(Message::binary(encode_frame(&ct, None)?))
            .await?;
        Ok(())
    }

    /// The next stanza; `None` once the server has closed the connection.
    pub async fn recv(&mut self, timeout: Duration) -> anyhow::Result<Option<Node>> {
        let frame = match tokio::time::timeout(timeout, next_frame(&mut self.ws, &mut self.dec))
            .await
            .map_err(|_| anyhow!("no stanza within {timeout:?}"))?
        {
            Ok(f) => f,
            Err(_) => return Ok(None),
        };
        let mut frame = frame;
        self.read
            .decrypt_in_place_with_counter(self.received, &mut frame)?;
        self.received += 1;
        let unpacked = wacore_binary::util::unpack(&frame)?;
        Ok(Some(
            wacore_binary::marshal::unmarshal_ref(&unpacked)?.to_owned(),
        ))
    }

    /// Stanzas until (and including) the first one `stop` accepts.
    pub async fn recv_until(
        &mut self,
        timeout: Duration,
        what: &str,
        mut stop: impl FnMut(&Node) -> bool,
    ) -> anyhow::Result<Vec<Node>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let node = self
                .recv(left)
                .await
                .with_context(|| format!("waiting for {what}"))?
                .ok_or_else(|| anyhow!("closed while waiting for {what}"))?;
            let done = stop(&node);
            got.push(node);
            if done {
                return Ok(got);
            }
        }
    }

    /// Sends an IQ and returns its id.
    pub async fn iq(
        &mut self,
        xmlns: &str,
        ty: &str,
        content: Vec<Node>,
    ) -> anyhow::Result<String> {
        self.next_id += 1;
        let id = format!("raw-{}", self.next_id);
        self.send(
            &NodeBuilder::new("iq")
                .attr("id", id.clone())
                .attr("to", "s.whatsapp.net")
                .attr("xmlns", xmlns.to_string())
                .attr("type", ty.to_string())
                .children(content)
                .build(),
        )
        .await?;
        Ok(id)
    }

    /// `<active/>`, then everything up to the offline marker: the stanzas the
    /// server kept for this device, and the marker's count.
    pub async fn go_active(&mut self) -> anyhow::Result<(Vec<Node>, usize)> {
        self.iq("passive", "set", vec![NodeBuilder::new("active").build()])
            .await?;
        let mut got = self
            .recv_until(Duration::from_secs(10), "the offline marker", |n| {
                n.tag == "ib" && child(n, "offline").is_some()
            })
            .await?;
        let marker = got.pop().ok_or_else(|| anyhow!("no marker"))?;
        let count = child(&marker, "offline")
            .and_then(|o| attr(o, "count"))
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| anyhow!("offline marker without a count"))?;
        got.retain(|n| !(n.tag == "iq" && attr(n, "type").as_deref() == Some("result")));
        Ok((got, count))
    }

    /// The receipt a client sends for a `<message>` it got (no `<ack>`).
    pub async fn receipt(&mut self, message: &Node) -> anyhow::Result<()> {
        let (Some(id), Some(from)) = (attr(message, "id"), attr(message, "from")) else {
            bail!("message without id or from");
        };
        self.send(
            &NodeBuilder::new("receipt")
                .attr("id", id)
                .attr("to", from)
                .build(),
        )
        .await
    }

    pub async fn close(mut self) {
        let _ = self.ws.close().await;
    }
}

async fn next_frame(
    ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>,
    dec: &mut FrameDecoder,
) -> anyhow::Result<bytes::BytesMut> {
    loop {
        if let Some(f) = dec.decode_frame() {
            return Ok(f);
        }
        let msg = ws.next().await.ok_or_else(|| anyhow!("closed"))??;
        if msg.is_close() {
            bail!("closed by the server");
        }
        if msg.is_binary() {
            dec.feed(msg.as_payload());
        }
    }
}

/// A companion device of a virtual phone, paired through the raw protocol.
pub struct RawDevice {
    pub keys: wacore::store::Device,
}

impl RawDevice {
    /// A fresh device: shows its QR, is scanned by `number`'s virtual phone,
    /// signs its identity as wacore does, and is told to restart (515).
    pub async fn pair(sim: &Simulator, number: &str, push_name: &str) -> anyhow::Result<RawDevice> {
        let mut keys = wacore::store::Device::new();
        keys.push_name = push_name.to_string();
        let mut conn = RawConn::connect(sim, &keys).await?;
        let pair_device = conn
            .recv_until(Duration::from_secs(10), "pair-device", |n| {
                child(n, "pair-device").is_some()
            })
            .await?
            .pop()
            .ok_or_else(|| anyhow!("no pair-device"))?;
        if let Some(ack) = PairUtils::build_ack_node(&pair_device) {
            conn.send(&ack).await?;
        }
        let first_ref = child(&pair_device, "pair-device")
            .and_then(|p| child_bytes(p, "ref"))
            .map(|r| String::from_utf8_lossy(r).to_string())
            .ok_or_else(|| anyhow!("pair-device without a ref"))?;
        let state = DeviceState {
            identity_key: keys.identity_key.clone(),
            noise_key: keys.noise_key.clone(),
            adv_secret_key: keys.adv_secret_key,
        };
        let qr = PairUtils::make_qr_data(&state, &first_ref, Default::default());
        sim.scan(&qr, number).await?;
        let success = conn
            .recv_until(Duration::from_secs(10), "pair-success", |n| {
                child(n, "pair-success").is_some()
            })
            .await?
            .pop()
            .ok_or_else(|| anyhow!("no pair-success"))?;
        let ps = child(&success, "pair-success").ok_or_else(|| anyhow!("no pair-success"))?;
        let identity = child_bytes(ps, "device-identity")
            .ok_or_else(|| anyhow!("pair-success without device-identity"))?;
        let (signed, key_index) = PairUtils::do_pair_crypto(&state, identity)?;
        let jid: Jid = child(ps, "device")
            .and_then(|d| attr(d, "jid"))
            .and_then(|j| j.parse().ok())
            .ok_or_else(|| anyhow!("pair-success without a device jid"))?;
        let id = attr(&success, "id").unwrap_or_default();
        conn.send(&PairUtils::build_pair_success_response(
            &id, signed, key_index,
        ))
        .await?;
        conn.recv_until(Duration::from_secs(10), "the 515 restart", |n| {
            n.tag == "stream:error" && attr(n, "code").as_deref() == Some("515")
        })
        .await?;
        conn.close().await;
        keys.pn = Some(jid);
        Ok(RawDevice { keys })
    }

    /// Logs in (XX) and waits for `<success>`.
    pub async fn login(&self, sim: &Simulator) -> anyhow::Result<RawConn> {
        let mut conn = RawConn::connect(sim, &self.keys).await?;
        let first = conn
            .recv(Duration::from_secs(10))
            .await?
            .ok_or_else(|| anyhow!("closed before <success>"))?;
        if first.tag != "success" {
            bail!("login answered with {first:?}");
        }
        Ok(conn)
    }
}
