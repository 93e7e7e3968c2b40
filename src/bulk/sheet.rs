//! Google Sheets as a recipient list: the sheet's public CSV export.
//!
//! A sheet shared as "Anyone with the link can view" is readable without
//! credentials at `{base}/spreadsheets/d/{id}/export?format=csv`; a private
//! one answers with a sign-in page or an error status instead.

use crate::{
    error::{Error, Result},
    fetch::{FetchError, Fetcher},
};

/// The characters of a sheet ID (the part of the sheet's URL after `/d/`).
pub(crate) fn check_id(id: &str) -> Result<&str> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Error::required("sheet_id"));
    }
    if id.len() > crate::rules::SHEET_ID_MAX
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "sheet_id",
            "must be the ID from the sheet's URL (letters, digits, - and _), e.g. the part after /d/ in https://docs.google.com/spreadsheets/d/ID/edit",
        ));
    }
    Ok(id)
}

/// The export URL of a sheet.
pub(crate) fn export_url(base: &url::Url, id: &str) -> Result<url::Url> {
    let base = base.as_str().trim_end_matches('/');
    url::Url::parse(&format!("{base}/spreadsheets/d/{id}/export?format=csv"))
        .map_err(|e| Error::Internal(anyhow::anyhow!("sheets.base_url: {e}")))
}

fn not_shared(id: &str, why: &str) -> Error {
    Error::invalid(
        "sheet_id",
        format!(
            "the sheet {id} could not be read ({why}): check the ID, and share the sheet as \"Anyone with the link can view\""
        ),
    )
}

/// Downloads the sheet's CSV.
pub(crate) async fn fetch(
    fetcher: &Fetcher,
    base: &url::Url,
    id: &str,
    limit: u64,
) -> Result<Vec<u8>> {
    let url = export_url(base, id)?;
    let fetched = fetcher.get(&url, limit).await.map_err(|err| match err {
        FetchError::Status { status, .. } => not_shared(id, &format!("HTTP {status}")),
        FetchError::TooLarge { limit } => Error::invalid(
            "sheet_id",
            format!(
                "the sheet's CSV is larger than {} MB",
                limit / (1024 * 1024)
            ),
        ),
        FetchError::Unreachable { reason, .. } => Error::Unavailable(format!(
            "Google Sheets could not be reached, try again: {reason}"
        )),
        FetchError::Refused(reason) => Error::invalid("sheet_id", reason),
    })?;
    let html = fetched
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"))
        || fetched.body.trim_ascii_start().starts_with(b"<");
    if html {
        // Google's sign-in page: the sheet is not public.
        return Err(not_shared(id, "Google asked for a sign-in"));
    }
    Ok(fetched.body)
}

/// A sheet read as rows.
#[derive(Debug, Default)]
pub struct Sheet {
    /// Column names from the header row (trimmed), if row 1 is one.
    pub header: Option<Vec<String>>,
    /// Data rows: the sheet's row number (1-based) and its cells.
    pub rows: Vec<(u32, Vec<String>)>,
}

/// Parses CSV; row 1 is a header when its first cell is not a phone
/// number but has letters in it ("Phone", "Number", "WhatsApp"). Blank rows
/// are dropped.
pub(crate) fn parse(csv: &[u8]) -> Result<Sheet> {
    let csv = csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv);
    let mut sheet = Sheet::default();
    // The csv reader drops empty lines (a blank row of a one-column sheet),
    // so rows are counted from line numbers: each record starts on the line
    // after the previous one ended (its quoted cells may span lines).
    let mut row = 0u32;
    let mut next_line = 1u64;
    for record in reader.records() {
        let record = record.map_err(|e| {
            Error::invalid(
                "sheet_id",
                format!("the sheet's CSV could not be read: {e}"),
            )
        })?;
        // A record's position is where the reader began, before the empty
        // lines it skipped.
        let line = match record.position() {
            Some(p) => {
                let skipped = csv[(p.byte() as usize).min(csv.len())..]
                    .iter()
                    .take_while(|b| **b == b'\n' || **b == b'\r')
                    .filter(|b| **b == b'\n')
                    .count() as u64;
                p.line() + skipped
            }
            None => next_line,
        };
        row += 1 + line.saturating_sub(next_line) as u32;
        let inner_breaks = record
            .iter()
            .map(|c| c.matches('\n').count() as u64)
            .sum::<u64>();
        next_line = line + inner_breaks + 1;
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
        if row == 1 && is_header(&cells) {
            sheet.header = Some(cells);
            continue;
        }
        if cells.iter().all(String::is_empty) {
            continue;
        }
        sheet.rows.push((row, cells));
    }
    Ok(sheet)
}

fn is_header(cells: &[String]) -> bool {
    let first = cells.first().map(String::as_str).unwrap_or("");
    crate::values::normalize_number(first).is_none() && first.chars().any(char::is_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_blank_rows_and_row_numbers() {
        let sheet = parse(
            b"\xEF\xBB\xBFPhone,Name\n919876543210,Asha\n,\n\"+91 98765 43211\",\"Ravi, Jr\"\n",
        )
        .unwrap();
        assert_eq!(
            sheet.header,
            Some(vec!["Phone".to_owned(), "Name".to_owned()])
        );
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0].0, 2);
        assert_eq!(
            sheet.rows[1],
            (4, vec!["+91 98765 43211".to_owned(), "Ravi, Jr".to_owned()])
        );
    }

    #[test]
    fn empty_lines_and_multi_line_cells_keep_row_numbers() {
        let sheet =
            parse(b"Phone,Note\n\n919876543210,\"two\nlines\"\n\n919876543211,x\n").unwrap();
        let rows: Vec<u32> = sheet.rows.iter().map(|r| r.0).collect();
        assert_eq!(rows, vec![3, 5]);
    }

    #[test]
    fn no_header_when_row_one_is_a_number() {
        let sheet = parse(b"919876543210\n919876543211\n").unwrap();
        assert!(sheet.header.is_none());
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0].0, 1);
    }

    #[test]
    fn ids_outside_the_alphabet_are_refused() {
        assert!(check_id("1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms").is_ok());
        assert!(check_id("../../etc").is_err());
        assert!(check_id("abc?x=1").is_err());
        assert!(check_id(" ").is_err());
    }
}
