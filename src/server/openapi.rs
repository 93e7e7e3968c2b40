//! The OpenAPI document served at `/openapi.json` and printed by `wadesk
//! openapi`: the gateway's, generated from the protos, with the request
//! rules of [`crate::rules`] and the routes served beside the gateway (the
//! media download, the health checks).

use anyhow::Context;
use serde_json::{Value as Json, json};

/// The whole document; `max_numbers` is the configured `bulk.max_numbers`.
pub fn openapi_document(max_numbers: usize) -> anyhow::Result<Json> {
    let mut doc = super::gateway()?.openapi_with_rules(
        "wadesk",
        env!("CARGO_PKG_VERSION"),
        &crate::rules::table(max_numbers),
    );
    doc["components"]["responses"]["Conflict"] = json!({
        "description": "The request contradicts an earlier one: an Idempotency-Key used \
            before with a different request, or a pairing code asked for while the last one \
            is still valid.",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    });
    let paths = doc["paths"]
        .as_object_mut()
        .context("the gateway's document has paths")?;
    for item in paths.values_mut() {
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            if operation["tags"] == json!(["SendService"]) {
                idempotent(operation);
            }
            // The file may also come as multipart or as the raw body
            // (`crate::api::upload_files`).
            if operation["operationId"] == "UploadMedia" {
                uploads_as_files(operation);
            }
            // A pairing code asked for while the last one is still valid.
            if operation["operationId"] == "RequestPairCode" {
                operation["responses"]["409"] = error("Conflict");
            }
        }
    }
    paths.insert(
        "/api/phones/{phone_id}/messages/{message_id}/media".into(),
        json!({ "get": media_download() }),
    );
    for (path, item) in console_sign_in() {
        paths.insert(path.into(), item);
    }
    paths.insert("/healthz".into(), json!({ "get": healthz() }));
    paths.insert("/readyz".into(), json!({ "get": readyz() }));
    let tags = doc["tags"]
        .as_array_mut()
        .context("the gateway's document has tags")?;
    tags.push(json!({
        "name": "Console",
        "description": "The web console's sign-in: a session cookie instead of a token \
            (docs/api.md, \"Console sign-in\")."
    }));
    tags.push(json!({
        "name": "Health",
        "description": "Liveness and readiness checks for orchestrators; no token."
    }));
    Ok(doc)
}

/// POST /api/media beside its JSON form: multipart/form-data with the
/// file in the part `file`, or the file as the body with its own type.
fn uploads_as_files(operation: &mut Json) {
    let content = &mut operation["requestBody"]["content"];
    content["multipart/form-data"] = json!({
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "The file (its part's filename is its file_name unless the query gives one)."}
            }
        }
    });
    content["application/octet-stream"] = json!({
        "schema": {"type": "string", "format": "binary", "description": "The file itself; any Content-Type but JSON is taken as the file (the type is read from the content)."}
    });
    operation["description"] = json!(format!(
        "{} Besides JSON with base64 `data`, the file may be posted as multipart/form-data \
         (part `file`) or as the raw body, with `file_name` and `expires_in_seconds` in the \
         query string, up to uploads.max_bytes (100 MB by default).",
        operation["description"].as_str().unwrap_or_default()
    ));
}

/// A send takes an Idempotency-Key header (`crate::api::send`): the same key
/// with the same request replays the first answer, with another one is 409.
fn idempotent(operation: &mut Json) {
    let header = json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Makes a retried request answer the first result instead of sending \
            twice. The same key with a different request is a 409.",
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": crate::rules::IDEMPOTENCY_KEY_MAX,
            "pattern": "^[!-~]([ -~]*[!-~])?$"
        }
    });
    match operation.get_mut("parameters").and_then(Json::as_array_mut) {
        Some(parameters) => parameters.push(header),
        None => operation["parameters"] = json!([header]),
    }
    operation["responses"]["409"] = error("Conflict");
}

fn error(name: &str) -> Json {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

fn media_download() -> Json {
    let path_param = |name: &str, description: &str| {
        json!({
            "name": name,
            "in": "path",
            "required": true,
            "description": description,
            "schema": { "type": "string" }
        })
    };
    json!({
        "operationId": "DownloadMedia",
        "tags": ["MessageService"],
        "summary": "Downloads the file of a stored media message",
        "description": "The file of an image, video, audio, document or sticker message, \
            fetched from WhatsApp through the phone's session (which must be connected), \
            checked against the message's hashes and streamed as it is: the body is the file \
            itself, with the message's MIME type as Content-Type and, for documents, a \
            Content-Disposition with its file name.",
        "parameters": [
            path_param("phone_id", "Phone ID."),
            path_param("message_id", "WhatsApp message ID of a media message."),
        ],
        "responses": {
            "200": {
                "description": "The file.",
                "headers": {
                    "Content-Disposition": {
                        "description": "`attachment; filename=\"...\"` when the message has a file name.",
                        "schema": { "type": "string" }
                    }
                },
                "content": {
                    "*/*": { "schema": { "type": "string", "format": "binary" } }
                }
            },
            "401": error("Unauthorized"),
            "404": {
                "description": "No such phone or message, not yours, a message without media, \
                    or the phone is not connected.",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
            },
            "429": error("TooManyRequests"),
            "414": error("UriTooLong"),
            "431": error("HeadersTooLarge"),
            "500": error("InternalError"),
            "503": error("Unavailable")
        }
    })
}

fn healthz() -> Json {
    json!({
        "operationId": "Liveness",
        "tags": ["Health"],
        "summary": "Liveness: the process runs and answers",
        "security": [],
        "responses": {
            "200": {
                "description": "Alive.",
                "content": { "application/json": { "schema": {
                    "type": "object",
                    "required": ["status"],
                    "properties": { "status": { "type": "string", "const": "ok" } }
                } } }
            },
            "414": error("UriTooLong"),
            "431": error("HeadersTooLarge")
        }
    })
}

fn readyz() -> Json {
    let readiness = json!({
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": { "type": "string", "enum": ["ready", "not_ready"] },
            "checks": {
                "type": "object",
                "required": ["database", "migrations", "sessions", "draining"],
                "properties": {
                    "database": { "type": "string", "description": "`ok`, or why not (`unreachable`, `timed out`)." },
                    "migrations": { "type": "string", "description": "`ok`, or how many migrations are pending." },
                    "sessions": { "type": "string", "enum": ["started", "starting"] },
                    "draining": { "type": "boolean", "description": "True once a shutdown began." }
                }
            }
        }
    });
    json!({
        "operationId": "Readiness",
        "tags": ["Health"],
        "summary": "Readiness: the database answers, migrations are current, sessions started, not draining",
        "security": [],
        "responses": {
            "200": {
                "description": "Ready for traffic.",
                "content": { "application/json": { "schema": readiness.clone() } }
            },
            "503": {
                "description": "Not ready; `checks` says which check fails.",
                "content": { "application/json": { "schema": readiness } }
            },
            "414": error("UriTooLong"),
            "431": error("HeadersTooLarge")
        }
    })
}

/// The console's sign-in routes (`super::console`): JSON beside the API,
/// no token; they set or clear the session cookie.
fn console_sign_in() -> Vec<(&'static str, Json)> {
    let string = |description: &str| json!({ "type": "string", "description": description });
    let account = json!({
        "type": "object",
        "required": ["success", "account"],
        "properties": {
            "success": { "type": "boolean", "const": true },
            "account": {
                "type": "object",
                "required": ["account_id", "name"],
                "properties": {
                    "account_id": string("Account ID (acc_...)."),
                    "name": string("The account's name."),
                    "email": { "type": ["string", "null"], "description": "The sign-in email." }
                }
            }
        }
    });
    let signed_in = json!({
        "description": "Signed in: the body names the account and `Set-Cookie` carries \
            the session (`wadesk_session`, HttpOnly, SameSite=Strict).",
        "headers": { "Set-Cookie": { "schema": { "type": "string" } } },
        "content": { "application/json": { "schema": account } }
    });
    let body = |required: &[&str], properties: Json| {
        json!({
            "required": true,
            "content": { "application/json": { "schema": {
                "type": "object",
                "required": required,
                "properties": properties
            } } }
        })
    };
    let common = |mut responses: Json| {
        for (code, name) in [
            ("400", "BadRequest"),
            ("413", "PayloadTooLarge"),
            ("414", "UriTooLong"),
            ("431", "HeadersTooLarge"),
            ("500", "InternalError"),
        ] {
            responses[code] = error(name);
        }
        responses
    };
    let described = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
        })
    };
    vec![
        (
            "/api/account/sign-in",
            json!({ "post": {
                "operationId": "SignIn",
                "tags": ["Console"],
                "summary": "Signs in to the console with an email and a password",
                "security": [],
                "requestBody": body(&["email", "password"], json!({
                    "email": string("The account's email (any case)."),
                    "password": string("The account's password.")
                })),
                "responses": common(json!({
                    "200": signed_in.clone(),
                    "401": described("Wrong email or password (the same answer for both)."),
                    "429": described("Too many failed sign-ins for this email or from this \
                        address; Retry-After says when to try again.")
                }))
            } }),
        ),
        (
            "/api/account/sign-up",
            json!({
                "get": {
                    "operationId": "SignUpEnabled",
                    "tags": ["Console"],
                    "summary": "Whether self sign-up is on",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "`enabled` is `accounts.signup`.",
                            "content": { "application/json": { "schema": {
                                "type": "object",
                                "required": ["success", "enabled"],
                                "properties": {
                                    "success": { "type": "boolean", "const": true },
                                    "enabled": { "type": "boolean" }
                                }
                            } } }
                        },
                        "414": error("UriTooLong"),
                        "431": error("HeadersTooLarge")
                    }
                },
                "post": {
                    "operationId": "SignUp",
                    "tags": ["Console"],
                    "summary": "Creates an account and signs in (when sign-up is on)",
                    "security": [],
                    "requestBody": body(&["name", "email", "password"], json!({
                        "name": string("The account's name."),
                        "email": string("The sign-in email."),
                        "password": string("10 to 1024 characters.")
                    })),
                    "responses": common(json!({
                        "200": signed_in,
                        "403": described("Sign-up is off on this server."),
                        "409": described("An account with this email exists.")
                    }))
                }
            }),
        ),
        (
            "/api/account/sign-out",
            json!({ "post": {
                "operationId": "SignOut",
                "tags": ["Console"],
                "summary": "Ends the console session and clears its cookie",
                "security": [],
                "responses": common(json!({
                    "200": {
                        "description": "Signed out (also when there was no session).",
                        "content": { "application/json": { "schema": {
                            "type": "object",
                            "required": ["success"],
                            "properties": { "success": { "type": "boolean", "const": true } }
                        } } }
                    },
                    "403": described("The session cookie came without this server's Origin.")
                }))
            } }),
        ),
    ]
}
