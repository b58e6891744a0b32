//! Trains a small MLP on a generated regression task with `gradjit::optim::Adam`: the gradient
//! and the update are one jitted function, so each step is native code; the model and the
//! optimiser's state are then saved to an `.npz` file (that `np.load` reads) and restored.
//!
//! Run with `cargo run --release --example train_mlp`.

use gradjit::optim::{Adam, Schedule};
use gradjit::{jit, npz, value_and_grad, Array, Module, ModuleName, Tensor, TrainVar};

#[derive(Module)]
struct Dense {
    name: ModuleName,
    w: TrainVar,
    b: TrainVar,
}

#[derive(Module)]
struct Mlp {
    name: ModuleName,
    layers: Vec<Dense>,
}

/// A small deterministic generator, so the run is the same on every machine.
struct Rng(u64);

impl Rng {
    /// Uniform in `[-1, 1)`.
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / (1u64 << 23) as f32 - 1.0
    }
}

impl Mlp {
    fn new(sizes: &[usize], rng: &mut Rng) -> Mlp {
        let dense = |n_in: usize, n_out: usize, rng: &mut Rng| {
            let scale = (3.0 / n_in as f32).sqrt();
            let w = (0..n_in * n_out).map(|_| rng.next() * scale).collect();
            Dense {
                name: ModuleName::new("Dense"),
                w: TrainVar::new(Array::from_vec([n_in, n_out], w).expect("sizes match")),
                b: TrainVar::new(Array::zeros([n_out])),
            }
        };
        Mlp { name: ModuleName::exact("mlp"), layers: sizes.windows(2).map(|io| dense(io[0], io[1], rng)).collect() }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let (hidden, out) = self.layers.split_at(self.layers.len() - 1);
        let h = hidden.iter().fold(x.clone(), |h, d| (h.matmul(&d.w.value()) + d.b.value()).tanh());
        h.matmul(&out[0].w.value()) + out[0].b.value()
    }

    fn loss(&self, x: &Tensor, y: &Tensor) -> Tensor {
        (self.forward(x) - y).square().mean()
    }
}

/// `n` points of `y = sin(2·x0) + 0.5·x0·x1` on `[-1.5, 1.5]²`.
fn task(n: usize, rng: &mut Rng) -> (Array, Array) {
    let x: Vec<f32> = (0..2 * n).map(|_| 1.5 * rng.next()).collect();
    let y: Vec<f32> = x.chunks(2).map(|p| (2.0 * p[0]).sin() + 0.5 * p[0] * p[1]).collect();
    (Array::from_vec([n, 2], x).expect("sizes match"), Array::from_vec([n, 1], y).expect("sizes match"))
}

fn main() -> gradjit::Result<()> {
    let mut rng = Rng(42);
    let (x, y) = task(512, &mut rng);
    let net = Mlp::new(&[2, 64, 64, 1], &mut rng);
    // Relative names (`layers-0.w`) are stable across runs: they name the checkpoint's arrays.
    let params = net.vars_relative()?.trainable();
    let steps = 1000;
    let lr = Schedule::cosine_decay(0.01, steps, 0.01).with_warmup(0.001, 50);
    let opt = Adam::new(lr).clip_by_global_norm(1.0).build(&params)?;

    let train_step = jit(|x: Tensor, y: Tensor| {
        let r = value_and_grad(|x: Tensor, y: Tensor| net.loss(&x, &y)).grad_vars(&params).apply((x, y))?;
        opt.update(&r)?;
        Ok::<_, gradjit::Error>(r.value().clone())
    });
    println!("MLP 2-64-64-1 on {} points; Adam, warm-up then cosine decay, clipped to norm 1", x.shape()[0]);
    let started = std::time::Instant::now();
    for step in 0..steps {
        let loss = train_step.call((&x, &y))?.item::<f32>()?;
        if step % 100 == 0 || step + 1 == steps {
            println!("step {step:>4}  lr {:.5}  loss {loss:.6}", opt.learning_rate()?);
        }
    }
    println!("{steps} steps in {:.2} s", started.elapsed().as_secs_f64());

    // A checkpoint: the model's variables and the optimiser's state, in one file.
    let mut checkpoint = params.clone();
    for (name, var) in opt.state().iter() {
        checkpoint.insert(format!("adam/{name}"), var)?;
    }
    let path = std::env::temp_dir().join("gradjit_train_mlp.npz");
    npz::save(&path, &checkpoint)?;
    let trained: Vec<Array> = checkpoint.vars().map(|v| v.get()).collect();
    for var in params.vars() {
        var.assign(Array::zeros(var.shape()))?;
    }
    npz::load(&path, &checkpoint)?;
    let restored = checkpoint.vars().zip(&trained).all(|(v, a)| v.get().as_host().bit_eq(a.as_host()));
    let names: Vec<&str> = checkpoint.names().collect();
    println!(
        "saved and restored {} arrays ({}, ...) via {}: {}",
        names.len(),
        names[..3].join(", "),
        path.display(),
        if restored { "identical" } else { "DIFFERENT" }
    );
    let loss = jit(|x: Tensor, y: Tensor| net.loss(&x, &y)).call((&x, &y))?.item::<f32>()?;
    println!("loss after restoring: {loss:.6}");
    Ok(())
}
