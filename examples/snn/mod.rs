//! A recurrent spiking network trained with surrogate gradients on a task it generates itself:
//! the model, the task and the training loop of `examples/train_snn.rs`, shared with its CI test
//! (`tests/train_snn.rs`).
//!
//! **Task.** Sixteen input channels in two groups (A: 0-7, B: 8-15) fire Poisson spikes at a
//! low background rate, except during two bursts: one group bursts in the first half of the
//! trial, one in the second. The four classes are the four orders, AA, AB, BA and BB. Counting
//! spikes is not enough to tell AB from BA: the network has to remember what came first.
//!
//! **Model.** A layer of leaky integrate-and-fire neurons with recurrent connections, spiking
//! through a surrogate (Heaviside forwards, the derivative of a sigmoid backwards) and reset by
//! subtraction, read out by leaky integrators whose potentials, averaged over the second half
//! of the trial, are the class scores. The network's state lives in `Var`s, as in BrainPy: the
//! loop over time is a `for_loop` whose body reads and writes them, and the whole trial is one
//! `scan` in the IR, however many steps it has.
//!
//! **Training.** One jitted function computes the loss and its gradient
//! (`value_and_grad(loss).grad_vars(weights)`, the backward pass through time) and applies
//! `gradjit::optim::Adam`'s update: the whole step, optimiser included, compiles once to native
//! code, and the weights and Adam's moments are variables it reads and writes.

use gradjit::optim::Adam;
use gradjit::{for_loop, jit, surrogate, value_and_grad, Array, DType, Tensor, TrainVar, Var};

pub const INPUTS: usize = 16;
pub const CLASSES: usize = 4;
pub const STEPS: usize = 40;

/// A small deterministic generator (PCG-style), so the task is the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x853c_49e6_748f_ea9b)
    }
    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / (1u64 << 24) as f32
    }
    /// Approximately standard normal (Irwin-Hall of twelve uniforms).
    pub fn normal(&mut self) -> f32 {
        (0..12).map(|_| self.uniform()).sum::<f32>() - 6.0
    }
}

/// A batch of trials: spikes `[STEPS, batch, INPUTS]` (0 or 1) and one-hot labels `[batch, CLASSES]`.
pub struct Batch {
    pub spikes: Array,
    pub labels: Array,
    pub classes: Vec<usize>,
}

/// `batch` random trials of the burst-order task.
pub fn trials(batch: usize, rng: &mut Rng) -> Batch {
    let classes: Vec<usize> = (0..batch).map(|_| (rng.uniform() * CLASSES as f32) as usize % CLASSES).collect();
    let mut spikes = vec![0.0f32; STEPS * batch * INPUTS];
    for (b, &class) in classes.iter().enumerate() {
        // Class bits: first burst in group A (0) or B (1), second burst likewise.
        let (first, second) = (class / 2, class % 2);
        for t in 0..STEPS {
            let bursting = if (2..10).contains(&t) {
                Some(first)
            } else if (26..34).contains(&t) {
                Some(second)
            } else {
                None
            };
            for i in 0..INPUTS {
                let group = i / (INPUTS / 2);
                let rate = if bursting == Some(group) { 0.25 } else { 0.06 };
                if rng.uniform() < rate {
                    spikes[(t * batch + b) * INPUTS + i] = 1.0;
                }
            }
        }
    }
    let mut labels = vec![0.0f32; batch * CLASSES];
    for (b, &c) in classes.iter().enumerate() {
        labels[b * CLASSES + c] = 1.0;
    }
    let spikes = Array::from_vec([STEPS, batch, INPUTS], spikes).expect("sizes match");
    let labels = Array::from_vec([batch, CLASSES], labels).expect("sizes match");
    Batch { spikes, labels, classes }
}

/// The network: weights to train and the state of its neurons.
pub struct Snn {
    pub w_in: TrainVar,
    pub w_rec: TrainVar,
    pub w_out: TrainVar,
    /// Membrane potentials and last spikes of the hidden layer, potentials of the readout.
    v: Var,
    spikes: Var,
    readout: Var,
}

/// Decay of the hidden membranes and of the readout per step.
const DECAY: f64 = 0.85;
const READOUT_DECAY: f64 = 0.9;

impl Snn {
    /// A network of `hidden` neurons for batches of `batch` trials.
    pub fn new(hidden: usize, batch: usize, rng: &mut Rng) -> Snn {
        let init = |rows: usize, cols: usize, scale: f32, rng: &mut Rng| {
            let data = (0..rows * cols).map(|_| rng.normal() * scale / (rows as f32).sqrt()).collect();
            Array::from_vec([rows, cols], data).expect("sizes match")
        };
        Snn {
            w_in: TrainVar::new(init(INPUTS, hidden, 3.0, rng)).with_name("w_in"),
            w_rec: TrainVar::new(init(hidden, hidden, 0.5, rng)).with_name("w_rec"),
            w_out: TrainVar::new(init(hidden, CLASSES, 1.0, rng)).with_name("w_out"),
            v: Var::new(Array::zeros([batch, hidden])),
            spikes: Var::new(Array::zeros([batch, hidden])),
            readout: Var::new(Array::zeros([batch, CLASSES])),
        }
    }

    /// One time step: the hidden layer integrates its inputs and its own spikes of the last
    /// step, spikes where its potential crosses 1, and the readout integrates the spikes.
    fn step(&self, x: &Tensor) -> gradjit::Result<Tensor> {
        let current = x.matmul(&self.w_in.value()) + self.spikes.value().matmul(&self.w_rec.value());
        let v = self.v.value() * DECAY + current;
        let s = surrogate::sigmoid(&(&v - 1.0), 4.0);
        self.v.set(&(&v - &s))?;
        self.spikes.set(&s)?;
        let o = self.readout.value() * READOUT_DECAY + s.matmul(&self.w_out.value());
        self.readout.set(&o)?;
        Ok(o)
    }

    /// Class scores of a batch of trials `[STEPS, batch, INPUTS]`: the readout potentials
    /// averaged over the second half of the trial.
    pub fn scores(&self, spikes: &Tensor) -> gradjit::Result<Tensor> {
        for state in [&self.v, &self.spikes, &self.readout] {
            state.set(&Tensor::zeros(DType::F32, &state.shape()))?;
        }
        let readout = for_loop(|x: Tensor| self.step(&x), spikes)?;
        Ok(readout.slice(0, (STEPS / 2) as i64, STEPS as i64, 1).mean_axes([0], false))
    }

    /// Softmax cross-entropy of the scores against one-hot labels.
    pub fn loss(&self, spikes: &Tensor, labels: &Tensor) -> gradjit::Result<Tensor> {
        let scores = self.scores(spikes)?;
        Ok(-(scores.log_softmax([-1]) * labels).sum_axes([-1], false).mean())
    }

    pub fn weights(&self) -> Vec<&TrainVar> {
        vec![&self.w_in, &self.w_rec, &self.w_out]
    }
}

/// What one training run reports.
pub struct Report {
    pub losses: Vec<f32>,
    pub accuracy: f64,
}

/// Trains a network of `hidden` neurons for `steps` batches of `batch` trials, calling
/// `progress(step, loss, seconds)` after each, and returns the losses and the accuracy on fresh
/// trials.
pub fn train(
    hidden: usize,
    batch: usize,
    steps: usize,
    seed: u64,
    mut progress: impl FnMut(usize, f32, f64),
) -> gradjit::Result<Report> {
    let mut rng = Rng::new(seed);
    let net = Snn::new(hidden, batch, &mut rng);
    let weights = net.weights();
    let adam = Adam::new(2e-2).build(weights.iter().map(|&w| (w.name().unwrap_or_default(), w)))?;
    let train_step = jit(|x: Tensor, y: Tensor| {
        let result =
            value_and_grad(|x: Tensor, y: Tensor| net.loss(&x, &y)).grad_vars(weights.clone()).apply((x, y))?;
        adam.update(&result)?;
        Ok::<_, gradjit::Error>(result.value().clone())
    });
    let mut losses = Vec::with_capacity(steps);
    for step in 0..steps {
        let data = trials(batch, &mut rng);
        let start = std::time::Instant::now();
        let loss = train_step.call((&data.spikes, &data.labels))?.item::<f32>()?;
        losses.push(loss);
        progress(step, loss, start.elapsed().as_secs_f64());
    }
    let predict = jit(|x: Tensor| net.scores(&x));
    let mut correct = 0;
    let test_batches = 4;
    for _ in 0..test_batches {
        let data = trials(batch, &mut rng);
        let scores = predict.call(&data.spikes)?;
        let scores = scores.to_vec::<f32>()?;
        for (b, &class) in data.classes.iter().enumerate() {
            let row = &scores[b * CLASSES..(b + 1) * CLASSES];
            let best = (0..CLASSES).max_by(|&i, &j| row[i].total_cmp(&row[j])).unwrap_or(0);
            correct += usize::from(best == class);
        }
    }
    Ok(Report { losses, accuracy: correct as f64 / (test_batches * batch) as f64 })
}
