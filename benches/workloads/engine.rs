//! The ways gradjit can run a workload, behind one interface so that the runner and the
//! criterion benches time them alike.
//!
//! [`Engine::compile`] and the first [`Compiled::call`] together do what the first call of
//! `jit(grad(f))` does (trace, differentiate, simplify, compile when there is a compiler, run);
//! later calls are the steady state. [`Interpreter`] is `gradjit::grad` as users call it, on the
//! reference interpreter: it made the harness run end to end before the compiler existed.
//! [`super::codegen::Codegen`] compiles the same gradient IR with gradjit-codegen.

use super::{Transform, Workload};
use gradjit::grad::{Grad, GradResult};
use gradjit::{grad, make_ir, Array, Tensor};
use gradjit_ir::{interp, Function};

pub type BenchError = Box<dyn std::error::Error + Send + Sync>;
pub type BenchResult<T> = Result<T, BenchError>;

/// A way to run workloads.
pub trait Engine {
    /// The name reported beside the timings.
    fn name(&self) -> String;
    /// Why this engine does not run `w`, if it does not.
    fn skip_reason(&self, _w: &Workload) -> Option<String> {
        None
    }
    /// Prepares `w` for steady-state calls: everything the first call of `jit(grad(f))` does
    /// except running it.
    fn compile(&self, w: &Workload) -> BenchResult<Box<dyn Compiled>>;
    /// Forgets earlier compilations, so that the next [`Engine::compile`] does all the work of a
    /// first call, as in a fresh process (called outside the timed region). False if the engine
    /// cannot: then only the first compilation of a process is cold.
    fn forget(&self) -> bool {
        true
    }
}

/// A workload prepared by an engine, bound to its inputs.
pub trait Compiled {
    /// One call: the gradients are computed and kept until the next call.
    fn call(&mut self) -> BenchResult<()>;
    /// The gradients of the last call (the identity's output for [`Transform::Identity`]).
    fn outputs(&self) -> BenchResult<Vec<Array>>;
    /// Seconds spent in each phase of [`Engine::compile`], where the engine can tell them apart.
    fn phases(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
}

/// The engine of the name `name` (`jit`, `codegen`, `interp`, `hand`).
pub fn by_name(name: &str) -> BenchResult<Box<dyn Engine>> {
    match name {
        "jit" => Ok(Box::new(super::jit::JitGrad)),
        "interp" => Ok(Box::new(Interpreter)),
        "codegen" => Ok(Box::new(super::codegen::Codegen::new()?)),
        "hand" => Ok(Box::new(super::hand::HandWritten)),
        _ => Err(format!("unknown engine {name:?} (known: jit, codegen, interp, hand)").into()),
    }
}

/// A workload's loss takes its differentiated parameters and its other inputs.
type LossParams = (Vec<Tensor>, Vec<Tensor>);

/// `grad(f)` of a workload's loss, as a function of `(params, rest)`.
pub fn loss_grad(w: &Workload) -> Grad<impl Fn(Vec<Tensor>, Vec<Tensor>) -> gradjit::Result<Tensor>, LossParams> {
    let f = w.f.clone();
    grad(move |p: Vec<Tensor>, r: Vec<Tensor>| f(p, r))
}

/// `grad(x -> <grad(inner)(x), u>)` as a function of `(x, u)`: the Hessian-vector product as
/// JAX's workload writes it (reverse over reverse, the inner grad inlined into the outer trace).
pub fn hvp_grad(
    inner: fn(&Tensor) -> Tensor,
) -> Grad<impl Fn(Tensor, Tensor) -> gradjit::Result<Tensor>, (Tensor, Tensor)> {
    let inner_grad = grad(move |x: Tensor| inner(&x));
    grad(move |x: Tensor, u: Tensor| -> gradjit::Result<Tensor> {
        let gx = inner_grad.apply(&x)?;
        let gx = gx.arg_grad(0).ok_or_else(|| gradjit::Error::Argument("no gradient of x".into()))?;
        Ok(gx.dot(&u))
    })
}

/// The IR `jit(grad(f))` compiles for `w`, traced through the user API: its parameters are
/// `w.params` then `w.rest` (for [`Transform::Identity`], `params[0]`), its outputs the
/// gradients of `w.params` in order.
pub fn gradient_ir(w: &Workload) -> BenchResult<Function> {
    let traced = match w.transform {
        Transform::Grad => make_ir(loss_grad(w), (w.params.clone(), w.rest.clone()))?,
        Transform::HvpOf(inner) => make_ir(hvp_grad(inner), (&w.params[0], &w.rest[0]))?,
        Transform::Identity => make_ir(|x: Tensor| x, &w.params[0])?,
    };
    if traced.function().params.len() != traced.num_explicit_inputs() {
        return Err(format!("{}: the traced gradient reads variables or captures tensors", w.id).into());
    }
    Ok(traced.into_function())
}

/// The user API on the reference interpreter: `gradjit::grad(f)` called on the workload's
/// arguments (its first call traces, differentiates and simplifies; later calls find the
/// differentiated IR in the per-signature cache and run it). The identity, which has no
/// gradient, runs its traced IR.
pub struct Interpreter;

/// A prepared call returning the gradients, flat.
type Call = Box<dyn FnMut() -> BenchResult<Vec<Array>>>;

struct Interpreted {
    call: Call,
    outputs: Vec<Array>,
}

/// The gradients of argument 0 (a tree for a `Vec` argument), flat.
fn leaves(g: GradResult<Array>) -> BenchResult<Vec<Array>> {
    Ok(g.arg_grad_tree(0).ok_or("the gradient has no argument part")?.leaves().into_iter().cloned().collect())
}

impl Engine for Interpreter {
    fn name(&self) -> String {
        "gradjit interpreter".into()
    }

    fn compile(&self, w: &Workload) -> BenchResult<Box<dyn Compiled>> {
        let (params, rest) = (w.params.clone(), w.rest.clone());
        let call: Call = match w.transform {
            Transform::Grad => {
                let g = loss_grad(w);
                Box::new(move || leaves(g.call((params.clone(), rest.clone()))?))
            }
            Transform::HvpOf(inner) => {
                let g = hvp_grad(inner);
                Box::new(move || leaves(g.call((&params[0], &rest[0]))?))
            }
            Transform::Identity => {
                let ir = gradient_ir(w)?;
                let x = params[0].as_host().clone();
                Box::new(move || {
                    Ok(interp::run(&ir, std::slice::from_ref(&x))?.into_iter().map(Array::from_host).collect())
                })
            }
        };
        Ok(Box::new(Interpreted { call, outputs: Vec::new() }))
    }
}

impl Compiled for Interpreted {
    fn call(&mut self) -> BenchResult<()> {
        self.outputs = (self.call)()?;
        Ok(())
    }

    fn outputs(&self) -> BenchResult<Vec<Array>> {
        Ok(self.outputs.clone())
    }
}
