//! `gradjit::jit(gradjit::grad(f))` as users call it: the engine the targets of issue 5 are
//! about. Its first call traces, differentiates, simplifies and compiles; later calls check the
//! arguments' signature and run the cached native code.
//!
//! Compiled code is also cached process-wide by IR text (gradjit-codegen's global compiler),
//! which a fresh `jit` object cannot bypass: only the first compilation in a process is cold,
//! so [`Engine::forget`] says no and the runner measures one first call per process.

use super::engine::{hvp_grad, loss_grad, BenchResult, Compiled, Engine};
use super::{Transform, Workload};
use gradjit::{jit, Array, GradResult, Tensor};

/// `jit(grad(f))` (the identity: `jit(|x| x)`).
pub struct JitGrad;

/// A jitted workload bound to its inputs: a timed call is exactly the user's `call`, and the
/// drop of the previous call's result; flattening the result waits for [`Compiled::outputs`].
struct Jitted<R> {
    call: Box<dyn FnMut() -> gradjit::Result<R>>,
    flatten: fn(&R) -> BenchResult<Vec<Array>>,
    last: Option<R>,
}

/// The gradients of argument 0 (a tree for a `Vec` argument), flat.
fn arg_grads(g: &GradResult<Array>) -> BenchResult<Vec<Array>> {
    Ok(g.arg_grad_tree(0).ok_or("the gradient has no argument part")?.leaves().into_iter().cloned().collect())
}

fn boxed<R: 'static>(
    call: impl FnMut() -> gradjit::Result<R> + 'static,
    flatten: fn(&R) -> BenchResult<Vec<Array>>,
) -> Box<dyn Compiled> {
    Box::new(Jitted { call: Box::new(call), flatten, last: None })
}

impl Engine for JitGrad {
    fn name(&self) -> String {
        "gradjit jit(grad(f))".into()
    }

    fn compile(&self, w: &Workload) -> BenchResult<Box<dyn Compiled>> {
        let (params, rest) = (w.params.clone(), w.rest.clone());
        // `Jit::compile` traces, differentiates and compiles without running, so that the
        // first call's phases can be told apart; the call after it finds the code cached.
        Ok(match w.transform {
            Transform::Grad => {
                let g = jit(loss_grad(w));
                g.compile((&params[..], &rest[..]))?;
                boxed(move || g.call((&params[..], &rest[..])), arg_grads)
            }
            Transform::HvpOf(inner) => {
                let g = jit(hvp_grad(inner));
                g.compile((&params[0], &rest[0]))?;
                boxed(move || g.call((&params[0], &rest[0])), arg_grads)
            }
            Transform::Identity => {
                let f = jit(|x: Tensor| x);
                f.compile(&params[0])?;
                boxed(move || f.call(&params[0]), |x| Ok(vec![x.clone()]))
            }
        })
    }

    fn forget(&self) -> bool {
        false
    }
}

impl<R> Compiled for Jitted<R> {
    fn call(&mut self) -> BenchResult<()> {
        self.last = Some((self.call)()?);
        Ok(())
    }

    fn outputs(&self) -> BenchResult<Vec<Array>> {
        (self.flatten)(self.last.as_ref().ok_or("not called yet")?)
    }
}
