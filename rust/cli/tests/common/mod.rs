//! Helpers shared by gracefulctl's integration tests.

#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The gracefulctl binary cargo built for these tests.
pub fn gracefulctl() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_gracefulctl"))
}

/// Runs gracefulctl with `args` and returns its output, whatever the status.
pub fn run(args: &[&str]) -> Output {
    gracefulctl().args(args).output().expect("run gracefulctl")
}

/// stdout of a successful run.
pub fn stdout_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "gracefulctl {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

pub use graceful_shutdown_testkit::{built, target_dir};

/// The extension binary (debug build, native architecture).
pub fn extension_binary() -> PathBuf {
    built(
        "graceful-shutdown",
        "cargo build -p graceful-shutdown-extension",
    )
}

/// The release layer binary for `arch` ("arm64" or "x86_64"), as
/// `scripts/build-layers.sh` leaves it: `<target>/lambda/<arch>/extensions/graceful-shutdown`.
pub fn layer_binary(arch: &str) -> PathBuf {
    let target = target_dir();
    let path = target
        .parent()
        .expect("the target directory")
        .join("lambda")
        .join(arch)
        .join("extensions/graceful-shutdown");
    assert!(
        path.is_file(),
        "{} is missing: run `bash scripts/build-layers.sh` first, which builds the release \
         layer binaries for both architectures (scripts/test.d/05-build.sh runs it)",
        path.display()
    );
    path
}

/// `e_machine` of a 64-bit little-endian ELF file (62 x86-64, 183 AArch64),
/// read from the header here rather than through gracefulctl's own check.
pub fn elf_machine(bytes: &[u8]) -> u16 {
    assert!(
        bytes.len() > 20 && bytes[..4] == *b"\x7fELF" && bytes[4] == 2 && bytes[5] == 1,
        "not a 64-bit little-endian ELF file"
    );
    u16::from_le_bytes([bytes[18], bytes[19]])
}

/// `e_machine` the layer binary for `arch` must have.
pub fn expected_elf_machine(arch: &str) -> u16 {
    match arch {
        "arm64" => 183,
        "x86_64" => 62,
        other => panic!("not a Lambda architecture: {other}"),
    }
}

/// A loopback port no other test is handed while this process runs (below
/// the kernel's ephemeral range the emulator's own API listener draws from),
/// clear of the ports `--port` refuses.
pub fn free_port() -> u16 {
    graceful_shutdown_testkit::port()
}

/// The architecture name of the machine the tests run on.
pub fn native_arch() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
