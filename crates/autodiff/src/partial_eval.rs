//! Partial evaluation: splitting a function into the part that depends on its linear inputs
//! and the part that does not.
//!
//! A value is *linear* iff it depends on a linear parameter. For the JVP of a function with its
//! tangents as linear parameters, the non-linear part is the primal computation (plus the
//! derivative factors such as `cos x`) and the linear part is the tangent computation: this is
//! JAX's `linearize`. Non-linear values that the linear part uses become *residuals*, outputs of
//! the primal part and inputs of the linear part. Constants are rematerialised in the linear
//! part rather than passed as residuals.

use crate::builder::{lookup, Builder};
use crate::error::AdError;
use gradjit_ir::{Function, Prim, Value};
use smallvec::SmallVec;
use std::sync::Arc;

/// Which values of `f` depend on the parameters marked in `linear_params`.
pub(crate) fn linear_values(f: &Function, linear_params: &[bool]) -> Vec<bool> {
    let mut lin = vec![false; f.num_values()];
    for (&p, &l) in f.params.iter().zip(linear_params) {
        lin[p.index()] = l;
    }
    for e in &f.eqns {
        let mask: SmallVec<[bool; 3]> = e.inputs.iter().map(|&v| lin[v.index()]).collect();
        if !mask.contains(&true) {
            continue;
        }
        match &e.prim {
            // A call's output is linear only if it depends on a linear operand inside the body.
            Prim::Call { body } => {
                let inner = linear_values(body, &mask);
                for (&o, &bo) in e.outputs.iter().zip(&body.outputs) {
                    lin[o.index()] = inner[bo.index()];
                }
            }
            _ => e.outputs.iter().for_each(|&o| lin[o.index()] = true),
        }
    }
    lin
}

/// A function split by [`partial_eval`].
#[derive(Clone, Debug)]
pub struct Split {
    /// Takes the non-linear parameters; returns the non-linear outputs, then the residuals.
    pub primal: Function,
    /// Takes the residuals, then the linear parameters; returns the linear outputs.
    pub linear: Function,
    /// For each output of the original function, whether it is linear (an output of `linear`)
    /// or not (an output of `primal`).
    pub output_is_linear: Vec<bool>,
    /// The number of residuals.
    pub num_residuals: usize,
}

/// Splits `f` into a primal part and a linear part, given which parameters are linear.
///
/// Composing them gives `f` back: `linear(residuals, linear params)` and the non-residual
/// outputs of `primal(non-linear params)` are `f`'s outputs in the order `output_is_linear`
/// says. Calls whose operands are partly linear are split recursively.
pub fn partial_eval(f: &Function, linear_params: &[bool]) -> Result<Split, AdError> {
    let lin = linear_values(f, linear_params);
    let mut primal = Function::new();
    let mut linear = Function::new();
    let mut penv: Vec<Option<Value>> = vec![None; f.num_values()];
    let mut lenv: Vec<Option<Value>> = vec![None; f.num_values()];
    let mut linear_param_values = Vec::new();
    for (&p, &l) in f.params.iter().zip(linear_params) {
        if l {
            let v = linear.new_value(f.ty(p).clone());
            lenv[p.index()] = Some(v);
            linear_param_values.push(v);
        } else {
            penv[p.index()] = Some(primal.add_param(f.ty(p).clone()));
        }
    }
    // Residual pairs: (value in `primal`, parameter of `linear`).
    let mut residuals: Vec<(Value, Value)> = Vec::new();
    // Equations without operands (constants, iotas), by the value they define.
    let mut nullary: Vec<Option<usize>> = vec![None; f.num_values()];
    {
        let mut pb = Builder::new(&mut primal);
        let mut lb = Builder::new(&mut linear);
        for (k, e) in f.eqns.iter().enumerate() {
            let mask: SmallVec<[bool; 3]> = e.inputs.iter().map(|&v| lin[v.index()]).collect();
            pb.loc = e.loc.clone();
            lb.loc = e.loc.clone();
            if !mask.contains(&true) {
                let ins = e.inputs.iter().map(|&v| lookup(&penv, v)).collect::<Result<SmallVec<[Value; 3]>, _>>()?;
                let outs = pb.emit(e.prim.clone(), &ins)?;
                for (&o, n) in e.outputs.iter().zip(outs) {
                    penv[o.index()] = Some(n);
                    if e.inputs.is_empty() {
                        nullary[o.index()] = Some(k);
                    }
                }
                continue;
            }
            if let Prim::Call { body } = &e.prim {
                let inner = partial_eval(body, &mask)?;
                let pins = e.inputs.iter().filter(|&&v| !lin[v.index()]).map(|&v| lookup(&penv, v)).collect::<Result<
                    SmallVec<[Value; 3]>,
                    _,
                >>(
                )?;
                let pouts = call_or_inline(&mut pb, inner.primal, &pins)?;
                let (nonlinear_outs, inner_res) = pouts.split_at(pouts.len() - inner.num_residuals);
                let mut largs: SmallVec<[Value; 3]> = SmallVec::new();
                for &r in inner_res {
                    let l = lb.f.new_value(pb.ty(r));
                    residuals.push((r, l));
                    largs.push(l);
                }
                for &v in e.inputs.iter().filter(|&&v| lin[v.index()]) {
                    largs.push(lookup(&lenv, v)?);
                }
                let louts = call_or_inline(&mut lb, inner.linear, &largs)?;
                let (mut nl, mut l) = (nonlinear_outs.iter(), louts.iter());
                for (&o, &is_lin) in e.outputs.iter().zip(&inner.output_is_linear) {
                    let env = if is_lin { &mut lenv } else { &mut penv };
                    env[o.index()] = if is_lin { l.next() } else { nl.next() }.copied();
                }
                continue;
            }
            let mut ins = SmallVec::<[Value; 3]>::new();
            for (&v, &l) in e.inputs.iter().zip(&mask) {
                if l || lenv[v.index()].is_some() {
                    ins.push(lookup(&lenv, v)?);
                    continue;
                }
                // A non-linear operand: rematerialise a constant, or pass the value as a residual.
                let w = match nullary[v.index()] {
                    Some(k) => lb.emit1(f.eqns[k].prim.clone(), &[])?,
                    None => {
                        let w = lb.f.new_value(f.ty(v).clone());
                        residuals.push((lookup(&penv, v)?, w));
                        w
                    }
                };
                lenv[v.index()] = Some(w);
                ins.push(w);
            }
            let outs = lb.emit(e.prim.clone(), &ins)?;
            for (&o, n) in e.outputs.iter().zip(outs) {
                lenv[o.index()] = Some(n);
            }
        }
    }
    let output_is_linear: Vec<bool> = f.outputs.iter().map(|&v| lin[v.index()]).collect();
    for (&v, &l) in f.outputs.iter().zip(&output_is_linear) {
        if l {
            linear.outputs.push(lookup(&lenv, v)?);
        } else {
            primal.outputs.push(lookup(&penv, v)?);
        }
    }
    primal.outputs.extend(residuals.iter().map(|&(p, _)| p));
    linear.params = residuals.iter().map(|&(_, l)| l).chain(linear_param_values).collect();
    Ok(Split { primal, linear, output_is_linear, num_residuals: residuals.len() })
}

/// Emits `body(args)` as a `call`, or inlines it when it only forwards values.
fn call_or_inline(b: &mut Builder, body: Function, args: &[Value]) -> Result<Vec<Value>, AdError> {
    if body.eqns.is_empty() || body.outputs.is_empty() {
        return b.inline(&body, args);
    }
    Ok(b.emit(Prim::Call { body: Arc::new(crate::finish(body)) }, args)?.into_vec())
}
