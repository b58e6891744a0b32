//! Timing as scripts/bench_jax.py does it, so both sides' numbers mean the same thing.
//!
//! A steady-state sample is the mean time of one call over a batch of calls lasting about
//! 10 ms (one call when a call is longer); between 7 and 51 samples fill the time budget. The
//! machine is small and shared, so the median is the figure and min and max show the noise.

use std::time::{Duration, Instant};

/// Median, min and max of samples in milliseconds.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Summary {
    /// The summary of durations given in seconds.
    pub fn of_seconds(samples: &[f64]) -> Summary {
        let mut ms: Vec<f64> = samples.iter().map(|s| s * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        let median = if n % 2 == 1 { ms[n / 2] } else { (ms[n / 2 - 1] + ms[n / 2]) / 2.0 };
        Summary { median, min: ms[0], max: ms[n - 1], n }
    }

    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({"median": self.median, "min": self.min, "max": self.max, "n": self.n})
    }
}

const BATCH_TARGET: f64 = 0.01;
const MIN_SAMPLES: usize = 7;
const MAX_SAMPLES: usize = 51;

/// Steady-state samples (seconds per call) of `call` within about `budget`, and the batch size.
pub fn steady<E>(mut call: impl FnMut() -> Result<(), E>, budget: Duration) -> Result<(Vec<f64>, usize), E> {
    call()?;
    call()?;
    let t0 = Instant::now();
    call()?;
    let estimate = t0.elapsed().as_secs_f64().max(1e-7);
    let batch = ((BATCH_TARGET / estimate) as usize).max(1);
    let count = (budget.as_secs_f64() / (batch as f64 * estimate)).clamp(MIN_SAMPLES as f64, MAX_SAMPLES as f64);
    let mut samples = Vec::with_capacity(count as usize);
    for _ in 0..count as usize {
        let t0 = Instant::now();
        for _ in 0..batch {
            call()?;
        }
        samples.push(t0.elapsed().as_secs_f64() / batch as f64);
    }
    Ok((samples, batch))
}

/// A field of /proc/self/status (`VmRSS`, `VmHWM`) in MiB, NaN where there is none.
pub fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
