//! Per-environment cgroups (v1): the freezer, to freeze an idle environment as
//! Lambda does, and the CPU controller, to give it the CPU share of its
//! memory size. Each environment gets its own group in each controller, named
//! `lambda-emulator-<pid>-<counter>`; the processes move themselves in before
//! they run anything (see `process::Child::spawn`), so their children are in
//! it too. The groups are removed when this value is dropped, whatever
//! happened; groups left by an emulator that was killed are removed the next
//! time one starts.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where the cgroup v1 hierarchies are mounted.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
const PREFIX: &str = "lambda-emulator-";
/// The CPU quota's period (cgroup v1 `cpu.cfs_period_us`).
pub const CPU_PERIOD_US: u64 = 100_000;
/// The kernel refuses quotas under 1 ms.
const MIN_QUOTA_US: u64 = 1_000;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// One cgroup of one controller.
#[derive(Debug)]
struct Group {
    dir: PathBuf,
    /// `cgroup.procs`, open for writing: a starting process writes `0` to it.
    procs: File,
}

impl Group {
    fn create(controller: &str, name: &str) -> std::io::Result<Group> {
        let dir = Path::new(CGROUP_ROOT).join(controller).join(name);
        std::fs::create_dir(&dir)?;
        match OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))
        {
            Ok(procs) => Ok(Group { dir, procs }),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    fn write(&self, file: &str, value: &str) -> std::io::Result<()> {
        std::fs::write(self.dir.join(file), value)
    }

    fn read(&self, file: &str) -> std::io::Result<String> {
        std::fs::read_to_string(self.dir.join(file)).map(|s| s.trim().to_owned())
    }
}

/// The environment's cgroups.
#[derive(Debug, Default)]
pub struct Cgroups {
    freezer: Option<Group>,
    cpu: Option<Group>,
    /// Why a controller is not used (for the timeline).
    pub notes: Vec<String>,
}

impl Cgroups {
    /// Creates the groups asked for, where the hierarchy is writable.
    /// `cpu_share` is a fraction of one vCPU. What could not be set up is
    /// said in `notes`; nothing here fails the run.
    pub fn create(freezer: bool, cpu_share: Option<f64>) -> Cgroups {
        let mut groups = Cgroups::default();
        if !freezer && cpu_share.is_none() {
            return groups;
        }
        remove_stale();
        let name = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        if freezer {
            match Group::create("freezer", &name) {
                Ok(g) => groups.freezer = Some(g),
                Err(e) => groups.notes.push(format!(
                    "the cgroup freezer is not writable here ({}: {e})",
                    Path::new(CGROUP_ROOT).join("freezer").display()
                )),
            }
        }
        if let Some(share) = cpu_share {
            let quota = ((share * CPU_PERIOD_US as f64).round() as u64).max(MIN_QUOTA_US);
            let made = Group::create("cpu", &name).and_then(|g| {
                g.write("cpu.cfs_period_us", &CPU_PERIOD_US.to_string())?;
                g.write("cpu.cfs_quota_us", &quota.to_string())?;
                Ok(g)
            });
            match made {
                Ok(g) => groups.cpu = Some(g),
                Err(e) => {
                    let _ = std::fs::remove_dir(Path::new(CGROUP_ROOT).join("cpu").join(&name));
                    groups.notes.push(format!(
                        "CPU share not applied: the cgroup cpu controller is not writable here ({}: {e}); \
                         the processes run unthrottled",
                        Path::new(CGROUP_ROOT).join("cpu").display()
                    ))
                }
            }
        }
        groups
    }

    /// The `cgroup.procs` descriptors a new process writes itself into.
    pub fn join_fds(&self) -> Vec<RawFd> {
        self.freezer
            .iter()
            .chain(self.cpu.iter())
            .map(|g| g.procs.as_raw_fd())
            .collect()
    }

    /// The processes in the freezer group.
    pub fn frozen_pids(&self) -> Vec<i32> {
        self.freezer
            .as_ref()
            .map(|g| pids_in(&g.dir))
            .unwrap_or_default()
    }

    /// The processes in the environment's groups (freezer, else CPU): every
    /// process the environment started, whatever process group it moved to.
    /// None when the environment has no group.
    pub fn member_pids(&self) -> Option<Vec<i32>> {
        self.freezer
            .as_ref()
            .or(self.cpu.as_ref())
            .map(|g| pids_in(&g.dir))
    }

    /// The freezer group's name, if there is one.
    pub fn freezer_dir(&self) -> Option<&Path> {
        self.freezer.as_ref().map(|g| g.dir.as_path())
    }

    /// The CPU group's directory and quota, if the share is applied.
    pub fn cpu_quota(&self) -> Option<(&Path, u64)> {
        let g = self.cpu.as_ref()?;
        let quota = g.read("cpu.cfs_quota_us").ok()?.parse().ok()?;
        Some((g.dir.as_path(), quota))
    }

    /// Freezes every process of the group; waits (bounded) until the kernel
    /// says FROZEN. Err says why not.
    pub async fn freeze(&self) -> Result<(), String> {
        let Some(g) = &self.freezer else {
            return Err("no freezer group".to_owned());
        };
        g.write("freezer.state", "FROZEN")
            .map_err(|e| format!("writing freezer.state: {e}"))?;
        // FREEZING until every task has stopped; bounded.
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            match g.read("freezer.state") {
                Ok(s) if s == "FROZEN" => return Ok(()),
                Ok(s) if Instant::now() >= until => {
                    return Err(format!("freezer.state still {s} after 2 s"))
                }
                Err(e) => return Err(format!("reading freezer.state: {e}")),
                Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    }

    /// Thaws the group (a no-op when it is not frozen).
    pub fn thaw(&self) -> Result<(), String> {
        match &self.freezer {
            Some(g) => g
                .write("freezer.state", "THAWED")
                .map_err(|e| format!("writing freezer.state: {e}")),
            None => Ok(()),
        }
    }

    /// Thaws, SIGKILLs whatever is left in the groups, and removes them.
    pub fn remove(&mut self) {
        let _ = self.thaw();
        for g in self.freezer.take().into_iter().chain(self.cpu.take()) {
            remove_group(&g.dir);
        }
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        self.remove();
    }
}

fn pids_in(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Kills what is left in `dir`, then removes it; bounded.
fn remove_group(dir: &Path) {
    let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        for pid in pids_in(dir) {
            if pid > 1 {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        if std::fs::remove_dir(dir).is_ok() || !dir.exists() || Instant::now() >= until {
            return;
        }
        // Dying processes leave the group within microseconds to milliseconds.
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Removes groups left by emulators that no longer run (killed before they
/// could clean up).
fn remove_stale() {
    for controller in ["freezer", "cpu"] {
        let Ok(entries) = std::fs::read_dir(Path::new(CGROUP_ROOT).join(controller)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
                continue;
            };
            let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                remove_group(&entry.path());
            }
        }
    }
}

/// Names of this process's groups that still exist (for tests: none after a run).
pub fn own_groups() -> Vec<PathBuf> {
    let mine = format!("{PREFIX}{}-", std::process::id());
    ["freezer", "cpu"]
        .iter()
        .filter_map(|c| std::fs::read_dir(Path::new(CGROUP_ROOT).join(c)).ok())
        .flat_map(|entries| entries.flatten())
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(&mine)))
        .map(|e| e.path())
        .collect()
}
