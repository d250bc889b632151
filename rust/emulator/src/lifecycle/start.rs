//! Before init: the layout checked, the Runtime and Extensions APIs served
//! on loopback, the environment's cgroups made. No process runs yet.

use crate::api::{FunctionInfo, Platform};
use crate::cgroup::Cgroups;
use crate::environment;
use crate::layout::Layout;
use crate::scenario::{Freeze, Scenario};
use crate::timeline::{EventKind, Recorder, PLATFORM};

use super::Emulator;

impl Emulator {
    /// Checks the layout and serves the APIs; starts no process yet.
    pub async fn start(mut scenario: Scenario) -> anyhow::Result<Emulator> {
        scenario.function_dir = std::path::absolute(&scenario.function_dir)?;
        let layout = Layout::of(&scenario)?;
        let rec = Recorder::new();
        let rt_env = environment::runtime(&scenario, "", &layout.layer_roots);
        let handler = rt_env["_HANDLER"].clone();
        let managed_instances = rt_env
            .get("AWS_LAMBDA_INITIALIZATION_TYPE")
            .is_some_and(|v| v == environment::MANAGED_INSTANCES);
        let info = FunctionInfo {
            name: scenario.function_name.clone(),
            version: "$LATEST".to_owned(),
            handler,
            managed_instances,
        };
        let platform = Platform::new(rec.clone(), info, scenario.faults.register_status);
        platform.lock().expected = layout.extensions.iter().map(|(n, _)| n.clone()).collect();
        let (addr, server) = platform.serve().await?;
        let address = addr.to_string();
        rec.event(
            PLATFORM,
            EventKind::Listening {
                address: address.clone(),
            },
        );
        let cgroups = Cgroups::create(scenario.freeze == Freeze::Auto, scenario.cpu_share);
        for note in &cgroups.notes {
            rec.event(
                PLATFORM,
                EventKind::Note {
                    message: note.clone(),
                },
            );
        }
        if let (Some(share), Some((dir, quota))) = (scenario.cpu_share, cgroups.cpu_quota()) {
            rec.event(
                PLATFORM,
                EventKind::Note {
                    message: format!(
                        "CPU share {:.1} % of a vCPU for {} MB: cpu.cfs_quota_us {quota} per cpu.cfs_period_us {} ({})",
                        share * 100.0,
                        scenario.memory_mb,
                        crate::cgroup::CPU_PERIOD_US,
                        dir.display()
                    ),
                },
            );
        }
        Ok(Emulator {
            scenario,
            rec,
            platform,
            address,
            layout,
            server,
            runtime: None,
            extensions: Vec::new(),
            invoked: 0,
            shut_down: false,
            idle_since: None,
            frozen: None,
            cgroups,
        })
    }
}
