//! A campaign's request turned into recipients: the message template
//! checked, numbers (or a sheet's rows) normalized and deduplicated, each
//! one not taken said with its reason. Pure: nothing here reads or writes.

use std::collections::HashMap;

use super::{sheet::Sheet, template::Template};
use crate::{
    error::{Error, Result},
    store::bulks::NewRecipient,
    values,
};

const MAX_MESSAGE: usize = crate::rules::MESSAGE_MAX;
const MAX_DELAY_MS: u32 = crate::rules::DELAY_MAX_MS;

const INVALID_NUMBER: &str =
    "not a phone number: use the country code and 8 to 15 digits, e.g. 919876543210";

/// A number of the request that gets no message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// As the request gave it.
    pub number: String,
    /// `invalid` or `duplicate`.
    pub reason: &'static str,
    pub detail: String,
    /// The sheet row, for sheets.
    pub row: Option<u32>,
}

/// What a request's recipient list turned into.
#[derive(Debug, Default)]
pub(crate) struct Recipients {
    pub accepted: Vec<NewRecipient>,
    pub rejected: Vec<Rejected>,
}

/// The campaign's message as a template, and its delay, checked.
pub(crate) fn template(message: &str, delay: Option<u32>) -> Result<Template> {
    values::required("message", message)?;
    values::max_len("message", message, MAX_MESSAGE)?;
    if delay.is_some_and(|d| d > MAX_DELAY_MS) {
        return Err(Error::invalid(
            "delay",
            format!("must be at most {MAX_DELAY_MS} ms (one hour)"),
        ));
    }
    Template::parse(message).map_err(|why| Error::invalid("message", why))
}

/// A 400 for a placeholder the recipients have no value for.
fn check_placeholders(template: &Template, known: &[&str]) -> Result<()> {
    let Some(name) = template.unknown(known) else {
        return Ok(());
    };
    let known = known
        .iter()
        .map(|k| format!("{{{{{k}}}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::invalid(
        "message",
        format!(
            "uses the placeholder {{{{{name}}}}}, which this campaign has no value for (it has {known})"
        ),
    ))
}

fn rejected(number: &str, reason: &'static str, detail: String, row: Option<u32>) -> Rejected {
    Rejected {
        number: number.to_owned(),
        reason,
        row,
        detail,
    }
}

/// A list of numbers: at least one, at most `max`, normalized and
/// deduplicated (request order kept), the message filled in per number when
/// it has placeholders (only `{{number}}` is known).
pub(crate) fn from_numbers(
    numbers: &[String],
    template: &Template,
    max: usize,
) -> Result<Recipients> {
    if numbers.is_empty() {
        return Err(Error::required("numbers"));
    }
    if numbers.len() > max {
        return Err(Error::invalid(
            "numbers",
            format!("at most {max} numbers per campaign, got {}", numbers.len()),
        ));
    }
    check_placeholders(template, &["number"])?;
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(numbers.len());
    let mut out = Recipients {
        accepted: Vec::with_capacity(numbers.len()),
        rejected: Vec::new(),
    };
    let personal = template.has_placeholders();
    for (index, raw) in numbers.iter().enumerate() {
        let Some(number) = values::normalize_number(raw) else {
            out.rejected
                .push(rejected(raw, "invalid", INVALID_NUMBER.into(), None));
            continue;
        };
        if let Some(first) = seen.get(&number) {
            out.rejected.push(rejected(
                raw,
                "duplicate",
                format!("same number as numbers[{first}]; sent once"),
                None,
            ));
            continue;
        }
        seen.insert(number.clone(), index);
        let text = personal.then(|| template.render(|_| Some(number.as_str())));
        out.accepted.push(NewRecipient {
            number,
            text,
            row: None,
        });
    }
    if out.accepted.is_empty() {
        return Err(Error::invalid(
            "numbers",
            format!(
                "none of the {} numbers is a valid phone number with country code",
                numbers.len()
            ),
        ));
    }
    Ok(out)
}

/// A sheet's rows: numbers from the first column, placeholders from the
/// columns by header name (and `{{number}}`); at most `max` rows.
pub(crate) fn from_sheet(sheet: &Sheet, template: &Template, max: usize) -> Result<Recipients> {
    let mut known: Vec<&str> = sheet
        .header
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|h| !h.is_empty())
        .collect();
    known.push("number");
    check_placeholders(template, &known)?;
    if sheet.rows.len() > max {
        return Err(Error::invalid(
            "sheet_id",
            format!(
                "the sheet has {} rows; at most {max} per campaign",
                sheet.rows.len()
            ),
        ));
    }
    let columns: Vec<String> = sheet
        .header
        .iter()
        .flatten()
        .map(|h| h.to_lowercase())
        .collect();
    let mut seen: HashMap<String, u32> = HashMap::with_capacity(sheet.rows.len());
    let mut out = Recipients {
        accepted: Vec::with_capacity(sheet.rows.len()),
        rejected: Vec::new(),
    };
    for (row, cells) in &sheet.rows {
        let raw = cells.first().map(String::as_str).unwrap_or("");
        let Some(number) = values::normalize_number(raw) else {
            let detail = if raw.is_empty() {
                "the first column is empty".to_owned()
            } else {
                INVALID_NUMBER.to_owned()
            };
            out.rejected
                .push(rejected(raw, "invalid", detail, Some(*row)));
            continue;
        };
        if let Some(first) = seen.get(&number) {
            out.rejected.push(rejected(
                raw,
                "duplicate",
                format!("same number as row {first}; sent once"),
                Some(*row),
            ));
            continue;
        }
        seen.insert(number.clone(), *row);
        let text = template.has_placeholders().then(|| {
            template.render(|name| match columns.iter().position(|c| c == name) {
                Some(i) => Some(cells.get(i).map(String::as_str).unwrap_or("")),
                None if name == "number" => Some(number.as_str()),
                None => None,
            })
        });
        out.accepted.push(NewRecipient {
            number,
            text,
            row: Some(*row as i32),
        });
    }
    if out.accepted.is_empty() {
        return Err(Error::invalid(
            "sheet_id",
            format!(
                "the sheet has no valid phone number in its first column ({} rows read)",
                sheet.rows.len()
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Found by the fuzzing: a column named with a non-ASCII capital
    /// ("Éxito") could not be used as a placeholder.
    #[test]
    fn sheet_columns_with_non_ascii_capitals_fill_placeholders() {
        let sheet =
            super::super::sheet::parse("Phone,Éxito\n919876543210,sí\n".as_bytes()).unwrap();
        let t = template("Hola {{Éxito}}", None).unwrap();
        let got = from_sheet(&sheet, &t, 10).unwrap();
        assert_eq!(got.accepted[0].text.as_deref(), Some("Hola sí"));
    }

    #[test]
    fn numbers_are_normalized_deduplicated_and_personalized() {
        let t = template("Hi {{ Number }}", None).unwrap();
        let got = from_numbers(
            &numbers(&["+91 98765-43210", "919876543210", "12", "919876543211"]),
            &t,
            10,
        )
        .unwrap();
        let accepted: Vec<_> = got
            .accepted
            .iter()
            .map(|r| (r.number.as_str(), r.text.as_deref()))
            .collect();
        assert_eq!(
            accepted,
            [
                ("919876543210", Some("Hi 919876543210")),
                ("919876543211", Some("Hi 919876543211"))
            ]
        );
        let rejected: Vec<_> = got
            .rejected
            .iter()
            .map(|r| (r.number.as_str(), r.reason))
            .collect();
        assert_eq!(rejected, [("919876543210", "duplicate"), ("12", "invalid")]);
        assert!(got.rejected[0].detail.contains("numbers[0]"));
    }

    #[test]
    fn bad_lists_name_their_field() {
        let t = template("Hi", None).unwrap();
        let field = |r: Result<Recipients>| match r {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("{:?}", other.map(|r| r.accepted.len())),
        };
        assert_eq!(field(from_numbers(&[], &t, 10)), "numbers");
        assert_eq!(
            field(from_numbers(&numbers(&["1", "2", "3"]), &t, 2)),
            "numbers"
        );
        assert_eq!(field(from_numbers(&numbers(&["x"]), &t, 10)), "numbers");
        let unknown = template("Hi {{name}}", None).unwrap();
        assert_eq!(
            field(from_numbers(&numbers(&["919876543210"]), &unknown, 10)),
            "message"
        );
        assert!(matches!(
            template("x", Some(MAX_DELAY_MS + 1)),
            Err(Error::InvalidArgument { field, .. }) if field == "delay"
        ));
    }

    #[test]
    fn sheet_rows_fill_columns_by_header() {
        let sheet = Sheet {
            header: Some(vec!["Phone".into(), "Name".into()]),
            rows: vec![
                (2, vec!["919876543210".into(), "Asha".into()]),
                (3, vec!["".into(), "Nobody".into()]),
                (4, vec!["+919876543210".into(), "Again".into()]),
            ],
        };
        let t = template("Hi {{name}} ({{number}})", None).unwrap();
        let got = from_sheet(&sheet, &t, 10).unwrap();
        assert_eq!(got.accepted.len(), 1);
        assert_eq!(
            got.accepted[0].text.as_deref(),
            Some("Hi Asha (919876543210)")
        );
        assert_eq!(got.accepted[0].row, Some(2));
        let rejected: Vec<_> = got
            .rejected
            .iter()
            .map(|r| (r.row, r.reason, r.detail.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [
                (Some(3), "invalid", "the first column is empty"),
                (Some(4), "duplicate", "same number as row 2; sent once")
            ]
        );
        assert!(from_sheet(&sheet, &t, 2).is_err(), "more rows than allowed");
    }
}
