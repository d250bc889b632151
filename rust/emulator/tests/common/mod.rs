//! Helpers shared by the emulator's end-to-end tests: finding the binaries
//! other packages build, staging a function directory and a layer, and
//! running one case at a time (the machine has two cores; timing matters).

#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// One end-to-end case at a time per test binary: shutdown timing is what
/// these tests measure, and parallel cases on two cores would blur it.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

pub use graceful_shutdown_testkit::wait::{wait_for, wait_until, DEADLINE};
pub use graceful_shutdown_testkit::{built, target_dir, PortLease};

/// The `lambda-emulator` binary: the emulator's command line lives in the
/// `gracefulctl` crate, which builds it beside `gracefulctl`.
pub fn lambda_emulator() -> PathBuf {
    built(
        "lambda-emulator",
        "cargo build -p gracefulctl --bin lambda-emulator",
    )
}

pub fn official_function() -> PathBuf {
    built(
        "official-function-fixture",
        "cargo build -p official-function-fixture",
    )
}

pub fn official_extension() -> PathBuf {
    built(
        "official-extension-fixture",
        "cargo build -p official-extension-fixture",
    )
}

/// A staged execution environment: `fn/bootstrap` and `layer/extensions/*`.
#[derive(Debug)]
pub struct Staged {
    pub dir: tempfile::TempDir,
}

impl Staged {
    /// Stages in the target directory (same file system, so binaries are
    /// hard-linked, not copied; a hard link keeps the file name the process sees).
    pub fn new() -> Staged {
        let root = target_dir().join("emulator-tests");
        std::fs::create_dir_all(&root).expect("create staging root");
        let dir = tempfile::Builder::new()
            .prefix("case")
            .tempdir_in(&root)
            .expect("tempdir");
        std::fs::create_dir_all(dir.path().join("fn")).expect("fn dir");
        std::fs::create_dir_all(dir.path().join("layer/extensions")).expect("layer dir");
        Staged { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn function_dir(&self) -> PathBuf {
        self.path().join("fn")
    }

    pub fn layer_dir(&self) -> PathBuf {
        self.path().join("layer")
    }

    pub fn bootstrap(self, binary: &Path) -> Self {
        link(binary, &self.function_dir().join("bootstrap"));
        self
    }

    pub fn extension(self, name: &str, binary: &Path) -> Self {
        link(binary, &self.layer_dir().join("extensions").join(name));
        self
    }

    /// An extension file that is a symbolic link: the process sees the target's name.
    pub fn extension_symlink(self, name: &str, binary: &Path) -> Self {
        std::os::unix::fs::symlink(binary, self.layer_dir().join("extensions").join(name))
            .expect("symlink");
        self
    }

    /// A shell-script extension.
    pub fn script_extension(self, name: &str, script: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let path = self.layer_dir().join("extensions").join(name);
        std::fs::write(&path, script).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        self
    }

    /// A fresh path for a file inside the staging directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }
}

fn link(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).expect("copy binary");
    }
}

/// A loopback port no other test is handed while this process runs
/// (below the ephemeral range the emulator's own listener draws from).
pub fn free_port() -> u16 {
    graceful_shutdown_testkit::port()
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}
