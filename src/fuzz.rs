//! Property-based fuzzing of the hand-written parsers that read what callers
//! type (issue 18): the phone number normaliser, the campaign template
//! renderer and the Google Sheets CSV reader. The gateway crate has its own
//! for path templates and JSON decoding.
//!
//! cargo-fuzz needs a nightly toolchain, which CI does not have, so these are
//! proptest harnesses in the ordinary suite: a fixed number of cases each (a
//! short run), more with `PROPTEST_CASES=100000 cargo test --lib fuzz`. A
//! failure found is kept in `proptest-regressions/` (committed, replayed
//! first) and becomes a named test with its fixed input.

use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::bulk::{sheet, template::Template};
use crate::values::normalize_number;

/// `cases` per property, unless PROPTEST_CASES says otherwise.
fn config(cases: u32) -> Config {
    let from_env = std::env::var("PROPTEST_CASES").is_ok();
    Config {
        cases: if from_env {
            Config::default().cases
        } else {
            cases
        },
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// A number as E.164 digits: country code first (no leading zero), 8 to 15
/// digits.
fn e164() -> impl Strategy<Value = String> {
    "[1-9][0-9]{7,14}"
}

/// The same number as people write it: `+`, `00`, spaces, dashes, dots and
/// parentheses between the digits, blanks around.
fn written(digits: String) -> impl Strategy<Value = (String, String)> {
    let n = digits.len();
    (
        select_str(&["", "+", "00", "+ ", "+("]),
        prop::collection::vec(select_str(&["", "", "", " ", "-", ".", "(", ")", " - "]), n),
        select_str(&["", " ", "\t", "  "]),
    )
        .prop_map(move |(prefix, seps, blank)| {
            let mut out = format!("{blank}{prefix}");
            for (c, sep) in digits.chars().zip(seps) {
                out.push(c);
                out.push_str(sep);
            }
            out.push_str(blank);
            (digits.clone(), out)
        })
}

fn select_str(options: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(options)
}

/// Template text without placeholders: anything but `{{`, and not ending in
/// `{` (which would open one with the `{{` after it).
fn plain_text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,12}", "[a-z {}]{0,12}", any::<String>()]
        .prop_filter("no placeholder", |s| !s.contains("{{") && !s.ends_with('{'))
}

/// A placeholder name as a sheet header could spell it: letters of any
/// script and case, digits, spaces inside.
fn placeholder_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9_ ]{0,8}",
        "[A-Za-zÄÖÜäöüßÉéİıΣσЖж][a-zäöüéçñ ]{0,6}",
        "\\PC{1,8}",
    ]
    .prop_filter("a name", |s| {
        !s.trim().is_empty() && !s.contains(['{', '}'])
    })
}

/// One cell of a sheet: anything, with the characters CSV quotes for.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ]{0,6}",
        "[\",\n\r a-z]{0,8}",
        e164(),
        ".{0,10}",
        any::<String>(),
    ]
}

/// Writes rows as CSV the way a spreadsheet export does: fields with a
/// comma, quote or line break quoted (quotes doubled), others quoted or not.
fn to_csv(rows: &[Vec<String>], quote_all: bool, crlf: bool, final_newline: bool) -> Vec<u8> {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let fields: Vec<String> = row
            .iter()
            .map(|c| {
                if quote_all || c.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.clone()
                }
            })
            .collect();
        out.push_str(&fields.join(","));
        if i + 1 < rows.len() || final_newline {
            out.push_str(eol);
        }
    }
    out.into_bytes()
}

proptest! {
    #![proptest_config(config(2000))]

    /// Whatever is typed, the normaliser answers; what it answers is E.164
    /// digits, and normalising that again changes nothing.
    #[test]
    fn normalised_numbers_are_digits_and_idempotent(
        raw in prop_oneof!["[0-9 +()\\-.]{0,24}", "\\+?0{0,3}[0-9]{0,18}", any::<String>()],
    ) {
        if let Some(digits) = normalize_number(&raw) {
            prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{raw:?} -> {digits:?}");
            prop_assert!((8..=15).contains(&digits.len()), "{raw:?} -> {digits:?}");
            prop_assert!(!digits.starts_with('0'), "{raw:?} -> {digits:?}");
            prop_assert_eq!(normalize_number(&digits), Some(digits.clone()));
        }
    }

    /// The ways people write one number all normalise to it.
    #[test]
    fn written_forms_of_a_number_normalise_alike(
        (digits, form) in e164().prop_flat_map(written),
    ) {
        prop_assert_eq!(normalize_number(&form), Some(digits), "{:?}", form);
    }

    /// Any text parses or is refused with a reason, and a parsed template
    /// renders; text without `{{` comes back unchanged.
    #[test]
    fn templates_parse_and_render_without_panicking(source in prop_oneof![
        any::<String>(),
        "[{} a-z]{0,16}",
        "(\\{\\{ ?[a-zA-Z]{0,3} ?\\}\\}|[a-z {}]{0,3}){0,5}",
    ]) {
        match Template::parse(&source) {
            Ok(t) => {
                let _ = (t.names(), t.unknown(&[]), t.render(|_| Some("x")));
                if !source.contains("{{") {
                    prop_assert!(!t.has_placeholders());
                    prop_assert_eq!(t.render(|_| None), source);
                }
            }
            Err(why) => prop_assert!(source.contains("{{"), "{source:?}: {why}"),
        }
    }

    /// A template made of text and `{{ names }}`: each placeholder is filled
    /// from the value of its name, whatever its case and the spaces around
    /// it; one with no value becomes empty (as documented), and `unknown`
    /// names exactly the names without one.
    #[test]
    fn placeholders_fill_by_name_and_unknown_ones_are_named(
        parts in prop::collection::vec(
            (plain_text(), placeholder_name(), any::<bool>(), select_str(&["", " ", "  "])),
            0..5,
        ),
        tail in plain_text(),
        known_mask in any::<u8>(),
    ) {
        let mut source = String::new();
        for (text, name, upper, pad) in &parts {
            let written = if *upper { name.to_uppercase() } else { name.clone() };
            source.push_str(&format!("{text}{{{{{pad}{written}{pad}}}}}"));
        }
        source.push_str(&tail);
        let t = Template::parse(&source)
            .map_err(|e| TestCaseError::fail(format!("{source:?}: {e}")))?;
        // Names as a sheet header spells them (trimmed); some of them known,
        // each known one's value telling its name.
        let headers: Vec<String> = parts.iter().map(|p| p.1.trim().to_owned()).collect();
        let known: Vec<&str> = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| known_mask & (1 << (i % 8)) != 0)
            .map(|(_, h)| h.as_str())
            .collect();
        let values: Vec<(String, String)> = known
            .iter()
            .map(|k| (k.to_lowercase(), format!("<{}>", k.to_lowercase())))
            .collect();
        let value = |key: &str| values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        // Without regard to case: the name as written, lower-cased.
        let key = |name: &str, upper: bool| {
            let written = if upper { name.to_uppercase() } else { name.to_owned() };
            written.trim().to_lowercase()
        };
        let mut expected = String::new();
        let mut first_unknown = None;
        for (text, name, upper, _) in &parts {
            expected.push_str(text);
            let key = key(name, *upper);
            match value(&key) {
                Some(v) => expected.push_str(v),
                None => {
                    first_unknown.get_or_insert(key);
                }
            }
        }
        expected.push_str(&tail);
        prop_assert_eq!(t.render(value), expected, "{:?}", source);
        prop_assert_eq!(t.unknown(&known).map(str::to_owned), first_unknown, "{:?} known {:?}", source, known);
    }

    /// Arbitrary bytes as a sheet: read or refused, never a panic; rows
    /// read have increasing row numbers from 1.
    #[test]
    fn arbitrary_bytes_as_a_sheet_never_panic(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            "[\",\r\n a-z0-9]{0,64}".prop_map(String::into_bytes),
        ],
    ) {
        if let Ok(parsed) = sheet::parse(&bytes) {
            let mut last = 0;
            for (row, cells) in &parsed.rows {
                prop_assert!(*row > last, "rows {last} then {row}");
                prop_assert!(!cells.is_empty());
                last = *row;
            }
        }
    }

    /// A sheet written as CSV (cells with commas, quotes and line breaks,
    /// blank rows, either line ending, a byte-order mark or not) reads back
    /// as its rows, trimmed, each with its row number; row 1 is the header
    /// when it names its first column.
    #[test]
    fn sheets_round_trip_through_csv(
        rows in prop::collection::vec(
            prop_oneof![
                1 => Just(Vec::new()),
                6 => prop::collection::vec(cell(), 1..4),
            ],
            0..8,
        ),
        quote_all in any::<bool>(),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
        bom in any::<bool>(),
    ) {
        // An empty row is a blank line; a trailing one is no row at all.
        let mut rows = rows;
        if !final_newline {
            while rows.last().is_some_and(Vec::is_empty) {
                rows.pop();
            }
        }
        let written: Vec<Vec<String>> = rows
            .iter()
            .map(|r| if r.is_empty() { vec![String::new()] } else { r.clone() })
            .collect();
        // A first cell that starts with U+FEFF is a byte-order mark.
        prop_assume!(!written
            .first()
            .and_then(|r| r.first())
            .is_some_and(|c| c.starts_with('\u{FEFF}')));
        let mut csv = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        csv.extend(to_csv(&written, quote_all, crlf, final_newline));
        let parsed = sheet::parse(&csv)
            .map_err(|e| TestCaseError::fail(format!("{e}: {:?}", String::from_utf8_lossy(&csv))))?;

        let trimmed: Vec<Vec<String>> = written
            .iter()
            .map(|r| r.iter().map(|c| c.trim().to_owned()).collect())
            .collect();
        let mut expected_header = None;
        let mut expected_rows = Vec::new();
        for (i, cells) in trimmed.iter().enumerate() {
            let blank = cells.iter().all(String::is_empty);
            let first = cells.first().map(String::as_str).unwrap_or("");
            let header = i == 0
                && !blank
                && normalize_number(first).is_none()
                && first.chars().any(char::is_alphabetic);
            if header {
                expected_header = Some(cells.clone());
            } else if !blank {
                expected_rows.push((i as u32 + 1, cells.clone()));
            }
        }
        let shown = String::from_utf8_lossy(&csv).into_owned();
        prop_assert_eq!(parsed.header, expected_header, "{:?}", shown);
        prop_assert_eq!(parsed.rows, expected_rows, "{:?}", shown);
    }
}
