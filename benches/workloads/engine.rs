//! The ways gradjit can run a workload, behind one interface so that the runner and the
//! criterion benches time them alike.
//!
//! [`Engine::compile`] does everything a first call does (trace, differentiate, simplify,
//! compile when there is a compiler) and binds the workload's inputs; [`Compiled::call`] is one
//! steady-state call on them. [`Interpreter`] runs the gradient IR on the reference interpreter
//! through the same transforms `jit(grad(f))` uses (make_ir, autodiff, simplification): it makes
//! the harness run end to end before the compiler exists (at a few hundred ms per call at most).

use super::{Transform, Workload};
use gradjit::{make_ir, Array, HostArray, Tensor};
use gradjit_autodiff::{grad, hvp, select_outputs};
use gradjit_ir::{interp, Function};

pub type BenchError = Box<dyn std::error::Error + Send + Sync>;
pub type BenchResult<T> = Result<T, BenchError>;

/// A way to run workloads.
pub trait Engine {
    /// The name reported beside the timings.
    fn name(&self) -> String;
    /// Why this engine does not run `w` (besides `w.pending`), if it does not.
    fn skip_reason(&self, _w: &Workload) -> Option<String> {
        None
    }
    /// Prepares `w` for steady-state calls: everything the first call of `jit(grad(f))` does
    /// except running it.
    fn compile(&self, w: &Workload) -> BenchResult<Box<dyn Compiled>>;
}

/// A workload prepared by an engine, bound to its inputs.
pub trait Compiled {
    /// One call: the gradients are computed and kept until the next call.
    fn call(&mut self) -> BenchResult<()>;
    /// The gradients of the last call (the identity's output for [`Transform::Identity`]).
    fn outputs(&self) -> BenchResult<Vec<Array>>;
}

/// The engine of the name `name` (`interp`, `hand`).
pub fn by_name(name: &str) -> BenchResult<Box<dyn Engine>> {
    match name {
        "interp" => Ok(Box::new(Interpreter)),
        "hand" => Ok(Box::new(super::hand::HandWritten)),
        _ => Err(format!("unknown engine {name:?} (known: interp, hand)").into()),
    }
}

/// The IR `jit(grad(f))` compiles for `w`: its parameters are `w.params` then `w.rest`, its
/// outputs the gradients of `w.params` in order (for [`Transform::Identity`], `params[0]`).
pub fn gradient_ir(w: &Workload) -> BenchResult<Function> {
    let np = w.params.len();
    match w.transform {
        Transform::Grad => {
            let f = w.f.clone();
            let traced = make_ir(move |p: Vec<Tensor>, r: Vec<Tensor>| f(p, r), (w.params.clone(), w.rest.clone()))?;
            let wrt: Vec<usize> = (0..np).collect();
            // grad returns the loss then the gradients; jax.grad returns the gradients only.
            let g = grad(traced.function(), &wrt)?;
            Ok(select_outputs(&g, &(1..=np).collect::<Vec<_>>())?)
        }
        Transform::HvpOf(inner) => {
            // grad(x -> <grad(inner)(x), u>) is H u; forward over reverse computes the same.
            let traced = make_ir(move |x: Tensor| inner(&x), &w.params[0])?;
            Ok(hvp(traced.function(), &[0])?)
        }
        Transform::Identity => Ok(make_ir(|x: Tensor| x, &w.params[0])?.into_function()),
    }
}

/// Runs the gradient IR on the reference interpreter.
pub struct Interpreter;

struct Interpreted {
    ir: Function,
    args: Vec<HostArray>,
    outputs: Vec<HostArray>,
}

impl Engine for Interpreter {
    fn name(&self) -> String {
        "gradjit interpreter".into()
    }

    fn compile(&self, w: &Workload) -> BenchResult<Box<dyn Compiled>> {
        let ir = gradient_ir(w)?;
        let args: Vec<HostArray> = w.params.iter().chain(&w.rest).map(|a| a.as_host().clone()).collect();
        let args = args[..ir.params.len()].to_vec(); // the identity takes params[0] only
        Ok(Box::new(Interpreted { ir, args, outputs: Vec::new() }))
    }
}

impl Compiled for Interpreted {
    fn call(&mut self) -> BenchResult<()> {
        self.outputs = interp::run(&self.ir, &self.args)?;
        Ok(())
    }

    fn outputs(&self) -> BenchResult<Vec<Array>> {
        Ok(self.outputs.iter().cloned().map(Array::from_host).collect())
    }
}
