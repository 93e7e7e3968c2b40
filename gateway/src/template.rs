//! google.api.http path templates: parsing, matching a request path, and the
//! route string handed to axum.
//!
//! Grammar (from google/api/http.proto):
//! `Template = "/" Segments [":" Verb]`, `Segment = "*" | "**" | LITERAL | Variable`,
//! `Variable = "{" FieldPath ["=" Segments] "}"`. A variable covers a run of segments;
//! `{phone_id}` is short for `{phone_id=*}`.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(String),
    /// `*`: exactly one non-empty segment.
    Single,
    /// `**`: the rest of the path (only last).
    Rest,
}

#[derive(Debug, Clone)]
pub(crate) struct Variable {
    /// Dotted field path, split (`a.b` -> `["a", "b"]`).
    pub field_path: Vec<String>,
    /// Range of segments it covers.
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub segments: Vec<Segment>,
    pub variables: Vec<Variable>,
    pub verb: Option<String>,
}

/// Characters allowed in literal segments and verbs: unreserved URL characters plus a
/// few sub-delimiters. Nothing that axum or matchit would read as syntax.
fn literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()+,;=@".contains(c)
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, String> {
        let rest = source
            .strip_prefix('/')
            .ok_or_else(|| "must start with `/`".to_string())?;
        // The verb is a `:` outside braces in the last segment.
        let (body, verb) = split_verb(rest)?;
        let mut template = Template {
            segments: Vec::new(),
            variables: Vec::new(),
            verb,
        };
        if body.is_empty() {
            if template.verb.is_some() {
                return Err("a `:verb` is only supported after a literal segment".into());
            }
            return Ok(template);
        }
        for part in split_top_level(body)? {
            if let Some(inner) = part.strip_prefix('{') {
                let inner = inner
                    .strip_suffix('}')
                    .ok_or_else(|| format!("unclosed variable `{part}`"))?;
                let (path, pattern) = match inner.split_once('=') {
                    Some((p, pat)) => (p, pat),
                    None => (inner, "*"),
                };
                let field_path: Vec<String> = path.split('.').map(str::to_string).collect();
                if field_path.iter().any(|s| !is_ident(s)) {
                    return Err(format!("bad field path `{path}` in variable `{part}`"));
                }
                if pattern.is_empty() {
                    return Err(format!("empty pattern in variable `{part}`"));
                }
                let start = template.segments.len();
                for seg in pattern.split('/') {
                    if seg.contains(['{', '}']) {
                        return Err(format!("nested variable in `{part}`"));
                    }
                    template.segments.push(parse_plain(seg)?);
                }
                template.variables.push(Variable {
                    field_path,
                    start,
                    end: template.segments.len(),
                });
            } else {
                template.segments.push(parse_plain(part)?);
            }
        }
        if let Some(pos) = template.segments.iter().position(|s| *s == Segment::Rest)
            && pos + 1 != template.segments.len()
        {
            return Err("`**` must be the last segment".into());
        }
        if template.verb.is_some() && !matches!(template.segments.last(), Some(Segment::Literal(_)))
        {
            return Err("a `:verb` is only supported after a literal segment".into());
        }
        let mut seen: Vec<&Vec<String>> = Vec::new();
        for v in &template.variables {
            if seen.contains(&&v.field_path) {
                return Err(format!("field `{}` bound twice", v.field_path.join(".")));
            }
            seen.push(&v.field_path);
        }
        Ok(template)
    }

    /// The route string for axum (and matchit): literals as they are, captures named by
    /// segment position so that templates sharing a prefix agree on names.
    pub fn route(&self) -> String {
        if self.segments.is_empty() {
            return "/".into();
        }
        let mut out = String::new();
        for (i, seg) in self.segments.iter().enumerate() {
            let _ = match seg {
                Segment::Literal(l) => write!(out, "/{l}"),
                Segment::Single => write!(out, "/{{s{i}}}"),
                Segment::Rest => write!(out, "/{{*s{i}}}"),
            };
        }
        if let Some(v) = &self.verb {
            out.push(':');
            out.push_str(v);
        }
        out
    }

    /// Every route that must reach this template: [`route`](Self::route),
    /// and for a trailing `**`, which also matches no segment at all, the
    /// path before it with and without its slash (a catch-all route needs
    /// one segment or more).
    pub fn routes(&self) -> Vec<String> {
        let mut routes = vec![self.route()];
        if let Some((Segment::Rest, before)) = self.segments.split_last() {
            let prefix = Template {
                segments: before.to_vec(),
                variables: Vec::new(),
                verb: None,
            }
            .route();
            if prefix != "/" {
                routes.push(format!("{prefix}/"));
            }
            routes.push(prefix);
        }
        routes
    }

    /// The OpenAPI path: every variable becomes one `{dotted.name}` parameter.
    pub fn openapi_path(&self) -> String {
        let mut out = String::new();
        let mut i = 0;
        while i < self.segments.len() {
            out.push('/');
            if let Some(v) = self.variables.iter().find(|v| v.start == i) {
                let _ = write!(out, "{{{}}}", v.field_path.join("."));
                i = v.end.max(i + 1);
                continue;
            }
            match &self.segments[i] {
                Segment::Literal(l) => out.push_str(l),
                Segment::Single => out.push('*'),
                Segment::Rest => out.push_str("**"),
            }
            i += 1;
        }
        if out.is_empty() {
            out.push('/');
        }
        if let Some(v) = &self.verb {
            out.push(':');
            out.push_str(v);
        }
        out
    }

    /// Sort key: at the first differing position, literals beat `*` beat `**`.
    pub fn specificity(&self) -> Vec<u8> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 0,
                Segment::Single => 1,
                Segment::Rest => 2,
            })
            .collect()
    }

    /// Matches a request path; on success the (percent-decoded) value of every variable,
    /// in `variables` order. `None` when the path does not fit.
    pub fn matches(&self, path: &str) -> Option<Vec<String>> {
        let mut path = path.strip_prefix('/')?;
        if let Some(verb) = &self.verb {
            path = path.strip_suffix(verb.as_str())?.strip_suffix(':')?;
        }
        let raw: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        // Decoded text of each template segment's match; `**` takes all the rest.
        let mut matched: Vec<String> = Vec::with_capacity(self.segments.len());
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Literal(l) => {
                    if percent_decode(raw.get(i)?)? != *l {
                        return None;
                    }
                    matched.push(l.clone());
                }
                Segment::Single => {
                    let s = raw.get(i).filter(|s| !s.is_empty())?;
                    matched.push(percent_decode(s)?);
                }
                Segment::Rest => {
                    let rest: Option<Vec<String>> =
                        raw.get(i..)?.iter().map(|s| percent_decode(s)).collect();
                    matched.push(rest?.join("/"));
                    return Some(self.values(&matched));
                }
            }
        }
        (raw.len() == self.segments.len()).then(|| self.values(&matched))
    }

    fn values(&self, matched: &[String]) -> Vec<String> {
        self.variables
            .iter()
            .map(|v| matched[v.start..v.end.min(matched.len())].join("/"))
            .collect()
    }
}

fn parse_plain(seg: &str) -> Result<Segment, String> {
    match seg {
        "*" => Ok(Segment::Single),
        "**" => Ok(Segment::Rest),
        "" => Err("empty segment".into()),
        l if l.chars().all(literal_char) => Ok(Segment::Literal(l.to_string())),
        l => Err(format!("unsupported character in literal segment `{l}`")),
    }
}

/// Splits `a/{b=c/*}/d` into `a`, `{b=c/*}`, `d`.
fn split_top_level(body: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '{' if depth == 0 => depth = 1,
            '{' => return Err("nested `{`".into()),
            '}' if depth == 1 => depth = 0,
            '}' => return Err("unbalanced `}`".into()),
            '/' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unclosed `{`".into());
    }
    parts.push(&body[start..]);
    for p in &parts {
        if p.starts_with('{') != p.ends_with('}') || (!p.starts_with('{') && p.contains('}')) {
            return Err(format!("variable must be a whole segment: `{p}`"));
        }
    }
    Ok(parts)
}

fn split_verb(rest: &str) -> Result<(&str, Option<String>), String> {
    let last_start = rest.rfind(['/', '}']).map_or(0, |i| i + 1);
    match rest[last_start..].find(':') {
        Some(pos) => {
            let at = last_start + pos;
            let verb = &rest[at + 1..];
            if verb.is_empty() || !verb.chars().all(literal_char) {
                return Err(format!("bad verb `:{verb}`"));
            }
            Ok((&rest[..at], Some(verb.to_string())))
        }
        None => Ok((rest, None)),
    }
}

/// Percent-decodes one path segment or query component; `None` on bad escapes or
/// invalid UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let t = Template::parse("/api/phones/{phone_id}/status").unwrap();
        assert_eq!(t.route(), "/api/phones/{s2}/status");
        assert_eq!(t.openapi_path(), "/api/phones/{phone_id}/status");
        assert_eq!(
            t.matches("/api/phones/ph%201/status").unwrap(),
            vec!["ph 1"]
        );
        assert!(t.matches("/api/phones//status").is_none());
        assert!(t.matches("/api/phones/x/status/y").is_none());

        let t = Template::parse("/v1/{name=phones/*}/x:run").unwrap();
        assert_eq!(t.route(), "/v1/phones/{s2}/x:run");
        assert_eq!(t.matches("/v1/phones/7/x:run").unwrap(), vec!["phones/7"]);
        assert!(t.matches("/v1/phones/7/x").is_none());

        let t = Template::parse("/files/{path=**}").unwrap();
        assert_eq!(t.matches("/files/a/b/c").unwrap(), vec!["a/b/c"]);
        // Found by fuzz::template: `**` matches no segment too, which the
        // catch-all route alone never routed (a 404).
        assert_eq!(t.matches("/files").unwrap(), vec![""]);
        assert_eq!(t.matches("/files/").unwrap(), vec![""]);
        assert_eq!(t.routes(), ["/files/{*s1}", "/files/", "/files"]);
        assert_eq!(
            Template::parse("/{p=**}").unwrap().routes(),
            ["/{*s0}", "/"]
        );
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in [
            "api",
            "/a/{b",
            "/a/{b}}",
            "/a//b",
            "/a/{b.}",
            "/a/{x}/{x}",
            "/a/**/b",
            "/a/{b}:v",
            "/a/b c",
            "/a/:x",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad} should fail");
        }
    }
}
