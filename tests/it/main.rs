//! Integration tests, in one binary so they link once.

mod support;

mod accounts;
mod auth;
mod bot;
mod bulk;
mod chaos;
mod console;
mod contacts;
mod conversation;
mod events;
mod featureless;
mod fuzz_api;
mod groups;
mod grpc;
mod health;
mod input_limits;
mod limits;
mod metrics;
mod phones;
mod process;
mod request_id;
mod rest;
mod send;
mod shutdown;
mod ssrf;
mod tenants;
mod webhooks;
