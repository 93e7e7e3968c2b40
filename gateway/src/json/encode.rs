//! Protobuf -> REST JSON.

use base64::Engine as _;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage as _, SerializeOptions, Value,
};
use serde_json::{Map, Value as Json};

use super::{Names, fields_in_order, is_special_wkt, is_wrapper};

/// A message as a JSON object: every field in declaration order, unset presence fields
/// (optional scalars, messages, oneof members) as `null`, or left out when the field is
/// marked `omit_unset`.
pub(crate) fn message_to_json(names: &Names, msg: &DynamicMessage) -> Json {
    let desc = msg.descriptor();
    let full_name = desc.full_name();
    if is_special_wkt(full_name) {
        return special_wkt(msg);
    }
    if is_wrapper(full_name) {
        return match desc.get_field(1) {
            Some(f) => value_to_json(names, &f.kind(), &msg.get_field(&f)),
            None => Json::Null,
        };
    }
    let mut out = Map::new();
    for field in fields_in_order(&desc) {
        let unset = field.supports_presence() && !msg.has_field(&field);
        if unset && names.has_flag(&field, super::names::FieldFlag::OmitUnset) {
            continue;
        }
        out.insert(field.name().to_string(), field_of(names, msg, &field));
    }
    Json::Object(out)
}

/// One field of `msg` as JSON (`null` when it has presence and is unset).
pub(crate) fn field_of(names: &Names, msg: &DynamicMessage, field: &FieldDescriptor) -> Json {
    if field.supports_presence() && !msg.has_field(field) {
        Json::Null
    } else {
        field_to_json(names, field, &msg.get_field(field))
    }
}

fn field_to_json(names: &Names, field: &FieldDescriptor, value: &Value) -> Json {
    let kind = field.kind();
    match value {
        Value::List(items) => Json::Array(
            items
                .iter()
                .map(|v| value_to_json(names, &kind, v))
                .collect(),
        ),
        Value::Map(map) => {
            let value_kind = match kind.as_message() {
                Some(entry) => entry.map_entry_value_field().kind(),
                None => return Json::Null,
            };
            let mut entries: Vec<(String, Json)> = map
                .iter()
                .map(|(k, v)| (map_key(k), value_to_json(names, &value_kind, v)))
                .collect();
            // HashMap order is random; sorted keys keep the output stable.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(entries.into_iter().collect())
        }
        v => value_to_json(names, &kind, v),
    }
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn value_to_json(names: &Names, kind: &Kind, value: &Value) -> Json {
    match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::I32(n) => Json::from(*n),
        Value::I64(n) => Json::from(*n),
        Value::U32(n) => Json::from(*n),
        Value::U64(n) => Json::from(*n),
        // Through the shortest decimal form, so 0.1f32 reads 0.1 and not 0.100000001.
        Value::F32(f) => float(f.to_string().parse().unwrap_or(f64::from(*f))),
        Value::F64(f) => float(*f),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::EnumNumber(n) => match kind.as_enum() {
            Some(e) if e.full_name() == "google.protobuf.NullValue" => Json::Null,
            Some(e) => names.enum_to_json(e, *n),
            None => Json::from(*n),
        },
        Value::Message(m) => message_to_json(names, m),
        Value::List(items) => Json::Array(
            items
                .iter()
                .map(|v| value_to_json(names, kind, v))
                .collect(),
        ),
        Value::Map(_) => Json::Null,
    }
}

/// Finite floats as numbers; NaN and infinities as the proto3 JSON strings.
fn float(f: f64) -> Json {
    match serde_json::Number::from_f64(f) {
        Some(n) => Json::Number(n),
        None if f.is_nan() => Json::String("NaN".into()),
        None if f > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

/// google.protobuf.Struct keeps every number as a double; JSON that went in
/// as 1713254400 should come out the same, not as 1713254400.0.
fn whole_numbers(json: Json) -> Json {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match json {
        Json::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < EXACT => Json::from(f as i64),
            _ => Json::Number(n),
        },
        Json::Array(items) => Json::Array(items.into_iter().map(whole_numbers).collect()),
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| (k, whole_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

fn special_wkt(msg: &DynamicMessage) -> Json {
    let options = SerializeOptions::new()
        .stringify_64_bit_integers(false)
        .use_proto_field_name(true);
    match msg.serialize_with_options(serde_json::value::Serializer, &options) {
        Ok(json) if msg.descriptor().full_name().starts_with("google.protobuf.") => {
            whole_numbers(json)
        }
        Ok(json) => json,
        Err(err) => {
            // Only out-of-range timestamps/durations get here; null beats failing the call.
            tracing::warn!(message = msg.descriptor().full_name(), %err, "cannot encode well-known type");
            Json::Null
        }
    }
}
