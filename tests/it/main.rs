//! Integration tests, in one binary so they link once.

mod support;

mod auth;
mod bot;
mod bulk;
mod events;
mod featureless;
mod fuzz_api;
mod grpc;
mod health;
mod limits;
mod phones;
mod process;
mod rest;
mod send;
mod shutdown;
mod webhooks;
