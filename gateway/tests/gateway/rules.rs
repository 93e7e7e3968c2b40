//! Rule reading and validation.

use http::Method;
use wadesk_gateway::{Gateway, RuleError};

use crate::server::compile;

#[test]
fn bindings_cover_every_rule() {
    let gw = crate::gateway();
    let mut got: Vec<(Method, String, String)> = gw
        .bindings()
        .into_iter()
        .map(|b| (b.http_method, b.path, b.grpc_method))
        .collect();
    got.sort_by_key(|b| (b.1.clone(), b.0.to_string()));
    let want: Vec<(Method, &str, &str)> = vec![
        (
            Method::POST,
            "/api/bulk/sheet",
            "gwtest.v1.BulkService.ImportSheet",
        ),
        (
            Method::GET,
            "/api/bulk/stats",
            "gwtest.v1.BulkService.GetBulkStats",
        ),
        (
            Method::GET,
            "/api/bulk/{bulk_id}",
            "gwtest.v1.BulkService.GetBulk",
        ),
        (
            Method::POST,
            "/api/bulk/{bulk_id}/cancel",
            "gwtest.v1.BulkService.CancelBulk",
        ),
        (Method::POST, "/api/fail", "gwtest.v1.MiscService.Fail"),
        (
            Method::POST,
            "/api/owners/{target.owner}/things",
            "gwtest.v1.ThingService.MoveThing",
        ),
        (Method::GET, "/api/ping", "gwtest.v1.MiscService.Ping"),
        (
            Method::POST,
            "/api/things",
            "gwtest.v1.ThingService.CreateThing",
        ),
        (
            Method::DELETE,
            "/api/things/{thing_id}",
            "gwtest.v1.ThingService.DeleteThing",
        ),
        (
            Method::GET,
            "/api/things/{thing_id}",
            "gwtest.v1.ThingService.GetThing",
        ),
        (
            Method::PATCH,
            "/api/things/{thing_id}",
            "gwtest.v1.ThingService.UpdateThing",
        ),
        (
            Method::PUT,
            "/api/things/{thing_id}",
            "gwtest.v1.ThingService.UpdateThing",
        ),
        (
            Method::GET,
            "/api/things/{thing_id}/label",
            "gwtest.v1.ThingService.GetLabel",
        ),
        (
            Method::GET,
            "/api/v2/{name=shelves/*}/things/{thing_id}",
            "gwtest.v1.ThingService.GetThing",
        ),
        (
            Method::GET,
            "/api/watch/{topic}",
            "gwtest.v1.MiscService.Watch",
        ),
    ];
    let want: Vec<(Method, String, String)> = want
        .into_iter()
        .map(|(m, p, g)| (m, p.to_string(), g.to_string()))
        .collect();
    assert_eq!(got, want);
    let watch = gw
        .bindings()
        .into_iter()
        .find(|b| b.path == "/api/watch/{topic}")
        .unwrap();
    assert!(watch.server_streaming);
}

fn rule_error(file: &str) -> RuleError {
    let pool = compile(file).expect("bad rules still compile as protobuf");
    Gateway::new(pool).expect_err("rule must be refused")
}

#[test]
fn bad_rules_are_refused_with_the_method_named() {
    for (file, needles) in [
        (
            "gwbad/bad_var.proto",
            &["gwbad.Bad.GetIt", "missing_field"][..],
        ),
        (
            "gwbad/bad_template.proto",
            &["gwbad.Bad.GetIt", "/api/it/{id", "template"][..],
        ),
        (
            "gwbad/bad_body.proto",
            &["gwbad.Bad.PostIt", "body", "nope"][..],
        ),
        (
            "gwbad/bad_response.proto",
            &["gwbad.Bad.GetIt", "response_body", "missing"][..],
        ),
        (
            "gwbad/conflict.proto",
            &[
                "gwbad.Bad.GetIt",
                "gwbad.Bad.GetOther",
                "GET /api/it/{other}",
            ][..],
        ),
    ] {
        let message = rule_error(file).to_string();
        for needle in needles {
            assert!(
                message.contains(needle),
                "{file}: `{message}` lacks `{needle}`"
            );
        }
    }
}
