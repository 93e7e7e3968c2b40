//! OpenAPI 3.1 document generated from the same descriptors and bindings the router
//! serves, so the document cannot drift from the behaviour.

mod comments;
mod schema;

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json, json};

use crate::error::grpc_code_name;
use crate::rules::{Binding, BodyRule};
use crate::shared::Shared;
use comments::Comments;
use schema::{Schemas, reference};

/// Error responses every operation documents: (status, component name, description).
const ERRORS: [(u16, &str, &str); 6] = [
    (
        400,
        "BadRequest",
        "Bad request: a missing, malformed or invalid parameter.",
    ),
    (401, "Unauthorized", "No or bad API token."),
    (403, "Forbidden", "Not available on this plan."),
    (404, "NotFound", "Not found, not yours, or not connected."),
    (
        429,
        "TooManyRequests",
        "Rate limited; retry after the `Retry-After` seconds.",
    ),
    (500, "InternalError", "Server error; try again."),
];

/// Depth to which message fields are flattened into `a.b` query parameters.
const QUERY_DEPTH: usize = 3;

pub(crate) fn document(pool: &DescriptorPool, shared: &Shared, title: &str, version: &str) -> Json {
    let comments = Comments::new(pool);
    let mut schemas = Schemas::new(&shared.names, &comments);
    let mut paths = Map::new();
    let mut tags: Vec<Json> = Vec::new();
    for binding in shared.in_declaration_order() {
        let service = binding.method.parent_service();
        if !tags.iter().any(|t| t["name"] == service.name()) {
            let mut tag = json!({ "name": service.name() });
            if let Some(text) = comments.get(service.parent_file().name(), service.path()) {
                tag["description"] = json!(text);
            }
            tags.push(tag);
        }
        let operation = operation(binding, &mut schemas);
        let item = paths
            .entry(binding.template.openapi_path())
            .or_insert_with(|| json!({}));
        item[binding.http_method.as_str().to_ascii_lowercase()] = operation;
    }
    schemas.drain();
    let mut components = Map::new();
    for (name, schema) in std::mem::take(&mut schemas.components) {
        components.insert(name, schema);
    }
    components.insert("Error".into(), error_schema());
    components.insert(
        "Success".into(),
        json!({
            "type": "object",
            "properties": { "success": { "type": "boolean", "const": true } },
            "required": ["success"]
        }),
    );
    let mut responses = Map::new();
    for (status, name, description) in ERRORS {
        let mut response = json!({
            "description": description,
            "content": { "application/json": { "schema": reference("Error") } }
        });
        if status == 429 {
            response["headers"] = json!({
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": { "type": "integer" }
                }
            });
        }
        responses.insert(name.into(), response);
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": title, "version": version },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": responses,
            "securitySchemes": {
                "bearerAuth": { "type": "http", "scheme": "bearer" }
            }
        },
        "security": [{ "bearerAuth": [] }]
    })
}

fn operation(binding: &Binding, schemas: &mut Schemas<'_>) -> Json {
    let method = &binding.method;
    let mut op = json!({
        "operationId": binding.operation_id,
        "tags": [method.parent_service().name()],
    });
    if let Some(text) = schemas
        .comments
        .get(method.parent_file().name(), method.path())
    {
        let summary = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches('.');
        op["summary"] = json!(summary);
        op["description"] = json!(text);
    }
    let mut parameters = Vec::new();
    for (var, chain) in binding.template.variables.iter().zip(&binding.path_fields) {
        let Some(leaf) = chain.last() else { continue };
        let mut param = json!({
            "name": var.field_path.join("."),
            "in": "path",
            "required": true,
            "schema": schemas.kind_schema(&leaf.kind()),
        });
        if let Some(text) = schemas.comment_of_field(leaf) {
            param["description"] = json!(text);
        }
        parameters.push(param);
    }
    if !matches!(binding.body, BodyRule::Whole) {
        let input = method.input();
        query_parameters(binding, &input, "", 0, schemas, &mut parameters);
    }
    if !parameters.is_empty() {
        op["parameters"] = Json::Array(parameters);
    }
    let body_schema = match &binding.body {
        BodyRule::None => None,
        BodyRule::Whole => {
            let path_fields: Vec<String> = binding
                .path_fields
                .iter()
                .filter(|chain| chain.len() == 1)
                .map(|chain| chain[0].name().to_string())
                .collect();
            Some(if path_fields.is_empty() {
                schemas.message_ref(&method.input())
            } else {
                schemas.message_schema(&method.input(), &path_fields)
            })
        }
        BodyRule::Field(field) => Some(schemas.field_schema(field)),
    };
    if let Some(schema) = body_schema {
        op["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": schema } }
        });
    }
    let mut responses = Map::new();
    responses.insert("200".into(), success_response(binding, schemas));
    for (status, name, _) in ERRORS {
        responses.insert(
            status.to_string(),
            json!({ "$ref": format!("#/components/responses/{name}") }),
        );
    }
    op["responses"] = Json::Object(responses);
    op
}

fn success_response(binding: &Binding, schemas: &mut Schemas<'_>) -> Json {
    let output = binding.method.output();
    let (schema, message) = match &binding.response_body {
        Some(field) => (
            schemas.field_schema(field),
            field.kind().as_message().cloned(),
        ),
        None => (schemas.message_ref(&output), Some(output.clone())),
    };
    if binding.method.is_server_streaming() {
        let what = message.as_ref().map_or("value", |m| m.name());
        return json!({
            "description": format!(
                "Server-Sent Events: each `data:` line is one JSON {what} (schema in \
                 `x-sse-data`); a stream that fails ends with `event: error` whose data is an \
                 Error body. Keep-alive comments arrive while the stream is idle."
            ),
            "content": {
                "text/event-stream": { "schema": { "type": "string" }, "x-sse-data": schema }
            }
        });
    }
    let with_success = match (&binding.response_body, &message) {
        (Some(field), Some(m)) => {
            !field.is_list() && !field.is_map() && !schemas.names.omit_success(m)
        }
        (None, Some(m)) => !schemas.names.omit_success(m),
        _ => false,
    };
    let schema = if with_success {
        json!({ "allOf": [reference("Success"), schema] })
    } else {
        schema
    };
    json!({
        "description": "OK",
        "content": { "application/json": { "schema": schema } }
    })
}

/// Non-path, non-body fields as query parameters; singular messages are flattened to
/// `a.b` names (a few levels deep, which also stops recursive types).
fn query_parameters(
    binding: &Binding,
    message: &MessageDescriptor,
    prefix: &str,
    depth: usize,
    schemas: &mut Schemas<'_>,
    out: &mut Vec<Json>,
) {
    for field in crate::json::fields_in_order(message) {
        let name = if prefix.is_empty() {
            field.name().to_string()
        } else {
            format!("{prefix}.{}", field.name())
        };
        if bound(binding, &name) || field.is_map() {
            continue;
        }
        if let Kind::Message(inner) = field.kind()
            && !inner.full_name().starts_with("google.protobuf.")
        {
            if !field.is_list() && depth + 1 < QUERY_DEPTH {
                query_parameters(binding, &inner, &name, depth + 1, schemas, out);
            }
            continue;
        }
        out.push(query_parameter(&name, &field, schemas));
    }
}

fn query_parameter(name: &str, field: &FieldDescriptor, schemas: &mut Schemas<'_>) -> Json {
    let mut param = json!({ "name": name, "in": "query", "schema": schemas.field_schema(field) });
    if let Some(description) = param["schema"]
        .as_object_mut()
        .and_then(|s| s.remove("description"))
    {
        param["description"] = description;
    }
    param
}

/// Whether a dotted field name is (inside) a path variable or the body field.
fn bound(binding: &Binding, name: &str) -> bool {
    let in_path = binding.template.variables.iter().any(|v| {
        let var = v.field_path.join(".");
        var == name || var.starts_with(&format!("{name}."))
    });
    let in_body = matches!(&binding.body, BodyRule::Field(f) if f.name() == name);
    in_path || in_body
}

fn error_schema() -> Json {
    let codes: Vec<&str> = (0..17).map(grpc_code_name).collect();
    json!({
        "type": "object",
        "required": ["success", "error"],
        "properties": {
            "success": { "type": "boolean", "const": false },
            "error": {
                "type": "object",
                "required": ["code", "status", "message"],
                "properties": {
                    "code": { "type": "integer", "description": "The HTTP status code." },
                    "status": { "type": "string", "enum": codes, "description": "The gRPC status code name." },
                    "message": { "type": "string" },
                    "request_id": { "type": "string", "description": "The request's id, as in its X-Request-Id answer header and the server's log lines." }
                }
            }
        }
    })
}
