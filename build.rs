//! Nothing to generate: the build-dependency on protoc-bin-vendored exists only so that cargo
//! downloads a protoc for `tools/protoc` (see .cargo/config.toml).
fn main() {
    let _ = protoc_bin_vendored::include_path;
}
