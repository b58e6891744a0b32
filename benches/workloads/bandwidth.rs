//! The machine's memory bandwidth, measured with STREAM's triad `a = b + s*c` on f32 arrays.
//!
//! A memory-bound gradient cannot run faster than the bytes it must move divided by this
//! bandwidth: that is the floor beside W1, W3, W4, W5 and W7. The machine's caches are large
//! (the L3 of this VM is hundreds of MB), so the floor of a workload is computed with the
//! bandwidth measured at the same footprint, and the DRAM figure uses a footprint well beyond
//! the last-level cache.

use super::measure::{steady, Summary};
use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

/// Triad bandwidth in GB/s (1e9 bytes per second, counting 12 bytes per element as STREAM
/// does) with three arrays totalling `footprint` bytes, split over `threads` threads.
pub struct Bandwidth {
    pub footprint: usize,
    pub threads: usize,
    /// Seconds per triad pass.
    pub pass: Summary,
    pub best_gb_s: f64,
    pub median_gb_s: f64,
}

fn triad(a: &mut [f32], b: &[f32], c: &[f32], s: f32) {
    for ((a, &b), &c) in a.iter_mut().zip(b).zip(c) {
        *a = b + s * c;
    }
}

/// Below this many elements per thread a pass is too short to be worth splitting.
const MIN_PER_THREAD: usize = 1 << 16;

/// Measures the triad bandwidth at `footprint` bytes on `threads` threads for about `budget`.
pub fn measure(footprint: usize, threads: usize, budget: Duration) -> Bandwidth {
    let n = (footprint / 12).max(1);
    let threads = threads.clamp(1, n.div_ceil(MIN_PER_THREAD));
    let (mut a, b, c) = (vec![0.0f32; n], vec![1.0f32; n], vec![2.0f32; n]);
    let chunk = n.div_ceil(threads);
    let pass = || -> Result<(), Infallible> {
        if threads == 1 {
            triad(black_box(&mut a), black_box(&b), black_box(&c), 3.0);
        } else {
            std::thread::scope(|scope| {
                for ((a, b), c) in a.chunks_mut(chunk).zip(b.chunks(chunk)).zip(c.chunks(chunk)) {
                    scope.spawn(move || triad(black_box(a), black_box(b), black_box(c), 3.0));
                }
            });
        }
        Ok(())
    };
    let Ok((samples, _)) = steady(pass, budget);
    let summary = Summary::of_seconds(&samples);
    let gb_s = |ms: f64| 12.0 * n as f64 / (ms * 1e-3) / 1e9;
    Bandwidth {
        footprint: 12 * n,
        threads,
        pass: summary,
        best_gb_s: gb_s(summary.min),
        median_gb_s: gb_s(summary.median),
    }
}
