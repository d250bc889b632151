//! Helpers shared by the emulator's end-to-end tests: finding the binaries
//! other packages build, staging a function directory and a layer, and
//! running one case at a time (the machine has two cores; timing matters).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// One end-to-end case at a time per test binary: shutdown timing is what
/// these tests measure, and parallel cases on two cores would blur it.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// The `target/debug` (or release) directory this test runs from.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n == "debug" || n == "release")
        })
        .expect("the test executable is not under target/debug")
        .to_path_buf()
}

/// A binary (or example) another package builds; fails with the command that builds it.
pub fn built(relative: &str, build_command: &str) -> PathBuf {
    let path = target_dir().join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run `{build_command}` first (scripts/test.d/05-build.sh builds everything)",
        path.display()
    );
    path
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

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}
