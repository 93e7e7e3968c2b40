//! Domain values checked where they enter: phone numbers as people type
//! them, http(s) URLs, coordinates, required and bounded text. Each error names the field
//! it is about, so that every caller (API, campaigns, sheets) answers alike.

use crate::error::{Error, Result};

/// The trimmed value, or "`field`: is required".
pub(crate) fn required<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        Err(Error::required(field))
    } else {
        Ok(value)
    }
}

/// A reaction: one emoji (a few code points: skin tones and families join
/// several), or empty to take a reaction back. Letters, digits, spaces and
/// control characters are refused.
pub(crate) fn emoji(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    let plain = value
        .chars()
        .any(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || c.is_control());
    if plain || value.chars().count() > 16 {
        return Err(Error::invalid(
            field,
            "must be one emoji (e.g. \"\u{1f44d}\"), or empty to remove the reaction",
        ));
    }
    Ok(value.to_owned())
}

/// A length limit, in characters.
pub(crate) fn max_len(field: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ))
    } else {
        Ok(())
    }
}

/// A name people will read (a phone's name): required, at most `max`
/// characters, with no control characters (NUL, newlines), no bidirectional
/// overrides or isolates (U+202E can make "gpj.exe" read "exe.jpg"), and at
/// least one visible character (a name of zero-width characters looks
/// empty). The trimmed value.
pub(crate) fn display_name<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str> {
    let value = required(field, value)?;
    max_len(field, value, max)?;
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "must not contain control characters (NUL, tabs, newlines)",
        ));
    }
    if value.chars().any(is_bidi_control) {
        return Err(Error::invalid(
            field,
            "must not contain bidirectional override or isolate characters (U+202A-U+202E, U+2066-U+2069)",
        ));
    }
    if value.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        return Err(Error::invalid(
            field,
            "must contain a visible character, not only spaces or zero-width characters",
        ));
    }
    Ok(value)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that draw nothing: the format (Cf) characters and fillers
/// that are not whitespace, and variation selectors and tags.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Normalizes a phone number as people type it ("+91 98765-43210",
/// "0091 98765 43210") to digits with country code, or None if it cannot be
/// one (E.164: at most 15 digits, no leading zero).
pub(crate) fn normalize_number(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let raw = raw.strip_prefix('+').unwrap_or(raw);
    let mut digits = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => return None,
        }
    }
    let digits = digits
        .strip_prefix("00")
        .map(str::to_owned)
        .unwrap_or(digits);
    let ok = (8..=15).contains(&digits.len()) && !digits.starts_with('0');
    ok.then_some(digits)
}

/// A required phone number, normalized.
pub(crate) fn phone_number(field: &str, value: &str) -> Result<String> {
    let value = required(field, value)?;
    normalize_number(value).ok_or_else(|| {
        Error::invalid(
            field,
            "is not a valid phone number: use the country code and 8 to 15 digits, e.g. 919876543210",
        )
    })
}

/// An http(s) URL.
pub(crate) fn http_url(field: &str, value: &str) -> Result<url::Url> {
    let value = required(field, value)?;
    let url = url::Url::parse(value)
        .map_err(|err| Error::invalid(field, format!("is not a valid URL: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::invalid(field, "must be an http or https URL"));
    }
    Ok(url)
}

/// A position on Earth: both coordinates given, in range.
pub(crate) fn coordinates(lat: Option<f64>, lng: Option<f64>) -> Result<()> {
    let lat = lat.ok_or_else(|| Error::required("lat"))?;
    let lng = lng.ok_or_else(|| Error::required("lng"))?;
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(Error::invalid("lat", "must be between -90 and 90"));
    }
    if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
        return Err(Error::invalid("lng", "must be between -180 and 180"));
    }
    Ok(())
}

/// A file's display name: trimmed, up to [`crate::rules::FILENAME_MAX`]
/// characters, without slashes or control characters (400 naming `field`).
pub(crate) fn file_name(field: &str, value: &str) -> Result<String> {
    let name = value.trim();
    if name.chars().count() > crate::rules::FILENAME_MAX {
        return Err(Error::invalid(
            field,
            format!("must be at most {} characters", crate::rules::FILENAME_MAX),
        ));
    }
    if name.contains('/') || name.contains('\\') || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "must be a plain file name, without slashes or control characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_people_type_them() {
        assert_eq!(
            normalize_number("919876543210").as_deref(),
            Some("919876543210")
        );
        assert_eq!(
            normalize_number("+91 98765-43210").as_deref(),
            Some("919876543210")
        );
        assert_eq!(
            normalize_number("0091 (98765) 43210").as_deref(),
            Some("919876543210")
        );
        assert_eq!(normalize_number("1234"), None, "too short");
        assert_eq!(normalize_number("1234567890123456"), None, "too long");
        assert_eq!(normalize_number("0987654321"), None, "no country code");
        assert_eq!(normalize_number("91987654321x"), None);
        assert_eq!(normalize_number(""), None);
    }

    /// Issue 18, defect 10: names that hide or disguise what they say.
    #[test]
    fn display_names_are_visible_and_plain() {
        for ok in [
            "Shop",
            "  Support line  ",
            "Ünïcödé 店",
            "A\u{200D}B",
            "Café 🎉",
        ] {
            assert!(display_name("name", ok, 100).is_ok(), "{ok:?}");
        }
        assert_eq!(display_name("name", "  Shop ", 100).unwrap(), "Shop");
        for (bad, why) in [
            ("", "required"),
            ("Shop\u{202E}gpj.exe", "bidirectional"),
            ("\u{2067}Shop", "bidirectional"),
            ("Sh\0op", "control"),
            ("Line\nTwo", "control"),
            ("\u{200B}\u{200C}\u{2060}", "visible"),
            ("\u{FEFF} \u{3164}", "visible"),
            ("\u{E0041}", "visible"),
        ] {
            let err = display_name("name", bad, 100).unwrap_err().to_string();
            assert!(
                err.starts_with("name:") && err.contains(why),
                "{bad:?}: {err}"
            );
        }
        assert!(display_name("name", &"x".repeat(101), 100).is_err());
    }
}
