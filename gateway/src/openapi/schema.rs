//! JSON Schemas (OpenAPI 3.1 dialect) for messages, enums and fields, collecting every
//! reachable message and enum into `components/schemas`.

use std::collections::{BTreeMap, HashSet};

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Value as Json, json};

use super::comments::Comments;
use super::{FieldRules, merge};
use crate::json::{Names, fields_in_order};

pub(crate) struct Schemas<'a> {
    pub names: &'a Names,
    pub comments: &'a Comments,
    rules: &'a FieldRules,
    /// Messages whose schemas refuse unknown properties.
    pub closed: HashSet<String>,
    pub components: BTreeMap<String, Json>,
    seen: HashSet<String>,
    queue: Vec<Pending>,
}

enum Pending {
    Message(MessageDescriptor),
    Enum(EnumDescriptor),
}

pub(crate) fn reference(full_name: &str) -> Json {
    json!({ "$ref": format!("#/components/schemas/{full_name}") })
}

impl<'a> Schemas<'a> {
    pub fn new(names: &'a Names, comments: &'a Comments, rules: &'a FieldRules) -> Self {
        Schemas {
            names,
            comments,
            rules,
            closed: HashSet::new(),
            components: BTreeMap::new(),
            seen: HashSet::new(),
            queue: Vec::new(),
        }
    }

    /// A `$ref` to the message (or its inline form for well-known types), queueing it.
    pub fn message_ref(&mut self, desc: &MessageDescriptor) -> Json {
        if let Some(wkt) = self.well_known(desc) {
            return wkt;
        }
        if self.seen.insert(desc.full_name().to_string()) {
            self.queue.push(Pending::Message(desc.clone()));
        }
        reference(desc.full_name())
    }

    fn enum_ref(&mut self, desc: &EnumDescriptor) -> Json {
        if desc.full_name() == "google.protobuf.NullValue" {
            return json!({ "type": "null" });
        }
        if self.seen.insert(desc.full_name().to_string()) {
            self.queue.push(Pending::Enum(desc.clone()));
        }
        reference(desc.full_name())
    }

    /// Builds every queued schema (and what they reach) into `components`.
    pub fn drain(&mut self) {
        while let Some(next) = self.queue.pop() {
            let (name, schema) = match next {
                Pending::Message(desc) => (
                    desc.full_name().to_string(),
                    self.message_schema(&desc, &[]),
                ),
                Pending::Enum(desc) => (desc.full_name().to_string(), self.enum_schema(&desc)),
            };
            self.components.insert(name, schema);
        }
    }

    pub fn comment_of_field(&self, field: &FieldDescriptor) -> Option<String> {
        self.comments
            .get(field.parent_file().name(), field.path())
            .map(str::to_string)
    }

    /// The object schema of a message, leaving out top-level fields named in `skip`.
    pub fn message_schema(&mut self, desc: &MessageDescriptor, skip: &[String]) -> Json {
        let mut properties = serde_json::Map::new();
        for field in fields_in_order(desc) {
            if skip.iter().any(|s| s == field.name()) {
                continue;
            }
            properties.insert(field.name().to_string(), self.field_schema(&field));
        }
        let mut schema = json!({ "type": "object", "properties": properties });
        if self.closed.contains(desc.full_name()) {
            schema["additionalProperties"] = json!(false);
        }
        if let Some(rules) = self.rules.get(desc.full_name()) {
            merge(&mut schema, rules);
            // A field bound to the path is not in this body: drop it from `required`.
            if let Some(Json::Array(required)) = schema.get_mut("required") {
                required.retain(|name| name.as_str().is_some_and(|n| !skip.iter().any(|s| s == n)));
                if required.is_empty() {
                    schema.as_object_mut().map(|o| o.remove("required"));
                }
            }
        }
        if let Some(text) = self.comments.get(desc.parent_file().name(), desc.path()) {
            schema["description"] = json!(text);
        }
        schema
    }

    /// A field's schema: arrays, maps, and `null` allowed where the field has presence.
    pub fn field_schema(&mut self, field: &FieldDescriptor) -> Json {
        let kind = field.kind();
        let mut schema = if field.is_map() {
            let value_kind = match kind.as_message() {
                Some(entry) => entry.map_entry_value_field().kind(),
                None => Kind::String,
            };
            json!({ "type": "object", "additionalProperties": self.kind_schema(&value_kind) })
        } else if field.is_list() {
            json!({ "type": "array", "items": self.kind_schema(&kind) })
        } else {
            let base = self.kind_schema(&kind);
            if field.supports_presence() {
                nullable(base)
            } else {
                base
            }
        };
        self.apply_field_rules(field, &mut schema);
        if let Some(text) = self.comment_of_field(field) {
            schema["description"] = json!(text);
        }
        schema
    }

    /// Merges the rules kept for `field` into its schema.
    pub fn apply_field_rules(&self, field: &FieldDescriptor, schema: &mut Json) {
        if let Some(rules) = self.rules.get(field.full_name()) {
            merge(schema, rules);
        }
    }

    pub fn kind_schema(&mut self, kind: &Kind) -> Json {
        match kind {
            Kind::Double => json!({ "type": "number", "format": "double" }),
            Kind::Float => json!({ "type": "number", "format": "float" }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({ "type": "integer", "format": "int32" })
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({ "type": "integer", "format": "int64" })
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({ "type": "integer", "minimum": 0, "maximum": 4_294_967_295u32 })
            }
            Kind::Uint64 | Kind::Fixed64 => json!({ "type": "integer", "minimum": 0 }),
            Kind::Bool => json!({ "type": "boolean" }),
            Kind::String => json!({ "type": "string" }),
            Kind::Bytes => json!({ "type": "string", "contentEncoding": "base64" }),
            Kind::Enum(desc) => self.enum_ref(desc),
            Kind::Message(desc) => self.message_ref(desc),
        }
    }

    fn well_known(&mut self, desc: &MessageDescriptor) -> Option<Json> {
        Some(match desc.full_name() {
            "google.protobuf.Timestamp" => json!({ "type": "string", "format": "date-time" }),
            "google.protobuf.Duration" => {
                json!({ "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$" })
            }
            "google.protobuf.FieldMask" => json!({ "type": "string" }),
            "google.protobuf.Struct" => json!({ "type": "object", "additionalProperties": true }),
            "google.protobuf.Value" => json!({}),
            "google.protobuf.ListValue" => json!({ "type": "array" }),
            "google.protobuf.Empty" => json!({ "type": "object" }),
            "google.protobuf.Any" => json!({
                "type": "object",
                "properties": { "@type": { "type": "string" } },
                "additionalProperties": true
            }),
            name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
                let inner = desc.get_field(1)?;
                self.kind_schema(&inner.kind())
            }
            _ => return None,
        })
    }

    fn enum_schema(&self, desc: &EnumDescriptor) -> Json {
        let spellings = self.names.enum_spellings(desc);
        let mut lines: Vec<String> = Vec::new();
        if let Some(text) = self.comments.get(desc.parent_file().name(), desc.path()) {
            lines.push(text.to_string());
        }
        for value in desc.values() {
            if let (Some(text), Some(json)) = (
                self.comments.get(desc.parent_file().name(), value.path()),
                self.names
                    .enum_to_json(desc, value.number())
                    .as_str()
                    .map(str::to_string),
            ) {
                lines.push(format!("- `{json}`: {}", text.replace('\n', " ")));
            }
        }
        let mut schema = json!({ "type": "string", "enum": spellings });
        if !lines.is_empty() {
            schema["description"] = json!(lines.join("\n"));
        }
        schema
    }
}

/// Allows `null` besides the schema: a type list for plain types, `anyOf` otherwise.
pub(crate) fn nullable(schema: Json) -> Json {
    match schema.get("type") {
        Some(Json::String(t)) if schema.get("$ref").is_none() => {
            let mut s = schema.clone();
            if t != "null" {
                s["type"] = json!([t, "null"]);
            }
            s
        }
        _ if schema.as_object().is_some_and(|o| o.is_empty()) => schema,
        _ => json!({ "anyOf": [schema, { "type": "null" }] }),
    }
}
