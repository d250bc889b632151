//! What the kernel knows about a live process: peak resident memory
//! (`/proc/<pid>/status`) and scheduler time (`/proc/<pid>/task/*/schedstat`).

/// `VmHWM` (peak resident set size) in KiB, from the text of a
/// `/proc/<pid>/status` file.
pub fn parse_vm_hwm_kib(status: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix("VmHWM:")?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// `VmHWM` of process `pid` in KiB, or an error naming the process.
pub fn vm_hwm_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status =
        std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
    parse_vm_hwm_kib(&status)
        .ok_or_else(|| anyhow::anyhow!("{path} has no VmHWM line (process gone?)"))
}

/// Nanoseconds on a CPU and waiting on a run queue, from a `schedstat` line
/// (`<on-cpu ns> <run-queue wait ns> <time slices>`).
pub fn parse_schedstat(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(cpu)), Some(Ok(wait))) => Some((cpu, wait)),
        _ => None,
    }
}

/// `(on-CPU ms, run-queue wait ms)` of process `pid`, summed over its threads.
/// The first says what the process itself cost; the second how long it was
/// runnable but waiting for a CPU (a loaded machine).
pub fn sched_ms(pid: u32) -> anyhow::Result<(f64, f64)> {
    let dir = format!("/proc/{pid}/task");
    let (mut cpu, mut wait) = (0u64, 0u64);
    for task in std::fs::read_dir(&dir).map_err(|e| anyhow::anyhow!("reading {dir}: {e}"))? {
        let path = task?.path().join("schedstat");
        // A thread may end between the listing and the read: skip it.
        let Ok(line) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (c, w) = parse_schedstat(&line)
            .ok_or_else(|| anyhow::anyhow!("{}: unexpected {line:?}", path.display()))?;
        cpu += c;
        wait += w;
    }
    Ok((cpu as f64 / 1e6, wait as f64 / 1e6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_high_water_mark() {
        let status = "Name:\tgraceful-shutdo\nVmPeak:\t    3000 kB\nVmHWM:\t     1234 kB\nVmRSS:\t    1200 kB\n";
        assert_eq!(parse_vm_hwm_kib(status), Some(1234));
        assert_eq!(
            parse_vm_hwm_kib("Name:\tzombie\nState:\tZ (zombie)\n"),
            None
        );
    }

    #[test]
    fn reads_its_own_process() {
        let kib = vm_hwm_kib(std::process::id()).expect("own VmHWM");
        assert!(kib > 0);
        let (cpu, wait) = sched_ms(std::process::id()).expect("own schedstat");
        assert!(cpu > 0.0 && wait >= 0.0, "{cpu} {wait}");
    }

    #[test]
    fn reads_scheduler_times() {
        assert_eq!(
            parse_schedstat("77971935 64677634 36\n"),
            Some((77_971_935, 64_677_634))
        );
        assert_eq!(parse_schedstat("garbage"), None);
    }
}
