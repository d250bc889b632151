//! A CPU quota for processes under test, as Lambda gives a function CPU in
//! proportion to its memory (about 7 % of a core at 128 MB): a cgroup of the
//! cgroup v1 `cpu` controller, with a unique name, removed on drop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where the cgroup v1 `cpu` controller is mounted.
pub const CPU_CONTROLLER: &str = "/sys/fs/cgroup/cpu";

/// A cgroup with a CPU quota. Processes added to it (and the threads and
/// children they start) share `quota_us` of CPU time per `period_us`.
#[derive(Debug)]
pub struct CpuQuota {
    dir: PathBuf,
}

impl CpuQuota {
    /// Whether this machine lets us create cpu cgroups (root, cgroup v1).
    pub fn available() -> Result<(), String> {
        let quota = Path::new(CPU_CONTROLLER).join("cpu.cfs_quota_us");
        if !quota.is_file() {
            return Err(format!(
                "{} does not exist: no cgroup v1 cpu controller is mounted at {CPU_CONTROLLER}",
                quota.display()
            ));
        }
        let probe = CpuQuota::create(100_000, 100_000)?;
        drop(probe);
        Ok(())
    }

    /// A new cgroup with `quota_us` of CPU time per `period_us`.
    pub fn create(quota_us: u64, period_us: u64) -> Result<CpuQuota, String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "graceful-shutdown-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let dir = Path::new(CPU_CONTROLLER).join(name);
        std::fs::create_dir(&dir).map_err(|e| {
            format!(
                "cannot create the cgroup {}: {e} (root is needed)",
                dir.display()
            )
        })?;
        let group = CpuQuota { dir };
        group.write("cpu.cfs_period_us", &period_us.to_string())?;
        group.write("cpu.cfs_quota_us", &quota_us.to_string())?;
        Ok(group)
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        let path = self.dir.join(file);
        std::fs::write(&path, value)
            .map_err(|e| format!("cannot write {value} to {}: {e}", path.display()))
    }

    /// Move process `pid` (all its threads) into the group.
    pub fn add(&self, pid: u32) -> Result<(), String> {
        self.write("cgroup.procs", &pid.to_string())
    }

    /// The processes in the group now.
    pub fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// How often the quota held the group back so far, from `cpu.stat`:
    /// (periods throttled, total time throttled in ns).
    pub fn throttled(&self) -> (u64, u64) {
        let stat = std::fs::read_to_string(self.dir.join("cpu.stat")).unwrap_or_default();
        let field = |name: &str| {
            stat.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or(0)
        };
        (field("nr_throttled "), field("throttled_time "))
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for CpuQuota {
    fn drop(&mut self) {
        // A cgroup with processes cannot be removed: hand them back to the root.
        let root = Path::new(CPU_CONTROLLER).join("cgroup.procs");
        for pid in self.pids() {
            let _ = std::fs::write(&root, pid.to_string());
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_is_set_joined_and_removed() {
        if let Err(why) = CpuQuota::available() {
            panic!("this suite needs a writable cgroup v1 cpu controller (root): {why}");
        }
        let group = CpuQuota::create(7_000, 100_000).expect("cgroup");
        let read = |f: &str| {
            std::fs::read_to_string(group.path().join(f))
                .expect("read")
                .trim()
                .to_owned()
        };
        assert_eq!(read("cpu.cfs_quota_us"), "7000");
        assert_eq!(read("cpu.cfs_period_us"), "100000");
        let mut child = std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .expect("sleep");
        group.add(child.id()).expect("add");
        assert_eq!(group.pids(), [child.id()]);
        let dir = group.path().to_owned();
        drop(group);
        assert!(!dir.exists(), "removed on drop, even with a process in it");
        let _ = child.kill();
        let _ = child.wait();
    }
}
