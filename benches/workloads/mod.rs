//! The benchmark workloads of issue 5 (docs/benchmarks.md), defined once for the criterion
//! benches (benches/jit_grad.rs), the side-by-side runner (examples/bench_workloads.rs) and the
//! harness tests (tests/bench_workloads.rs).
//!
//! Every workload is a float32 loss `f(params, rest)` whose gradient is taken with respect to
//! every array of `params`; `rest` holds inputs that are not differentiated. scripts/bench_jax.py
//! defines the same table for JAX, with the same sizes and the same seeds (16 * workload number
//! + input number), so both sides compute on bit-identical inputs ([`inputs`]).

#![allow(dead_code)] // each including target uses part of the harness

pub mod bandwidth;
pub mod codegen;
pub mod engine;
pub mod hand;
pub mod inputs;
pub mod jit;
pub mod measure;
pub mod npy;

use gradjit::{scan, Array, DType, Tensor};
use inputs::{one_hot, uniform};
use std::sync::Arc;

/// A loss of differentiated `params` and constant `rest`.
pub type LossFn = Arc<dyn Fn(Vec<Tensor>, Vec<Tensor>) -> gradjit::Result<Tensor> + Send + Sync>;

/// What is compiled and timed.
#[derive(Clone, Copy)]
pub enum Transform {
    /// `jit(grad(f))` with respect to every array of `params`.
    Grad,
    /// `jit(grad(x -> dot(grad(inner)(x), u)))` with `params = [x]`, `rest = [u]`: a
    /// Hessian-vector product. `f` is unused.
    HvpOf(fn(&Tensor) -> Tensor),
    /// `jit(identity)` of `params[0]`: the cost of dispatching a cached call.
    Identity,
}

/// One row of the benchmark table.
pub struct Workload {
    /// The id shared with scripts/bench_jax.py (`w1_n1e6`, `dispatch_identity`, ...).
    pub id: &'static str,
    /// The workload's name in the table (`W1 seed`).
    pub name: &'static str,
    /// Its size in the table (`n=1e6`).
    pub size: &'static str,
    pub params: Vec<Array>,
    pub rest: Vec<Array>,
    pub f: LossFn,
    pub transform: Transform,
    /// The bytes a gradient must at least move (each input read once, each gradient written
    /// once), for memory-bound workloads: `min_bytes / bandwidth` is the machine's floor.
    pub min_bytes: Option<usize>,
}

/// The workload ids, in table order.
pub const IDS: &[&str] = &[
    "w1_n1e3",
    "w1_n1e5",
    "w1_n1e6",
    "w1_n1e7",
    "w2",
    "w3",
    "w4_n1e5",
    "w4_n1e6",
    "w5_n1e6",
    "w5_n1e7",
    "w6",
    "w7",
    "dispatch_w1",
    "dispatch_identity",
];

const F32: usize = 4;

/// The workload `id`, with its inputs generated.
pub fn workload(id: &str) -> Option<Workload> {
    Some(match id {
        "w1_n1e3" => w1("w1_n1e3", "W1 seed", "n=1e3", 1_000),
        "w1_n1e5" => w1("w1_n1e5", "W1 seed", "n=1e5", 100_000),
        "w1_n1e6" => w1("w1_n1e6", "W1 seed", "n=1e6", 1_000_000),
        "w1_n1e7" => w1("w1_n1e7", "W1 seed", "n=1e7", 10_000_000),
        "dispatch_w1" => Workload { min_bytes: None, ..w1("dispatch_w1", "dispatch: W1", "n=1", 1) },
        "w2" => w2(),
        "w3" => w3(),
        "w4_n1e5" => w4("w4_n1e5", "n=1e5", 100_000),
        "w4_n1e6" => w4("w4_n1e6", "n=1e6", 1_000_000),
        "w5_n1e6" => w5("w5_n1e6", "n=1e6", 1_000_000),
        "w5_n1e7" => w5("w5_n1e7", "n=1e7", 10_000_000),
        "w6" => w6(),
        "w7" => w7(),
        "dispatch_identity" => Workload {
            id: "dispatch_identity",
            name: "dispatch: identity",
            size: "n=1",
            params: vec![uniform(128, &[1], -1.0, 1.0)],
            rest: vec![],
            f: Arc::new(|p, _| Ok(p[0].clone())),
            transform: Transform::Identity,
            min_bytes: None,
        },
        _ => return None,
    })
}

/// W1, the seed's example: `mean(tanh(z*v + x*sum(y)))` with `y` a captured constant.
fn w1(id: &'static str, name: &'static str, size: &'static str, n: usize) -> Workload {
    let y = uniform(17, &[10], -0.1, 0.1);
    Workload {
        id,
        name,
        size,
        params: vec![uniform(16, &[1], -1.0, 1.0), uniform(18, &[n], -1.0, 1.0), uniform(19, &[n], -1.0, 1.0)],
        rest: vec![],
        f: Arc::new(move |p, _| Ok((&p[1] * &p[2] + &p[0] * Tensor::from(&y).sum()).tanh().mean())),
        transform: Transform::Grad,
        min_bytes: Some(4 * n * F32),
    }
}

/// W2, an MLP's loss: `mean((tanh(X@W1 + b1)@W2 + b2 - Y)^2)`.
fn w2() -> Workload {
    Workload {
        id: "w2",
        name: "W2 MLP",
        size: "256x784x256x10",
        params: vec![
            uniform(34, &[784, 256], -0.06, 0.06),
            uniform(35, &[256], -0.1, 0.1),
            uniform(36, &[256, 10], -0.1, 0.1),
            uniform(37, &[10], -0.1, 0.1),
        ],
        rest: vec![uniform(32, &[256, 784], -1.0, 1.0), uniform(33, &[256, 10], 0.0, 1.0)],
        f: Arc::new(|p, r| Ok(((r[0].matmul(&p[0]) + &p[1]).tanh().matmul(&p[2]) + &p[3] - &r[1]).square().mean())),
        transform: Transform::Grad,
        min_bytes: None,
    }
}

/// W3, softmax cross-entropy: `-mean(sum(labels * log_softmax(logits), axis=-1))`.
fn w3() -> Workload {
    let (rows, classes) = (1024, 1000);
    Workload {
        id: "w3",
        name: "W3 softmax xent",
        size: "1024x1000",
        params: vec![uniform(48, &[rows, classes], -4.0, 4.0)],
        rest: vec![one_hot(49, rows, classes)],
        f: Arc::new(|p, r| Ok(-(&r[0] * p[0].log_softmax(-1)).sum_axes(-1, false).mean())),
        transform: Transform::Grad,
        min_bytes: Some(3 * rows * classes * F32),
    }
}

/// W4, Rosenbrock: `sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)`.
fn w4(id: &'static str, size: &'static str, n: usize) -> Workload {
    Workload {
        id,
        name: "W4 Rosenbrock",
        size,
        params: vec![uniform(64, &[n], -2.0, 2.0)],
        rest: vec![],
        f: Arc::new(|p, _| {
            let (head, tail) = (p[0].slice(0, 0, -1, 1), p[0].slice(0, 1, i64::MAX, 1));
            Ok((100.0 * (tail - head.square()).square() + (1.0 - head).square()).sum())
        }),
        transform: Transform::Grad,
        min_bytes: Some(2 * n * F32),
    }
}

/// W5's loss, a chain of transcendentals: `sum(sin(x)*exp(-x*x) + log1p(x*x))`.
pub fn transcendental_chain(x: &Tensor) -> Tensor {
    let xx = x * x;
    (x.sin() * (-&xx).exp() + xx.log1p()).sum()
}

fn w5(id: &'static str, size: &'static str, n: usize) -> Workload {
    Workload {
        id,
        name: "W5 transcendental",
        size,
        params: vec![uniform(80, &[n], -3.0, 3.0)],
        rest: vec![],
        f: Arc::new(|p, _| Ok(transcendental_chain(&p[0]))),
        transform: Transform::Grad,
        min_bytes: Some(2 * n * F32),
    }
}

/// W6, a leaky integrate-and-fire network trained through time: per step
/// `v = v + 0.1*(-v + I[t] + s@W); s = sigmoid(5*(v-1)); v = v*(1-s)`, loss the mean spike. The
/// loop is a `scan` over the rows of `I` carrying `(v, s)`, as `lax.scan` on the JAX side.
fn w6() -> Workload {
    let (n, t) = (256, 100);
    Workload {
        id: "w6",
        name: "W6 LIF BPTT",
        size: "N=256 T=100",
        params: vec![uniform(96, &[n, n], -0.1, 0.1)],
        rest: vec![uniform(97, &[t, n], 0.0, 2.5)],
        f: Arc::new(move |p, r| {
            let w = p[0].clone();
            let step = move |carry: Vec<Tensor>, current: Tensor| {
                let (v, s) = (&carry[0], &carry[1]);
                let v = v + 0.1 * (-v + current + s.matmul(&w));
                let s = (5.0 * (&v - 1.0)).sigmoid();
                (vec![&v * (1.0 - &s), s.clone()], s)
            };
            let zeros = Tensor::zeros(DType::F32, &[n]);
            let (_, spikes) = scan(step, vec![zeros.clone(), zeros], &r[0])?;
            Ok(spikes.mean())
        }),
        transform: Transform::Grad,
        min_bytes: None,
    }
}

/// W7, the Hessian-vector product of W5 at n = 1e6.
fn w7() -> Workload {
    let n = 1_000_000;
    Workload {
        id: "w7",
        name: "W7 HVP of W5",
        size: "n=1e6",
        params: vec![uniform(80, &[n], -3.0, 3.0)],
        rest: vec![uniform(112, &[n], -1.0, 1.0)],
        f: Arc::new(|p, _| Ok(transcendental_chain(&p[0]))),
        transform: Transform::HvpOf(transcendental_chain),
        min_bytes: Some(3 * n * F32),
    }
}
