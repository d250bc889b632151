//! Where cargo put the binaries a test runs.

use std::path::{Path, PathBuf};

/// The cargo profile directory (`target/debug`, `target/release`, ...) the
/// running executable lives in: a test binary sits in `<profile>/deps`, a
/// binary (the bench harness) in `<profile>` itself.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    profile_dir_of(&exe).unwrap_or_else(|| {
        panic!(
            "{} is not inside a cargo target directory (<target>/<profile>/deps or <target>/<profile>)",
            exe.display()
        )
    })
}

fn profile_dir_of(exe: &Path) -> Option<PathBuf> {
    let dir = exe.parent()?;
    if dir
        .file_name()
        .is_some_and(|n| n == "deps" || n == "examples")
    {
        return dir.parent().map(Path::to_path_buf);
    }
    Some(dir.to_path_buf())
}

/// A file another package builds into the same profile directory (a binary,
/// `examples/<name>`), or a failure naming the command that builds it.
pub fn built(relative: &str, build_command: &str) -> PathBuf {
    let path = target_dir().join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run `{build_command}` first (scripts/test.d/05-build.sh builds everything)",
        path.display()
    );
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_dir_of_tests_examples_and_binaries() {
        assert_eq!(
            profile_dir_of(Path::new("/r/target/debug/deps/shutdown-0123")),
            Some(PathBuf::from("/r/target/debug"))
        );
        assert_eq!(
            profile_dir_of(Path::new("/r/target/debug/examples/probe")),
            Some(PathBuf::from("/r/target/debug"))
        );
        assert_eq!(
            profile_dir_of(Path::new("/r/target/bench-harness/graceful-shutdown-bench")),
            Some(PathBuf::from("/r/target/bench-harness"))
        );
        assert!(target_dir().join("deps").is_dir());
    }
}
