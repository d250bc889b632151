//! The release layers built by `scripts/build-layers.sh` (suite 05-build)
//! run on every Lambda OS and architecture: right ELF machine, statically
//! linked (no interpreter, no shared-library needs, no glibc symbol version
//! above 2.26, the glibc of Amazon Linux 2), executable, and zipped as
//! `extensions/graceful-shutdown` with mode 0755 within the size budget.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use std::time::Duration;

use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{elf, Architecture, BinaryFormat, Endianness, Object};

/// The zipped layer must stay under this (one of the layer's targets).
const MAX_ZIP_BYTES: u64 = 400 * 1024;
/// Amazon Linux 2's glibc.
const MAX_GLIBC: (u32, u32) = (2, 26);

/// The cargo target directory: the parent of the `debug` directory that holds this test.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "debug"))
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("cannot find the target directory above {}", exe.display()))
}

fn layer(arch: &str) -> (PathBuf, PathBuf) {
    let dir = target_dir().join("lambda").join(arch);
    let binary = dir.join("extensions").join("graceful-shutdown");
    let zip = dir.join("graceful-shutdown-layer.zip");
    for p in [&binary, &zip] {
        assert!(
            p.exists(),
            "{} is missing: build the layers first with `bash scripts/build-layers.sh` (suite scripts/test.d/05-build.sh does)",
            p.display()
        );
    }
    (binary, zip)
}

/// Every `GLIBC_x.y[.z]` version named anywhere in the file.
fn glibc_versions(data: &[u8]) -> Vec<(u32, u32)> {
    let needle = b"GLIBC_";
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(pos) = data[i..].windows(needle.len()).position(|w| w == needle) {
        let start = i + pos + needle.len();
        let text: String = data[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .map(|b| char::from(*b))
            .collect();
        let mut parts = text.split('.').filter_map(|p| p.parse::<u32>().ok());
        if let (Some(major), Some(minor)) = (parts.next(), parts.next()) {
            found.push((major, minor));
        }
        i = start;
    }
    found
}

fn check(arch: &str, machine: Architecture) {
    let (binary, zip_path) = layer(arch);
    let data = fs::read(&binary).expect("read binary");

    let file = object::File::parse(&*data).expect("parse ELF");
    assert_eq!(file.format(), BinaryFormat::Elf, "{arch}");
    assert_eq!(file.architecture(), machine, "{arch}: wrong machine");
    let elf_file = ElfFile64::<Endianness>::parse(&*data).expect("ELF64");
    let endian = elf_file.endian();
    let interp = elf_file
        .elf_program_headers()
        .iter()
        .any(|ph| ph.p_type(endian) == elf::PT_INTERP);
    let header = elf_file.elf_header();
    let sections = header.sections(endian, &*data).expect("sections");
    let needed = match sections.dynamic(endian, &*data).expect("dynamic section") {
        Some((entries, _)) => entries
            .iter()
            .filter(|d| d.d_tag.get(endian) == u64::from(elf::DT_NEEDED))
            .count(),
        None => 0,
    };
    let versions = glibc_versions(&data);
    let too_new: Vec<_> = versions.iter().filter(|v| **v > MAX_GLIBC).collect();
    assert!(
        (!interp && needed == 0) || too_new.is_empty(),
        "{arch}: dynamically linked (interpreter: {interp}, {needed} shared libraries) and needs glibc {too_new:?} > 2.26"
    );
    assert!(!interp && needed == 0, "{arch}: the layer binary must be static (musl); interpreter: {interp}, needs {needed} libraries");
    assert!(
        too_new.is_empty(),
        "{arch}: glibc symbol versions above 2.26: {too_new:?}"
    );

    let mode = fs::metadata(&binary).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o755, "{arch}: binary mode");

    let zip_size = fs::metadata(&zip_path).expect("zip meta").len();
    let mut archive =
        zip::ZipArchive::new(fs::File::open(&zip_path).expect("open zip")).expect("read zip");
    let files: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("entry name").into_owned())
        .filter(|n| !n.ends_with('/'))
        .collect();
    assert_eq!(
        files,
        vec![String::from("extensions/graceful-shutdown")],
        "{arch}: zip layout"
    );
    let mut entry = archive
        .by_name("extensions/graceful-shutdown")
        .expect("entry");
    assert_eq!(
        entry.unix_mode().map(|m| m & 0o777),
        Some(0o755),
        "{arch}: mode in the zip"
    );
    let mut zipped = Vec::new();
    entry.read_to_end(&mut zipped).expect("unzip");
    assert!(
        zipped == data,
        "{arch}: the zip holds a different binary than extensions/graceful-shutdown"
    );
    println!(
        "{arch}: binary {} bytes ({:.0} KiB), zipped layer {zip_size} bytes ({:.0} KiB)",
        data.len(),
        data.len() as f64 / 1024.0,
        zip_size as f64 / 1024.0
    );
    assert!(
        zip_size <= MAX_ZIP_BYTES,
        "{arch}: zipped layer is {zip_size} bytes, budget {MAX_ZIP_BYTES}"
    );
}

#[test]
fn x86_64_layer_is_static_executable_and_small() {
    check("x86_64", Architecture::X86_64);
}

#[test]
fn arm64_layer_is_static_executable_and_small() {
    check("arm64", Architecture::Aarch64);
}

#[test]
fn the_x86_64_release_binary_runs_here() {
    if std::env::consts::ARCH != "x86_64" {
        // On an arm64 build machine the arm64 binary is the native one.
        let (binary, _) = layer("arm64");
        return run_without_lambda(&binary);
    }
    let (binary, _) = layer("x86_64");
    run_without_lambda(&binary);
}

/// The other architecture's binary runs its whole lifecycle under qemu-user
/// (Debian's `qemu-user-static`, which scripts/setup.sh installs): it
/// registers for SHUTDOWN only, waits for events, logs its verdict and exits 0.
#[test]
fn the_other_architectures_release_binary_runs_its_lifecycle_under_qemu() {
    let (arch, qemu) = if std::env::consts::ARCH == "x86_64" {
        ("arm64", "qemu-aarch64-static")
    } else {
        ("x86_64", "qemu-x86_64-static")
    };
    let (binary, _) = layer(arch);
    let runner = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(qemu))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{qemu} is not on PATH: install it with `apt-get install qemu-user-static` (scripts/setup.sh does)")
        });
    let mut run = support::Run::start_binary(
        &binary,
        support::Options {
            runner: Some(runner),
            ..support::Options::default()
        },
    );
    let register = run.registered();
    assert_eq!(
        register.body, r#"{"events":["SHUTDOWN"]}"#,
        "{arch} register body"
    );
    run.waiting_for_events();
    run.shutdown("spindown", support::now_ms() + 1500);
    let exit = run.exit(Duration::from_secs(20));
    assert_eq!(
        exit.status.code(),
        Some(0),
        "{arch} under {qemu}: {}",
        exit.stdout
    );
    assert_eq!(
        exit.verdict_line(),
        "graceful-shutdown verdict: outcome=no_report reason=spindown handlers=0/0 -- no function ever reported: \
         the function library is not in use, or the function died before reporting"
    );
}

/// Started outside Lambda, the static binary runs, says why it cannot go on, and exits 1.
fn run_without_lambda(binary: &Path) {
    let out = Command::new(binary)
        .env_clear()
        .output()
        .expect("run the release binary");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("AWS_LAMBDA_RUNTIME_API is not set"),
        "{stdout}"
    );
}

/// `VmRSS` or `VmHWM` of `pid`, in KiB.
fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .and_then(|v| v.trim_start_matches(':').trim().strip_suffix("kB"))
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

#[test]
fn the_release_binary_reaches_event_next_and_stays_small() {
    let arch = if std::env::consts::ARCH == "x86_64" {
        "x86_64"
    } else {
        "arm64"
    };
    let (binary, _) = layer(arch);
    let mut run = support::Run::start_binary(&binary, support::Options::default());
    let register = run.registered();
    run.waiting_for_events();
    let to_register = register.at.duration_since(run.started);
    let next = run
        .api
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/event/next"))
        .expect("event/next");
    let to_next = next.at.duration_since(run.started);
    std::thread::sleep(Duration::from_millis(20));
    let rss = proc_kib(run.pid(), "VmRSS");
    let hwm = proc_kib(run.pid(), "VmHWM");
    println!(
        "{arch} release binary: spawn to /register {to_register:?}, to /event/next {to_next:?}, RSS {rss} KiB (peak {hwm} KiB)"
    );
    run.shutdown("spindown", support::now_ms() + 1500);
    let exit = run.exit(Duration::from_secs(10));
    assert_eq!(exit.status.code(), Some(0));
    exit.verdict_line();
    // Target: 2 MiB. The start-up time is printed above, not asserted: it is
    // measured by the benchmark (bench/), where a busy machine cannot fail a test.
    assert!(hwm <= 2048, "peak RSS {hwm} KiB, target 2 MiB");
}

#[test]
fn glibc_version_scan_finds_versions() {
    assert_eq!(
        glibc_versions(b"xGLIBC_2.17\0GLIBC_2.28\0GLIBC_PRIVATE\0GLIBC_2.2.5"),
        vec![(2, 17), (2, 28), (2, 2)]
    );
}
