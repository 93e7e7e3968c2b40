//! Portable migrations (SQLite and PostgreSQL), run at start-up and by
//! `wadesk migrate`, one file per migration. Never edit a migration that has
//! shipped: add one.

mod m0001_spine;
mod m0002_events;
mod m0003_messages;
mod m0004_media;
mod m0005_inbound;
mod m0006_webhooks;
mod m0007_bulk;
mod m0008_bot;
mod m0009_idempotency;
mod m0010_console;
mod m0011_replies;
mod m0012_edits;
mod m0013_read;
mod m0014_details;
mod m0015_uploads;
mod m0016_calls;
pub(crate) mod m0017_group_recipients;
pub(crate) mod m0018_receipts;

use sea_orm_migration::prelude::*;

use m0001_spine::M0001Spine;
use m0002_events::M0002Events;
use m0003_messages::M0003Messages;
use m0004_media::M0004Media;
use m0005_inbound::M0005Inbound;
use m0006_webhooks::M0006Webhooks;
use m0007_bulk::M0007Bulk;
use m0008_bot::M0008Bot;
use m0009_idempotency::M0009Idempotency;
use m0010_console::M0010Console;
use m0011_replies::M0011Replies;
use m0012_edits::M0012Edits;
use m0013_read::M0013Read;
use m0014_details::M0014Details;
use m0015_uploads::M0015Uploads;
use m0016_calls::M0016Calls;
use m0017_group_recipients::M0017GroupRecipients;
use m0018_receipts::M0018Receipts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all: Vec<Box<dyn MigrationTrait>> = vec![
            Box::new(M0001Spine),
            Box::new(M0002Events),
            Box::new(M0003Messages),
            Box::new(M0004Media),
            Box::new(M0005Inbound),
            Box::new(M0006Webhooks),
            Box::new(M0007Bulk),
            Box::new(M0008Bot),
            Box::new(M0009Idempotency),
            Box::new(M0010Console),
            Box::new(M0011Replies),
            Box::new(M0012Edits),
            Box::new(M0013Read),
            Box::new(M0014Details),
            Box::new(M0015Uploads),
            Box::new(M0016Calls),
            Box::new(M0017GroupRecipients),
            Box::new(M0018Receipts),
        ];
        // whatsapp-rust's session keys, one database with everything else.
        all.extend(wadesk_wastore::migrations());
        all
    }
}
