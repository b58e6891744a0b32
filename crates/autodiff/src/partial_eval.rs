//! Partial evaluation: splitting a function into the part that depends on its linear inputs
//! and the part that does not.
//!
//! A value is *linear* iff it depends on a linear parameter. For the JVP of a function with its
//! tangents as linear parameters, the non-linear part is the primal computation (plus the
//! derivative factors such as `cos x`) and the linear part is the tangent computation: this is
//! JAX's `linearize`. Non-linear values that the linear part uses become *residuals*, outputs of
//! the primal part and inputs of the linear part. Constants are rematerialised in the linear
//! part rather than passed as residuals.
//!
//! Equations with sub-functions (`call`, `scan`, `cond`) are split themselves into a primal and
//! a linear equation ([`crate::control::split_eqn`]): a `scan` into a primal scan that also
//! stacks the residuals of every step and a linear scan that reads them back.

use crate::builder::{lookup, Builder};
use crate::control::{self, EqnSplit, Source};
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
        let outs = control::linear_outputs(&e.prim, &mask);
        for (&o, l) in e.outputs.iter().zip(outs) {
            lin[o.index()] = l;
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
/// says. Calls, scans and conds whose operands are partly linear are split recursively.
pub fn partial_eval(f: &Function, linear_params: &[bool]) -> Result<Split, AdError> {
    partial_eval_with(f, linear_params, &vec![false; f.outputs.len()])
}

/// [`partial_eval`], with the outputs marked in `instantiate` made outputs of the linear part
/// even if they do not depend on the linear parameters (a constant is rematerialised there,
/// anything else passed as a residual). Loops need this: a carry that is linear on entry must
/// be an output of the linear body even where the body resets it (to a zero tangent, say).
pub(crate) fn partial_eval_with(f: &Function, linear_params: &[bool], instantiate: &[bool]) -> Result<Split, AdError> {
    let lin = linear_values(f, linear_params);
    let mut s = Splitter {
        f,
        lin: &lin,
        primal: Function::new(),
        linear: Function::new(),
        penv: vec![None; f.num_values()],
        lenv: vec![None; f.num_values()],
        residuals: Vec::new(),
        nullary: vec![None; f.num_values()],
    };
    let mut linear_param_values = Vec::new();
    for (&p, &l) in f.params.iter().zip(linear_params) {
        if l {
            let v = s.linear.new_value(f.ty(p).clone());
            s.lenv[p.index()] = Some(v);
            linear_param_values.push(v);
        } else {
            s.penv[p.index()] = Some(s.primal.add_param(f.ty(p).clone()));
        }
    }
    for (k, e) in f.eqns.iter().enumerate() {
        s.eqn(k, e)?;
    }
    let mut output_is_linear = Vec::with_capacity(f.outputs.len());
    for (&v, &inst) in f.outputs.iter().zip(instantiate.iter().chain(std::iter::repeat(&false))) {
        if lin[v.index()] {
            let l = lookup(&s.lenv, v)?;
            s.linear.outputs.push(l);
        } else if inst {
            let l =
                s.nonlinear_operand(v, f.eqns.iter().find(|e| e.outputs.contains(&v)).and_then(|e| e.loc.clone()))?;
            s.linear.outputs.push(l);
        } else {
            let p = lookup(&s.penv, v)?;
            s.primal.outputs.push(p);
        }
        output_is_linear.push(lin[v.index()] || inst);
    }
    let Splitter { mut primal, mut linear, residuals, .. } = s;
    primal.outputs.extend(residuals.iter().map(|&(p, _)| p));
    linear.params = residuals.iter().map(|&(_, l)| l).chain(linear_param_values).collect();
    Ok(Split { primal, linear, output_is_linear, num_residuals: residuals.len() })
}

/// The state of one [`partial_eval_with`].
struct Splitter<'a> {
    f: &'a Function,
    lin: &'a [bool],
    primal: Function,
    linear: Function,
    /// Each value of `f` in `primal` and in `linear` (where defined there).
    penv: Vec<Option<Value>>,
    lenv: Vec<Option<Value>>,
    /// Residual pairs: (value in `primal`, parameter of `linear`).
    residuals: Vec<(Value, Value)>,
    /// Equations without operands (constants, iotas), by the value they define.
    nullary: Vec<Option<usize>>,
}

impl Splitter<'_> {
    fn eqn(&mut self, k: usize, e: &gradjit_ir::Eqn) -> Result<(), AdError> {
        let mask: SmallVec<[bool; 3]> = e.inputs.iter().map(|&v| self.lin[v.index()]).collect();
        if !mask.contains(&true) {
            let ins = e.inputs.iter().map(|&v| lookup(&self.penv, v)).collect::<Result<SmallVec<[Value; 3]>, _>>()?;
            let mut pb = Builder::new(&mut self.primal);
            pb.loc = e.loc.clone();
            let outs = pb.emit(e.prim.clone(), &ins)?;
            for (&o, n) in e.outputs.iter().zip(outs) {
                self.penv[o.index()] = Some(n);
                if e.inputs.is_empty() {
                    self.nullary[o.index()] = Some(k);
                }
            }
            return Ok(());
        }
        if let Some(split) = control::split_eqn(&e.prim, &mask)? {
            return self.split(e, split);
        }
        let mut ins = SmallVec::<[Value; 3]>::new();
        for (&v, &l) in e.inputs.iter().zip(&mask) {
            ins.push(if l { lookup(&self.lenv, v)? } else { self.nonlinear_operand(v, e.loc.clone())? });
        }
        let mut lb = Builder::new(&mut self.linear);
        lb.loc = e.loc.clone();
        let outs = lb.emit(e.prim.clone(), &ins)?;
        for (&o, n) in e.outputs.iter().zip(outs) {
            self.lenv[o.index()] = Some(n);
        }
        Ok(())
    }

    /// A non-linear value of `f` as a value of `linear`: a rematerialised constant, or a residual.
    fn nonlinear_operand(&mut self, v: Value, loc: Option<gradjit_ir::Loc>) -> Result<Value, AdError> {
        if let Some(w) = self.lenv[v.index()] {
            return Ok(w);
        }
        let w = match self.nullary[v.index()] {
            Some(k) => {
                let mut lb = Builder::new(&mut self.linear);
                lb.loc = loc;
                lb.emit1(self.f.eqns[k].prim.clone(), &[])?
            }
            None => {
                let w = self.linear.new_value(self.f.ty(v).clone());
                self.residuals.push((lookup(&self.penv, v)?, w));
                w
            }
        };
        self.lenv[v.index()] = Some(w);
        Ok(w)
    }

    /// An equation split into a primal and a linear equation.
    fn split(&mut self, e: &gradjit_ir::Eqn, split: EqnSplit) -> Result<(), AdError> {
        let pins = split
            .primal_operands
            .iter()
            .map(|&i| lookup(&self.penv, e.inputs[i]))
            .collect::<Result<SmallVec<[Value; 3]>, _>>()?;
        let pouts = match split.primal {
            Some(p) => {
                let mut pb = Builder::new(&mut self.primal);
                pb.loc = e.loc.clone();
                emit_or_inline(&mut pb, p, &pins)?
            }
            None => Vec::new(),
        };
        let (nonlinear_outs, inner_res) = pouts.split_at(pouts.len() - split.num_residuals);
        let mut largs: SmallVec<[Value; 3]> = SmallVec::new();
        for source in &split.linear_operands {
            largs.push(match *source {
                Source::Residual(r) => {
                    let l = self.linear.new_value(self.primal.ty(inner_res[r]).clone());
                    self.residuals.push((inner_res[r], l));
                    l
                }
                Source::Operand(i) if self.lin[e.inputs[i].index()] => lookup(&self.lenv, e.inputs[i])?,
                Source::Operand(i) => self.nonlinear_operand(e.inputs[i], e.loc.clone())?,
            });
        }
        let mut lb = Builder::new(&mut self.linear);
        lb.loc = e.loc.clone();
        let louts = emit_or_inline(&mut lb, split.linear, &largs)?;
        let (mut nl, mut l) = (nonlinear_outs.iter(), louts.iter());
        for (&o, &is_lin) in e.outputs.iter().zip(&split.output_is_linear) {
            let (env, next) = if is_lin { (&mut self.lenv, l.next()) } else { (&mut self.penv, nl.next()) };
            env[o.index()] = next.copied();
        }
        Ok(())
    }
}

/// Emits `prim args`, inlining a `call` whose body only forwards values (or returns nothing).
pub(crate) fn emit_or_inline(b: &mut Builder, prim: Prim, args: &[Value]) -> Result<Vec<Value>, AdError> {
    if let Prim::Call { body } = &prim {
        if body.eqns.is_empty() || body.outputs.is_empty() {
            return b.inline(body, args);
        }
    }
    Ok(b.emit(prim, args)?.into_vec())
}

/// `call[body=f]`, with `f` cleaned up.
pub(crate) fn call_of(f: Function) -> Prim {
    Prim::Call { body: Arc::new(crate::finish(f)) }
}
