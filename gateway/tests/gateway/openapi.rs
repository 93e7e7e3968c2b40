//! The generated OpenAPI document.

use serde_json::{Value, json};

fn doc() -> Value {
    crate::gateway().openapi("gwtest", "1.2.3")
}

#[test]
fn paths_operations_and_parameters() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"], json!({"title": "gwtest", "version": "1.2.3"}));
    let thing = &doc["paths"]["/api/things/{thing_id}"];
    for method in ["get", "patch", "delete"] {
        assert!(thing[method].is_object(), "{method} missing");
    }
    let get = &thing["get"];
    assert_eq!(get["operationId"], "GetThing");
    assert_eq!(get["tags"], json!(["ThingService"]));
    assert_eq!(get["summary"], "Shows one thing");
    assert!(get["description"].as_str().unwrap().contains("v2 path"));
    let params: Vec<(String, String)> = get["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["in"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (name, place) in [
        ("thing_id", "path"),
        ("name", "query"),
        ("filter.owner", "query"),
        ("filter.archived", "query"),
        ("tags", "query"),
        ("status", "query"),
    ] {
        assert!(
            params.contains(&(name.into(), place.into())),
            "{name} in {place}: {params:?}"
        );
    }
    assert_eq!(
        doc["paths"]["/api/v2/{name}/things/{thing_id}"]["get"]["operationId"],
        "GetThing_1"
    );
    // body "*" with a path field: the body schema leaves the path field out.
    let patch_body = &thing["patch"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(
        patch_body["anyOf"][0]["$ref"],
        "#/components/schemas/gwtest.v1.Thing"
    );
    let put = &thing["put"];
    assert_eq!(put["operationId"], "UpdateThing_1");
    let put_body = &put["requestBody"]["content"]["application/json"]["schema"]["properties"];
    let keys: Vec<&str> = put_body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["thing", "dry_run"]);
    assert!(
        put.get("parameters")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["in"] == "path")
    );
    // body "field": the rest are query parameters.
    let patch_params = thing["patch"]["parameters"].as_array().unwrap();
    assert!(
        patch_params
            .iter()
            .any(|p| p["name"] == "dry_run" && p["in"] == "query")
    );
    assert!(!patch_params.iter().any(|p| p["name"] == "thing"));
    let create = &doc["paths"]["/api/things"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/gwtest.v1.Thing"
    );
    assert_eq!(
        create["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][0]["$ref"],
        "#/components/schemas/Success"
    );
    assert_eq!(
        create["responses"]["429"]["$ref"],
        "#/components/responses/TooManyRequests"
    );
    // omit_success: no Success wrapper.
    assert_eq!(
        doc["paths"]["/api/ping"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/gwtest.v1.Pong"
    );
    let watch = &doc["paths"]["/api/watch/{topic}"]["get"]["responses"]["200"]["content"];
    // Issue 18, defect 5: each event was declared a string. It is an event whose data
    // is a JSON Event (or, last, an error event whose data is an Error body).
    let event = &watch["text/event-stream"]["schema"]["oneOf"];
    assert_eq!(
        event[0]["properties"]["data"],
        json!({
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/gwtest.v1.Event"}
        })
    );
    assert_eq!(event[1]["properties"]["event"]["const"], "error");
    assert_eq!(
        event[1]["properties"]["data"]["contentSchema"]["$ref"],
        "#/components/schemas/Error"
    );
    assert!(watch.get("application/json").is_none());
    assert!(
        doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .all(|p| !p.contains("Hidden"))
    );
}

#[test]
fn schemas_enums_and_security() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    let thing = &schemas["gwtest.v1.Thing"];
    assert_eq!(thing["description"], "A thing.");
    assert_eq!(
        thing["properties"]["count"],
        json!({"type": "integer", "format": "int64", "description": "A 64-bit counter."})
    );
    assert_eq!(
        thing["properties"]["battery"]["type"],
        json!(["integer", "null"])
    );
    assert_eq!(
        thing["properties"]["created_at"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(
        thing["properties"]["note"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(
        thing["properties"]["label"]["anyOf"][1],
        json!({"type": "null"})
    );
    assert_eq!(
        thing["properties"]["scores"]["additionalProperties"]["format"],
        "int64"
    );
    let status = &schemas["gwtest.v1.ThingStatus"];
    assert_eq!(status["enum"], json!(["unspecified", "active", "on-hold"]));
    assert!(
        status["description"]
            .as_str()
            .unwrap()
            .contains("- `on-hold`: Waiting.")
    );
    assert_eq!(
        schemas["gwtest.v1.Plan"]["enum"],
        json!(["unspecified", "pro"])
    );
    for name in [
        "gwtest.v1.Label",
        "gwtest.v1.Event",
        "gwtest.v1.BulkReply",
        "Error",
        "Success",
    ] {
        assert!(schemas[name].is_object(), "{name} missing");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], json!([{"bearerAuth": []}]));
    let tags = doc["tags"].as_array().unwrap();
    assert!(tags.iter().any(|t| t["name"] == "BulkService"
        && t["description"] == "Bulk jobs: a literal path next to a variable one."));
}

/// Issue 18, defect 5: 413, 431 and 503 were not declared, nor 405 anywhere (and
/// the input limits added 414).
#[test]
fn limit_and_availability_errors_are_declared() {
    let doc = doc();
    let create = &doc["paths"]["/api/things"]["post"]["responses"];
    for (status, name) in [
        ("413", "PayloadTooLarge"),
        ("414", "UriTooLong"),
        ("431", "HeadersTooLarge"),
        ("503", "Unavailable"),
    ] {
        assert_eq!(
            create[status]["$ref"],
            format!("#/components/responses/{name}"),
            "{status}"
        );
    }
    let get = &doc["paths"]["/api/things/{thing_id}"]["get"]["responses"];
    assert!(get.get("413").is_none(), "no body, no 413");
    assert!(get.get("503").is_some());
    let responses = &doc["components"]["responses"];
    assert!(responses["MethodNotAllowed"]["headers"]["Allow"].is_object());
    // The gateway's own 431 names the largest header in the JSON error.
    assert!(responses["HeadersTooLarge"]["content"]["application/json"].is_object());
}

/// Rules the service enforces reach the field and message schemas, the parameters,
/// and a body that leaves out a path field.
#[test]
fn field_rules_are_merged_into_schemas() {
    let mut rules = wadesk_gateway::FieldRules::default();
    rules
        .add(
            "gwtest.v1.Thing.name",
            json!({"minLength": 1, "maxLength": 100}),
        )
        .add("gwtest.v1.Thing", json!({"required": ["thing_id", "name"]}))
        .add(
            "gwtest.v1.GetThingRequest.thing_id",
            json!({"pattern": "^th_"}),
        )
        .add(
            "gwtest.v1.GetThingRequest.tags",
            json!({"maxItems": 3, "items": {"maxLength": 9}}),
        )
        .add(
            "gwtest.v1.WatchRequest.count",
            json!({"minimum": 0, "maximum": 50}),
        )
        .add(
            "gwtest.v1.UpdateThingRequest",
            json!({"required": ["thing_id", "thing"]}),
        );
    let doc = crate::gateway().openapi_with_rules("gwtest", "1.2.3", &rules);
    let thing = &doc["components"]["schemas"]["gwtest.v1.Thing"];
    assert_eq!(thing["properties"]["name"]["maxLength"], 100);
    assert_eq!(thing["properties"]["name"]["minLength"], 1);
    assert_eq!(thing["properties"]["name"]["description"], "Display name.");
    assert_eq!(thing["required"], json!(["thing_id", "name"]));
    let get = &doc["paths"]["/api/things/{thing_id}"]["get"]["parameters"];
    let param = |name: &str| {
        get.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]
            .clone()
    };
    assert_eq!(param("thing_id")["pattern"], "^th_");
    assert_eq!(param("tags")["maxItems"], 3);
    assert_eq!(param("tags")["items"]["maxLength"], 9);
    assert_eq!(param("tags")["items"]["type"], "string");
    let watch = &doc["paths"]["/api/watch/{topic}"]["get"]["parameters"];
    assert!(
        watch
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "count" && p["schema"]["maximum"] == 50)
    );
    // PUT's body is UpdateThingRequest without the path's thing_id.
    let put = &doc["paths"]["/api/things/{thing_id}"]["put"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(put["required"], json!(["thing"]));
    // The decoder refuses unknown keys in a request message; Thing is a response too.
    assert_eq!(put["additionalProperties"], json!(false));
    assert!(thing.get("additionalProperties").is_none());
    // Without rules, none of it.
    assert!(doc_without_rules_has_no_max());
}

fn doc_without_rules_has_no_max() -> bool {
    doc()["components"]["schemas"]["gwtest.v1.Thing"]["properties"]["name"]
        .get("maxLength")
        .is_none()
}

/// Writes the document where `GATEWAY_OPENAPI_OUT` points, for an external validator.
#[test]
fn write_document_for_validation() {
    if let Ok(path) = std::env::var("GATEWAY_OPENAPI_OUT") {
        std::fs::write(path, serde_json::to_string_pretty(&doc()).unwrap()).unwrap();
    }
}
