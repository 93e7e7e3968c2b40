//! QR codes for people: an SVG data URL for browsers and text for terminals.

use base64::Engine;
use qrcode::{QrCode, render::svg, render::unicode};

/// An image a browser can show directly (`<img src=...>`).
pub fn data_url(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<svg::Color>()
                .min_dimensions(256, 256)
                .quiet_zone(true)
                .build();
            format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(svg)
            )
        }
        Err(_) => String::new(),
    }
}

/// The code drawn with Unicode half blocks, for a terminal.
pub fn terminal(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(code) => code.render::<unicode::Dense1x2>().quiet_zone(true).build(),
        Err(_) => text.to_owned(),
    }
}
