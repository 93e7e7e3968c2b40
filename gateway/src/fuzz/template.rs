//! The path template matcher: arbitrary templates and paths never panic; a
//! path built from a template and chosen segment values matches it, gives
//! back exactly those values (percent-encoding undone), and is routed to the
//! template's route by the router axum uses.

use std::fmt::Write as _;

use proptest::prelude::*;

use super::config;
use crate::template::{Template, percent_decode};

/// A piece of a generated template, carrying the text a path puts there.
#[derive(Debug, Clone)]
enum Piece {
    Literal(String),
    /// `*` and the value a path gives it.
    Star(String),
}

#[derive(Debug, Clone)]
enum Part {
    Plain(Piece),
    /// `{name}` or `{name=a/*}`: a variable over its pieces (one `*` when
    /// written in the short form).
    Var {
        name: String,
        short: bool,
        pieces: Vec<Piece>,
    },
}

#[derive(Debug, Clone)]
enum Tail {
    None,
    /// `**` and the segments a path gives it.
    Rest(Vec<String>),
    /// `{name=lit/**}`.
    VarRest {
        name: String,
        prefix: Vec<String>,
        rest: Vec<String>,
    },
}

#[derive(Debug, Clone)]
struct Generated {
    parts: Vec<Part>,
    tail: Tail,
    verb: Option<String>,
    /// Percent-encode literal segments too (the matcher decodes them).
    encode_literals: bool,
}

fn literal() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._~!$&'()+,;=@-]{1,8}"
}

fn field_path() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,6}(\\.[a-z_][a-z0-9_]{0,4}){0,2}"
}

/// Any text at all, the empty string excepted (`*` matches one non-empty
/// segment).
fn segment_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,6}",
        ".{1,12}",
        "[/%:?#{}*. +]{1,6}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        literal().prop_map(Piece::Literal),
        segment_value().prop_map(Piece::Star),
    ]
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        piece().prop_map(Part::Plain),
        (field_path(), segment_value()).prop_map(|(name, v)| Part::Var {
            name,
            short: true,
            pieces: vec![Piece::Star(v)],
        }),
        (field_path(), prop::collection::vec(piece(), 1..4)).prop_map(|(name, pieces)| {
            Part::Var {
                name,
                short: false,
                pieces,
            }
        }),
    ]
}

fn rest_values() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop_oneof!["[a-z0-9]{0,4}", ".{0,6}"], 0..4)
}

fn generated() -> impl Strategy<Value = Generated> {
    let tail = prop_oneof![
        3 => Just(Tail::None),
        1 => rest_values().prop_map(Tail::Rest),
        1 => (field_path(), prop::collection::vec(literal(), 0..2), rest_values())
            .prop_map(|(name, prefix, rest)| Tail::VarRest { name, prefix, rest }),
    ];
    (
        prop::collection::vec(part(), 0..6),
        tail,
        prop::option::of("[a-zA-Z0-9]{1,8}"),
        any::<bool>(),
    )
        .prop_map(|(mut parts, tail, verb, encode_literals)| {
            // Variable names made unique by position.
            let mut n = 0;
            let mut rename = |name: &mut String| {
                n += 1;
                let _ = write!(name, "_{n}");
            };
            for part in &mut parts {
                if let Part::Var { name, .. } = part {
                    rename(name);
                }
            }
            let mut tail = tail;
            if let Tail::VarRest { name, .. } = &mut tail {
                rename(name);
            }
            // A verb only follows a literal last segment.
            let ends_in_literal = matches!(tail, Tail::None)
                && matches!(parts.last(), Some(Part::Plain(Piece::Literal(_))));
            Generated {
                verb: verb.filter(|_| ends_in_literal),
                parts,
                tail,
                encode_literals,
            }
        })
}

/// Percent-encodes everything but the unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

impl Generated {
    fn template(&self) -> String {
        let piece = |p: &Piece| match p {
            Piece::Literal(l) => l.clone(),
            Piece::Star(_) => "*".to_owned(),
        };
        let mut segs: Vec<String> = Vec::new();
        for part in &self.parts {
            segs.push(match part {
                Part::Plain(p) => piece(p),
                Part::Var { name, short, .. } if *short => format!("{{{name}}}"),
                Part::Var { name, pieces, .. } => format!(
                    "{{{name}={}}}",
                    pieces.iter().map(piece).collect::<Vec<_>>().join("/")
                ),
            });
        }
        match &self.tail {
            Tail::None => {}
            Tail::Rest(_) => segs.push("**".into()),
            Tail::VarRest { name, prefix, .. } => {
                let mut pattern = prefix.clone();
                pattern.push("**".into());
                segs.push(format!("{{{name}={}}}", pattern.join("/")));
            }
        }
        let mut out = format!("/{}", segs.join("/"));
        if let Some(verb) = &self.verb {
            let _ = write!(out, ":{verb}");
        }
        out
    }

    fn piece_path(&self, p: &Piece) -> String {
        match p {
            Piece::Literal(l) if self.encode_literals => encode(l),
            Piece::Literal(l) => l.clone(),
            Piece::Star(v) => encode(v),
        }
    }

    /// The request path, and the value each variable must extract.
    fn path_and_values(&self) -> (String, Vec<String>) {
        let text = |p: &Piece| match p {
            Piece::Literal(l) | Piece::Star(l) => l.clone(),
        };
        let mut segs: Vec<String> = Vec::new();
        let mut values = Vec::new();
        for part in &self.parts {
            match part {
                Part::Plain(p) => segs.push(self.piece_path(p)),
                Part::Var { pieces, .. } => {
                    segs.extend(pieces.iter().map(|p| self.piece_path(p)));
                    values.push(pieces.iter().map(text).collect::<Vec<_>>().join("/"));
                }
            }
        }
        match &self.tail {
            Tail::None => {}
            Tail::Rest(rest) => segs.extend(rest.iter().map(|s| encode(s))),
            Tail::VarRest { prefix, rest, .. } => {
                segs.extend(
                    prefix
                        .iter()
                        .map(|l| self.piece_path(&Piece::Literal(l.clone()))),
                );
                segs.extend(rest.iter().map(|s| encode(s)));
                let mut all = prefix.clone();
                all.push(rest.join("/"));
                values.push(all.join("/"));
            }
        }
        let mut path = format!("/{}", segs.join("/"));
        if let Some(verb) = &self.verb {
            let _ = write!(path, ":{verb}");
        }
        (path, values)
    }
}

proptest! {
    #![proptest_config(config(2000))]

    /// Whatever the template and the path, parsing and matching answer
    /// without panicking, and a match has one value per variable.
    #[test]
    fn arbitrary_templates_and_paths_never_panic(
        source in prop_oneof![
            "/[a-z{}=*/.:%_]{0,24}",
            "[/{}=*:.a-zA-Z_%0-9 ]{0,30}",
            any::<String>(),
        ],
        paths in prop::collection::vec(
            prop_oneof!["(/[a-z%0-9A-F:.*{}]{0,5}){0,6}", any::<String>()],
            1..6,
        ),
    ) {
        if let Ok(t) = Template::parse(&source) {
            let _ = (t.route(), t.openapi_path(), t.specificity());
            for path in &paths {
                if let Some(values) = t.matches(path) {
                    prop_assert_eq!(values.len(), t.variables.len());
                }
            }
        }
    }

    /// A path made from a template and chosen values matches, gives those
    /// values back, and reaches the template's route in the router.
    #[test]
    fn generated_paths_match_and_round_trip(g in generated()) {
        let source = g.template();
        let t = Template::parse(&source)
            .map_err(|e| TestCaseError::fail(format!("{source}: {e}")))?;
        let (path, values) = g.path_and_values();
        let got = t.matches(&path);
        prop_assert_eq!(got.as_ref(), Some(&values), "template {} path {}", source, path);

        // The router compares literal segments as they are written: an
        // encoded literal (`%61pi` for `api`) is another path to it, which
        // the gateway answers 404, so only paths that spell their literals
        // out are checked against it.
        if g.encode_literals {
            return Ok(());
        }
        let mut router = matchit::Router::new();
        for route in t.routes() {
            router.insert(route.clone(), ()).map_err(|e| {
                TestCaseError::fail(format!("route {route} of {source}: {e}"))
            })?;
        }
        prop_assert!(
            router.at(&path).is_ok(),
            "routes {:?} of {} do not take {}", t.routes(), source, path
        );
    }

    /// Percent-decoding undoes percent-encoding for any text, and refuses
    /// truncated escapes instead of panicking on them.
    #[test]
    fn percent_encoding_round_trips(s in any::<String>(), cut in any::<prop::sample::Index>()) {
        let encoded = encode(&s);
        prop_assert_eq!(percent_decode(&encoded), Some(s));
        let at = cut.index(encoded.len() + 1);
        let _ = percent_decode(&encoded[..at]);
        let _ = percent_decode(&format!("{}%", &encoded[..at]));
    }
}
