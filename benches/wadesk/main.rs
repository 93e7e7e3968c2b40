//! wadesk's benchmark program: each row runs the real `wadesk serve` binary as
//! a child process against the protocol simulator in this process, on
//! loopback only, and prints what it measured, beside a baseline measured in
//! the same invocation. Nothing here asserts a number.
//!
//! ```text
//! cargo bench --bench wadesk                      # every row
//! cargo bench --bench wadesk -- phones            # one row
//! cargo bench --bench wadesk -- phones --phones 100
//! cargo bench --bench wadesk -- coldstart --linked 1000
//! ```
//!
//! Results and the machine they were measured on: docs/benchmarks.md.

mod bulk;
mod coldstart;
mod fanout;
mod gateway;
mod group;
mod grpc;
mod http;
mod load;
mod phones;
mod send;
mod webhook;

use anyhow::{Context, bail};

/// Every row, in the order they run by default.
const ROWS: &[&str] = &[
    "phones",
    "bulk",
    "webhook",
    "fanout",
    "http",
    "grpc",
    "coldstart",
    "send",
    "group-send",
];

struct Options {
    rows: Vec<String>,
    /// Phones to link in the `phones` row (`--phones`, or WADESK_BENCH_PHONES).
    phones: usize,
    /// Phones linked before the second start of the `coldstart` row (`--linked`).
    linked: usize,
}

fn number(arg: Option<String>, what: &str) -> anyhow::Result<usize> {
    arg.with_context(|| format!("{what} needs a number"))?
        .parse()
        .with_context(|| format!("{what} needs a number"))
}

fn options() -> anyhow::Result<Options> {
    let mut phones = match std::env::var("WADESK_BENCH_PHONES") {
        Ok(n) => n.parse().context("WADESK_BENCH_PHONES is a number")?,
        Err(_) => 50,
    };
    let mut linked = 1000;
    let mut rows = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "--phones" => phones = number(args.next(), "--phones")?,
            "--linked" => linked = number(args.next(), "--linked")?,
            "-h" | "--help" => {
                println!(
                    "usage: cargo bench --bench wadesk -- [ROW...] [--phones N] [--linked N]\nrows: {}",
                    ROWS.join(", ")
                );
                std::process::exit(0);
            }
            row if ROWS.contains(&row) => rows.push(row.to_owned()),
            other => bail!("unknown row or option {other:?}; rows: {}", ROWS.join(", ")),
        }
    }
    if rows.is_empty() {
        rows = ROWS.iter().map(|r| (*r).to_owned()).collect();
    }
    if phones == 0 {
        bail!("--phones must be at least 1");
    }
    Ok(Options {
        rows,
        phones,
        linked,
    })
}

fn main() -> anyhow::Result<()> {
    let options = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for row in &options.rows {
            match row.as_str() {
                "phones" => phones::run(options.phones).await?,
                "bulk" => bulk::run().await?,
                "webhook" => webhook::run().await?,
                "fanout" => fanout::run().await?,
                "http" => http::run().await?,
                "grpc" => grpc::run().await?,
                "coldstart" => coldstart::run(options.linked).await?,
                "send" => send::run().await?,
                "group-send" => group::run().await?,
                other => bail!("row {other} has no runner"),
            }
        }
        Ok(())
    })
}
