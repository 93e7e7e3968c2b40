//! OpenAPI 3.1 document generated from the same descriptors and bindings the router
//! serves, so the document cannot drift from the behaviour.

mod comments;
mod links;
mod schema;

use std::collections::{BTreeMap, HashSet};

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json, json};

use crate::error::grpc_code_name;
use crate::rules::{Binding, BodyRule};
use crate::shared::Shared;
use comments::Comments;
use schema::{Schemas, reference};

/// Error responses the document declares: (status, component name, description, where).
const ERRORS: [(u16, &str, &str, Applies); 11] = [
    (
        400,
        "BadRequest",
        "Bad request: a missing, malformed or invalid parameter.",
        Applies::All,
    ),
    (401, "Unauthorized", "No or bad API token.", Applies::All),
    (
        403,
        "Forbidden",
        "Not available on this plan.",
        Applies::All,
    ),
    (
        404,
        "NotFound",
        "Not found, not yours, or not connected.",
        Applies::All,
    ),
    (
        405,
        "MethodNotAllowed",
        "The path exists but not with this method; the `Allow` header lists the methods \
         it has. Answered only to methods this document does not list for the path.",
        Applies::Nowhere,
    ),
    (
        413,
        "PayloadTooLarge",
        "The request body is larger than the server accepts (4 MiB by default).",
        Applies::WithBody,
    ),
    (
        414,
        "UriTooLong",
        "The path and query are longer than the server accepts (8192 bytes by default).",
        Applies::All,
    ),
    (
        429,
        "TooManyRequests",
        "Rate limited; retry after the `Retry-After` seconds.",
        Applies::All,
    ),
    (
        431,
        "HeadersTooLarge",
        "The request has more or larger headers than the server accepts (100 fields and \
         16 KiB by default): the error names the largest header. Past twice those limits \
         the HTTP layer answers 431 itself, without a body.",
        Applies::All,
    ),
    (
        500,
        "InternalError",
        "Server error; try again.",
        Applies::All,
    ),
    (
        503,
        "Unavailable",
        "Unavailable for now (the server is shutting down, or a service it needs, such as \
         WhatsApp, did not answer); try again, after `Retry-After` seconds when given.",
        Applies::All,
    ),
];

/// Which operations an error response is declared on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Applies {
    All,
    /// Operations with a request body.
    WithBody,
    /// Only in `components/responses` (e.g. 405: never for a documented method).
    Nowhere,
}

/// Depth to which message fields are flattened into `a.b` query parameters.
const QUERY_DEPTH: usize = 3;

/// JSON Schema keywords merged into the generated schemas, keyed by protobuf full name:
/// a field's (`pkg.Message.field`) into that field's schema wherever it appears (a body
/// property, a query or path parameter), a message's (`pkg.Message`) into the message's
/// object schema (e.g. `required`; names of fields that a path binds are dropped from it
/// in that operation's body). Objects merge key by key, so `{"items": {"pattern": "…"}}`
/// reaches a list's items; other values replace what was generated.
///
/// The service keeps one table of the rules it enforces and hands it here, so the
/// document states what the server checks.
#[derive(Debug, Clone, Default)]
pub struct FieldRules(BTreeMap<String, Map<String, Json>>);

impl FieldRules {
    /// Adds `keywords` (a JSON object) for the field or message `full_name`, merged
    /// into what an earlier call added for it.
    pub fn add(&mut self, full_name: impl Into<String>, keywords: Json) -> &mut Self {
        let Json::Object(keywords) = keywords else {
            panic!("FieldRules::add takes a JSON object of schema keywords");
        };
        let entry = self.0.entry(full_name.into()).or_default();
        let mut merged = Json::Object(std::mem::take(entry));
        merge(&mut merged, &keywords);
        if let Json::Object(map) = merged {
            *entry = map;
        }
        self
    }

    /// The keywords for a field or message full name.
    pub fn get(&self, full_name: &str) -> Option<&Map<String, Json>> {
        self.0.get(full_name)
    }

    /// Every full name that has rules.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// Merges `keywords` into the object `target`: objects key by key, anything else replaced.
pub(crate) fn merge(target: &mut Json, keywords: &Map<String, Json>) {
    let Some(object) = target.as_object_mut() else {
        return;
    };
    for (key, value) in keywords {
        match (object.get_mut(key), value) {
            (Some(existing @ Json::Object(_)), Json::Object(inner)) => merge(existing, inner),
            _ => {
                object.insert(key.clone(), value.clone());
            }
        }
    }
}

pub(crate) fn document(
    pool: &DescriptorPool,
    shared: &Shared,
    title: &str,
    version: &str,
    rules: &FieldRules,
) -> Json {
    let comments = Comments::new(pool);
    let mut schemas = Schemas::new(&shared.names, &comments, rules);
    schemas.closed = closed_inputs(shared);
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
    let bindings: Vec<&Binding> = shared.in_declaration_order().map(|b| b.as_ref()).collect();
    for source in &bindings {
        let links = links::links(source, &bindings);
        if links.is_empty() {
            continue;
        }
        let method = source.http_method.as_str().to_ascii_lowercase();
        if let Some(ok) = paths
            .get_mut(&source.template.openapi_path())
            .and_then(|item| item.get_mut(&method))
            .and_then(|op| op["responses"].get_mut("200"))
        {
            ok["links"] = Json::Object(links);
        }
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
    for (status, name, description, _) in ERRORS {
        let mut response = json!({ "description": description });
        response["content"] = json!({ "application/json": { "schema": reference("Error") } });
        if status == 405 {
            response["headers"] = json!({
                "Allow": {
                    "description": "The methods the path has.",
                    "schema": { "type": "string" }
                }
            });
        }
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
        let mut schema = schemas.kind_schema(&leaf.kind());
        schemas.apply_field_rules(leaf, &mut schema);
        let mut param = json!({
            "name": var.field_path.join("."),
            "in": "path",
            "required": true,
            "schema": schema,
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
    let has_body = body_schema.is_some();
    if let Some(schema) = body_schema {
        op["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": schema } }
        });
    }
    let mut responses = Map::new();
    responses.insert("200".into(), success_response(binding, schemas));
    for (status, name, _, applies) in ERRORS {
        let declared = match applies {
            Applies::All => true,
            Applies::WithBody => has_body,
            Applies::Nowhere => false,
        };
        if !declared {
            continue;
        }
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
                "Server-Sent Events. Each message is an unnamed event whose `data` is one JSON \
                 {what}; a stream that fails ends with an `error` event whose data is an Error \
                 body. Comment lines keep the connection alive while the stream is idle."
            ),
            "content": { "text/event-stream": { "schema": sse_event_schema(schema, &message, schemas) } }
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

/// One Server-Sent Event as parsed by a client (OpenAPI 3.1 has the media type's schema
/// describe each event; 3.2's `itemSchema` says the same): `event` is absent (the
/// default, `message`) for a stream message and `error` for the final error; `data` is
/// JSON text, described with `contentMediaType` and `contentSchema`.
fn sse_event_schema(
    data: Json,
    message: &Option<MessageDescriptor>,
    schemas: &mut Schemas<'_>,
) -> Json {
    let mut message_event = json!({
        "type": "object",
        "required": ["data"],
        "properties": {
            "event": { "type": "string", "const": "message" },
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": data
            },
            "retry": { "type": "integer", "minimum": 0 }
        }
    });
    let id_field = message.as_ref().and_then(|m| {
        schemas
            .names
            .flagged_field(m, crate::json::FieldFlag::SseEventId)
    });
    if let Some(field) = id_field {
        message_event["properties"]["id"] = json!({
            "type": "string",
            "description": format!("The message's `{}`.", field.name())
        });
    }
    json!({
        "oneOf": [
            message_event,
            {
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": { "type": "string", "const": "error" },
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": reference("Error")
                    }
                }
            }
        ]
    })
}

/// Request messages the decoder holds to their fields (an unknown key is a 400), and
/// that no response uses: their schemas say `additionalProperties: false`.
fn closed_inputs(shared: &Shared) -> HashSet<String> {
    let mut in_responses = HashSet::new();
    let mut stack: Vec<MessageDescriptor> = shared
        .in_declaration_order()
        .map(|b| b.method.output())
        .collect();
    while let Some(message) = stack.pop() {
        if !in_responses.insert(message.full_name().to_string()) {
            continue;
        }
        for field in message.fields() {
            if let Kind::Message(inner) = field.kind() {
                stack.push(inner);
            }
        }
    }
    shared
        .in_declaration_order()
        .map(|b| b.method.input().full_name().to_string())
        .filter(|name| !in_responses.contains(name))
        .collect()
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
