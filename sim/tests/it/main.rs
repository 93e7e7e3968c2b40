//! The protocol simulator, proven with real whatsapp-rust clients (an
//! in-memory store on the client side): handshake, pairing by QR and code,
//! login, routing, receipts, media, lifecycle, virtual phones, robustness.
//! One test binary, so it links once.

mod capacity;
mod common;
mod delivery;
mod groups;
mod history;
mod lifecycle;
mod media_admin;
mod media_https;
mod messaging;
mod pairing_login;
mod raw;
mod robustness;
mod settings;
mod standalone;
mod virtual_phone;
