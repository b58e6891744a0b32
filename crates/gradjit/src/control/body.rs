//! Bodies: the functions a loop, a branch or a custom derivative calls, traced as nested
//! functions, and the plumbing of their implicit state.
//!
//! A body is traced like any function ([`make_ir`](crate::make_ir())): its explicit parameters are the
//! leaves of its arguments, and it may also read and write `Var`s and use tensors of the
//! enclosing trace (closure capture). Those become explicit here: a primitive's sub-function sees
//! only its parameters, so every variable read or written and every captured tensor is routed
//! in as an operand of the equation (and every variable written out as a result). When several
//! bodies belong to one equation (the branches of a `cond`, the condition and body of a
//! `while`), they must agree on that plumbing: [`Closure`] collects the union of their implicit
//! inputs, and [`rebind`] rewires each body to it.

use crate::error::{Error, Result};
use crate::make_ir::TracedFunction;
use crate::tensor::Tensor;
use crate::trace::{bind, renumbered, trace_key};
use crate::tree::Tree;
use crate::var::Var;
use gradjit_ir::{Function, Loc, Prim, TensorType, Value};

/// The implicit inputs of one or more bodies, each once: the variables they read or write and
/// the tensors of enclosing traces they capture.
#[derive(Default)]
pub(crate) struct Closure {
    pub vars: Vec<Var>,
    pub captures: Vec<Tensor>,
    /// The type of each capture.
    pub capture_types: Vec<TensorType>,
}

impl Closure {
    /// Adds the implicit inputs of `t`: every variable it reads, every one it writes if
    /// `with_written` (a variable a body writes is an input too when another body, or a later
    /// step, must see its value unchanged), and every tensor it captures.
    pub fn add(&mut self, t: &TracedFunction, with_written: bool) {
        let written = if with_written { t.var_outputs() } else { &[] };
        for v in t.var_inputs().iter().chain(written) {
            if !self.vars.contains(v) {
                self.vars.push(v.clone());
            }
        }
        let first_capture = t.num_explicit_inputs() + t.var_inputs().len();
        for (c, &p) in t.captures().iter().zip(&t.function().params[first_capture..]) {
            if !self.captures.iter().any(|d| trace_key(d) == trace_key(c)) {
                self.captures.push(c.clone());
                self.capture_types.push(t.function().ty(p).clone());
            }
        }
    }

    /// The types of the implicit inputs: the variables', then the captures'.
    pub fn types(&self) -> Vec<TensorType> {
        self.vars.iter().map(Var::ty).chain(self.capture_types.iter().cloned()).collect()
    }

    /// The current values of the variables (in the context of the caller) and the captured
    /// tensors: the operands standing for the implicit inputs.
    pub fn operands(&self, loc: &Loc) -> (Vec<Tensor>, Vec<Tensor>) {
        (self.vars.iter().map(|v| v.value_at(loc)).collect(), self.captures.clone())
    }
}

/// A traced body's function taken apart, with one parameter per variable and capture of a
/// [`Closure`] and one output per written variable, to be put together in the order its
/// primitive wants.
pub(crate) struct Rebound {
    pub function: Function,
    pub explicit_params: Vec<Value>,
    /// One per variable of the closure (unused if the body does not read it).
    pub var_params: Vec<Value>,
    /// One per capture of the closure (unused if the body does not capture it).
    pub capture_params: Vec<Value>,
    pub explicit_outputs: Vec<Value>,
    /// One per variable in `written`: the body's value for it, or its input if the body leaves
    /// it alone.
    pub written_outputs: Vec<Value>,
}

impl Rebound {
    /// The function with the parameters and outputs given, renumbered canonically.
    pub fn finish(mut self, params: Vec<Value>, outputs: Vec<Value>) -> Function {
        self.function.params = params;
        self.function.outputs = outputs;
        renumbered(&self.function)
    }
}

/// `t`'s function rewired to the implicit inputs of `closure`, and to outputs for the variables
/// `written` (all of which must be in the closure).
pub(crate) fn rebind(t: &TracedFunction, closure: &Closure, written: &[Var]) -> Rebound {
    let mut f = t.function().clone();
    let n = t.num_explicit_inputs();
    let explicit_params = f.params[..n].to_vec();
    let own_vars = f.params[n..n + t.var_inputs().len()].to_vec();
    let own_captures = f.params[n + t.var_inputs().len()..].to_vec();
    let var_params: Vec<Value> = closure
        .vars
        .iter()
        .map(|v| match t.var_inputs().iter().position(|w| w == v) {
            Some(i) => own_vars[i],
            None => f.new_value(v.ty()),
        })
        .collect();
    let capture_params: Vec<Value> = closure
        .captures
        .iter()
        .zip(&closure.capture_types)
        .map(|(c, ty)| match t.captures().iter().position(|d| trace_key(d) == trace_key(c)) {
            Some(i) => own_captures[i],
            None => f.new_value(ty.clone()),
        })
        .collect();
    let m = t.num_explicit_outputs();
    let explicit_outputs = f.outputs[..m].to_vec();
    let written_outputs = written
        .iter()
        .map(|v| match t.var_outputs().iter().position(|w| w == v) {
            Some(i) => f.outputs[m + i],
            None => var_params[closure.vars.iter().position(|w| w == v).expect("written variables are inputs")],
        })
        .collect();
    Rebound { function: f, explicit_params, var_params, capture_params, explicit_outputs, written_outputs }
}

/// Applies `prim` to `operands` where they live (eagerly, or recorded in the enclosing trace)
/// and returns its results, or the first error.
pub(crate) fn apply(prim: Prim, operands: &[Tensor], loc: &Loc) -> Result<Vec<Tensor>> {
    let refs: Vec<&Tensor> = operands.iter().collect();
    let outs = bind(prim, &refs, loc);
    match outs.iter().find_map(Tensor::error) {
        Some(e) => Err(e.clone()),
        None => Ok(outs.into_vec()),
    }
}

/// Writes the values a primitive computed for the variables its body wrote.
pub(crate) fn write_back(vars: &[Var], values: &[Tensor], loc: &Loc) -> Result<()> {
    vars.iter().zip(values).try_for_each(|(v, t)| v.set_at(t, loc))
}

/// The types of the leaves of `t`, or the error of a poisoned leaf.
pub(crate) fn types(t: &Tree<Tensor>) -> Result<Tree<TensorType>> {
    t.try_map(Tensor::ty_or_err)
}

/// An error of the control-flow operation `op` at `loc`.
pub(crate) fn error(op: &str, message: impl Into<String>, loc: &Loc) -> Error {
    Error::op(op, message, loc.clone())
}

/// The types of a traced function's explicit outputs, in its output structure.
pub(crate) fn output_types(t: &TracedFunction) -> Result<Tree<TensorType>> {
    let tys = t.function().output_types();
    t.out_tree().unflatten(tys.into_iter().take(t.num_explicit_outputs()))
}

/// Whether a body's output `out` has the structure and types of its inputs `ins` (one tree per
/// argument; several arguments are returned as a tuple): what a loop carry must satisfy.
pub(crate) fn same_as_inputs(ins: &[Tree<TensorType>], out: &Tree<TensorType>) -> bool {
    match ins {
        [one] => one == out,
        many => *out == Tree::Tuple(many.to_vec()),
    }
}

/// A tree of types as Python would print it: `(f32[3], [i32[]])`.
pub(crate) fn describe(t: &Tree<TensorType>) -> String {
    t.to_string()
}
