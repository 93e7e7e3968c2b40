//! Building the request message from path variables, query parameters and the body.
//!
//! Order: body first, then query parameters, then path variables, so the path (the
//! part a router matched) always decides the fields it binds.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, Value};
use serde_json::Value as Json;

use crate::error::GatewayError;
use crate::json::{Names, kind_from_json, merge_object, value_from_json};
use crate::limits::{self, JsonLimits};
use crate::rules::{Binding, BodyRule};
use crate::template::percent_decode;

pub(crate) fn build_request(
    names: &Names,
    binding: &Binding,
    path_values: &[String],
    query: Option<&str>,
    body: &[u8],
    limits: JsonLimits,
) -> Result<DynamicMessage, GatewayError> {
    let mut msg = DynamicMessage::new(binding.method.input());
    merge_body(names, binding, &mut msg, body, limits)?;
    if let Some(query) = query {
        merge_query(names, binding, &mut msg, query, limits.max_items)?;
    }
    for (chain, raw) in binding.path_fields.iter().zip(path_values) {
        let dotted = dotted(chain);
        let Some(leaf) = chain.last() else { continue };
        let value = kind_from_json(names, &leaf.kind(), &Json::String(raw.clone()), &dotted)
            .map_err(|e| GatewayError::invalid(format!("path parameter: {e}")))?;
        set_path(&mut msg, chain, value);
    }
    Ok(msg)
}

fn dotted(chain: &[FieldDescriptor]) -> String {
    chain.iter().map(|f| f.name()).collect::<Vec<_>>().join(".")
}

fn parse_json(body: &[u8], limits: JsonLimits) -> Result<Option<Json>, GatewayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    limits::check_depth(body, limits.max_depth).map_err(GatewayError::invalid)?;
    let json: Json = serde_json::from_slice(body)
        .map_err(|e| GatewayError::invalid(format!("malformed JSON: {e}")))?;
    limits::check_items(&json, limits.max_items).map_err(GatewayError::invalid)?;
    Ok(Some(json))
}

fn merge_body(
    names: &Names,
    binding: &Binding,
    msg: &mut DynamicMessage,
    body: &[u8],
    limits: JsonLimits,
) -> Result<(), GatewayError> {
    let Some(json) = parse_json(body, limits)? else {
        return Ok(());
    };
    match &binding.body {
        BodyRule::None => match json {
            Json::Null => Ok(()),
            Json::Object(o) if o.is_empty() => Ok(()),
            _ => Err(GatewayError::invalid(
                "this endpoint takes no JSON body; pass fields as query parameters",
            )),
        },
        BodyRule::Whole => merge_object(names, msg, &json, "").map_err(GatewayError::invalid),
        BodyRule::Field(field) => {
            match value_from_json(names, field, &json, field.name())
                .map_err(GatewayError::invalid)?
            {
                Some(v) => msg.set_field(field, v),
                None => msg.clear_field(field),
            }
            Ok(())
        }
    }
}

/// `a.b=1&c=x&c=y`: dotted field paths; repeated fields take the key several times.
fn merge_query(
    names: &Names,
    binding: &Binding,
    msg: &mut DynamicMessage,
    query: &str,
    max_items: usize,
) -> Result<(), GatewayError> {
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_decode(&s.replace('+', " ")).ok_or_else(|| {
                GatewayError::invalid(format!("bad percent-encoding in query `{pair}`"))
            })
        };
        let (k, v) = (decode(k)?, decode(v)?);
        match grouped.iter_mut().find(|(key, _)| *key == k) {
            Some((_, values)) if values.len() >= max_items => {
                return Err(GatewayError::invalid(format!(
                    "query parameter `{k}`: at most {max_items} values"
                )));
            }
            Some((_, values)) => values.push(v),
            None => grouped.push((k, vec![v])),
        }
    }
    for (key, values) in grouped {
        let chain = query_field(binding, &key)?;
        let Some(leaf) = chain.last() else { continue };
        let json = if leaf.is_list() {
            Json::Array(values.into_iter().map(Json::String).collect())
        } else if values.len() > 1 {
            return Err(GatewayError::invalid(format!(
                "query parameter `{key}` given more than once"
            )));
        } else {
            Json::String(values.into_iter().next().unwrap_or_default())
        };
        if let Some(value) =
            value_from_json(names, leaf, &json, &key).map_err(GatewayError::invalid)?
        {
            set_path(msg, &chain, value);
        }
    }
    Ok(())
}

/// Resolves a query key to its field chain, refusing fields bound by path or body.
fn query_field(binding: &Binding, key: &str) -> Result<Vec<FieldDescriptor>, GatewayError> {
    let unknown = || GatewayError::invalid(format!("unknown query parameter `{key}`"));
    if matches!(binding.body, BodyRule::Whole) {
        return Err(GatewayError::invalid(format!(
            "unknown query parameter `{key}` (this endpoint takes its fields in the JSON body)"
        )));
    }
    let mut message = binding.method.input();
    let mut chain = Vec::new();
    let parts: Vec<&str> = key.split('.').collect();
    for (i, name) in parts.iter().enumerate() {
        let field = message.get_field_by_name(name).ok_or_else(unknown)?;
        let last = i + 1 == parts.len();
        if field.is_map() {
            return Err(unknown());
        }
        chain.push(field.clone());
        if !last {
            match field.kind() {
                Kind::Message(m) if !field.is_list() => message = m,
                _ => return Err(unknown()),
            }
        }
    }
    let bound_by_path = binding
        .path_fields
        .iter()
        .any(|p| p.iter().zip(&chain).all(|(a, b)| a == b));
    let bound_by_body = matches!(&binding.body, BodyRule::Field(f) if Some(f) == chain.first());
    if bound_by_path || bound_by_body {
        return Err(GatewayError::invalid(format!(
            "query parameter `{key}` is already bound by the {}",
            if bound_by_path { "path" } else { "body" }
        )));
    }
    Ok(chain)
}

/// Sets a (possibly nested) field, creating the intermediate messages.
fn set_path(msg: &mut DynamicMessage, chain: &[FieldDescriptor], value: Value) {
    match chain {
        [] => {}
        [leaf] => msg.set_field(leaf, value),
        [head, rest @ ..] => {
            if let Some(inner) = msg.get_field_mut(head).as_message_mut() {
                set_path(inner, rest, value);
            }
        }
    }
}
