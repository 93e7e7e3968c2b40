//! Requests by route and code, and their latency.
//!
//! REST is measured where the server dispatches on content-type: the route
//! label is the template axum matched (handed out by [`tag_route`] as a
//! response extension), never the raw path, so ids in paths and scanners'
//! made-up paths add no series (an unmatched path is `unmatched`).
//!
//! gRPC and gRPC-web are measured by [`GrpcLayer`], inside the gRPC-web
//! translation, where every call is native gRPC and its status is in the
//! trailers; the route is the method's path when it is one the server
//! serves (`other` otherwise). REST calls reach the same gRPC stack in
//! process: they carry [`Protocol::Rest`] and are not counted twice.
//!
//! Latency is the time to the response head: for a unary call, its whole
//! handling; for a stream, the time until it started.

use std::{
    collections::{HashMap, HashSet},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body::{Body, Frame, SizeHint};
use tower::{Layer, Service};

use super::{Metrics, RequestLabels};

/// Which door a request came in by; set on every request before dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Rest,
    Grpc,
    GrpcWeb,
}

impl Protocol {
    /// From the request's content-type.
    pub(crate) fn of(headers: &HeaderMap) -> Protocol {
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with("application/grpc-web") {
            Protocol::GrpcWeb
        } else if content_type.starts_with("application/grpc") {
            Protocol::Grpc
        } else {
            Protocol::Rest
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Protocol::Rest => "rest",
            Protocol::Grpc => "grpc",
            Protocol::GrpcWeb => "grpc-web",
        }
    }
}

/// The route template a REST response was answered on.
#[derive(Debug, Clone)]
struct Route(Arc<str>);

/// The REST gateway's routes by the name axum matches them under, each
/// with the template its rule writes, per HTTP method.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteNames(Arc<HashMap<String, Templates>>);

/// A route's templates by HTTP method.
type Templates = Vec<(Method, Arc<str>)>;

impl RouteNames {
    pub(crate) fn new(routes: impl IntoIterator<Item = (String, Method, String)>) -> RouteNames {
        let mut names: HashMap<String, Templates> = HashMap::new();
        for (route, method, template) in routes {
            names
                .entry(route)
                .or_default()
                .push((method, Arc::from(template)));
        }
        RouteNames(Arc::new(names))
    }

    /// The template of `matched` for `method`; for a method no rule has
    /// (answered 405), the route's first template; for routes outside the
    /// gateway (/healthz, /metrics, ...), the route itself.
    fn name(&self, matched: &str, method: &Method) -> Arc<str> {
        match self.0.get(matched) {
            Some(templates) => templates
                .iter()
                .find(|(m, _)| m == method)
                .or(templates.first())
                .map(|(_, t)| t.clone())
                .unwrap_or_else(|| Arc::from(matched)),
            None => Arc::from(matched),
        }
    }
}

/// Route layer of the REST router: hands the matched template to
/// [`record_rest`] on the response.
pub(crate) async fn tag_route(
    State(names): State<RouteNames>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| Route(names.name(m.as_str(), request.method())));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// The method label: the standard methods by name, anything else `other`
/// (a client may send any token as a method).
fn method_label(method: &Method) -> String {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if KNOWN.contains(method) {
        method.as_str().to_owned()
    } else {
        "other".to_owned()
    }
}

/// Counts one REST request by its response, `started` when it arrived.
pub(crate) fn record_rest(
    metrics: &Metrics,
    method: &Method,
    response: &Response,
    started: Instant,
) {
    let route = response
        .extensions()
        .get::<Route>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| Arc::from("unmatched"));
    metrics.request(
        RequestLabels {
            protocol: Protocol::Rest.as_str(),
            method: method_label(method),
            route,
            code: response.status().as_u16().to_string(),
        },
        started.elapsed(),
    );
}

/// The gRPC method paths the server serves (`/package.Service/Method`).
#[derive(Debug, Clone, Default)]
pub(crate) struct GrpcMethods(Arc<HashSet<Arc<str>>>);

impl GrpcMethods {
    pub(crate) fn new(paths: impl IntoIterator<Item = String>) -> GrpcMethods {
        GrpcMethods(Arc::new(paths.into_iter().map(Arc::from).collect()))
    }

    fn route(&self, path: &str) -> Arc<str> {
        self.0
            .get(path)
            .cloned()
            .unwrap_or_else(|| Arc::from("other"))
    }
}

/// Measures gRPC and gRPC-web calls (see the module's doc).
#[derive(Clone)]
pub(crate) struct GrpcLayer {
    metrics: Metrics,
    methods: GrpcMethods,
}

impl GrpcLayer {
    pub(crate) fn new(metrics: Metrics, methods: GrpcMethods) -> GrpcLayer {
        GrpcLayer { metrics, methods }
    }
}

impl<S> Layer<S> for GrpcLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> GrpcService<S> {
        GrpcService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct GrpcService<S> {
    inner: S,
    layer: GrpcLayer,
}

/// What a call is counted as, once its status is known.
struct Pending {
    metrics: Metrics,
    labels: RequestLabels,
    /// Time to the response head.
    took: Duration,
}

impl Pending {
    fn finish(self, code: &str) {
        let Pending {
            metrics,
            mut labels,
            took,
        } = self;
        labels.code = code.to_owned();
        metrics.request(labels, took);
    }
}

/// The status name in a `grpc-status` header or trailer, if there is one.
fn grpc_code(headers: &HeaderMap) -> Option<&'static str> {
    let value = headers.get("grpc-status")?;
    let code = value.to_str().ok()?.trim().parse::<i32>().ok()?;
    Some(wadesk_gateway::grpc_code_name(code))
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Send,
    S::Future: Send + 'static,
    ResBody: Body<Data = Bytes> + Unpin + Send + 'static,
    ResBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let protocol = request
            .extensions()
            .get::<Protocol>()
            .copied()
            .unwrap_or(Protocol::Grpc);
        let started = Instant::now();
        let labels = (protocol != Protocol::Rest).then(|| RequestLabels {
            protocol: protocol.as_str(),
            method: method_label(request.method()),
            route: self.layer.methods.route(request.uri().path()),
            code: String::new(),
        });
        let metrics = self.layer.metrics.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            let Some(labels) = labels else {
                return Ok(response.map(tonic::body::Body::new));
            };
            let pending = Pending {
                metrics,
                labels,
                took: started.elapsed(),
            };
            // Trailers-only (an error, mostly): the status is in the head.
            if let Some(code) = grpc_code(response.headers()) {
                pending.finish(code);
                return Ok(response.map(tonic::body::Body::new));
            }
            if response.body().is_end_stream() {
                pending.finish("UNKNOWN");
                return Ok(response.map(tonic::body::Body::new));
            }
            Ok(response.map(|body| {
                tonic::body::Body::new(Metered {
                    inner: body,
                    pending: Some(pending),
                })
            }))
        })
    }
}

/// A gRPC response body that counts its call when its trailers pass (or,
/// when the client goes away first, as CANCELLED).
struct Metered<B> {
    inner: B,
    pending: Option<Pending>,
}

impl<B> Body for Metered<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(pending) = self.pending.take()
                {
                    pending.finish(grpc_code(trailers).unwrap_or("UNKNOWN"));
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(pending) = self.pending.take() {
                    pending.finish("INTERNAL");
                }
            }
            Poll::Ready(None) => {
                if let Some(pending) = self.pending.take() {
                    pending.finish("UNKNOWN");
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for Metered<B> {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            pending.finish("CANCELLED");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_follows_the_content_type() {
        let mut headers = HeaderMap::new();
        assert_eq!(Protocol::of(&headers), Protocol::Rest);
        headers.insert("content-type", "application/grpc+proto".parse().unwrap());
        assert_eq!(Protocol::of(&headers), Protocol::Grpc);
        headers.insert("content-type", "application/grpc-web-text".parse().unwrap());
        assert_eq!(Protocol::of(&headers), Protocol::GrpcWeb);
        headers.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(Protocol::of(&headers), Protocol::Rest);
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(method_label(&Method::GET), "GET");
        let made_up = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "other");
        let methods = GrpcMethods::new(["/wadesk.v1.SendService/SendText".to_owned()]);
        assert_eq!(
            &*methods.route("/wadesk.v1.SendService/SendText"),
            "/wadesk.v1.SendService/SendText"
        );
        assert_eq!(&*methods.route("/x.Y/Z12345"), "other");
    }

    #[test]
    fn routes_are_named_by_their_templates() {
        let names = RouteNames::new([
            (
                "/a/{s1}".to_owned(),
                Method::GET,
                "/a/{phone_id}".to_owned(),
            ),
            ("/a/{s1}".to_owned(), Method::DELETE, "/a/{id}".to_owned()),
        ]);
        assert_eq!(&*names.name("/a/{s1}", &Method::GET), "/a/{phone_id}");
        assert_eq!(&*names.name("/a/{s1}", &Method::DELETE), "/a/{id}");
        assert_eq!(&*names.name("/a/{s1}", &Method::PUT), "/a/{phone_id}");
        assert_eq!(&*names.name("/healthz", &Method::GET), "/healthz");
    }
}
