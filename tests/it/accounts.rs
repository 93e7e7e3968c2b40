//! Accounts: AccountService (tokens managed over the API), scoped tokens,
//! and the console's sign-in with its session cookie and CSRF defence.

use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::{
    db_tests,
    support::{Db, TestApp, captured, secret, send},
};

const PASSWORD: &str = "correct horse battery staple";

/// A REST error body's message.
fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

/// The error body's message says `what`.
fn says(body: &Value, what: &str) {
    assert!(message(body).contains(what), "{what:?} in {body}");
}

/// The test account gets an email and a password.
async fn with_login(app: &TestApp, email: &str) {
    secret(PASSWORD);
    wadesk::accounts::set_login(&app.core.db, &app.account_id, Some(email), PASSWORD)
        .await
        .unwrap();
}

/// Signs in; the session cookie's value, or the error's status and body.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> Result<String, (u16, Value)> {
    let response = app
        .http
        .post(app.url("/api/account/sign-in"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status != 200 {
        captured(&body.to_string());
        return Err((status, body));
    }
    let cookie = cookie.expect("a Set-Cookie on sign-in");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert_eq!(body["account"]["account_id"], json!(app.account_id));
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("wadesk_session=")
        .to_owned();
    secret(&value);
    Ok(value)
}

/// A request carrying the session cookie (and no token).
fn with_cookie(app: &TestApp, method: Method, path: &str, cookie: &str) -> reqwest::RequestBuilder {
    app.http
        .request(method, app.url(path))
        .header(header::COOKIE, format!("wadesk_session={cookie}"))
}

async fn tokens_are_managed_over_the_api(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, body) = app.get("/api/account").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["account"]["account_id"], json!(app.account_id));
    assert_eq!(body["account"]["has_password"], json!(false));

    let (status, body) = app
        .post(
            "/api/tokens",
            json!({"name": "CRM", "expires_in_seconds": 3600}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["secret"].as_str().unwrap().to_owned();
    secret(&token);
    let token_id = body["token"]["token_id"].as_str().unwrap().to_owned();
    assert_eq!(body["token"]["rights"], json!("full"));
    assert!(body["token"]["expires_at"].is_string(), "{body}");

    // The new token works, and its use is recorded.
    let (status, _) = send(app.http.get(app.url("/api/phones")).bearer_auth(&token)).await;
    assert_eq!(status, 200);
    let (status, listed) = app.get("/api/tokens").await;
    assert_eq!(status, 200, "{listed}");
    assert!(
        !listed.to_string().contains(&token),
        "a listing shows no token"
    );
    let row = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["token_id"] == json!(token_id))
        .expect("listed")
        .clone();
    assert_eq!(row["name"], json!("CRM"));
    assert!(row["revoked_at"].is_null());
    // Written off the request: give it a moment.
    let mut used = row["last_used_at"].clone();
    for _ in 0..50 {
        if used.is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let (_, listed) = app.get("/api/tokens").await;
        used = listed["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["token_id"] == json!(token_id))
            .unwrap()["last_used_at"]
            .clone();
    }
    assert!(used.is_string(), "last_used_at recorded: {used}");

    // Revoked: refused from the next request on.
    let (status, body) =
        send(app.request(Method::DELETE, &format!("/api/tokens/{token_id}"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["revoked_at"].is_string(), "{body}");
    let (status, body) = send(app.http.get(app.url("/api/phones")).bearer_auth(&token)).await;
    assert_eq!(status, 401, "{body}");
    says(&body, "revoked");

    // Bad input names its field.
    for (request, field) in [
        (json!({"name": ""}), "name"),
        (
            json!({"name": "x", "expires_in_seconds": 999_999_999_999u64}),
            "expires_in_seconds",
        ),
        (json!({"name": "x", "phone_ids": ["ph_nope"]}), "phone_ids"),
        (json!({"name": "x", "rights": "admin"}), "rights"),
    ] {
        let (status, body) = app.post("/api/tokens", request.clone()).await;
        assert_eq!(status, 400, "{request}: {body}");
        says(&body, field);
    }

    // Another account's token is not found, and stays valid.
    let other = wadesk::store::accounts::create(&app.core.db, "other")
        .await
        .unwrap();
    let other_token = crate::support::issue_token(&app.core, &other.id, None).await;
    let other_id = wadesk::store::tokens::list_for_account(&app.core.db, &other.id)
        .await
        .unwrap()[0]
        .id
        .clone();
    let (status, body) =
        send(app.request(Method::DELETE, &format!("/api/tokens/{other_id}"))).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = send(
        app.http
            .get(app.url("/api/phones"))
            .bearer_auth(&other_token),
    )
    .await;
    assert_eq!(status, 200);
    app.stop().await;
}

async fn scoped_tokens_stay_in_their_scope(db: Db) {
    let app = TestApp::spawn(db).await;
    let shop = app.create_phone("Shop").await;
    let office = app.create_phone("Office").await;
    let create = async |body: Value| -> String {
        let (status, body) = app.post("/api/tokens", body).await;
        assert_eq!(status, 200, "{body}");
        let token = body["secret"].as_str().unwrap().to_owned();
        secret(&token);
        token
    };
    let read = create(json!({"name": "read", "rights": "read"})).await;
    let sender = create(json!({"name": "send", "rights": "send"})).await;
    let shop_only = create(json!({"name": "shop", "phone_ids": [shop]})).await;
    let call = async |token: &str, method: Method, path: &str, body: Option<Value>| {
        let mut request = app.http.request(method, app.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    };
    let text = json!({"phone_id": shop, "to": "919876543210", "message": "hi"});

    // Read rights: reads pass, a send is refused with the reason.
    let (status, _) = call(&read, Method::GET, &format!("/api/phones/{shop}"), None).await;
    assert_eq!(status, 200);
    let (status, body) = call(&read, Method::POST, "/api/send", Some(text.clone())).await;
    assert_eq!(status, 403, "{body}");
    says(&body, "read rights");
    // Send rights: a send gets past authorisation (the phone is not
    // connected: 404), a deletion does not.
    let (status, body) = call(&sender, Method::POST, "/api/send", Some(text.clone())).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(
        &sender,
        Method::DELETE,
        &format!("/api/phones/{shop}"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    says(&body, "send rights");
    // Neither manages tokens.
    for token in [&read, &sender, &shop_only] {
        let (status, body) = call(token, Method::GET, "/api/tokens", None).await;
        assert_eq!(status, 403, "{body}");
    }

    // A phone scope: only that phone is listed and reached.
    let (status, body) = call(&shop_only, Method::GET, "/api/phones", None).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["phones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phone_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [shop.as_str()]);
    let (status, _) = call(
        &shop_only,
        Method::GET,
        &format!("/api/phones/{shop}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        &shop_only,
        Method::GET,
        &format!("/api/phones/{office}"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    says(&body, "outside its scope");
    let (status, body) = call(
        &shop_only,
        Method::POST,
        "/api/phones",
        Some(json!({"name": "More"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = call(&shop_only, Method::GET, "/api/bulk-send", None).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = call(
        &shop_only,
        Method::GET,
        &format!("/api/bulk-send?phone_id={shop}"),
        None,
    )
    .await;
    assert_eq!(status, 200);

    // gRPC answers alike.
    use wadesk::proto::{GetPhoneRequest, phone_service_client::PhoneServiceClient};
    let channel = tonic::transport::Channel::from_shared(app.base.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = PhoneServiceClient::new(channel);
    let mut request = tonic::Request::new(GetPhoneRequest {
        phone_id: office.clone(),
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {shop_only}").parse().unwrap(),
    );
    let status = client.get_phone(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    let mut request = tonic::Request::new(wadesk::proto::DeletePhoneRequest {
        phone_id: shop.clone(),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {read}").parse().unwrap());
    let mut client = client.clone();
    let status = client.delete_phone(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    app.stop().await;
}

async fn console_sign_in_uses_a_session_cookie(db: Db) {
    let app = TestApp::spawn(db).await;
    with_login(&app, "Owner@Example.com").await;

    // A wrong password and an unknown email get the same answer.
    let wrong = sign_in(&app, "owner@example.com", "not the password")
        .await
        .unwrap_err();
    let unknown = sign_in(&app, "nobody@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(wrong.0, 401);
    assert_eq!(unknown.0, 401);
    assert_eq!(
        wrong.1["error"]["message"], unknown.1["error"]["message"],
        "{wrong:?} {unknown:?}"
    );
    assert_eq!(
        wrong.1["error"]["message"],
        json!("wrong email or password")
    );

    // The email is found whatever its case.
    let cookie = sign_in(&app, "OWNER@example.com", PASSWORD).await.unwrap();
    let (status, body) = send(with_cookie(&app, Method::GET, "/api/phones", &cookie)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(with_cookie(&app, Method::GET, "/api/account", &cookie)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["account"]["email"], json!("owner@example.com"));
    assert_eq!(body["account"]["has_password"], json!(true));

    // A state-changing request with the cookie needs this server's Origin.
    let origin = format!("http://{}", app.addr);
    let create = |origin: Option<&str>| {
        let mut request = with_cookie(&app, Method::POST, "/api/phones", &cookie)
            .json(&json!({"name": "From the console"}));
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request
    };
    let (status, body) = send(create(None)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = send(create(Some("http://evil.example"))).await;
    assert_eq!(status, 403, "{body}");
    says(&body, "evil.example");
    let (status, body) = send(create(Some(&origin))).await;
    assert_eq!(status, 200, "{body}");
    // gRPC-web with the cookie and a foreign Origin: refused too.
    let response = with_cookie(
        &app,
        Method::POST,
        "/wadesk.v1.PhoneService/ListPhones",
        &cookie,
    )
    .header(header::CONTENT_TYPE, "application/grpc-web+proto")
    .header(header::ORIGIN, "http://evil.example")
    .body(vec![0u8, 0, 0, 0, 0])
    .send()
    .await
    .unwrap();
    let grpc_status = response
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(grpc_status.as_deref(), Some("7"), "{response:?}");
    // An API token is untouched by the Origin check.
    let (status, body) = send(
        app.request(Method::POST, "/api/phones")
            .header(header::ORIGIN, "http://evil.example")
            .json(&json!({"name": "From a script"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Signing out ends the session.
    let (status, _) = send(
        with_cookie(&app, Method::POST, "/api/account/sign-out", &cookie)
            .header(header::ORIGIN, &origin),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = send(with_cookie(&app, Method::GET, "/api/phones", &cookie)).await;
    assert_eq!(status, 401, "{body}");

    // A password change signs every session out and needs the current one.
    let one = sign_in(&app, "owner@example.com", PASSWORD).await.unwrap();
    let two = sign_in(&app, "owner@example.com", PASSWORD).await.unwrap();
    let new_password = "a new password, longer";
    secret(new_password);
    let change = |current: &str| {
        with_cookie(&app, Method::POST, "/api/account/password", &one)
            .header(header::ORIGIN, &origin)
            .json(&json!({"current_password": current, "new_password": new_password}))
    };
    let (status, body) = send(change("wrong current")).await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).starts_with("current_password:"), "{body}");
    let (status, body) = send(change(PASSWORD)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_signed_out"], json!(2));
    for cookie in [&one, &two] {
        let (status, _) = send(with_cookie(&app, Method::GET, "/api/phones", cookie)).await;
        assert_eq!(status, 401);
    }
    assert!(sign_in(&app, "owner@example.com", PASSWORD).await.is_err());
    sign_in(&app, "owner@example.com", new_password)
        .await
        .unwrap();
    // API tokens keep working.
    let (status, _) = app.get("/api/phones").await;
    assert_eq!(status, 200);
    app.stop().await;
}

async fn sign_in_failures_are_limited(db: Db) {
    let app = TestApp::spawn_with(db, |c| c.accounts.sign_in_failures_per_minute = 3).await;
    with_login(&app, "owner@example.com").await;
    for _ in 0..3 {
        let (status, _) = sign_in(&app, "owner@example.com", "guess guess guess")
            .await
            .unwrap_err();
        assert_eq!(status, 401);
    }
    // Past the limit even the right password waits.
    let response = app
        .http
        .post(app.url("/api/account/sign-in"))
        .json(&json!({"email": "owner@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    app.stop().await;
}

async fn sign_up_is_off_unless_enabled(db: Db) {
    let app = TestApp::spawn(db.clone()).await;
    let (status, body) = send(app.http.get(app.url("/api/account/sign-up"))).await;
    assert_eq!((status, &body["enabled"]), (200, &json!(false)), "{body}");
    let form = json!({"name": "New", "email": "new@example.com", "password": PASSWORD});
    let (status, body) = send(app.http.post(app.url("/api/account/sign-up")).json(&form)).await;
    assert_eq!(status, 403, "{body}");
    app.stop().await;

    let app = TestApp::spawn_with(db, |c| c.accounts.signup = true).await;
    secret(PASSWORD);
    let (status, body) = send(
        app.http
            .post(app.url("/api/account/sign-up"))
            .json(&json!({"name": "New", "email": "new@example.com", "password": "short"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).starts_with("password:"), "{body}");
    let response = app
        .http
        .post(app.url("/api/account/sign-up"))
        .json(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("wadesk_session=")
        .to_owned();
    secret(&cookie);
    let body: Value = response.json().await.unwrap();
    assert_ne!(body["account"]["account_id"], json!(app.account_id));
    // The new account's phone is on the trial plan.
    let (status, body) = send(
        with_cookie(&app, Method::POST, "/api/phones", &cookie)
            .header(header::ORIGIN, format!("http://{}", app.addr))
            .json(&json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phone"]["plan"], json!("trial"));
    // The same email again is a conflict.
    let (status, body) = send(app.http.post(app.url("/api/account/sign-up")).json(&form)).await;
    assert_eq!(status, 409, "{body}");
    app.stop().await;
}

async fn the_console_is_served_with_a_strict_policy(db: Db) {
    let app = TestApp::spawn(db).await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/app.css", "text/css"),
    ] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers();
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind),
            "{path}"
        );
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert_eq!(csp, wadesk::server::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(!csp.contains("http"), "no outside origin: {csp}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
    app.stop().await;
}

db_tests!(
    tokens_are_managed_over_the_api,
    scoped_tokens_stay_in_their_scope,
    console_sign_in_uses_a_session_cookie,
    sign_in_failures_are_limited,
    sign_up_is_off_unless_enabled,
    the_console_is_served_with_a_strict_policy,
);
