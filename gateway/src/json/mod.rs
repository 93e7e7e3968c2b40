//! JSON <-> protobuf for the REST surface, over prost-reflect dynamic messages.
//!
//! Not prost-reflect's own proto3 JSON mapping, because the REST API differs from it
//! on purpose: proto field names as keys, 64-bit integers as numbers, enum values in
//! the API's spellings (see [`Names`]), every field emitted (unset presence fields as
//! `null`). Well-known types with a special JSON form (Timestamp, Duration, Struct,
//! ...) are delegated to prost-reflect, which gets those right.

mod decode;
mod encode;
mod names;

pub(crate) use decode::{kind_from_json, merge_object, value_from_json};
pub(crate) use encode::{field_of, message_to_json};
pub(crate) use names::{FieldFlag, Names};

/// Well-known types whose JSON form prost-reflect's serde support handles.
fn is_special_wkt(full_name: &str) -> bool {
    matches!(
        full_name,
        "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.Any"
            | "google.protobuf.Empty"
    )
}

/// Wrapper types (`google.protobuf.Int64Value` ...): JSON is the bare inner value.
pub(crate) fn is_wrapper(full_name: &str) -> bool {
    matches!(
        full_name,
        "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
    )
}

/// Fields of a message in declaration order (prost-reflect iterates by number).
pub(crate) fn fields_in_order(
    desc: &prost_reflect::MessageDescriptor,
) -> Vec<prost_reflect::FieldDescriptor> {
    desc.descriptor_proto()
        .field
        .iter()
        .filter_map(|f| desc.get_field(u32::try_from(f.number()).ok()?))
        .collect()
}
