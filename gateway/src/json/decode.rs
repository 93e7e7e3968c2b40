//! REST JSON -> protobuf. Every error is a sentence naming the offending field, meant
//! for a 400 response.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage as _, Value,
};
use serde_json::Value as Json;

use super::{Names, is_special_wkt, is_wrapper};

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn json_type(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn expected(path: &str, what: &str, got: &Json) -> String {
    format!("field `{path}`: expected {what}, got {}", json_type(got))
}

/// Merges a JSON object into `msg`; `prefix` is the dotted position of `msg` in the
/// request ("" for the request itself). Unknown keys are errors.
pub(crate) fn merge_object(
    names: &Names,
    msg: &mut DynamicMessage,
    json: &Json,
    prefix: &str,
) -> Result<(), String> {
    let Json::Object(object) = json else {
        return Err(if prefix.is_empty() {
            format!(
                "request body must be a JSON object, got {}",
                json_type(json)
            )
        } else {
            expected(prefix, "an object", json)
        });
    };
    let desc = msg.descriptor();
    let mut oneofs_seen: HashMap<String, String> = HashMap::new();
    for (key, value) in object {
        let path = join(prefix, key);
        let field = desc
            .get_field_by_name(key)
            .or_else(|| desc.get_field_by_json_name(key))
            .ok_or_else(|| format!("unknown field `{path}`"))?;
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic())
            && !value.is_null()
            && let Some(other) = oneofs_seen.insert(oneof.name().to_string(), path.clone())
        {
            return Err(format!(
                "fields `{other}` and `{path}` exclude each other; give one"
            ));
        }
        match value_from_json(names, &field, value, &path)? {
            Some(v) => msg.set_field(&field, v),
            None => msg.clear_field(&field),
        }
    }
    Ok(())
}

/// The value of `field` read from JSON; `None` for `null` (leave the field unset).
pub(crate) fn value_from_json(
    names: &Names,
    field: &FieldDescriptor,
    json: &Json,
    path: &str,
) -> Result<Option<Value>, String> {
    let kind = field.kind();
    // google.protobuf.Value reads null as a value of its own.
    let null_is_value = kind
        .as_message()
        .is_some_and(|m| m.full_name() == "google.protobuf.Value");
    if json.is_null() && !(null_is_value && !field.is_list() && !field.is_map()) {
        return Ok(None);
    }
    if field.is_map() {
        let entry = kind
            .as_message()
            .ok_or_else(|| format!("field `{path}`: bad map descriptor"))?;
        let Json::Object(object) = json else {
            return Err(expected(path, "an object", json));
        };
        let key_kind = entry.map_entry_key_field().kind();
        let value_kind = entry.map_entry_value_field().kind();
        let mut map = HashMap::with_capacity(object.len());
        for (k, v) in object {
            let item_path = format!("{path}.{k}");
            map.insert(
                map_key(&key_kind, k, &item_path)?,
                kind_from_json(names, &value_kind, v, &item_path)?,
            );
        }
        return Ok(Some(Value::Map(map)));
    }
    if field.is_list() {
        let Json::Array(items) = json else {
            return Err(expected(path, "an array", json));
        };
        let values = items
            .iter()
            .enumerate()
            .map(|(i, item)| kind_from_json(names, &kind, item, &format!("{path}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Some(Value::List(values)));
    }
    kind_from_json(names, &kind, json, path).map(Some)
}

fn map_key(kind: &Kind, key: &str, path: &str) -> Result<MapKey, String> {
    let json = Json::String(key.to_string());
    Ok(match kind {
        Kind::String => MapKey::String(key.to_string()),
        Kind::Bool => MapKey::Bool(boolean(&json, path)?),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => MapKey::I32(int(&json, path)?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => MapKey::I64(int(&json, path)?),
        Kind::Uint32 | Kind::Fixed32 => MapKey::U32(int(&json, path)?),
        Kind::Uint64 | Kind::Fixed64 => MapKey::U64(int(&json, path)?),
        _ => return Err(format!("field `{path}`: unsupported map key type")),
    })
}

/// One singular value of `kind`. Numbers also accept their decimal string form (the
/// proto3 JSON rule, and what query parameters and path variables arrive as).
pub(crate) fn kind_from_json(
    names: &Names,
    kind: &Kind,
    json: &Json,
    path: &str,
) -> Result<Value, String> {
    if json.is_null()
        && !matches!(kind, Kind::Message(m) if m.full_name() == "google.protobuf.Value")
    {
        return Err(format!("field `{path}`: null is not allowed here"));
    }
    Ok(match kind {
        Kind::Double => Value::F64(float(json, path)?),
        Kind::Float => Value::F32(float(json, path)? as f32),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(int(json, path)?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(int(json, path)?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(int(json, path)?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(int(json, path)?),
        Kind::Bool => Value::Bool(boolean(json, path)?),
        Kind::String => match json {
            Json::String(s) => Value::String(s.clone()),
            other => return Err(expected(path, "a string", other)),
        },
        Kind::Bytes => match json {
            Json::String(s) => Value::Bytes(
                [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                    .iter()
                    .find_map(|engine| engine.decode(s).ok())
                    .ok_or_else(|| format!("field `{path}`: expected base64"))?
                    .into(),
            ),
            other => return Err(expected(path, "a base64 string", other)),
        },
        Kind::Enum(desc) => {
            let number = match json {
                Json::String(s) => names.enum_from_str(desc, s),
                Json::Number(n) => n
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .filter(|n| desc.get_value(*n).is_some()),
                _ => None,
            };
            match number {
                Some(n) => Value::EnumNumber(n),
                None => {
                    return Err(format!(
                        "field `{path}`: expected one of {}",
                        names
                            .enum_spellings(desc)
                            .iter()
                            .map(|s| format!("\"{s}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        Kind::Message(desc) => Value::Message(message_from_json(names, desc, json, path)?),
    })
}

fn message_from_json(
    names: &Names,
    desc: &MessageDescriptor,
    json: &Json,
    path: &str,
) -> Result<DynamicMessage, String> {
    if is_special_wkt(desc.full_name()) {
        return DynamicMessage::deserialize(desc.clone(), json.clone())
            .map_err(|err| format!("field `{path}`: {err}"));
    }
    let mut msg = DynamicMessage::new(desc.clone());
    if is_wrapper(desc.full_name()) {
        if let Some(inner) = desc.get_field(1) {
            msg.set_field(&inner, kind_from_json(names, &inner.kind(), json, path)?);
        }
        return Ok(msg);
    }
    merge_object(names, &mut msg, json, path)?;
    Ok(msg)
}

fn boolean(json: &Json, path: &str) -> Result<bool, String> {
    match json {
        Json::Bool(b) => Ok(*b),
        Json::String(s) if s == "true" => Ok(true),
        Json::String(s) if s == "false" => Ok(false),
        other => Err(expected(path, "true or false", other)),
    }
}

fn float(json: &Json, path: &str) -> Result<f64, String> {
    match json {
        Json::Number(n) => n.as_f64().ok_or_else(|| expected(path, "a number", json)),
        Json::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            s => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| format!("field `{path}`: `{s}` is not a number")),
        },
        other => Err(expected(path, "a number", other)),
    }
}

/// An integer of type `T` from a JSON number (integral floats such as `3000.0` too) or a
/// decimal string, with a range check.
fn int<T: TryFrom<i128>>(json: &Json, path: &str) -> Result<T, String> {
    let wide: i128 = match json {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i128::from(i)
            } else if let Some(u) = n.as_u64() {
                i128::from(u)
            } else {
                match n.as_f64() {
                    // Exactly representable integers only.
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => f as i128,
                    _ => return Err(format!("field `{path}`: expected an integer, got {n}")),
                }
            }
        }
        Json::String(s) => s
            .trim()
            .parse::<i128>()
            .map_err(|_| format!("field `{path}`: `{s}` is not an integer"))?,
        other => return Err(expected(path, "an integer", other)),
    };
    T::try_from(wide).map_err(|_| format!("field `{path}`: {wide} is out of range"))
}

#[cfg(test)]
mod tests {
    /// Found by fuzz::json (gateway/proptest-regressions/fuzz/json.txt): a
    /// `lng` of 2.4825133689361503e-262 read back one bit off, because
    /// serde_json's default float parser is not exact; its float_roundtrip
    /// feature is.
    #[test]
    fn doubles_read_back_exactly() {
        for text in [
            "2.4825133689361503e-262",
            "12.971598711",
            "-33.86882",
            "1e-310",
            "179.99999999999997",
        ] {
            let json: serde_json::Value = serde_json::from_str(text).unwrap();
            let want: f64 = text.parse().unwrap();
            let got = super::float(&json, "lng").unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{text}: {got}");
        }
    }
}
