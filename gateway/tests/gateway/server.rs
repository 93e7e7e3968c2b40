//! The in-process gRPC side of the tests: real tonic server machinery (framing,
//! trailers, trailers-only errors) over dynamic messages, so no generated code.

use std::convert::Infallible;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use bytes::Buf;
use futures::Stream;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor, Value};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

/// Compiles a proto under tests/proto with source info, as the real build does.
pub fn compile(file: &str) -> Result<DescriptorPool, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut compiler = protox::Compiler::new([root.join("tests/proto"), root.join("../proto")])
        .map_err(|e| e.to_string())?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_file(file).map_err(|e| e.to_string())?;
    DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice())
        .map_err(|e| e.to_string())
}

pub fn test_pool() -> DescriptorPool {
    compile("gwtest/v1/test.proto").expect("test proto compiles")
}

#[derive(Clone)]
struct DynCodec {
    input: MessageDescriptor,
}

struct DynEncoder;
struct DynDecoder(MessageDescriptor);

impl Codec for DynCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynEncoder;
    type Decoder = DynDecoder;

    fn encoder(&mut self) -> DynEncoder {
        DynEncoder
    }

    fn decoder(&mut self) -> DynDecoder {
        DynDecoder(self.input.clone())
    }
}

impl Encoder for DynEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

impl Decoder for DynDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        DynamicMessage::decode(self.0.clone(), bytes)
            .map(Some)
            .map_err(|e| Status::invalid_argument(e.to_string()))
    }
}

/// Counts upstream streams that were dropped (client went away or stream ended).
#[derive(Clone, Default)]
pub struct Probe {
    pub dropped_streams: Arc<AtomicUsize>,
}

impl Probe {
    pub fn dropped(&self) -> usize {
        self.dropped_streams.load(Ordering::SeqCst)
    }
}

struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A tower service speaking gRPC for every method of the pool.
pub fn grpc_service(
    pool: DescriptorPool,
    probe: Probe,
) -> impl tower::Service<
    http::Request<Body>,
    Response = http::Response<tonic::body::Body>,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |req: http::Request<Body>| {
        let pool = pool.clone();
        let probe = probe.clone();
        async move { Ok::<_, Infallible>(serve(pool, probe, req).await) }
    })
}

async fn serve(
    pool: DescriptorPool,
    probe: Probe,
    req: http::Request<Body>,
) -> http::Response<tonic::body::Body> {
    let path = req.uri().path().trim_start_matches('/').to_string();
    let method = path.split_once('/').and_then(|(svc, name)| {
        pool.get_service_by_name(svc)?
            .methods()
            .find(|m| m.name() == name)
    });
    let Some(method) = method else {
        return Status::unimplemented(format!("no method {path}")).into_http();
    };
    let mut grpc = tonic::server::Grpc::new(DynCodec {
        input: method.input(),
    });
    if method.is_server_streaming() {
        let svc = tower::service_fn(move |r: tonic::Request<DynamicMessage>| {
            let probe = probe.clone();
            let output = method.output();
            async move { watch(output, probe, r.into_inner()).map(tonic::Response::new) }
        });
        grpc.server_streaming(svc, req).await
    } else {
        let svc = tower::service_fn(move |r: tonic::Request<DynamicMessage>| {
            let method = method.clone();
            async move { unary(&method, r).map(tonic::Response::new) }
        });
        grpc.unary(svc, req).await
    }
}

fn get(msg: &DynamicMessage, name: &str) -> Value {
    msg.get_field_by_name(name)
        .map(|v| v.into_owned())
        .unwrap_or(Value::Bool(false))
}

fn text(msg: &DynamicMessage, name: &str) -> String {
    get(msg, name).as_str().unwrap_or_default().to_string()
}

fn message(desc: &MessageDescriptor, fields: &[(&str, Value)]) -> DynamicMessage {
    let mut msg = DynamicMessage::new(desc.clone());
    for (name, value) in fields {
        msg.set_field_by_name(name, value.clone());
    }
    msg
}

fn unary(
    method: &MethodDescriptor,
    req: tonic::Request<DynamicMessage>,
) -> Result<DynamicMessage, Status> {
    let mut keys: Vec<String> = req
        .metadata()
        .clone()
        .into_headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .collect();
    keys.sort();
    let body = req.into_inner();
    let out = method.output();
    let pool = out.parent_pool().clone();
    let label = pool.get_message_by_name("gwtest.v1.Label").expect("Label");
    Ok(match method.name() {
        "GetThing" | "DeleteThing" | "GetLabel" => {
            let id = text(&body, "thing_id");
            let filter = get(&body, "filter");
            let filter = filter
                .as_message()
                .cloned()
                .unwrap_or_else(|| DynamicMessage::new(label.clone()));
            let owner = filter
                .get_field_by_name("owner")
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let label_text = if owner.is_empty() {
                format!("label of {id}")
            } else {
                owner
            };
            message(
                &out,
                &[
                    ("thing_id", Value::String(id)),
                    ("name", get(&body, "name")),
                    ("status", get(&body, "status")),
                    ("count", get(&body, "count")),
                    ("tags", get(&body, "tags")),
                    (
                        "label",
                        Value::Message(message(&label, &[("text", Value::String(label_text))])),
                    ),
                    ("seen_headers", Value::String(keys.join(","))),
                ],
            )
        }
        "CreateThing" => body,
        "UpdateThing" => {
            let mut thing = get(&body, "thing")
                .as_message()
                .cloned()
                .unwrap_or_else(|| DynamicMessage::new(out.clone()));
            thing.set_field_by_name("thing_id", get(&body, "thing_id"));
            if get(&body, "dry_run").as_bool() == Some(true) {
                let name = format!("{} (dry run)", text(&thing, "name"));
                thing.set_field_by_name("name", Value::String(name));
            }
            thing
        }
        "MoveThing" => {
            let target = get(&body, "target");
            let owner = target
                .as_message()
                .map(|t| text(t, "owner"))
                .unwrap_or_default();
            message(
                &out,
                &[
                    ("thing_id", get(&body, "thing_id")),
                    (
                        "label",
                        Value::Message(message(&label, &[("text", Value::String(owner))])),
                    ),
                ],
            )
        }
        "ImportSheet" => message(
            &out,
            &[
                ("bulk_id", get(&body, "sheet_id")),
                ("handled_by", Value::String("ImportSheet".into())),
            ],
        ),
        "GetBulk" | "CancelBulk" | "GetBulkStats" => message(
            &out,
            &[
                ("bulk_id", get(&body, "bulk_id")),
                ("handled_by", Value::String(method.name().into())),
            ],
        ),
        "Fail" => {
            let code = get(&body, "code").as_i32().unwrap_or(2);
            let mut status = Status::new(Code::from_i32(code), text(&body, "message"));
            let retry = text(&body, "retry_after");
            if !retry.is_empty() {
                status.metadata_mut().insert(
                    "retry-after",
                    MetadataValue::try_from(retry.as_str()).expect("ascii"),
                );
            }
            return Err(status);
        }
        "Ping" | "Hidden" => message(&out, &[("pong", Value::String("pong".into()))]),
        other => return Err(Status::unimplemented(other.to_string())),
    })
}

type EventStream = Pin<Box<dyn Stream<Item = Result<DynamicMessage, Status>> + Send>>;

/// `denied` fails before streaming (trailers-only); `quiet` sends one event and then
/// idles forever; otherwise `count` events, then `fail_code` if non-zero.
fn watch(
    output: MessageDescriptor,
    probe: Probe,
    req: DynamicMessage,
) -> Result<EventStream, Status> {
    let topic = text(&req, "topic");
    if topic == "denied" {
        return Err(Status::permission_denied("not your topic"));
    }
    let count = get(&req, "count").as_i32().unwrap_or(0);
    let fail_code = get(&req, "fail_code").as_i32().unwrap_or(0);
    let guard = DropGuard(probe.dropped_streams.clone());
    let event = move |seq: i64| {
        message(
            &output,
            &[
                ("seq", Value::I64(seq)),
                ("topic", Value::String(topic.clone())),
                ("status", Value::EnumNumber(1)),
            ],
        )
    };
    if text(&req, "topic") == "quiet" {
        let first = event(0);
        return Ok(Box::pin(futures::stream::unfold(
            (Some(first), guard),
            |(first, guard)| async move {
                match first {
                    Some(msg) => Some((Ok(msg), (None, guard))),
                    None => {
                        futures::future::pending::<()>().await;
                        None
                    }
                }
            },
        )));
    }
    let mut items: Vec<Result<DynamicMessage, Status>> =
        (0..i64::from(count)).map(|i| Ok(event(i))).collect();
    if fail_code != 0 {
        items.push(Err(Status::new(
            Code::from_i32(fail_code),
            "stream broke: 100% gone",
        )));
    }
    Ok(Box::pin(futures::stream::unfold(
        (items.into_iter(), guard),
        |(mut items, guard)| async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            items.next().map(|item| (item, (items, guard)))
        },
    )))
}
