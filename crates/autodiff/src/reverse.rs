//! Reverse mode: `vjp` and `grad`, by linearize-then-transpose.
//!
//! The reverse-mode derivative of `f` is the transpose of its JVP with respect to the tangents:
//! [`crate::transpose`] runs the JVP's primal equations forwards and its tangent equations
//! backwards, in one function.

use crate::builder::{Builder, Mode};
use crate::error::AdError;
use crate::jvp::jvp_function;
use crate::transpose::transpose_into;
use gradjit_ir::{Function, Value};

/// Checks `wrt` against `f`'s parameters and returns the mask of differentiated parameters.
pub(crate) fn wrt_mask(f: &Function, wrt: &[usize]) -> Result<Vec<bool>, AdError> {
    let mut mask = vec![false; f.params.len()];
    for &i in wrt {
        let slot = mask.get_mut(i).ok_or(AdError::BadArgnum { index: i, num_params: f.params.len() })?;
        if std::mem::replace(slot, true) {
            return Err(AdError::DuplicateArgnum { index: i });
        }
    }
    Ok(mask)
}

/// Emits the pullback of `f` at `xs` into `b`: `f`'s outputs and, for each parameter in `wrt`
/// (in that order), its cotangent given the output cotangents `out_cts` (`None` = zero).
pub(crate) fn pullback_into(
    b: &mut Builder,
    f: &Function,
    wrt: &[usize],
    xs: &[Value],
    out_cts: &[Option<Value>],
) -> Result<(Vec<Value>, Vec<Value>), AdError> {
    let mask = wrt_mask(f, wrt)?;
    let (jf, _) = jvp_function(f, &mask, true, Mode::Linearize)?;
    // Loop-invariant code out of loop bodies first, so that the backward pass reads invariant
    // residuals (a weight's transpose, say) once instead of stacking a copy per step.
    let jf = gradjit_ir::passes::licm::licm(&jf);
    let n_wrt = wrt.len();
    let linear: Vec<bool> = std::iter::repeat_n(false, xs.len()).chain(std::iter::repeat_n(true, n_wrt)).collect();
    let args: Vec<Option<Value>> = xs.iter().copied().map(Some).chain(std::iter::repeat_n(None, n_wrt)).collect();
    let cts: Vec<Option<Value>> = std::iter::repeat_n(None, f.outputs.len()).chain(out_cts.iter().copied()).collect();
    let t = transpose_into(b, &jf, &linear, &args, &cts)?;
    let mut outs = Vec::with_capacity(f.outputs.len());
    for (i, o) in t.outputs.iter().take(f.outputs.len()).enumerate() {
        outs.push(o.ok_or_else(|| AdError::LinearOutput { index: i, ty: jf.ty(jf.outputs[i]).clone() })?);
    }
    // The tangent parameters of `jf` follow the primal ones, in parameter order.
    let slot_of = |p: usize| xs.len() + mask[..p].iter().filter(|&&m| m).count();
    let mut grads = Vec::with_capacity(n_wrt);
    for &p in wrt {
        let ty = f.ty(f.params[p]);
        grads.push(b.instantiate(t.cts[slot_of(p)], &ty.with_dtype(ty.dtype.tangent()))?);
    }
    Ok((outs, grads))
}

/// Reverse-mode derivative: the vector-Jacobian product.
///
/// The result takes `f`'s parameters, then one cotangent per output of `f` (of the output's
/// tangent type), and returns `f`'s outputs, then the cotangent of each parameter in `wrt`, in
/// the order of `wrt`. Integer and boolean parameters get `float0` zeros.
pub fn vjp(f: &Function, wrt: &[usize]) -> Result<Function, AdError> {
    let mut g = Function::new();
    let xs: Vec<Value> = f.params.iter().map(|&p| g.add_param(f.ty(p).clone())).collect();
    let cts: Vec<Option<Value>> = f
        .outputs
        .iter()
        .map(|&o| {
            let ty = f.ty(o);
            let ct = g.add_param(ty.with_dtype(ty.dtype.tangent()));
            ty.dtype.is_inexact().then_some(ct)
        })
        .collect();
    let mut b = Builder::new(&mut g);
    let (outs, grads) = pullback_into(&mut b, f, wrt, &xs, &cts)?;
    g.outputs = outs.into_iter().chain(grads).collect();
    Ok(crate::finish(g))
}

/// The gradient of output 0 (the loss, a real scalar) with respect to the parameters in `wrt`.
///
/// The result takes `f`'s parameters and returns `f`'s outputs (the loss, then any auxiliary
/// outputs, which are not differentiated), then the gradient of each parameter in `wrt`, in the
/// order of `wrt`. Integer and boolean parameters get `float0` zeros of their shape.
///
/// A complex loss is differentiated holomorphically (its cotangent seeded with `1`): `z²` at
/// `1+2j` gives `2+4j`. A real function of complex inputs gives the conjugate of the Wirtinger
/// derivative ∂f/∂z̄ times two, as JAX does: `|z|²` at `1+2j` gives `2-4j`.
pub fn grad(f: &Function, wrt: &[usize]) -> Result<Function, AdError> {
    grad_unsimplified(f, wrt).map(crate::finish)
}

/// [`grad`] without its final clean-up by [`gradjit_ir::passes::simplify`]: the raw output of
/// linearize-then-transpose, which `gradjit dump --stage grad` shows so that the effect of each
/// simplification pass can be seen.
pub fn grad_unsimplified(f: &Function, wrt: &[usize]) -> Result<Function, AdError> {
    let &loss = f.outputs.first().ok_or(AdError::NoLoss)?;
    let ty = f.ty(loss).clone();
    if !ty.dtype.is_inexact() {
        return Err(AdError::NonDifferentiableLoss { ty });
    }
    if ty.rank() != 0 {
        return Err(AdError::NonScalarLoss { ty });
    }
    let mut g = Function::new();
    let xs: Vec<Value> = f.params.iter().map(|&p| g.add_param(f.ty(p).clone())).collect();
    let mut b = Builder::new(&mut g);
    let mut cts = vec![None; f.outputs.len()];
    cts[0] = Some(b.splat(1.0, &ty)?);
    let (outs, grads) = pullback_into(&mut b, f, wrt, &xs, &cts)?;
    g.outputs = outs.into_iter().chain(grads).collect();
    Ok(g)
}
