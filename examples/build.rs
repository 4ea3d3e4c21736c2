//! Generates the demos' gRPC service (`demo.proto`, see the contract's "gRPC") with tonic's
//! build tooling and a protoc vendored from crates.io: nothing to install.

fn main() {
    let protoc = protoc_bin_vendored::protoc_bin_path().expect("a vendored protoc");
    // Read by prost-build; this build script is single-threaded.
    std::env::set_var("PROTOC", protoc);
    tonic_prost_build::configure()
        .build_transport(false)
        .compile_protos(&["demo.proto"], &["."])
        .expect("compile demo.proto");
}
