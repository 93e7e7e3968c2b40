//! OpenAPI links: an ID that a response carries (`phone.phone_id`, `bulk_id`) fills
//! the path variable of the same name in the other operations, so clients and
//! stateful fuzzers can go from a created resource to what can be done with it.
//!
//! A link is made from operation A to operation B when every path variable of B is
//! either a string field of A's response (at most two messages deep) or a field of A's
//! request (its path, its body, or its query string); at least one must come from the
//! response.

use prost_reflect::{Kind, MessageDescriptor};
use serde_json::{Map, Value as Json, json};

use crate::json::fields_in_order;
use crate::rules::{Binding, BodyRule};

/// Depth of messages searched for IDs in a response.
const DEPTH: usize = 2;

/// The links of `source`'s 200 response, keyed by the target's operation ID.
pub(crate) fn links(source: &Binding, targets: &[&Binding]) -> Map<String, Json> {
    let mut out = Map::new();
    if source.method.is_server_streaming() {
        return out;
    }
    let (root, prefix) = match &source.response_body {
        Some(field) => match field.kind() {
            Kind::Message(m) if !field.is_list() && !field.is_map() => (m, String::new()),
            _ => return out,
        },
        None => (source.method.output(), String::new()),
    };
    let mut ids = Vec::new();
    response_ids(&root, &prefix, 0, &mut ids);
    for target in targets {
        if std::ptr::eq(*target, source) || target.template.variables.is_empty() {
            continue;
        }
        let mut parameters = Map::new();
        let mut from_response = false;
        for var in &target.template.variables {
            let [name] = var.field_path.as_slice() else {
                parameters.clear();
                break;
            };
            if let Some((_, pointer)) = ids.iter().find(|(leaf, _)| leaf == name) {
                parameters.insert(name.clone(), json!(format!("$response.body#{pointer}")));
                from_response = true;
            } else if let Some(expr) = request_field(source, name) {
                parameters.insert(name.clone(), json!(expr));
            } else {
                parameters.clear();
                break;
            }
        }
        if from_response && !parameters.is_empty() {
            out.insert(
                target.operation_id.clone(),
                json!({ "operationId": target.operation_id, "parameters": parameters }),
            );
        }
    }
    out
}

/// (field name, JSON pointer) of every singular string field named `*_id`.
fn response_ids(
    message: &MessageDescriptor,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, String)>,
) {
    for field in fields_in_order(message) {
        if field.is_list() || field.is_map() {
            continue;
        }
        let pointer = format!("{prefix}/{}", field.name());
        match field.kind() {
            Kind::String if field.name().ends_with("_id") => {
                out.push((field.name().to_string(), pointer));
            }
            Kind::Message(inner)
                if depth + 1 < DEPTH && !inner.full_name().starts_with("google.protobuf.") =>
            {
                response_ids(&inner, &pointer, depth + 1, out);
            }
            _ => {}
        }
    }
}

/// A runtime expression for the request field `name` of `source`, if it has one.
fn request_field(source: &Binding, name: &str) -> Option<String> {
    if source
        .template
        .variables
        .iter()
        .any(|v| v.field_path.len() == 1 && v.field_path[0] == name)
    {
        return Some(format!("$request.path.{name}"));
    }
    let field = source.method.input().get_field_by_name(name)?;
    if field.is_list() || field.is_map() || !matches!(field.kind(), Kind::String) {
        return None;
    }
    // A query parameter may be left out; a body field of a request that worked was there.
    matches!(source.body, BodyRule::Whole).then(|| format!("$request.body#/{name}"))
}
