//! Schema migrations, written with sea-query builders so the same code creates
//! the tables on SQLite and PostgreSQL: blobs are `blob`/`bytea`, times and ids
//! are `bigint` (unix seconds; `u32` ids fit without sign tricks).
//!
//! The main crate appends [`migrations`] to its own Migrator list; the names
//! start with `m1000_wastore_` so they sort after the main crate's own.
//! [`Migrator`] runs them alone (tests, tools) and keeps its bookkeeping in a
//! table of its own, so it never trips over the main crate's migration list.
//! Tables and indexes are created `IF NOT EXISTS`, so running both is harmless.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_query::{ColumnDef, Index, Table, TableCreateStatement};

use crate::schema::*;

/// The migrations of this crate, in order, for the main crate's Migrator.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(CreateTables)]
}

/// Runs only this crate's migrations (tests and standalone use).
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        migrations()
    }

    /// A bookkeeping table of its own: sharing `seaql_migrations` with the
    /// main crate would make each Migrator see the other's rows as missing files.
    fn migration_table_name() -> DynIden {
        "wastore_seaql_migrations".into_iden()
    }
}

/// Creates every table of the first schema version.
pub struct CreateTables;

impl MigrationName for CreateTables {
    fn name(&self) -> &str {
        "m1000_wastore_000001_create_tables"
    }
}

/// Column types used by the schema.
#[derive(Clone, Copy)]
enum Ty {
    Text,
    Blob,
    BigInt,
    Bool,
}

/// `(name, type, nullable)`.
type Col = (&'static str, Ty, bool);

const fn req(name: &'static str, ty: Ty) -> Col {
    (name, ty, false)
}

const fn opt(name: &'static str, ty: Ty) -> Col {
    (name, ty, true)
}

/// Builds a table whose primary key is `phone_id` followed by `key`.
fn table(name: &'static str, key: &[Col], rest: &[Col]) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(name).if_not_exists();
    let mut pk = Index::create();
    for &(col, ty, nullable) in std::iter::once(&req(PHONE_ID, Ty::Text))
        .chain(key)
        .chain(rest)
    {
        let mut def = ColumnDef::new(col);
        match ty {
            Ty::Text => def.text(),
            Ty::Blob => def.blob(),
            Ty::BigInt => def.big_integer(),
            Ty::Bool => def.boolean(),
        };
        if nullable {
            def.null();
        } else {
            def.not_null();
        }
        t.col(def);
    }
    for &(col, _, _) in std::iter::once(&req(PHONE_ID, Ty::Text)).chain(key) {
        pk.col(col);
    }
    t.primary_key(&mut pk);
    t.to_owned()
}

/// Every table of the schema. Key columns first; see `schema` for meanings.
fn tables() -> Vec<TableCreateStatement> {
    use Ty::*;
    vec![
        table(
            identity::TABLE,
            &[req(identity::ADDRESS, Text)],
            &[req(identity::IDENTITY_KEY, Blob)],
        ),
        table(
            session::TABLE,
            &[req(session::ADDRESS, Text)],
            &[req(session::RECORD, Blob)],
        ),
        table(
            prekey::TABLE,
            &[req(prekey::PREKEY_ID, BigInt)],
            &[req(prekey::RECORD, Blob), req(prekey::UPLOADED, Bool)],
        ),
        table(
            signed_prekey::TABLE,
            &[req(signed_prekey::PREKEY_ID, BigInt)],
            &[req(signed_prekey::RECORD, Blob)],
        ),
        table(
            sender_key::TABLE,
            &[req(sender_key::ADDRESS, Text)],
            &[req(sender_key::RECORD, Blob)],
        ),
        table(
            sync_key::TABLE,
            &[req(sync_key::KEY_ID, Blob)],
            &[
                req(sync_key::KEY_DATA, Blob),
                req(sync_key::FINGERPRINT, Blob),
                req(sync_key::KEY_TIMESTAMP, BigInt),
            ],
        ),
        table(
            app_state_version::TABLE,
            &[req(app_state_version::COLLECTION, Text)],
            &[
                req(app_state_version::VERSION, BigInt),
                req(app_state_version::STATE, Blob),
            ],
        ),
        table(
            mutation_mac::TABLE,
            &[
                req(mutation_mac::COLLECTION, Text),
                req(mutation_mac::INDEX_MAC, Blob),
            ],
            &[
                req(mutation_mac::VALUE_MAC, Blob),
                req(mutation_mac::VERSION, BigInt),
            ],
        ),
        table(
            sender_key_device::TABLE,
            &[
                req(sender_key_device::GROUP_JID, Text),
                req(sender_key_device::DEVICE_JID, Text),
            ],
            &[req(sender_key_device::HAS_KEY, Bool)],
        ),
        table(
            lid_mapping::TABLE,
            &[req(lid_mapping::LID, Text)],
            &[
                req(lid_mapping::PHONE_NUMBER, Text),
                req(lid_mapping::CREATED_AT, BigInt),
                req(lid_mapping::UPDATED_AT, BigInt),
                req(lid_mapping::LEARNING_SOURCE, Text),
            ],
        ),
        table(
            base_key::TABLE,
            &[
                req(base_key::ADDRESS, Text),
                req(base_key::MESSAGE_ID, Text),
            ],
            &[req(base_key::BASE_KEY, Blob)],
        ),
        table(
            device_list::TABLE,
            &[req(device_list::USER_ID, Text)],
            &[
                req(device_list::DEVICES, Blob),
                req(device_list::LIST_TIMESTAMP, BigInt),
                opt(device_list::PHASH, Text),
                opt(device_list::RAW_ID, BigInt),
            ],
        ),
        table(
            group_metadata::TABLE,
            &[req(group_metadata::GROUP_JID, Text)],
            &[req(group_metadata::METADATA, Blob)],
        ),
        table(
            tc_token::TABLE,
            &[req(tc_token::JID, Text)],
            &[
                req(tc_token::TOKEN, Blob),
                req(tc_token::TOKEN_TIMESTAMP, BigInt),
                opt(tc_token::SENDER_TIMESTAMP, BigInt),
            ],
        ),
        table(
            sent_message::TABLE,
            &[
                req(sent_message::CHAT_JID, Text),
                req(sent_message::MESSAGE_ID, Text),
            ],
            &[
                req(sent_message::PAYLOAD, Blob),
                req(sent_message::CREATED_AT, BigInt),
            ],
        ),
        table(
            pending_inbound::TABLE,
            &[
                req(pending_inbound::CHAT_JID, Text),
                req(pending_inbound::SENDER_JID, Text),
                req(pending_inbound::MESSAGE_ID, Text),
            ],
            &[
                req(pending_inbound::MESSAGE, Blob),
                req(pending_inbound::CREATED_AT, BigInt),
            ],
        ),
        table(
            msg_secret::TABLE,
            &[
                req(msg_secret::CHAT_JID, Text),
                req(msg_secret::SENDER_JID, Text),
                req(msg_secret::MESSAGE_ID, Text),
            ],
            &[
                req(msg_secret::SECRET, Blob),
                req(msg_secret::EXPIRES_AT, BigInt),
                req(msg_secret::MESSAGE_TS, BigInt),
            ],
        ),
        table(
            device::TABLE,
            &[],
            &[
                req(device::DEVICE_ID, BigInt),
                req(device::DATA, Blob),
                req(device::UPDATED_AT, BigInt),
            ],
        ),
        table(
            meta::TABLE,
            &[req(meta::META_KEY, Text)],
            &[req(meta::META_VALUE, Blob)],
        ),
    ]
}

/// Secondary indexes: `(name, table, columns after phone_id)`. They serve the
/// lookups that are not by primary key: pn -> lid, device rows across groups,
/// and the expiry sweeps.
const INDEXES: &[(&str, &str, &[&str])] = &[
    (
        "wastore_lid_mapping_pn",
        lid_mapping::TABLE,
        &[lid_mapping::PHONE_NUMBER],
    ),
    (
        "wastore_sender_key_device_device",
        sender_key_device::TABLE,
        &[sender_key_device::DEVICE_JID],
    ),
    (
        "wastore_sent_message_created",
        sent_message::TABLE,
        &[sent_message::CREATED_AT],
    ),
    (
        "wastore_pending_inbound_created",
        pending_inbound::TABLE,
        &[pending_inbound::CREATED_AT],
    ),
    (
        "wastore_msg_secret_expires",
        msg_secret::TABLE,
        &[msg_secret::EXPIRES_AT],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for CreateTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in tables() {
            manager.create_table(t).await?;
        }
        for &(name, table, cols) in INDEXES {
            let mut idx = Index::create();
            idx.name(name).table(table).col(PHONE_ID).if_not_exists();
            for &c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for &t in ALL_TABLES.iter().rev() {
            manager
                .drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
