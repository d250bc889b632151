//! The per-environment secret: 32 random bytes, hex-encoded, written to a
//! mode-0600 file that only processes of the same environment can read. A
//! report counts only if it carries this value.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The secret value. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the system random source failed: {0}")]
    Random(String),
    #[error("cannot write the secret file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Secret {
    /// 32 fresh bytes from the operating system, as 64 lower-case hex digits.
    pub fn generate() -> Result<Secret, SecretError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
        Ok(Secret(hex(&bytes)))
    }

    /// A given value (tests).
    #[cfg(test)]
    pub fn from_value(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Does `candidate` equal the secret? Takes the same time wherever the
    /// first difference is, so that timing tells an attacker nothing.
    /// (Eight lines; not worth a dependency.)
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        if candidate.len() != expected.len() {
            // The length (64) is public; only the content is secret.
            return false;
        }
        let mut diff = 0u8;
        for (a, b) in expected.iter().zip(candidate) {
            diff |= a ^ b;
        }
        std::hint::black_box(diff) == 0
    }

    /// Write the secret to `path` with mode 0600: first to a temporary file
    /// in the same directory, then renamed over `path`, so that a reader sees
    /// either the old file or the whole new one, never a partial write.
    pub fn write_to(&self, path: &Path) -> Result<(), SecretError> {
        let err = |source| SecretError::Write {
            path: path.to_owned(),
            source,
        };
        let mut tmp_name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        tmp_name.push(format!(".tmp.{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        // A stale temporary file from an earlier process with the same pid.
        let _ = fs::remove_file(&tmp);
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            // No fsync: the file lives as long as the environment, and a
            // reader only needs the rename to be atomic.
            file.write_all(self.0.as_bytes())?;
            fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(err)
    }
}

/// Remove the secret file at the end of the environment, so that a function
/// started later without the extension (a local run, say) does not find a
/// stale secret and believe the extension is there. Best effort.
pub fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secrets_are_64_hex_digits_and_fresh() {
        let a = Secret::generate().expect("random");
        let b = Secret::generate().expect("random");
        assert_eq!(a.as_str().len(), 64);
        assert!(a
            .as_str()
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Secret(..)");
    }

    #[test]
    fn matches_only_the_exact_value() {
        let s = Secret::from_value("ab".repeat(32));
        assert!(s.matches("ab".repeat(32).as_bytes()));
        assert!(!s.matches("ab".repeat(31).as_bytes()));
        assert!(!s.matches(format!("{}ac", "ab".repeat(31)).as_bytes()));
        assert!(!s.matches(b""));
        assert!(!s.matches("AB".repeat(32).as_bytes()));
    }

    #[test]
    fn file_is_0600_and_replaces_an_old_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        fs::write(&path, "old").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let s = Secret::generate().expect("random");
        s.write_to(&path).expect("written");
        assert_eq!(fs::read_to_string(&path).expect("read"), s.as_str());
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        remove(&path);
        assert!(!path.exists());
    }

    #[test]
    fn unwritable_path_is_an_error_naming_it() {
        let err = Secret::generate()
            .expect("random")
            .write_to(Path::new("/nonexistent-dir/x/secret"))
            .expect_err("cannot write");
        assert!(
            err.to_string().contains("/nonexistent-dir/x/secret"),
            "{err}"
        );
    }
}
