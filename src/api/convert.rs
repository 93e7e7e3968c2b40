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
