//! Ad-hoc check of the project's own protos (proto/wadesk/v1), which live outside this
//! crate and change independently: `cargo test -p wadesk-gateway --test real_protos --
//! --ignored --nocapture`. Set GATEWAY_OPENAPI_OUT to also write the OpenAPI document.

use std::path::Path;

#[test]
#[ignore]
fn wadesk_protos_make_a_gateway() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let mut files: Vec<String> = std::fs::read_dir(root.join("wadesk/v1"))
        .expect("proto/wadesk/v1")
        .filter_map(|e| Some(format!("wadesk/v1/{}", e.ok()?.file_name().to_str()?)))
        .filter(|f| f.ends_with(".proto"))
        .collect();
    files.sort();
    let mut compiler = protox::Compiler::new([&root]).expect("include path");
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(&files).expect("protos compile");
    let pool =
        prost_reflect::DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice())
            .expect("descriptor set decodes");
    let gateway = wadesk_gateway::Gateway::new(pool).expect("rules are valid");
    let bindings = gateway.bindings();
    assert!(!bindings.is_empty());
    for b in bindings {
        println!(
            "{} {} -> {} body={:?} stream={}",
            b.http_method, b.path, b.grpc_method, b.body, b.server_streaming
        );
    }
    if let Ok(path) = std::env::var("GATEWAY_OPENAPI_OUT") {
        let doc = gateway.openapi("wadesk", env!("CARGO_PKG_VERSION"));
        std::fs::write(path, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
    }
}
