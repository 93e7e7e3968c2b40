//! Limits on the shape of a JSON request body, checked before it is decoded:
//! how deep it nests and how long its arrays are.
//!
//! serde_json stops at 128 levels with "recursion limit exceeded at line 1
//! column 129", which says nothing about which limit or why; and a request
//! message that nests deeper than prost's own decoding limit (100) would be
//! refused by the server as INTERNAL after the gateway had accepted it. The
//! depth is therefore counted on the raw bytes first, with a sentence that
//! names the limit, and long arrays are refused by the field they sit in.

use serde_json::Value as Json;

/// The limits a body is held to (see `Gateway::with_max_json_depth` and
/// `Gateway::with_max_list_items`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonLimits {
    /// Arrays and objects inside each other, the outermost counting 1.
    pub max_depth: usize,
    /// Items of one array (a repeated field) or entries of one object used
    /// as a map.
    pub max_items: usize,
}

impl Default for JsonLimits {
    fn default() -> Self {
        JsonLimits {
            max_depth: 32,
            max_items: 100_000,
        }
    }
}

/// The deepest nesting of arrays and objects in `body`, counted on the bytes
/// (strings skipped, escapes honoured); Err as soon as it passes `max`.
/// Bytes that are not JSON are left to the parser to refuse.
pub(crate) fn check_depth(body: &[u8], max: usize) -> Result<(), String> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(format!(
                        "request body nests arrays and objects more than {max} levels deep"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Refuses an array (or object) with more than `max` items, naming where it
/// is (`numbers`, `a.b[2].c`).
pub(crate) fn check_items(json: &Json, max: usize) -> Result<(), String> {
    walk(json, "", max)
}

fn walk(json: &Json, path: &str, max: usize) -> Result<(), String> {
    let name = |path: &str| {
        if path.is_empty() {
            "the request body".to_owned()
        } else {
            format!("field `{path}`")
        }
    };
    match json {
        Json::Array(items) => {
            if items.len() > max {
                return Err(format!(
                    "{}: at most {max} items, got {}",
                    name(path),
                    items.len()
                ));
            }
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), max)?;
            }
        }
        Json::Object(fields) => {
            if fields.len() > max {
                return Err(format!(
                    "{}: at most {max} entries, got {}",
                    name(path),
                    fields.len()
                ));
            }
            for (key, value) in fields {
                let inner = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(value, &inner, max)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_counted_outside_strings() {
        assert!(check_depth(b"[[[]]]", 3).is_ok());
        assert!(check_depth(b"[[[[]]]]", 3).is_err());
        assert!(check_depth(br#"{"a": "[[[[[[", "b": "\"[[[["}"#, 1).is_ok());
        assert!(check_depth(br#"{"a": "\\", "b": [[1]]}"#, 2).is_err());
        assert!(
            check_depth(b"]]]]{", 1).is_ok(),
            "not JSON: the parser says so"
        );
    }

    #[test]
    fn long_arrays_are_named() {
        let json = serde_json::json!({"a": {"b": [1, [1, 2, 3]]}});
        assert!(check_items(&json, 3).is_ok());
        assert_eq!(
            check_items(&json, 2).unwrap_err(),
            "field `a.b[1]`: at most 2 items, got 3"
        );
        let json = serde_json::json!({"numbers": ["1", "2", "3"]});
        assert_eq!(
            check_items(&json, 2).unwrap_err(),
            "field `numbers`: at most 2 items, got 3"
        );
    }
}
