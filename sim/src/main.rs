//! `wadesk-sim`: the WhatsApp protocol simulator as a program of its own. A
//! gateway built with `--features sim` runs the same as `wadesk sim`.

use std::process::ExitCode;

/// Log records to stderr, at the level named by `RUST_LOG` (`error`, `warn`,
/// `info`, `debug`, `trace` or `off`; default `info`).
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "{:5} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLog = StderrLog;

#[tokio::main]
async fn main() -> ExitCode {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<log::LevelFilter>().ok())
        .unwrap_or(log::LevelFilter::Info);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
    let opts = match wadesk_sim::standalone::Options::from_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::from(2);
        }
    };
    match wadesk_sim::standalone::run(opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wadesk-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}
