//! What a message kind carries beyond the common columns, kept as JSON in
//! the message's `details`: contact cards, a poll, a vote's choices, a voice
//! note's duration, and whether it was forwarded. One type, so that every
//! reader and writer agrees on the shape.

use serde::{Deserialize, Serialize};

/// A contact card: a name and its numbers (digits with country code).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub name: String,
    pub numbers: Vec<String>,
}

/// A poll as created: its question, options in order, and how many
/// options a voter may choose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollSpec {
    pub question: String,
    pub options: Vec<String>,
    pub selectable: u32,
}

/// The extra content of one message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Details {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Card>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<PollSpec>,
    /// A vote: the option names chosen (empty: earlier choices taken back);
    /// `None` in a vote that could not be decrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vote: Option<Vec<String>>,
    /// A voice note's length in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forwarded: bool,
}

impl Details {
    /// The stored column's value (absent or unreadable: nothing extra).
    pub fn of(stored: Option<&str>) -> Details {
        stored
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }

    /// What to store: `None` when there is nothing extra.
    pub fn stored(&self) -> Option<String> {
        (*self != Details::default())
            .then(|| serde_json::to_string(self).expect("details serialize"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_details_store_nothing_and_round_trip() {
        assert_eq!(Details::default().stored(), None);
        assert_eq!(Details::of(None), Details::default());
        assert_eq!(Details::of(Some("not json")), Details::default());
        let d = Details {
            contacts: vec![Card {
                name: "Asha".into(),
                numbers: vec!["919876543210".into()],
            }],
            forwarded: true,
            ..Details::default()
        };
        assert_eq!(Details::of(d.stored().as_deref()), d);
        assert!(!d.stored().unwrap().contains("poll"));
    }
}
