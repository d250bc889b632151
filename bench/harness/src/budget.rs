//! The clock that bounds the whole run (`--time-limit-s`).

use std::time::{Duration, Instant};

use anyhow::bail;

#[derive(Debug)]
pub struct Budget {
    until: Instant,
    limit_s: u64,
}

impl Budget {
    /// A budget of `limit_s` seconds from now.
    pub fn starting_now(limit_s: u64) -> Budget {
        Budget {
            until: Instant::now() + Duration::from_secs(limit_s),
            limit_s,
        }
    }

    /// An error naming `what` once the budget is spent.
    pub fn check(&self, what: &str) -> anyhow::Result<()> {
        if Instant::now() > self.until {
            bail!(
                "the benchmark went over --time-limit-s {} s ({what} not done)",
                self.limit_s
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_names_the_limit_and_the_step() {
        assert!(Budget::starting_now(3600).check("sizes").is_ok());
        let spent = Budget {
            until: Instant::now() - Duration::from_millis(1),
            limit_s: 7,
        };
        let e = spent.check("synth").expect_err("spent");
        assert_eq!(
            e.to_string(),
            "the benchmark went over --time-limit-s 7 s (synth not done)"
        );
    }
}
