//! Websocket listener and per-connection tasks: framing, Noise transport encryption,
//! binary node (de)serialisation and dispatch of stanzas to the protocol modules.

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use buffa::Message as _;
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_websockets::{Message, ServerBuilder, WebSocketStream};
use wacore_binary::Node;
use wacore_noise::NoiseCipher;
use wacore_noise::framing::{FrameDecoder, encode_frame};
use waproto::whatsapp as wa;

use crate::delivery::{self, drop_conn};
use crate::handshake::{self, HelloStep};
use crate::nodes::{self, attr, child};
use crate::state::{ConnHandle, ConnRole, Outbound, Shared, SimEvent};
use crate::{group_iq, login, paircode, pairing, prekeys, router, settings, usync};

type Ws = WebSocketStream<TcpStream>;
type WsStream = futures_util::stream::SplitStream<Ws>;

pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                log::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if shared.in_outage() {
            // Accepted and closed at once: the client's websocket upgrade fails.
            drop(tcp);
            log::debug!("outage: connection from {peer} refused");
            shared.emit(SimEvent::RefusedInOutage);
            continue;
        }
        // Small frames must not wait for Nagle / delayed acks.
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            if let Err(e) = handle_conn(shared, tcp).await {
                log::info!("connection from {peer} ended: {e:#}");
            }
        });
    }
}

/// Next complete frame, reading websocket messages as needed.
async fn next_frame(dec: &mut FrameDecoder, stream: &mut WsStream) -> anyhow::Result<BytesMut> {
    loop {
        if let Some(f) = dec.decode_frame() {
            return Ok(f);
        }
        let msg = stream
            .next()
            .await
            .ok_or_else(|| anyhow!("websocket closed"))??;
        if msg.is_close() {
            bail!("websocket closed by client");
        }
        if msg.is_binary() {
            dec.feed(msg.as_payload());
        }
    }
}

async fn handle_conn(shared: Arc<Shared>, tcp: TcpStream) -> anyhow::Result<()> {
    let (req, ws) = ServerBuilder::new()
        .accept(tcp)
        .await
        .context("websocket upgrade")?;
    if req.uri().path() != "/ws/chat" {
        log::debug!("websocket on unexpected path {}", req.uri().path());
    }
    let (mut sink, mut stream) = ws.split();

    // --- Noise handshake ---
    let first = loop {
        let msg = stream
            .next()
            .await
            .ok_or_else(|| anyhow!("closed before hello"))??;
        if msg.is_binary() {
            break msg;
        }
        if msg.is_close() {
            bail!("closed before hello");
        }
    };
    let mut dec = FrameDecoder::new();
    dec.feed(handshake::strip_conn_header(first.as_payload())?);
    let hello = next_frame(&mut dec, &mut stream).await?;
    let keys = shared.keys();
    let est = match handshake::read_client_hello(&hello, &keys.static_kp, &keys.cert_chain)? {
        HelloStep::Done(reply, est) => {
            sink.send(Message::binary(encode_frame(&reply, None)?))
                .await?;
            est
        }
        HelloStep::AwaitFinish(reply, responder) => {
            // ServerHello goes alone in its websocket message: the client's handshake
            // decoder is dropped afterwards.
            sink.send(Message::binary(encode_frame(&reply, None)?))
                .await?;
            let finish = next_frame(&mut dec, &mut stream).await?;
            responder.read_client_finish(&finish)?
        }
    };
    let payload = wa::ClientPayload::decode_from_slice(&est.client_payload)
        .context("decode ClientPayload")?;

    // --- register the connection and start its writer ---
    let (tx, rx) = mpsc::unbounded_channel();
    let conn = {
        let mut st = shared.state();
        // An outage that began during the handshake drops this one too.
        if shared.in_outage() {
            bail!("outage began during the handshake");
        }
        let id = st.next_conn;
        st.next_conn += 1;
        st.conns.insert(
            id,
            ConnHandle {
                tx,
                noise_pub: est.client_static,
                role: ConnRole::Handshaking,
                unacked: Vec::new(),
            },
        );
        id
    };
    let writer = tokio::spawn(writer_task(sink, est.send, rx));
    let login = match (payload.username, payload.device) {
        (Some(u), d) if payload.device_pairing_data.is_unset() => Some((u, d.unwrap_or(0))),
        _ => None,
    };
    shared.emit(SimEvent::Handshake {
        conn,
        pattern: est.pattern,
        registration: payload.device_pairing_data.is_set(),
        login,
    });

    let result = async {
        if let Some(reg) = payload.device_pairing_data.as_option() {
            pairing::on_registration(&shared, conn, reg, payload.push_name.clone())?;
        } else if let Some((user, device)) = login {
            login::on_login(&shared, conn, user, device, &est.client_static)?;
        } else {
            log::warn!("conn {conn}: ClientPayload is neither registration nor login");
            shared.send_to(
                conn,
                wacore_binary::builder::NodeBuilder::new("failure")
                    .attr("reason", "400")
                    .build(),
            );
            bail!("unusable ClientPayload");
        }
        read_loop(&shared, conn, &mut dec, &mut stream, est.recv).await
    }
    .await;

    // --- tear down ---
    {
        let mut st = shared.state();
        st.pair_codes.remove(&conn);
        drop_conn(&mut st, conn);
    }
    let _ = writer.await;
    shared.emit(SimEvent::Closed { conn });
    result
}

async fn read_loop(
    shared: &Arc<Shared>,
    conn: u64,
    dec: &mut FrameDecoder,
    stream: &mut WsStream,
    recv: NoiseCipher,
) -> anyhow::Result<()> {
    let mut counter: u32 = 0;
    loop {
        let mut frame = match next_frame(dec, stream).await {
            Ok(f) => f,
            Err(e) => {
                log::debug!("conn {conn}: {e:#}");
                return Ok(());
            }
        };
        recv.decrypt_in_place_with_counter(counter, &mut frame)
            .map_err(|e| anyhow!("frame {counter} does not decrypt: {e}"))?;
        counter = counter.wrapping_add(1);
        let node = match decode_node(&frame) {
            Ok(n) => n,
            Err(e) => {
                // WhatsApp answers garbage with a stream error and closes.
                log::warn!("conn {conn}: undecodable node: {e:#}");
                shared.send_to(
                    conn,
                    wacore_binary::builder::NodeBuilder::new("stream:error")
                        .attr("code", "500")
                        .build(),
                );
                return Ok(());
            }
        };
        log::trace!("conn {conn} <- {node:?}");
        if !still_open(shared, conn) {
            return Ok(());
        }
        dispatch(shared, conn, node);
    }
}

fn still_open(shared: &Shared, conn: u64) -> bool {
    shared.state().conns.contains_key(&conn)
}

fn decode_node(plain: &[u8]) -> anyhow::Result<Node> {
    let unpacked = wacore_binary::util::unpack(plain)?;
    let node_ref = wacore_binary::marshal::unmarshal_ref(&unpacked)?;
    Ok(node_ref.to_owned())
}

async fn writer_task(
    mut sink: futures_util::stream::SplitSink<Ws, Message>,
    send: NoiseCipher,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
) {
    let mut counter: u32 = 0;
    while let Some(out) = rx.recv().await {
        match out {
            Outbound::Node(node) => {
                log::trace!("-> {node:?}");
                let plain = match wacore_binary::marshal::marshal(&node) {
                    Ok(p) => p,
                    Err(e) => {
                        log::error!("cannot marshal {}: {e}", node.tag);
                        continue;
                    }
                };
                let Ok(ct) = send.encrypt_with_counter(counter, &plain) else {
                    break;
                };
                counter = counter.wrapping_add(1);
                let Ok(framed) = encode_frame(&ct, None) else {
                    break;
                };
                if sink.send(Message::binary(framed)).await.is_err() {
                    break;
                }
            }
            Outbound::Close => {
                let _ = sink.send(Message::close(None, "")).await;
                let _ = sink.close().await;
                break;
            }
        }
    }
}

/// Route one decoded stanza from a client.
fn dispatch(shared: &Arc<Shared>, conn: u64, node: Node) {
    match node.tag.as_ref() {
        "iq" => handle_iq(shared, conn, node),
        "message" => router::on_message(shared, conn, node),
        "receipt" => router::on_receipt(shared, conn, node),
        "ack" => delivery::on_ack(shared, conn, &node),
        "chatstate" => router::on_chatstate(shared, conn, node),
        "call" => router::on_call(shared, conn, node),
        "presence" => crate::profile::on_presence(shared, conn, &node),
        "ib" => {
            log::debug!("conn {conn}: {} ignored", node.tag);
        }
        other => {
            log::info!("conn {conn}: unknown stanza <{other}>");
            if let (Some(id), Some(to)) = (attr(&node, "id"), attr(&node, "to")) {
                shared.send_to(
                    conn,
                    wacore_binary::builder::NodeBuilder::new("ack")
                        .attr("id", id)
                        .attr("from", to)
                        .attr("class", other.to_string())
                        .attr("error", "488")
                        .build(),
                );
            }
        }
    }
}

fn handle_iq(shared: &Arc<Shared>, conn: u64, node: Node) {
    let ty = attr(&node, "type").unwrap_or_default();
    let Some(id) = attr(&node, "id") else {
        log::info!("conn {conn}: iq without id");
        return;
    };
    if ty == "result" || ty == "error" {
        pairing::on_client_iq_response(shared, conn, &node);
        return;
    }
    let xmlns = attr(&node, "xmlns").unwrap_or_default();
    let first_child = nodes::children(&node)
        .first()
        .map(|c| c.tag.to_string())
        .unwrap_or_default();
    let reply = match xmlns.as_str() {
        "md" => md_iq(shared, conn, &id, &node),
        "usync" => usync::handle_usync(shared, conn, &id, &node),
        "encrypt" => prekeys::handle_encrypt(shared, conn, &id, &node),
        "privacy" => settings::privacy_iq(shared, conn, &id, &node),
        "w" | "abt" => settings::props_iq(&id, &xmlns, &node),
        "status" => crate::profile::status_iq(shared, conn, &id, &node),
        "w:profile:picture" => crate::profile::picture_iq(shared, conn, &id, &node),
        "blocklist" => crate::profile::blocklist_iq(shared, conn, &id, &node),
        "w:biz" => crate::profile::business_iq(shared, &id, &node),
        "w:g2" => group_iq::handle(shared, conn, &id, &node),
        _ => login::handle_iq(shared, &id, &xmlns, &node),
    };
    let reply = reply.unwrap_or_else(|| {
        log::info!("conn {conn}: unhandled iq xmlns={xmlns} <{first_child}>");
        shared.emit(SimEvent::UnhandledIq {
            conn,
            xmlns: xmlns.clone(),
            child: first_child.clone(),
        });
        nodes::iq_error(&id, 501, "feature-not-implemented")
    });
    shared.send_to(conn, reply);
    login::after_iq(shared, conn, &xmlns, &node);
}

/// `xmlns="md"`: pairing by code, and a companion unlinking a device.
fn md_iq(shared: &Shared, conn: u64, id: &str, node: &Node) -> Option<Node> {
    if let Some(reg) = child(node, "link_code_companion_reg") {
        return Some(paircode::link_code_iq(shared, conn, id, reg));
    }
    let rm = child(node, "remove-companion-device")?;
    Some(pairing::remove_companion(shared, conn, id, rm))
}

/// Starts or ends an outage. Starting one closes every live connection (what
/// they left unacknowledged goes back to the devices' queues); returns how many
/// were closed.
pub(crate) fn set_outage(shared: &Shared, on: bool) -> usize {
    shared.set_outage_flag(on);
    if !on {
        return 0;
    }
    let mut st = shared.state();
    st.pair_codes.clear();
    let conns: Vec<u64> = st.conns.keys().copied().collect();
    for conn in &conns {
        drop_conn(&mut st, *conn);
    }
    log::info!(
        "outage on: {} connections dropped, new ones are refused",
        conns.len()
    );
    conns.len()
}
