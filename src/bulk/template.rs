//! `{{placeholder}}` templates: names between double braces (spaces around
//! the name allowed), matched without regard to case.

/// A parsed template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    /// Lower-cased, trimmed name.
    Var(String),
}

impl Template {
    /// Splits `source` into text and placeholders; an opened `{{` without
    /// its `}}`, or an empty name, is an error saying where.
    pub(crate) fn parse(source: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| {
                format!(
                    "has a {{{{ without its }}}} at character {}",
                    source.len() - rest.len() + start + 1
                )
            })?;
            let name = after[..end].trim();
            if name.is_empty() || name.contains('{') {
                return Err(format!(
                    "has an empty or malformed placeholder {{{{{}}}}}",
                    &after[..end]
                ));
            }
            parts.push(Part::Var(name.to_lowercase()));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The placeholder names, lower-cased, in order of first use.
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for part in &self.parts {
            if let Part::Var(name) = part
                && !names.contains(&name.as_str())
            {
                names.push(name);
            }
        }
        names
    }

    pub(crate) fn has_placeholders(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Var(_)))
    }

    /// The first placeholder `known` does not know (lower-cased). Known
    /// names are lower-cased the way placeholders are: an ASCII-only
    /// comparison called `{{Éxito}}` unknown next to a column "Éxito"
    /// (found by the fuzzing).
    pub(crate) fn unknown<'a>(&'a self, known: &[&str]) -> Option<&'a str> {
        let known: Vec<String> = known.iter().map(|k| k.trim().to_lowercase()).collect();
        self.names()
            .into_iter()
            .find(|name| !known.iter().any(|k| k == name))
    }

    /// The text with each placeholder replaced by `value(name)` (empty when
    /// it has none).
    pub(crate) fn render<'a>(&self, value: impl Fn(&str) -> Option<&'a str>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var(name) => out.push_str(value(name).unwrap_or("")),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Template;

    #[test]
    fn fills_placeholders_by_name_ignoring_case_and_spaces() {
        let t = Template::parse("Hi {{ Name }}, order {{order}} for {{name}}!").unwrap();
        assert_eq!(t.names(), vec!["name", "order"]);
        let text = t.render(|n| match n {
            "name" => Some("Asha"),
            "order" => Some("42"),
            _ => None,
        });
        assert_eq!(text, "Hi Asha, order 42 for Asha!");
        assert_eq!(t.unknown(&["NAME"]), Some("order"));
        assert_eq!(t.unknown(&["name", "order"]), None);
    }

    #[test]
    fn plain_text_and_malformed_templates() {
        let plain = Template::parse("no placeholders { here }").unwrap();
        assert!(!plain.has_placeholders());
        assert_eq!(plain.render(|_| None), "no placeholders { here }");
        assert!(
            Template::parse("Hi {{name")
                .unwrap_err()
                .contains("character 4")
        );
        assert!(Template::parse("Hi {{ }}").is_err());
    }

    /// Found by fuzz::placeholders_fill_by_name_and_unknown_ones_are_named
    /// (proptest-regressions/fuzz.txt): `{{É}}` with a column "É" was called
    /// unknown, so a sheet campaign with a non-ASCII capital in a column
    /// name was refused.
    #[test]
    fn non_ascii_names_are_known_whatever_their_case() {
        let t = Template::parse("{{É}} {{ÄRGER}} {{straße}}").unwrap();
        assert_eq!(t.unknown(&["É", "Ärger", "Straße"]), None);
        assert_eq!(t.unknown(&["É", "Ärger"]), Some("straße"));
        assert_eq!(
            t.render(|n| Some(match n {
                "é" => "1",
                "ärger" => "2",
                _ => "3",
            })),
            "1 2 3"
        );
    }
}
