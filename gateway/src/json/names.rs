//! REST spellings of enum values and the `omit_success` message option.

use std::collections::HashMap;

use prost_reflect::{
    DescriptorPool, EnumDescriptor, ExtensionDescriptor, FieldDescriptor, MessageDescriptor,
};

const JSON_VALUE: &str = "wadesk.gateway.v1.json_value";
const OMIT_SUCCESS: &str = "wadesk.gateway.v1.omit_success";
const SSE_EVENT_ID: &str = "wadesk.gateway.v1.sse_event_id";
const LAST_EVENT_ID: &str = "wadesk.gateway.v1.last_event_id";
const OMIT_UNSET: &str = "wadesk.gateway.v1.omit_unset";

/// Field options the gateway reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldFlag {
    /// The response field that is an SSE event's id.
    SseEventId,
    /// The request field a Last-Event-ID header fills.
    LastEventId,
    /// A response field left out of REST JSON while unset.
    OmitUnset,
}

/// Spellings of every enum in the pool, computed once at construction.
#[derive(Debug, Default)]
pub(crate) struct Names {
    enums: HashMap<String, EnumNames>,
    omit_success: Option<ExtensionDescriptor>,
    sse_event_id: Option<ExtensionDescriptor>,
    last_event_id: Option<ExtensionDescriptor>,
    omit_unset: Option<ExtensionDescriptor>,
}

#[derive(Debug, Default)]
struct EnumNames {
    by_number: HashMap<i32, String>,
    by_name: HashMap<String, i32>,
    /// REST spellings in declaration order (for OpenAPI).
    spellings: Vec<String>,
}

impl Names {
    pub fn new(pool: &DescriptorPool) -> Names {
        let json_value = pool.get_extension_by_name(JSON_VALUE);
        let mut enums = HashMap::new();
        for desc in pool.all_enums() {
            enums.insert(
                desc.full_name().to_string(),
                enum_names(&desc, json_value.as_ref()),
            );
        }
        Names {
            enums,
            omit_success: pool.get_extension_by_name(OMIT_SUCCESS),
            sse_event_id: pool.get_extension_by_name(SSE_EVENT_ID),
            last_event_id: pool.get_extension_by_name(LAST_EVENT_ID),
            omit_unset: pool.get_extension_by_name(OMIT_UNSET),
        }
    }

    /// Whether `field` carries `flag`.
    pub fn has_flag(&self, field: &FieldDescriptor, flag: FieldFlag) -> bool {
        let Some(ext) = self.flag_extension(flag) else {
            return false;
        };
        let options = field.options();
        options.has_extension(ext) && options.get_extension(ext).as_bool() == Some(true)
    }

    fn flag_extension(&self, flag: FieldFlag) -> Option<&ExtensionDescriptor> {
        match flag {
            FieldFlag::SseEventId => self.sse_event_id.as_ref(),
            FieldFlag::LastEventId => self.last_event_id.as_ref(),
            FieldFlag::OmitUnset => self.omit_unset.as_ref(),
        }
    }

    /// The first field of `desc` that carries `flag`.
    pub fn flagged_field(
        &self,
        desc: &MessageDescriptor,
        flag: FieldFlag,
    ) -> Option<FieldDescriptor> {
        desc.fields().find(|field| self.has_flag(field, flag))
    }

    /// The REST spelling of an enum number; numbers the enum does not know stay numbers.
    pub fn enum_to_json(&self, desc: &EnumDescriptor, number: i32) -> serde_json::Value {
        match self
            .enums
            .get(desc.full_name())
            .and_then(|e| e.by_number.get(&number))
        {
            Some(s) => serde_json::Value::String(s.clone()),
            None => serde_json::Value::from(number),
        }
    }

    /// Reads the REST spelling or the proto value name.
    pub fn enum_from_str(&self, desc: &EnumDescriptor, s: &str) -> Option<i32> {
        self.enums.get(desc.full_name())?.by_name.get(s).copied()
    }

    pub fn enum_spellings(&self, desc: &EnumDescriptor) -> Vec<String> {
        self.enums
            .get(desc.full_name())
            .map(|e| e.spellings.clone())
            .unwrap_or_default()
    }

    /// Whether the REST body of this message goes without `"success": true`.
    pub fn omit_success(&self, desc: &MessageDescriptor) -> bool {
        let Some(ext) = &self.omit_success else {
            return false;
        };
        let options = desc.options();
        options.has_extension(ext) && options.get_extension(ext).as_bool() == Some(true)
    }
}

fn enum_names(desc: &EnumDescriptor, json_value: Option<&ExtensionDescriptor>) -> EnumNames {
    let prefix = format!("{}_", upper_snake(desc.name()));
    let mut names = EnumNames::default();
    for value in desc.values() {
        let explicit = json_value.and_then(|ext| {
            let options = value.options();
            if !options.has_extension(ext) {
                return None;
            }
            options.get_extension(ext).as_str().map(str::to_string)
        });
        let spelling = explicit.unwrap_or_else(|| {
            value
                .name()
                .strip_prefix(&prefix)
                .filter(|s| !s.is_empty())
                .unwrap_or(value.name())
                .to_ascii_lowercase()
        });
        // Aliases share a number: the first spelling wins for output.
        names
            .by_number
            .entry(value.number())
            .or_insert_with(|| spelling.clone());
        names
            .by_name
            .entry(spelling.clone())
            .or_insert(value.number());
        names
            .by_name
            .entry(value.name().to_string())
            .or_insert(value.number());
        if !names.spellings.contains(&spelling) {
            names.spellings.push(spelling);
        }
    }
    names
}

/// `MessageStatus` -> `MESSAGE_STATUS`, `HTTPMethod` -> `HTTP_METHOD`.
fn upper_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn upper_snake() {
        assert_eq!(super::upper_snake("MessageStatus"), "MESSAGE_STATUS");
        assert_eq!(super::upper_snake("Plan"), "PLAN");
        assert_eq!(super::upper_snake("HTTPMethod"), "HTTP_METHOD");
        assert_eq!(super::upper_snake("Ai2Model"), "AI2_MODEL");
    }
}
