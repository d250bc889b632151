//! Median and spread of repeated measurements.

use serde::Serialize;

/// Summary of one series of samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
    pub min: f64,
    pub max: f64,
    /// Interquartile range: p75 − p25.
    pub iqr: f64,
}

impl Summary {
    /// Summarises `samples`; `None` when there are none or one is not finite.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Summary {
            n: sorted.len(),
            median: percentile(&sorted, 50.0),
            p10: percentile(&sorted, 10.0),
            p90: percentile(&sorted, 90.0),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            iqr: percentile(&sorted, 75.0) - percentile(&sorted, 25.0),
        })
    }

    /// A single value (a size, or a measurement taken once).
    pub fn single(value: f64) -> Summary {
        Summary {
            n: 1,
            median: value,
            p10: value,
            p90: value,
            min: value,
            max: value,
            iqr: 0.0,
        }
    }
}

/// Percentile `p` (0–100) of sorted, non-empty `sorted`, by linear
/// interpolation between closest ranks.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0) * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread_of_an_odd_series() {
        let s = Summary::of(&[5.0, 1.0, 3.0, 2.0, 4.0]).expect("summary");
        assert_eq!(s.n, 5);
        assert_eq!(s.median, 3.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 5.0);
        assert!((s.p10 - 1.4).abs() < 1e-9, "{}", s.p10);
        assert!((s.p90 - 4.6).abs() < 1e-9, "{}", s.p90);
        assert_eq!(s.iqr, 2.0);
    }

    #[test]
    fn median_of_an_even_series_interpolates() {
        assert_eq!(
            Summary::of(&[1.0, 2.0, 3.0, 10.0]).expect("summary").median,
            2.5
        );
    }

    #[test]
    fn no_summary_without_finite_samples() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }
}
