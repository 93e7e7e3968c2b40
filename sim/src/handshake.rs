//! Noise responder: the server half of whatsapp-rust's XX, IK and XXfallback handshakes
//! (client side: wacore-noise `handshake.rs`). Prologue is always `WA 6 3`.
//!
//! wacore-noise's `NoiseHandshake::finish()` returns `(initiator write, initiator read)`;
//! for the responder that is `(receive, send)`.

use anyhow::{Context, anyhow, bail};
use buffa::Message as _;
use wacore_binary::consts::{
    NOISE_PATTERN_IK, NOISE_PATTERN_XX, NOISE_PATTERN_XXFALLBACK, WA_CONN_HEADER,
};
use wacore_libsignal::protocol::KeyPair;
use wacore_noise::{NoiseCipher, NoiseHandshake};
use waproto::whatsapp as wa;

/// Which handshake a connection completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Full handshake: first connection, pairing, login without a cached server key.
    Xx,
    /// Resumed handshake with the server static key the client cached (one round trip).
    Ik,
    /// The client tried IK but the server could not accept it (e.g. its static key
    /// changed); finished as XX on the same ephemeral.
    XxFallback,
}

/// The transport keys and the client's identity once a handshake is done.
pub struct Established {
    pub pattern: Pattern,
    pub recv: NoiseCipher,
    pub send: NoiseCipher,
    pub client_static: [u8; 32],
    pub client_payload: Vec<u8>,
}

/// Result of reading the ClientHello.
pub enum HelloStep {
    /// IK accepted: reply with this ServerHello, then the session is established.
    Done(Vec<u8>, Established),
    /// XX (or XXfallback): reply with this ServerHello and wait for ClientFinish.
    AwaitFinish(Vec<u8>, Box<XxResponder>),
}

/// Strip the optional edge-routing pre-intro (`ED 0 1` + 3-byte length + data) and the
/// `WA 6 3` connection header from the client's first websocket message.
pub fn strip_conn_header(data: &[u8]) -> anyhow::Result<&[u8]> {
    let mut rest = data;
    if rest.len() >= 2 && &rest[..2] == b"ED" {
        if rest.len() < 7 {
            bail!("truncated edge routing pre-intro");
        }
        let len = ((rest[4] as usize) << 16) | ((rest[5] as usize) << 8) | rest[6] as usize;
        if rest.len() < 7 + len {
            bail!("truncated edge routing data");
        }
        rest = &rest[7 + len..];
    }
    if rest.len() < 4 || rest[..4] != WA_CONN_HEADER {
        bail!("missing WA connection header");
    }
    Ok(&rest[4..])
}

/// Process the ClientHello frame. `static_kp` is the server's long-lived key,
/// `cert_chain` the encoded `CertChain` whose leaf key is `static_kp`'s public key.
pub fn read_client_hello(
    frame: &[u8],
    static_kp: &KeyPair,
    cert_chain: &[u8],
) -> anyhow::Result<HelloStep> {
    let msg = wa::HandshakeMessage::decode_from_slice(frame).context("decode ClientHello")?;
    let hello = msg
        .client_hello
        .into_option()
        .ok_or_else(|| anyhow!("handshake message has no clientHello"))?;
    let e_c: [u8; 32] = hello
        .ephemeral
        .as_deref()
        .ok_or_else(|| anyhow!("clientHello without ephemeral"))?
        .try_into()
        .map_err(|_| anyhow!("client ephemeral is not 32 bytes"))?;

    match (hello.r#static.as_deref(), hello.payload.as_deref()) {
        (Some(enc_static), Some(enc_payload)) => {
            match ik_accept(&e_c, enc_static, enc_payload, static_kp) {
                Ok(step) => Ok(step),
                Err(e) => {
                    log::info!("IK hello not acceptable ({e:#}); answering with XXfallback");
                    let noise = NoiseHandshake::new(NOISE_PATTERN_XXFALLBACK, &WA_CONN_HEADER)?;
                    xx_server_hello(noise, e_c, static_kp, cert_chain, Pattern::XxFallback)
                }
            }
        }
        _ => {
            let noise = NoiseHandshake::new(NOISE_PATTERN_XX, &WA_CONN_HEADER)?;
            xx_server_hello(noise, e_c, static_kp, cert_chain, Pattern::Xx)
        }
    }
}

fn ik_accept(
    e_c: &[u8; 32],
    enc_static: &[u8],
    enc_payload: &[u8],
    static_kp: &KeyPair,
) -> anyhow::Result<HelloStep> {
    let s_priv = static_kp.private_key.serialize();
    let mut noise = NoiseHandshake::new(NOISE_PATTERN_IK, &WA_CONN_HEADER)?;
    noise.authenticate(static_kp.public_key.public_key_bytes()); // pre-message <- s
    noise.authenticate(e_c); // -> e
    noise.mix_shared_secret(s_priv, e_c)?; // es
    let c_static: [u8; 32] = noise
        .decrypt(enc_static)?
        .try_into()
        .map_err(|_| anyhow!("client static is not 32 bytes"))?;
    noise.mix_shared_secret(s_priv, &c_static)?; // ss
    let payload = noise.decrypt(enc_payload)?;

    let e_s = KeyPair::generate(&mut rand::rng());
    let e_s_priv = e_s.private_key.serialize();
    noise.authenticate(e_s.public_key.public_key_bytes()); // <- e
    noise.mix_shared_secret(e_s_priv, e_c)?; // ee
    noise.mix_shared_secret(e_s_priv, &c_static)?; // se
    // The client decrypts (authenticates) this payload but does not parse it.
    let enc_reply = noise.encrypt(&[])?;
    let reply = wa::HandshakeMessage {
        server_hello: buffa::MessageField::some(wa::handshake_message::ServerHello {
            ephemeral: Some(e_s.public_key.public_key_bytes().to_vec()),
            payload: Some(enc_reply),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec();
    let (recv, send) = noise.finish()?;
    Ok(HelloStep::Done(
        reply,
        Established {
            pattern: Pattern::Ik,
            recv,
            send,
            client_static: c_static,
            client_payload: payload,
        },
    ))
}

fn xx_server_hello(
    mut noise: NoiseHandshake,
    e_c: [u8; 32],
    static_kp: &KeyPair,
    cert_chain: &[u8],
    pattern: Pattern,
) -> anyhow::Result<HelloStep> {
    noise.authenticate(&e_c); // -> e
    let e_s = KeyPair::generate(&mut rand::rng());
    noise.authenticate(e_s.public_key.public_key_bytes()); // <- e
    noise.mix_shared_secret(e_s.private_key.serialize(), &e_c)?; // ee
    let enc_static = noise.encrypt(static_kp.public_key.public_key_bytes())?; // <- s
    noise.mix_shared_secret(static_kp.private_key.serialize(), &e_c)?; // es
    let enc_cert = noise.encrypt(cert_chain)?;
    let reply = wa::HandshakeMessage {
        server_hello: buffa::MessageField::some(wa::handshake_message::ServerHello {
            ephemeral: Some(e_s.public_key.public_key_bytes().to_vec()),
            r#static: Some(enc_static),
            payload: Some(enc_cert),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec();
    Ok(HelloStep::AwaitFinish(
        reply,
        Box::new(XxResponder {
            noise,
            e_s,
            pattern,
        }),
    ))
}

/// An XX responder waiting for the ClientFinish.
pub struct XxResponder {
    noise: NoiseHandshake,
    e_s: KeyPair,
    pattern: Pattern,
}

impl XxResponder {
    pub fn read_client_finish(mut self, frame: &[u8]) -> anyhow::Result<Established> {
        let msg = wa::HandshakeMessage::decode_from_slice(frame).context("decode ClientFinish")?;
        let finish = msg
            .client_finish
            .into_option()
            .ok_or_else(|| anyhow!("handshake message has no clientFinish"))?;
        let enc_static = finish
            .r#static
            .as_deref()
            .ok_or_else(|| anyhow!("clientFinish without static"))?;
        let enc_payload = finish
            .payload
            .as_deref()
            .ok_or_else(|| anyhow!("clientFinish without payload"))?;
        let c_static: [u8; 32] = self
            .noise
            .decrypt(enc_static)?
            .try_into()
            .map_err(|_| anyhow!("client static is not 32 bytes"))?;
        self.noise
            .mix_shared_secret(self.e_s.private_key.serialize(), &c_static)?; // se
        let payload = self.noise.decrypt(enc_payload)?;
        let (recv, send) = self.noise.finish()?;
        Ok(Established {
            pattern: self.pattern,
            recv,
            send,
            client_static: c_static,
            client_payload: payload,
        })
    }
}
