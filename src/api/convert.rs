//! Storage rows to protobuf messages.

use crate::{
    proto::{self, PhoneStatus, Plan},
    store::entity::phone,
};

pub fn phone_status(status: &str) -> PhoneStatus {
    PhoneStatus::from_str_name(&format!("PHONE_STATUS_{}", status.to_ascii_uppercase()))
        .unwrap_or(PhoneStatus::Unspecified)
}

pub fn plan(plan: &str) -> Plan {
    Plan::from_str_name(&format!("PLAN_{}", plan.to_ascii_uppercase())).unwrap_or(Plan::Unspecified)
}

pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

impl From<&phone::Model> for proto::Phone {
    fn from(p: &phone::Model) -> Self {
        proto::Phone {
            phone_id: p.id.clone(),
            number: p.number.clone(),
            name: p.name.clone(),
            status: phone_status(&p.status) as i32,
            plan: plan(&p.plan) as i32,
        }
    }
}

/// JSON to google.protobuf.Struct (events' data).
pub fn json_struct(value: serde_json::Value) -> prost_types::Struct {
    match json_value(value).kind {
        Some(prost_types::value::Kind::StructValue(s)) => s,
        _ => prost_types::Struct::default(),
    }
}

fn json_value(value: serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    use serde_json::Value as J;
    let kind = match value {
        J::Null => Kind::NullValue(0),
        J::Bool(b) => Kind::BoolValue(b),
        J::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        J::String(s) => Kind::StringValue(s),
        J::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_value).collect(),
        }),
        J::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map.into_iter().map(|(k, v)| (k, json_value(v))).collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}
