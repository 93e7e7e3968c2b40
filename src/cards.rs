//! Contact cards as WhatsApp carries them: vCard 3.0 text (RFC 2426) in a
//! contact message, one card per message or several in a contacts array.
//! Built for what we send; read back (name and numbers) from what arrives.

use whatsapp_rust::waproto::{buffa::MessageField, whatsapp as wa};

use crate::details::Card;

/// One card as vCard 3.0. The `waid` parameter is what makes WhatsApp
/// offer "Message" for the number.
pub(crate) fn vcard(card: &Card) -> String {
    let name = escape(&card.name);
    let mut out = format!("BEGIN:VCARD\r\nVERSION:3.0\r\nN:;{name};;;\r\nFN:{name}\r\n");
    for number in &card.numbers {
        out.push_str(&format!("TEL;type=CELL;waid={number}:+{number}\r\n"));
    }
    out.push_str("END:VCARD\r\n");
    out
}

/// The WhatsApp message for these cards (at least one).
pub(crate) fn message(cards: &[Card]) -> wa::Message {
    let contact = |card: &Card| wa::message::ContactMessage {
        display_name: Some(card.name.clone()),
        vcard: Some(vcard(card)),
        ..Default::default()
    };
    match cards {
        [one] => wa::Message {
            contact_message: MessageField::some(contact(one)),
            ..Default::default()
        },
        many => wa::Message {
            contacts_array_message: MessageField::some(wa::message::ContactsArrayMessage {
                display_name: Some(format!("{} contacts", many.len())),
                contacts: many.iter().map(contact).collect(),
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// The cards of a received contact message; `display_name` stands in for a
/// card without a name.
pub(crate) fn read(display_name: Option<&str>, vcard: &str) -> Card {
    let mut card = Card::default();
    let mut structured = None;
    for line in unfold(vcard) {
        let Some((head, value)) = split_property(&line) else {
            continue;
        };
        let mut params = head.split(';');
        let name = params.next().unwrap_or_default();
        // A group prefix (item1.TEL) names the same property.
        let name = name.rsplit('.').next().unwrap_or(name).to_ascii_uppercase();
        match name.as_str() {
            "FN" => card.name = unescape(value),
            "N" if structured.is_none() => {
                let parts: Vec<String> = split_unescaped(value, ';')
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect();
                // Family;Given;Additional;Prefix;Suffix -> "Given Family".
                let mut ordered: Vec<String> = parts.iter().skip(1).cloned().collect();
                ordered.extend(parts.first().cloned());
                structured = Some(ordered.join(" "));
            }
            "TEL" => {
                let waid = params.find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    k.eq_ignore_ascii_case("waid").then(|| v.to_owned())
                });
                let digits: String = waid
                    .unwrap_or_else(|| value.to_owned())
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                if !digits.is_empty() && !card.numbers.contains(&digits) {
                    card.numbers.push(digits);
                }
            }
            _ => {}
        }
    }
    if card.name.is_empty() {
        card.name = structured
            .filter(|n| !n.is_empty())
            .or_else(|| display_name.map(str::to_owned))
            .unwrap_or_default();
    }
    card
}

/// The cards of a received message, if it is a contact message.
pub(crate) fn of(m: &wa::Message) -> Option<Vec<Card>> {
    let one = |c: &wa::message::ContactMessage| {
        read(
            c.display_name.as_deref(),
            c.vcard.as_deref().unwrap_or_default(),
        )
    };
    if let Some(c) = m.contact_message.as_option() {
        return Some(vec![one(c)]);
    }
    m.contacts_array_message
        .as_option()
        .map(|a| a.contacts.iter().map(one).collect())
}

/// Lines with RFC 2425 folding undone (a line starting with a space or a
/// tab continues the one before).
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => lines.push(raw.to_owned()),
        }
    }
    lines
}

/// `NAME;PARAMS` and the value, split at the first colon outside quotes.
fn split_property(line: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return Some((&line[..i], &line[i + 1..])),
            _ => {}
        }
    }
    None
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// `value` split at unescaped `sep`, each part unescaped.
fn split_unescaped(value: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let part = parts.last_mut().expect("one part");
                part.push('\\');
                part.extend(chars.next());
            }
            c if c == sep => parts.push(String::new()),
            c => parts.last_mut().expect("one part").push(c),
        }
    }
    parts.iter().map(|p| unescape(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(name: &str, numbers: &[&str]) -> Card {
        Card {
            name: name.into(),
            numbers: numbers.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn a_card_survives_its_vcard() {
        for c in [
            card("Asha Rao", &["919876543210"]),
            card(
                "Dr. Rao, Asha; MD \\ clinic",
                &["919876543210", "14155550100"],
            ),
            card("名前 \u{1f600}", &["447700900123"]),
        ] {
            let text = vcard(&c);
            assert!(text.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n"), "{text}");
            assert_eq!(read(None, &text), c, "{text}");
        }
    }

    #[test]
    fn cards_from_other_phones_are_read() {
        // Folded lines, grouped properties, no waid, N without FN.
        let text = "BEGIN:VCARD\nVERSION:3.0\nN:Rao;Asha;;;\nitem1.TEL;type=CELL:+91 98765\n 43210\nitem1.X-ABLabel:Mobile\nEND:VCARD";
        assert_eq!(
            read(Some("ignored"), text),
            card("Asha Rao", &["919876543210"])
        );
        assert_eq!(
            read(Some("Shown"), "BEGIN:VCARD\nEND:VCARD"),
            card("Shown", &[])
        );
        assert_eq!(read(None, ""), card("", &[]));
    }

    #[test]
    fn one_card_is_a_contact_message_and_several_an_array() {
        let one = message(&[card("A", &["1"])]);
        assert!(one.contact_message.is_set() && !one.contacts_array_message.is_set());
        let two = message(&[card("A", &["1"]), card("B", &["2"])]);
        assert_eq!(
            two.contacts_array_message
                .as_option()
                .unwrap()
                .contacts
                .len(),
            2
        );
        assert_eq!(of(&two).unwrap()[1], card("B", &["2"]));
    }
}
