//! The web console: its files at `/` (embedded in the binary, no outside
//! request of any kind), its sign-in routes beside the API, and the CSRF
//! defence for requests a session cookie authenticates.
//!
//! The cookie is `SameSite=Strict` (a browser does not send it from another
//! site) and, as a second lock, a state-changing request that carries it
//! must come with an `Origin` naming this server: [`csrf`] refuses anything
//! else before it reaches a service. API tokens are untouched by both.

use std::{net::SocketAddr, path::PathBuf};

use axum::{
    Json, Router,
    body::Body,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;

use crate::{
    accounts::{Accounts, NewSession},
    auth::session,
    error::{Error, rest_response},
};

/// The built console (`npm run console:build`), committed so that a Rust
/// build needs no Node.
const INDEX_HTML: &[u8] = include_bytes!("../../console/dist/index.html");
const APP_JS: &[u8] = include_bytes!("../../console/dist/app.js");
const APP_CSS: &[u8] = include_bytes!("../../console/dist/app.css");

/// Development aid: serve the console from this folder, read on every
/// request, instead of the embedded copy.
const DEV_DIR_ENV: &str = "WADESK_CONSOLE_DIR";

/// The console's pages may load only what this server serves: scripts,
/// styles and connections to the same origin, images from it or drawn in
/// the page (QR codes), and no framing by anyone.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The console's routes: its files and the sign-in endpoints.
pub(crate) fn routes(accounts: Accounts, secure_cookies: bool) -> Router {
    let state = ConsoleState {
        accounts,
        secure_cookies,
    };
    Router::new()
        .route("/", get(|| file("index.html", INDEX_HTML)))
        .route("/index.html", get(|| file("index.html", INDEX_HTML)))
        .route("/app.js", get(|| file("app.js", APP_JS)))
        .route("/app.css", get(|| file("app.css", APP_CSS)))
        .route("/api/account/sign-in", post(sign_in))
        .route("/api/account/sign-up", post(sign_up).get(signup_enabled))
        .route("/api/account/sign-out", post(sign_out))
        .with_state(state)
}

#[derive(Clone)]
struct ConsoleState {
    accounts: Accounts,
    /// Always mark the cookie `Secure` (the server is only reached over
    /// HTTPS through a proxy), besides when a proxy says so per request.
    secure_cookies: bool,
}

/// One of the console's files, with the headers that keep it to itself.
async fn file(name: &'static str, embedded: &'static [u8]) -> Response {
    let body = match std::env::var_os(DEV_DIR_ENV) {
        Some(dir) => match std::fs::read(PathBuf::from(dir).join(name)) {
            Ok(bytes) => Body::from(bytes),
            Err(err) => {
                return rest_response(Error::NotFound(format!("{name} in {DEV_DIR_ENV}: {err}")));
            }
        },
        None => Body::from(embedded),
    };
    let content_type = match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "text/html; charset=utf-8",
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    security_headers(headers);
    // The file names carry no version: always revalidate.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[derive(Deserialize)]
struct SignIn {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
struct SignUp {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// A JSON body, or 400 saying what is wrong with it.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|err| Error::InvalidArgument {
        field: "body".into(),
        message: format!("must be a JSON object ({err})"),
    })
}

/// Sign-in and sign-up bodies are small.
const MAX_BODY: usize = 16 * 1024;

async fn sign_in(State(state): State<ConsoleState>, request: Request<Body>) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let attempt = async {
        let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
            Error::invalid("body", format!("must be at most {MAX_BODY} bytes of JSON"))
        })?;
        let req: SignIn = json_body(&body)?;
        state
            .accounts
            .sign_in(&req.email, &req.password, peer)
            .await
    };
    match attempt.await {
        Ok(session) => signed_in(session, state.secure(&headers)),
        Err(err) => rest_response(err),
    }
}

async fn sign_up(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let attempt = async {
        let req: SignUp = json_body(&body)?;
        state
            .accounts
            .sign_up(&req.name, &req.email, &req.password)
            .await
    };
    match attempt.await {
        Ok(session) => signed_in(session, state.secure(&headers)),
        Err(err) => rest_response(err),
    }
}

async fn signup_enabled(State(state): State<ConsoleState>) -> Response {
    Json(serde_json::json!({
        "success": true,
        "enabled": state.accounts.signup_enabled(),
    }))
    .into_response()
}

async fn sign_out(State(state): State<ConsoleState>, headers: HeaderMap) -> Response {
    if let Some(secret) = session::cookie(&headers)
        && let Err(err) = state.accounts.sign_out(&secret).await
    {
        return rest_response(err);
    }
    let mut response = Json(serde_json::json!({"success": true})).into_response();
    set_cookie(
        &mut response,
        &session::set_cookie("", 0, state.secure(&headers)),
    );
    response
}

impl ConsoleState {
    fn secure(&self, headers: &HeaderMap) -> bool {
        self.secure_cookies
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
    }
}

fn signed_in(session: NewSession, secure: bool) -> Response {
    let account = &session.account;
    let mut response = Json(serde_json::json!({
        "success": true,
        "account": {
            "account_id": account.id,
            "name": account.name,
            "email": account.email,
        },
    }))
    .into_response();
    let cookie = session::set_cookie(&session.secret, session.max_age.as_secs(), secure);
    set_cookie(&mut response, &cookie);
    response
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Refuses a state-changing request that a session cookie would
/// authenticate unless its `Origin` is this server (the host the request
/// was sent to). Requests with an API token, and safe methods, pass.
pub(crate) async fn csrf(request: Request<Body>, next: Next) -> Response {
    let headers = request.headers();
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let cookie = session::cookie(headers).is_some();
    let token = headers.contains_key(header::AUTHORIZATION);
    if safe || !cookie || token {
        return next.run(request).await;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if same_origin(origin, host.as_deref()) {
        return next.run(request).await;
    }
    let message = match origin {
        None => {
            "a request signed in with the console's cookie must carry an Origin header naming this server; API clients use a token"
                .to_owned()
        }
        Some(origin) => format!(
            "origin {origin} may not make requests with this server's console session (cross-site request refused)"
        ),
    };
    let mut response =
        wadesk_gateway::error_response(StatusCode::FORBIDDEN, "PERMISSION_DENIED", &message);
    // A gRPC-web caller reads the status from headers.
    if request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
    {
        response = tonic::Status::permission_denied(message).into_http();
    }
    response
}

/// Whether `origin` (`scheme://host[:port]`) names `host` (`host[:port]`).
fn same_origin(origin: Option<&str>, host: Option<&str>) -> bool {
    let (Some(origin), Some(host)) = (origin, host) else {
        return false;
    };
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let Some(origin_host) = url.host_str() else {
        return false;
    };
    let origin_authority = match url.port() {
        Some(port) => format!("{origin_host}:{port}"),
        None => origin_host.to_owned(),
    };
    // A default port may be written or not in Host.
    let host = host.trim().to_ascii_lowercase();
    let default = match url.scheme() {
        "https" => ":443",
        "http" => ":80",
        _ => return false,
    };
    host == origin_authority || host.strip_suffix(default) == Some(origin_authority.as_str())
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn origins_match_their_host_only() {
        let yes = [
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("https://wadesk.example.com", "wadesk.example.com"),
            ("https://wadesk.example.com", "wadesk.example.com:443"),
            ("http://[::1]:8080", "[::1]:8080"),
        ];
        for (origin, host) in yes {
            assert!(same_origin(Some(origin), Some(host)), "{origin} {host}");
        }
        let no = [
            (Some("http://evil.example"), Some("127.0.0.1:8080")),
            (Some("http://127.0.0.1:8081"), Some("127.0.0.1:8080")),
            (Some("null"), Some("127.0.0.1:8080")),
            (None, Some("127.0.0.1:8080")),
            (Some("http://127.0.0.1:8080"), None),
            (
                Some("http://127.0.0.1.evil.example:8080"),
                Some("127.0.0.1:8080"),
            ),
        ];
        for (origin, host) in no {
            assert!(!same_origin(origin, host), "{origin:?} {host:?}");
        }
    }
}
