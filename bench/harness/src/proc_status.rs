//! Peak resident memory of a live process, from `/proc/<pid>/status`.

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
    let status = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
    parse_vm_hwm_kib(&status).ok_or_else(|| anyhow::anyhow!("{path} has no VmHWM line (process gone?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_high_water_mark() {
        let status = "Name:\tgraceful-shutdo\nVmPeak:\t    3000 kB\nVmHWM:\t     1234 kB\nVmRSS:\t    1200 kB\n";
        assert_eq!(parse_vm_hwm_kib(status), Some(1234));
        assert_eq!(parse_vm_hwm_kib("Name:\tzombie\nState:\tZ (zombie)\n"), None);
    }

    #[test]
    fn reads_its_own_process() {
        let kib = vm_hwm_kib(std::process::id()).expect("own VmHWM");
        assert!(kib > 0);
    }
}
