//! Property-based fuzzing of the gateway's hand-written parsers: the path
//! template matcher and the JSON -> protobuf decoding (issue 18).
//!
//! cargo-fuzz needs a nightly toolchain, which CI does not have, so these are
//! proptest harnesses in the ordinary test suite: a fixed number of cases per
//! property (a short run in CI), more with `PROPTEST_CASES=100000 cargo test
//! -p wadesk-gateway --lib fuzz`. A failure proptest finds is written to
//! `gateway/proptest-regressions/` (committed, replayed first on every run),
//! and each one becomes a named test with its fixed input.

mod json;
mod template;

use std::path::Path;
use std::sync::OnceLock;

use proptest::test_runner::Config;
use prost_reflect::DescriptorPool;

/// `cases` per property, unless PROPTEST_CASES says otherwise.
pub(crate) fn config(cases: u32) -> Config {
    let from_env = std::env::var("PROPTEST_CASES").is_ok();
    Config {
        cases: if from_env {
            Config::default().cases
        } else {
            cases
        },
        // Shrinking stops after this many steps rather than running long.
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

fn compile(includes: &[&str], files: &[String]) -> DescriptorPool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut compiler =
        protox::Compiler::new(includes.iter().map(|i| root.join(i))).expect("include paths");
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(files).expect("protos compile");
    DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice())
        .expect("descriptor set decodes")
}

/// The real API's descriptors: every file of proto/wadesk/v1, as the
/// wadesk build compiles them.
pub(crate) fn wadesk_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto/wadesk/v1");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("proto/wadesk/v1")
            .filter_map(|e| Some(format!("wadesk/v1/{}", e.ok()?.file_name().to_str()?)))
            .filter(|f| f.ends_with(".proto"))
            .collect();
        files.sort();
        compile(&["../proto"], &files)
    })
}

/// The gateway tests' own proto: maps, wrappers, timestamps, bytes and
/// floats that the real API does not (yet) use.
pub(crate) fn test_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        compile(
            &["tests/proto", "../proto"],
            &["gwtest/v1/test.proto".to_owned()],
        )
    })
}
