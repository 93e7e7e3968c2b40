//! JSON -> protobuf decoding over the real API's descriptors: arbitrary
//! bodies, JSON values, query strings and path values for every binding
//! never panic and fail only with INVALID_ARGUMENT saying which field; a
//! valid request message written as JSON reads back equal.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::sample::select;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage as _, Value,
};
use serde_json::Value as Json;

use super::{config, test_pool, wadesk_pool};
use crate::error::INVALID_ARGUMENT;
use crate::json::{Names, merge_object, message_to_json};
use crate::limits::JsonLimits;
use crate::request::build_request;
use crate::rules::{Binding, read_bindings};

struct Api {
    names: Names,
    bindings: Vec<Binding>,
    /// Every field name in the pool, to build keys a decoder will look at.
    field_names: Vec<String>,
}

fn api(pool: &DescriptorPool) -> Api {
    let mut field_names: Vec<String> = pool
        .all_messages()
        .flat_map(|m| m.fields().map(|f| f.name().to_owned()).collect::<Vec<_>>())
        .collect();
    field_names.sort();
    field_names.dedup();
    Api {
        names: Names::new(pool),
        bindings: read_bindings(pool).expect("rules are valid"),
        field_names,
    }
}

fn wadesk() -> &'static Api {
    static API: std::sync::OnceLock<Api> = std::sync::OnceLock::new();
    API.get_or_init(|| api(wadesk_pool()))
}

/// Any JSON, with object keys mostly taken from the API's field names (so
/// the decoder goes past "unknown field"), and the scalars the decoder
/// treats specially (numeric strings, enum-like words, base64, NaN).
fn arb_json(keys: Vec<String>) -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        (-1e6f64..1e6).prop_map(Json::from),
        any::<String>().prop_map(Json::String),
        prop_oneof![
            "-?[0-9]{1,22}",
            "[A-Za-z_]{1,12}",
            "[A-Za-z0-9+/=_-]{0,16}",
            Just("NaN".to_owned()),
            Just("-Infinity".to_owned()),
            Just("1970-01-01T00:00:00Z".to_owned()),
            Just("3.5s".to_owned()),
            " ?(true|false|[0-9.e+-]{1,8}) ?",
        ]
        .prop_map(Json::String),
    ];
    let key = prop_oneof![4 => select(keys), 1 => ".{0,8}"];
    leaf.prop_recursive(5, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|entries| Json::Object(entries.into_iter().collect())),
        ]
    })
}

/// An error of the decoder is the caller's: INVALID_ARGUMENT, with a
/// sentence that names a field (or says what is wrong with the body as a
/// whole).
fn check_error(
    binding: &Binding,
    result: Result<DynamicMessage, crate::error::GatewayError>,
) -> Result<(), TestCaseError> {
    let Err(err) = result else { return Ok(()) };
    prop_assert_eq!(
        err.code,
        INVALID_ARGUMENT,
        "{}: {}",
        binding.rule_name(),
        err.message
    );
    let whole_body = [
        "malformed JSON",
        "request body must be a JSON object",
        "takes no JSON body",
        "request body nests",
        "bad percent-encoding in query",
    ];
    prop_assert!(
        err.message.contains('`') || whole_body.iter().any(|w| err.message.contains(w)),
        "{}: the error names no field: {}",
        binding.rule_name(),
        err.message
    );
    Ok(())
}

fn binding_index() -> impl Strategy<Value = usize> {
    0..wadesk().bindings.len()
}

proptest! {
    #![proptest_config(config(1000))]

    /// Arbitrary JSON bodies for every binding of the real API.
    #[test]
    fn arbitrary_json_bodies_never_panic(
        index in binding_index(),
        json in arb_json(wadesk().field_names.clone()),
    ) {
        let api = wadesk();
        let binding = &api.bindings[index];
        let values = vec!["x".to_owned(); binding.path_fields.len()];
        let body = json.to_string();
        let result = build_request(
            &api.names, binding, &values, None, body.as_bytes(), JsonLimits::default(),
        );
        check_error(binding, result)?;
    }

    /// Arbitrary bytes (and broken JSON) as bodies, arbitrary query strings
    /// and path values.
    #[test]
    fn arbitrary_bytes_queries_and_path_values_never_panic(
        index in binding_index(),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            "[\\[\\]{}\":,0-9a-z \\\\]{0,40}".prop_map(String::into_bytes),
        ],
        query in prop::option::of(prop_oneof![
            "([a-z_.]{1,12}=[a-zA-Z0-9%+.-]{0,8}&?){0,4}",
            any::<String>(),
        ]),
        values in prop::collection::vec(any::<String>(), 0..4),
    ) {
        let api = wadesk();
        let binding = &api.bindings[index];
        let mut values = values;
        values.resize(binding.path_fields.len(), "x".to_owned());
        let result = build_request(
            &api.names, binding, &values, query.as_deref(), &body, JsonLimits::default(),
        );
        check_error(binding, result)?;
    }

    /// Field names of the binding as query keys, with arbitrary values.
    #[test]
    fn query_parameters_of_each_binding_never_panic(
        index in binding_index(),
        pairs in prop::collection::vec(
            (any::<prop::sample::Index>(), prop_oneof![any::<String>(), "-?[0-9]{1,21}", "[a-z_]{1,10}"]),
            0..5,
        ),
    ) {
        let api = wadesk();
        let binding = &api.bindings[index];
        let input = binding.method.input();
        let fields: Vec<FieldDescriptor> = input.fields().collect();
        let mut query = String::new();
        for (i, v) in &pairs {
            if fields.is_empty() {
                break;
            }
            let f = &fields[i.index(fields.len())];
            let v: String = v.bytes().map(|b| format!("%{b:02X}")).collect();
            query.push_str(&format!("{}={v}&", f.name()));
        }
        let values = vec!["x".to_owned(); binding.path_fields.len()];
        let result = build_request(
            &api.names, binding, &values, Some(&query), b"", JsonLimits::default(),
        );
        check_error(binding, result)?;
    }
}

/// The request messages of a pool: every method's input.
fn inputs(pool: &DescriptorPool) -> Vec<MessageDescriptor> {
    let mut out: Vec<MessageDescriptor> = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let input = method.input();
            if !out.contains(&input) {
                out.push(input);
            }
        }
    }
    out
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        -1e3f64..1e3,
        Just(0.0),
    ]
}

fn arb_kind(kind: Kind, depth: u32) -> BoxedStrategy<Option<Value>> {
    match kind {
        Kind::Double => finite_f64().prop_map(|f| Some(Value::F64(f))).boxed(),
        Kind::Float => any::<f32>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Some(Value::F32(f)))
            .boxed(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            any::<i32>().prop_map(|n| Some(Value::I32(n))).boxed()
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            any::<i64>().prop_map(|n| Some(Value::I64(n))).boxed()
        }
        Kind::Uint32 | Kind::Fixed32 => any::<u32>().prop_map(|n| Some(Value::U32(n))).boxed(),
        Kind::Uint64 | Kind::Fixed64 => any::<u64>().prop_map(|n| Some(Value::U64(n))).boxed(),
        Kind::Bool => any::<bool>().prop_map(|b| Some(Value::Bool(b))).boxed(),
        Kind::String => any::<String>().prop_map(|s| Some(Value::String(s))).boxed(),
        Kind::Bytes => prop::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| Some(Value::Bytes(b.into())))
            .boxed(),
        Kind::Enum(e) => {
            let numbers: Vec<i32> = e.values().map(|v| v.number()).collect();
            select(numbers)
                .prop_map(|n| Some(Value::EnumNumber(n)))
                .boxed()
        }
        Kind::Message(m) => match m.full_name() {
            "google.protobuf.Timestamp" => {
                (-62_135_596_800i64..=253_402_300_799, 0i32..1_000_000_000)
                    .prop_map(move |(seconds, nanos)| {
                        let mut msg = DynamicMessage::new(m.clone());
                        msg.set_field_by_name("seconds", Value::I64(seconds));
                        msg.set_field_by_name("nanos", Value::I32(nanos));
                        Some(Value::Message(msg))
                    })
                    .boxed()
            }
            name if name.starts_with("google.protobuf.") && !crate::json::is_wrapper(name) => {
                Just(None).boxed()
            }
            _ if depth == 0 => Just(None).boxed(),
            _ => arb_message(m, depth - 1)
                .prop_map(|m| Some(Value::Message(m)))
                .boxed(),
        },
    }
}

fn arb_map_key(kind: Kind) -> BoxedStrategy<MapKey> {
    match kind {
        Kind::Bool => any::<bool>().prop_map(MapKey::Bool).boxed(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => any::<i32>().prop_map(MapKey::I32).boxed(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => any::<i64>().prop_map(MapKey::I64).boxed(),
        Kind::Uint32 | Kind::Fixed32 => any::<u32>().prop_map(MapKey::U32).boxed(),
        Kind::Uint64 | Kind::Fixed64 => any::<u64>().prop_map(MapKey::U64).boxed(),
        _ => any::<String>().prop_map(MapKey::String).boxed(),
    }
}

fn arb_field(field: &FieldDescriptor, depth: u32) -> BoxedStrategy<Option<Value>> {
    let kind = field.kind();
    if field.is_map() {
        let Some(entry) = kind.as_message() else {
            return Just(None).boxed();
        };
        let keys = arb_map_key(entry.map_entry_key_field().kind());
        let values = arb_kind(entry.map_entry_value_field().kind(), depth);
        return prop::option::of(
            prop::collection::vec((keys, values), 0..4).prop_map(|entries| {
                let map: HashMap<MapKey, Value> = entries
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, v?)))
                    .collect();
                Value::Map(map)
            }),
        )
        .boxed();
    }
    if field.is_list() {
        return prop::option::of(
            prop::collection::vec(arb_kind(kind, depth), 0..4)
                .prop_map(|items| Value::List(items.into_iter().flatten().collect())),
        )
        .boxed();
    }
    prop::option::of(arb_kind(kind, depth))
        .prop_map(Option::flatten)
        .boxed()
}

/// A message of `desc` with a random subset of its fields set.
fn arb_message(desc: MessageDescriptor, depth: u32) -> BoxedStrategy<DynamicMessage> {
    let fields: Vec<FieldDescriptor> = desc.fields().collect();
    let strategies: Vec<BoxedStrategy<Option<Value>>> =
        fields.iter().map(|f| arb_field(f, depth)).collect();
    strategies
        .prop_map(move |values| {
            let mut msg = DynamicMessage::new(desc.clone());
            for (field, value) in fields.iter().zip(values) {
                if let Some(value) = value {
                    msg.set_field(field, value);
                }
            }
            msg
        })
        .boxed()
}

/// Each request message of a pool, paired with a random instance of it.
fn arb_request(pool: &'static DescriptorPool) -> impl Strategy<Value = DynamicMessage> {
    let inputs = inputs(pool);
    let all: Vec<BoxedStrategy<DynamicMessage>> =
        inputs.into_iter().map(|d| arb_message(d, 3)).collect();
    prop::strategy::Union::new(all)
}

fn round_trip(names: &Names, msg: &DynamicMessage) -> Result<(), TestCaseError> {
    let json = message_to_json(names, msg);
    let text = json.to_string();
    let parsed: Json = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("our own JSON does not parse: {e}: {text}")))?;
    let mut back = DynamicMessage::new(msg.descriptor());
    merge_object(names, &mut back, &parsed, "")
        .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
    // Equal as messages: a proto3 field set to its default is the same
    // message as one left unset, so both are compared in canonical form.
    prop_assert_eq!(canonical(&back), canonical(msg), "through {}", text);
    Ok(())
}

/// The message as decoded from its own encoding (defaults of fields
/// without presence dropped; map order does not matter to equality).
fn canonical(msg: &DynamicMessage) -> DynamicMessage {
    use prost::Message as _;
    DynamicMessage::decode(msg.descriptor(), msg.encode_to_vec().as_slice())
        .expect("a message decodes from its own encoding")
}

proptest! {
    #![proptest_config(config(1000))]

    /// Every request message of the real API, written as REST JSON, reads
    /// back as the same message.
    #[test]
    fn wadesk_requests_round_trip_through_json(msg in arb_request(wadesk_pool())) {
        round_trip(&wadesk().names, &msg)?;
    }

    /// The same over the gateway tests' proto (maps, wrappers, timestamps,
    /// bytes, floats).
    #[test]
    fn test_proto_requests_round_trip_through_json(msg in arb_request(test_pool())) {
        static NAMES: std::sync::OnceLock<Names> = std::sync::OnceLock::new();
        let names = NAMES.get_or_init(|| Names::new(test_pool()));
        round_trip(names, &msg)?;
    }
}
