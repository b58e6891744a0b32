//! [`while_loop`]: JAX's `lax.while_loop`, a loop whose number of steps depends on the data.
//!
//! Forward mode differentiates through it; reverse mode cannot (the steps to run backwards are
//! known only once the loop has run) and is an error, as in JAX: use [`scan`](super::scan()) or
//! [`fori_loop`](super::fori_loop()) for loops of a known length.

use super::body::{apply, describe, error, output_types, rebind, same_as_inputs, types, write_back, Closure};
use crate::error::{Error, Result};
use crate::make_ir::trace;
use crate::signature::{ArgsFor, Output, TraceFn};
use crate::tensor::Tensor;
use crate::trace::caller;
use crate::tree::Tree;
use crate::var::Var;
use gradjit_ir::{DType, Prim, TensorType, Value};

/// `while cond(val) { val = body(val) }`, returning the final `val`, as `jax.lax.while_loop`.
///
/// `cond` returns a `bool` scalar; `body` returns a value of `init`'s structure and types
/// (several arguments are returned as a tuple). Variables `body` writes are carried from step to
/// step, and `cond` sees their current values; `cond` must not write variables.
///
/// ```
/// use gradjit::{while_loop, Tensor};
/// // Doubles x until it exceeds 100.
/// let x = while_loop(|x: Tensor| x.lt(100.0f32), |x: Tensor| &x * 2.0, 3.0f32)?;
/// assert_eq!(x.item()?, 192.0);
/// # Ok::<(), gradjit::Error>(())
/// ```
#[track_caller]
pub fn while_loop<P, C, B>(cond: C, body: B, init: impl ArgsFor<P>) -> Result<<B::Out as Output>::With<Tensor>>
where
    C: TraceFn<P>,
    B: TraceFn<P>,
{
    let loc = caller();
    let init = init.into_trees();
    let init_ty = init.iter().map(types).collect::<Result<Vec<_>>>()?;
    let tc = trace(&cond, &init_ty, &loc)?;
    let tb = trace(&body, &init_ty, &loc)?;
    let predicate = output_types(&tc)?;
    if predicate != Tree::Leaf(TensorType::scalar(DType::Bool)) {
        let message = format!("the condition must return a bool scalar, but it returns {}", describe(&predicate));
        return Err(error("while_loop", message, &loc));
    }
    if let Some(v) = tc.var_outputs().first() {
        let message = format!("the condition must not write variables, but it writes {}", v.describe());
        return Err(error("while_loop", message, &loc));
    }
    let out = output_types(&tb)?;
    if !same_as_inputs(&init_ty, &out) {
        let inputs = Tree::Tuple(init_ty.clone());
        let message = format!(
            "the body returns {} for a value of types {}; they must be the same",
            describe(&out),
            if init_ty.len() == 1 { describe(&init_ty[0]) } else { describe(&inputs) }
        );
        return Err(error("while_loop", message, &loc));
    }

    // Variables the body writes are carried; the others each loop part reads are its consts.
    let carried: Vec<Var> = tb.var_outputs().to_vec();
    let (mut cond_closure, mut body_closure) = (Closure::default(), Closure::default());
    cond_closure.add(&tc, false);
    body_closure.add(&tb, true);
    for v in &carried {
        if !cond_closure.vars.contains(v) {
            cond_closure.vars.push(v.clone());
        }
    }
    let rc = rebind(&tc, &cond_closure, &[]);
    let rb = rebind(&tb, &body_closure, &carried);
    let consts_of = |closure: &Closure, var_params: &[Value], capture_params: &[Value]| {
        let mut params: Vec<Value> = Vec::new();
        let mut operands: Vec<Tensor> = Vec::new();
        let (values, captures) = closure.operands(&loc);
        for k in (0..closure.vars.len()).filter(|&k| !carried.contains(&closure.vars[k])) {
            params.push(var_params[k]);
            operands.push(values[k].clone());
        }
        params.extend_from_slice(capture_params);
        operands.extend(captures);
        (params, operands)
    };
    let carried_params = |closure: &Closure, var_params: &[Value]| -> Vec<Value> {
        carried.iter().filter_map(|v| closure.vars.iter().position(|w| w == v)).map(|k| var_params[k]).collect()
    };

    let (mut cond_params, cond_operands) = consts_of(&cond_closure, &rc.var_params, &rc.capture_params);
    let cond_consts = cond_params.len();
    cond_params.extend_from_slice(&rc.explicit_params);
    cond_params.extend(carried_params(&cond_closure, &rc.var_params));
    let cond_outputs = rc.explicit_outputs.clone();
    let (mut body_params, body_operands) = consts_of(&body_closure, &rb.var_params, &rb.capture_params);
    let body_consts = body_params.len();
    body_params.extend_from_slice(&rb.explicit_params);
    body_params.extend(carried_params(&body_closure, &rb.var_params));
    let mut body_outputs = rb.explicit_outputs.clone();
    body_outputs.extend_from_slice(&rb.written_outputs);

    let mut operands = cond_operands;
    operands.extend(body_operands);
    let explicit: Vec<Tensor> = init.into_iter().flat_map(Tree::into_leaves).collect();
    let n = explicit.len();
    operands.extend(explicit);
    operands.extend(carried.iter().map(|v| v.value_at(&loc)));
    let prim = Prim::While {
        cond_consts,
        body_consts,
        cond: rc.finish(cond_params, cond_outputs).into(),
        body: rb.finish(body_params, body_outputs).into(),
    };
    let mut outs = apply(prim, &operands, &loc)?;
    let finals = outs.split_off(n);
    write_back(&carried, &finals, &loc)?;
    <B::Out as Output>::rebuild(out.structure().unflatten(outs)?)
        .ok_or_else(|| Error::Structure("while_loop: the results do not fit the body's output type".into()))
}
