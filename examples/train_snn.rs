//! Trains a recurrent spiking network with surrogate gradients, backpropagating through time
//! over a `for_loop` compiled with `jit(value_and_grad(..))`: see `examples/snn/mod.rs` for the
//! task, the model and the training loop.
//!
//! Run with `cargo run --release --example train_snn` (add `-- --steps N` for a shorter run).

mod snn;

use std::io::Write;

fn main() -> gradjit::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let steps = args
        .iter()
        .position(|a| a == "--steps")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(150);
    let (hidden, batch) = (64, 32);
    println!(
        "Training a recurrent spiking network ({} inputs, {hidden} LIF neurons, {} classes) on {} steps of burst-order trials",
        snn::INPUTS,
        snn::CLASSES,
        snn::STEPS
    );
    println!("surrogate gradient: sigmoid(4x)'; optimizer: Adam; {steps} batches of {batch}");
    let started = std::time::Instant::now();
    let mut smoothed: Option<f32> = None;
    let report = snn::train(hidden, batch, steps, 7, |step, loss, seconds| {
        let s = smoothed.map_or(loss, |s| 0.9 * s + 0.1 * loss);
        smoothed = Some(s);
        let done = (step + 1) * 30 / steps;
        let bar: String = (0..30).map(|i| if i < done { '#' } else { '-' }).collect();
        print!("\r[{bar}] {:>4}/{steps}  loss {s:.4}  {:>7.1} ms/step", step + 1, seconds * 1e3);
        let _ = std::io::stdout().flush();
    })?;
    println!();
    let first = report.losses.iter().take(10).sum::<f32>() / report.losses.len().min(10) as f32;
    let last = report.losses.iter().rev().take(10).sum::<f32>() / report.losses.len().min(10) as f32;
    println!("loss: {first:.4} over the first batches, {last:.4} over the last");
    println!("accuracy on 128 fresh trials: {:.1}% (chance: 25%)", 100.0 * report.accuracy);
    println!("total time: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
