//! Transposition: running the linear part of a function backwards.
//!
//! Given a function and which parameters are linear, [`transpose_into`] emits its non-linear
//! equations forwards (they compute the primal values and residuals), then walks the linear
//! equations in reverse, applying each primitive's transpose rule to the cotangents of its
//! outputs and accumulating the results into the cotangents of its linear operands with `add`.
//! Cotangents are `Option<Value>`, `None` a symbolic zero: an equation whose outputs have no
//! cotangent is skipped, and zeros are materialised only for requested outputs.
//!
//! Applied to the JVP of `f`, with the tangents as the linear parameters, this is reverse mode:
//! JAX's "linearize, then transpose".

use crate::builder::{lookup, Builder};
use crate::control::{self, Source};
use crate::error::AdError;
use crate::partial_eval::linear_values;
use crate::rules::transpose::{transpose as transpose_rule, Operand};
use gradjit_ir::{shape_rules, Function, Prim, TensorType, Value};
use smallvec::SmallVec;

/// The result of [`transpose_into`].
pub(crate) struct Transposed {
    /// Each output of the function: its value if it is non-linear, `None` if it is linear.
    pub outputs: Vec<Option<Value>>,
    /// Each parameter's cotangent: `None` for non-linear parameters and zero cotangents.
    pub cts: Vec<Option<Value>>,
}

/// A linear equation to transpose: its primitive and operands, and the values of `f` that
/// receive the operands' cotangents and provide the outputs'.
struct LinearEqn {
    prim: Prim,
    operands: SmallVec<[Operand; 3]>,
    operand_values: SmallVec<[Option<Value>; 3]>,
    outputs: SmallVec<[Value; 1]>,
}

/// Emits into `b` the transpose of `f` with respect to the parameters marked in `linear`.
///
/// `args` binds the non-linear parameters (entries for linear ones are ignored); `out_cts` gives
/// a cotangent per output of `f` (`None`: zero, and ignored for non-linear outputs).
pub(crate) fn transpose_into(
    b: &mut Builder,
    f: &Function,
    linear: &[bool],
    args: &[Option<Value>],
    out_cts: &[Option<Value>],
) -> Result<Transposed, AdError> {
    let lin = linear_values(f, linear);
    let mut env: Vec<Option<Value>> = vec![None; f.num_values()];
    for (i, &p) in f.params.iter().enumerate() {
        if !linear[i] {
            env[p.index()] = Some(args[i].ok_or(AdError::Undefined { value: p.index() })?);
        }
    }
    let saved = b.loc.clone();

    // Forward: the non-linear equations, and the primal halves of partly linear calls, scans and
    // conds.
    let mut linear_eqns: Vec<(usize, LinearEqn)> = Vec::new();
    for (k, e) in f.eqns.iter().enumerate() {
        b.loc = e.loc.clone();
        if !e.inputs.iter().any(|&v| lin[v.index()]) {
            let ins = e.inputs.iter().map(|&v| lookup(&env, v)).collect::<Result<SmallVec<[Value; 3]>, _>>()?;
            let outs = b.emit(e.prim.clone(), &ins)?;
            for (&o, n) in e.outputs.iter().zip(outs) {
                env[o.index()] = Some(n);
            }
            continue;
        }
        // The rules index operands by position: check the equation's arity and types first.
        let in_tys: SmallVec<[&TensorType; 3]> = e.inputs.iter().map(|&v| f.ty(v)).collect();
        shape_rules::infer(&e.prim, &in_tys).map_err(|err| err.at(e.loc.clone()))?;
        let operand = |v: Value| -> Result<(Operand, Option<Value>), AdError> {
            Ok(if lin[v.index()] {
                (Operand::Linear(f.ty(v).clone()), Some(v))
            } else {
                (Operand::Primal(lookup(&env, v)?), None)
            })
        };
        let mask: SmallVec<[bool; 3]> = e.inputs.iter().map(|&v| lin[v.index()]).collect();
        let eqn = match control::split_eqn(&e.prim, &mask)? {
            // Split the equation: its primal half runs now, its linear half is transposed below.
            Some(split) => {
                let pins = split
                    .primal_operands
                    .iter()
                    .map(|&i| lookup(&env, e.inputs[i]))
                    .collect::<Result<SmallVec<[Value; 3]>, _>>()?;
                let pouts = match split.primal {
                    Some(p) => b.emit(p, &pins)?.into_vec(),
                    None => Vec::new(),
                };
                let (nonlinear_outs, residuals) = pouts.split_at(pouts.len() - split.num_residuals);
                let (mut operands, mut operand_values) = (SmallVec::new(), SmallVec::new());
                for source in &split.linear_operands {
                    let (o, v) = match *source {
                        Source::Residual(r) => (Operand::Primal(residuals[r]), None),
                        Source::Operand(i) => operand(e.inputs[i])?,
                    };
                    operands.push(o);
                    operand_values.push(v);
                }
                let mut nonlinear_outs = nonlinear_outs.iter();
                let mut outputs = SmallVec::new();
                for (&o, &is_lin) in e.outputs.iter().zip(&split.output_is_linear) {
                    if is_lin {
                        outputs.push(o);
                    } else {
                        env[o.index()] = nonlinear_outs.next().copied();
                    }
                }
                LinearEqn { prim: split.linear, operands, operand_values, outputs }
            }
            None => {
                let (operands, operand_values) = e.inputs.iter().map(|&v| operand(v)).collect::<Result<_, _>>()?;
                LinearEqn { prim: e.prim.clone(), operands, operand_values, outputs: e.outputs.clone() }
            }
        };
        linear_eqns.push((k, eqn));
    }

    // Backward: the linear equations in reverse, from the output cotangents.
    let mut ct: Vec<Option<Value>> = vec![None; f.num_values()];
    for (&v, &c) in f.outputs.iter().zip(out_cts) {
        if let (true, Some(c)) = (lin[v.index()], c) {
            accumulate(b, &mut ct, f, v, c)?;
        }
    }
    for (k, e) in linear_eqns.iter().rev() {
        let cts_out: SmallVec<[Option<Value>; 1]> = e.outputs.iter().map(|&o| ct[o.index()].take()).collect();
        if cts_out.iter().all(Option::is_none) {
            continue;
        }
        b.loc = f.eqns[*k].loc.clone();
        let cts_in = transpose_rule(b, &e.prim, &e.operands, &cts_out)?;
        for (&target, c) in e.operand_values.iter().zip(cts_in) {
            if let (Some(v), Some(c)) = (target, c) {
                accumulate(b, &mut ct, f, v, c)?;
            }
        }
    }
    b.loc = saved;
    let outputs = f.outputs.iter().map(|&v| if lin[v.index()] { None } else { env[v.index()] }).collect();
    let cts = f.params.iter().zip(linear).map(|(&p, &l)| if l { ct[p.index()] } else { None }).collect();
    Ok(Transposed { outputs, cts })
}

/// Adds `c` to the cotangent of `v` (cotangents of integer values are zero and dropped).
fn accumulate(b: &mut Builder, ct: &mut [Option<Value>], f: &Function, v: Value, c: Value) -> Result<(), AdError> {
    if !f.ty(v).dtype.is_inexact() {
        return Ok(());
    }
    let sum = match ct[v.index()] {
        Some(prev) => b.add(prev, c)?,
        None => c,
    };
    ct[v.index()] = Some(sum);
    Ok(())
}

/// The transpose of `f` as a function. Its parameters are `f`'s non-linear parameters, then a
/// cotangent for each output `o` with `ct_outputs[o]`; its outputs are the cotangents of the
/// linear parameters (zeros materialised). Outputs without a cotangent count as zero.
pub(crate) fn transpose_function(f: &Function, linear: &[bool], ct_outputs: &[bool]) -> Result<Function, AdError> {
    let mut g = Function::new();
    let args: Vec<Option<Value>> =
        f.params.iter().zip(linear).map(|(&p, &l)| (!l).then(|| g.add_param(f.ty(p).clone()))).collect();
    let out_cts: Vec<Option<Value>> = f
        .outputs
        .iter()
        .zip(ct_outputs)
        .map(|(&o, &has)| {
            let ty = f.ty(o);
            has.then(|| g.add_param(ty.with_dtype(ty.dtype.tangent())))
        })
        .collect();
    let mut b = Builder::new(&mut g);
    let t = transpose_into(&mut b, f, linear, &args, &out_cts)?;
    let mut outputs = Vec::new();
    for ((&p, &l), c) in f.params.iter().zip(linear).zip(t.cts) {
        if l {
            let ty = f.ty(p);
            outputs.push(b.instantiate(c, &ty.with_dtype(ty.dtype.tangent()))?);
        }
    }
    g.outputs = outputs;
    Ok(g)
}

/// Transposes a function that is linear in the parameters marked in `linear`.
///
/// The result takes the non-linear parameters, then one cotangent per output, and returns the
/// cotangents of the linear parameters: `<ct, f(x)> = Σ <transpose(f)(ct)_i, x_i>` for the linear
/// parameters `x_i`. Fails with [`AdError::NotLinear`] if an output depends non-linearly on them.
pub fn transpose(f: &Function, linear: &[bool]) -> Result<Function, AdError> {
    let g = transpose_function(f, linear, &vec![true; f.outputs.len()])?;
    Ok(crate::finish(g))
}
