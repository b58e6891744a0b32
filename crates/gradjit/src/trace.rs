//! Tracing: recording tensor operations into an IR [`Function`].
//!
//! A *trace* is the function being recorded while a transformation (`make_ir`, `grad`, `jit`)
//! runs the user's function on abstract inputs. The active traces of a thread form a stack
//! (it is deeper than one when `grad` runs inside a traced function); an operation on traced
//! tensors is recorded into the innermost one.
//!
//! Every operation goes through [`bind`], which looks at its operands:
//! - a poisoned operand: the result is poisoned with the same error (the first error wins);
//! - a tensor of a finished trace: an escaped-tensor error naming where it was created;
//! - all operands concrete: the operation is evaluated at once by the reference interpreter
//!   (eager mode). Inside a trace only a small result ([`FOLD_LIMIT`] elements) is: constant
//!   subexpressions fold while tracing, but tracing never materialises a large array. A larger
//!   one is recorded, so a splat constant of a gradient stays a splat literal and the
//!   compiler's simplifier folds it symbolically (`jit(grad(f))` traces in the same time at any
//!   size). As in `jax.jit`, such a result is then a traced value, not data;
//! - otherwise it is recorded in the innermost trace, whose function gains whatever the
//!   operands need: a constant for a concrete operand (a captured array becomes a dense literal
//!   sharing its data, a uniform one a splat), and an implicit input for a tensor of an
//!   enclosing trace (closure capture: how grad of grad sees the outer function's values).
//!
//! `Var`s read and written inside a trace become implicit inputs and outputs of the function
//! ([`TraceCtx::read_var`], [`TraceCtx::write_var`]): the trace keeps each variable's current
//! value, so a read after a write sees the written tensor, and whoever runs the function
//! writes the final values back.
//!
//! An error met while a trace is active is also recorded in the innermost trace (first error
//! wins), so that it surfaces when the trace finishes even if the poisoned tensor is dropped.

use crate::array::Array;
use crate::error::{Error, Result};
use crate::tensor::{Repr, Tensor};
use crate::var::{Var, VarId};
use gradjit_ir::{Function, HostArray, Literal, Loc, Prim, TensorType, Value};
use smallvec::SmallVec;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// The outputs of one operation (all primitives but `call` have exactly one).
pub(crate) type Outputs = SmallVec<[Tensor; 1]>;

thread_local! {
    /// The active traces, innermost last.
    static STACK: RefCell<Vec<Rc<TraceCtx>>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
    /// Source file names, shared by address: every operation takes its caller's location, and
    /// this keeps that from allocating.
    static FILES: RefCell<HashMap<usize, Arc<str>>> = RefCell::new(HashMap::new());
}

/// The location of the caller of a `#[track_caller]` function.
#[track_caller]
pub(crate) fn caller() -> Loc {
    let l = std::panic::Location::caller();
    // A `'static` string never moves, so its address identifies it.
    let key = l.file().as_ptr() as usize;
    let file = FILES.with(|f| f.borrow_mut().entry(key).or_insert_with(|| Arc::from(l.file())).clone());
    Loc::new(file, l.line(), l.column())
}

/// The innermost active trace of this thread, if any.
pub(crate) fn innermost() -> Option<Rc<TraceCtx>> {
    STACK.with(|s| s.borrow().last().cloned())
}

/// True while a transformation is tracing a function on this thread.
pub fn is_tracing() -> bool {
    STACK.with(|s| !s.borrow().is_empty())
}

/// One function being recorded.
pub(crate) struct TraceCtx {
    /// Unique per thread; keys the values lifted from this trace into inner ones.
    id: u64,
    finished: Cell<bool>,
    state: RefCell<State>,
}

/// A traced tensor: a value of a trace's function.
#[derive(Clone)]
pub(crate) struct Tracer {
    pub ctx: Rc<TraceCtx>,
    pub value: Value,
    pub ty: TensorType,
    /// Where the operation that produced it was applied.
    pub created: Loc,
}

#[derive(Default)]
struct State {
    func: Function,
    error: Option<Error>,
    /// The explicit parameters, in order.
    explicit: Vec<Value>,
    /// Variables read before being written, with their parameters, in first-read order.
    var_params: Vec<(Var, Value)>,
    /// Variables written, in first-write order.
    vars_written: Vec<Var>,
    /// The current value of every variable read or written.
    var_values: HashMap<VarId, Value>,
    /// Tensors of enclosing traces used here, with their parameters, in first-use order.
    captures: Vec<(Tensor, Value)>,
    /// (trace id, value) of each captured tensor → its parameter.
    capture_params: HashMap<(u64, Value), Value>,
    /// Constants made from concrete arrays, by the address of the shared data (the array is
    /// kept alive, so that the address cannot be reused by another array during the trace).
    consts: HashMap<usize, (Arc<HostArray>, Value)>,
}

impl TraceCtx {
    pub(crate) fn is_finished(&self) -> bool {
        self.finished.get()
    }

    /// Keeps the first error of the trace.
    pub(crate) fn record_error(&self, e: &Error) {
        self.state.borrow_mut().error.get_or_insert_with(|| e.clone());
    }

    /// The value standing for `t` in this trace: its own value, a constant, or a parameter
    /// lifted from an enclosing trace. `t` must not be poisoned or escaped (see [`placement`]).
    fn value_of(self: &Rc<Self>, t: &Tensor, loc: &Loc) -> Value {
        match &t.repr {
            Repr::Traced(tr) if tr.ctx.id == self.id => tr.value,
            Repr::Traced(tr) => {
                let mut st = self.state.borrow_mut();
                if let Some(&p) = st.capture_params.get(&(tr.ctx.id, tr.value)) {
                    return p;
                }
                let p = st.func.add_param(tr.ty.clone());
                st.capture_params.insert((tr.ctx.id, tr.value), p);
                st.captures.push((t.clone(), p));
                p
            }
            Repr::Concrete(a) => self.constant(a, loc),
            // Unreachable after `placement`; a fresh parameter keeps the function well formed
            // while the error recorded by `placement` is what the user sees.
            Repr::Poisoned(_) => self.state.borrow_mut().func.new_value(TensorType::scalar(gradjit_ir::DType::F32)),
        }
    }

    /// A constant holding `a`: a splat if all its elements are equal, else dense data sharing
    /// the array's buffer. Each array becomes one constant per trace.
    fn constant(&self, a: &Array, loc: &Loc) -> Value {
        let host: &HostArray = a.as_host();
        let key = host as *const HostArray as usize;
        let mut st = self.state.borrow_mut();
        if let Some(&(_, v)) = st.consts.get(&key) {
            return v;
        }
        let lit = match host.splat_value() {
            Some(s) => Literal::Splat(s, host.shape().clone()),
            None => Literal::Dense(a.host_arc()),
        };
        let v = st.func.push_typed(Prim::Constant(lit), &[], [host.ty().clone()], Some(loc.clone()))[0];
        st.consts.insert(key, (a.host_arc(), v));
        v
    }

    /// Records `prim inputs`, or the shape rule's error.
    fn record(self: &Rc<Self>, prim: Prim, inputs: &[&Tensor], loc: &Loc) -> Outputs {
        let vals: SmallVec<[Value; 3]> = inputs.iter().map(|t| self.value_of(t, loc)).collect();
        let mut st = self.state.borrow_mut();
        match st.func.push(prim.clone(), &vals, Some(loc.clone())) {
            Ok(outs) => outs
                .iter()
                .map(|&v| {
                    let ty = st.func.ty(v).clone();
                    Tensor::traced(Tracer { ctx: self.clone(), value: v, ty, created: loc.clone() })
                })
                .collect(),
            Err(e) => {
                drop(st);
                poison(Error::from_shape(e, loc.clone()), prim.num_results())
            }
        }
    }

    /// A splat constant recorded directly (scalars combined with traced tensors: no array of
    /// the full shape is ever materialised).
    pub(crate) fn splat(self: &Rc<Self>, lit: Literal, loc: &Loc) -> Tensor {
        self.record(Prim::Constant(lit), &[], loc).remove(0)
    }

    /// `t` as a tensor of this trace (a constant, or lifted from an enclosing trace).
    pub(crate) fn adopt(self: &Rc<Self>, t: &Tensor, loc: &Loc) -> Tensor {
        match &t.repr {
            Repr::Traced(tr) if tr.ctx.id == self.id => t.clone(),
            Repr::Poisoned(_) => t.clone(),
            _ => {
                let value = self.value_of(t, loc);
                let ty = self.state.borrow().func.ty(value).clone();
                Tensor::traced(Tracer { ctx: self.clone(), value, ty, created: loc.clone() })
            }
        }
    }

    /// Reads a variable: its value written earlier in this trace, else a new implicit input.
    pub(crate) fn read_var(self: &Rc<Self>, var: &Var, loc: &Loc) -> Tensor {
        let mut st = self.state.borrow_mut();
        let value = match st.var_values.get(&var.id()) {
            Some(&v) => v,
            None => {
                let p = st.func.add_param(var.ty());
                st.var_params.push((var.clone(), p));
                st.var_values.insert(var.id(), p);
                p
            }
        };
        let ty = st.func.ty(value).clone();
        Tensor::traced(Tracer { ctx: self.clone(), value, ty, created: loc.clone() })
    }

    /// Writes a variable: `value` becomes its current value in this trace and an implicit
    /// output of the function. A value of the wrong type is an error, also recorded.
    pub(crate) fn write_var(self: &Rc<Self>, var: &Var, value: &Tensor, loc: &Loc) -> Result<()> {
        let checked = placement(&[value], loc).and_then(|_| var.check_write(&value.ty_or_err()?, loc));
        if let Err(e) = checked {
            self.record_error(&e);
            return Err(e);
        }
        let v = self.value_of(value, loc);
        let mut st = self.state.borrow_mut();
        st.var_values.insert(var.id(), v);
        if !st.vars_written.contains(var) {
            st.vars_written.push(var.clone());
        }
        Ok(())
    }
}

/// What a traced tensor stands for: its trace and its value there (`None` for other tensors).
/// Two tensors with the same key are the same traced value, however they were cloned.
pub(crate) fn trace_key(t: &Tensor) -> Option<(u64, Value)> {
    match &t.repr {
        Repr::Traced(tr) => Some((tr.ctx.id, tr.value)),
        _ => None,
    }
}

/// `n` tensors poisoned with `e`, which is also recorded in the innermost trace.
pub(crate) fn poison(e: Error, n: usize) -> Outputs {
    if let Some(ctx) = innermost() {
        ctx.record_error(&e);
    }
    let e = Rc::new(e);
    (0..n).map(|_| Tensor::poisoned(e.clone())).collect()
}

/// One tensor poisoned with `e` (see [`poison`]).
pub(crate) fn poison1(e: Error) -> Tensor {
    poison(e, 1).remove(0)
}

/// Where an operation on `inputs` runs.
pub(crate) enum Placement {
    /// All operands are concrete: evaluate now.
    Eager,
    /// Record into this trace (the innermost).
    Trace(Rc<TraceCtx>),
}

/// Decides where an operation on `inputs` runs, or the error that poisons its result.
pub(crate) fn placement(inputs: &[&Tensor], loc: &Loc) -> Result<Placement> {
    let mut traced = false;
    for t in inputs {
        match &t.repr {
            Repr::Poisoned(e) => return Err((**e).clone()),
            Repr::Traced(tr) if tr.ctx.is_finished() => {
                return Err(Error::EscapedTensor { created: tr.created.clone(), used: loc.clone() })
            }
            Repr::Traced(_) => traced = true,
            Repr::Concrete(_) => {}
        }
    }
    if !traced {
        return Ok(Placement::Eager);
    }
    // An unfinished trace is always on the stack, so there is an innermost one.
    Ok(innermost().map_or(Placement::Eager, Placement::Trace))
}

/// The largest result (in elements) of an operation on concrete operands that is evaluated
/// while tracing; a larger one is recorded. The simplifier's limit for dense constants it creates.
pub const FOLD_LIMIT: usize = gradjit_ir::passes::fold::MAX_DENSE;

/// Applies `prim` to `inputs`: evaluated now if they are all concrete (inside a trace, only if
/// its result is small), else recorded in the innermost trace. Never fails: errors poison the
/// outputs.
pub(crate) fn bind(prim: Prim, inputs: &[&Tensor], loc: &Loc) -> Outputs {
    match placement(inputs, loc) {
        Err(e) => poison(e, prim.num_results()),
        Ok(Placement::Trace(ctx)) => ctx.record(prim, inputs, loc),
        Ok(Placement::Eager) => match innermost() {
            Some(ctx) if !folds(&prim, inputs) => ctx.record(prim, inputs, loc),
            _ => evaluate(prim, inputs, loc),
        },
    }
}

/// Whether `prim` on the concrete `inputs` is cheap to evaluate while tracing: all its results
/// have at most [`FOLD_LIMIT`] elements. (An ill-typed application folds: the interpreter's
/// error is the one eager mode gives.)
fn folds(prim: &Prim, inputs: &[&Tensor]) -> bool {
    let types: SmallVec<[&TensorType; 3]> = inputs.iter().filter_map(|t| t.concrete()).map(|a| a.ty()).collect();
    match gradjit_ir::shape_rules::infer(prim, &types) {
        Ok(outs) => outs.iter().all(|ty| ty.numel() <= FOLD_LIMIT),
        Err(_) => true,
    }
}

/// Evaluates `prim` on concrete `inputs` with the reference interpreter.
fn evaluate(prim: Prim, inputs: &[&Tensor], loc: &Loc) -> Outputs {
    let arrays: SmallVec<[&HostArray; 3]> = inputs.iter().filter_map(|t| t.concrete()).map(|a| a.as_host()).collect();
    match gradjit_ir::interp::apply(&prim, &arrays) {
        Ok(outs) => outs.into_iter().map(|a| Tensor::from(Array::from_host(a))).collect(),
        Err(gradjit_ir::InterpError::Type(e)) => poison(Error::from_shape(e, loc.clone()), prim.num_results()),
        Err(e) => poison(
            Error::Eval { op: prim.name().to_string(), message: e.to_string(), loc: loc.clone() },
            prim.num_results(),
        ),
    }
}

/// [`bind`] for a primitive with one output.
pub(crate) fn bind1(prim: Prim, inputs: &[&Tensor], loc: &Loc) -> Tensor {
    bind(prim, inputs, loc).remove(0)
}

/// Brings tensors to a common place before a composite operation: if any is traced, all
/// become tensors of the innermost trace (so that, e.g., broadcasting a captured array is
/// recorded rather than materialised). Poisoned and escaped operands give the error.
pub(crate) fn unify(inputs: &[&Tensor], loc: &Loc) -> Result<Vec<Tensor>> {
    match placement(inputs, loc)? {
        Placement::Eager => Ok(inputs.iter().map(|&t| t.clone()).collect()),
        Placement::Trace(ctx) => Ok(inputs.iter().map(|t| ctx.adopt(t, loc)).collect()),
    }
}

/// Applies every equation of `f` to `args` in the current context (eagerly, or recorded into
/// the innermost trace), keeping each equation's source location: how a traced function is
/// run inside another one.
pub(crate) fn apply_function(f: &Function, args: &[Tensor], loc: &Loc) -> Result<Vec<Tensor>> {
    if args.len() != f.params.len() {
        return Err(Error::Argument(format!("the function takes {} argument(s), got {}", f.params.len(), args.len())));
    }
    let mut env: Vec<Option<Tensor>> = vec![None; f.num_values()];
    for (&p, a) in f.params.iter().zip(args) {
        env[p.index()] = Some(a.clone());
    }
    let undefined = |v: Value| Error::Argument(format!("the function reads value %{} before defining it", v.index()));
    for e in &f.eqns {
        let ins: Vec<&Tensor> =
            e.inputs.iter().map(|&v| env[v.index()].as_ref().ok_or_else(|| undefined(v))).collect::<Result<_>>()?;
        let outs = bind(e.prim.clone(), &ins, e.loc.as_ref().unwrap_or(loc));
        // A failed equation may return fewer (poisoned) tensors than it declares outputs.
        let filler = outs.first().cloned();
        for (i, &o) in e.outputs.iter().enumerate() {
            env[o.index()] = outs.get(i).cloned().or_else(|| filler.clone());
        }
    }
    f.outputs.iter().map(|&v| env[v.index()].clone().ok_or_else(|| undefined(v))).collect()
}

/// A trace being recorded; dropping it ends the trace (also on panic), after which its
/// tensors are escaped.
pub(crate) struct Tracing {
    ctx: Rc<TraceCtx>,
}

/// What a finished trace recorded.
pub(crate) struct Recorded {
    /// Parameters: explicit, then variables read, then captured tensors. Outputs: explicit,
    /// then variables written. Values are numbered in definition order.
    pub function: Function,
    pub var_inputs: Vec<Var>,
    pub var_outputs: Vec<Var>,
    pub captures: Vec<Tensor>,
}

impl Tracing {
    /// Starts a trace, innermost from now on.
    pub fn begin() -> Tracing {
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id + 1);
            id
        });
        let ctx = Rc::new(TraceCtx { id, finished: Cell::new(false), state: RefCell::new(State::default()) });
        STACK.with(|s| s.borrow_mut().push(ctx.clone()));
        Tracing { ctx }
    }

    /// A new explicit parameter of type `ty`.
    pub fn param(&self, ty: TensorType, loc: &Loc) -> Tensor {
        let mut st = self.ctx.state.borrow_mut();
        let value = st.func.add_param(ty.clone());
        st.explicit.push(value);
        Tensor::traced(Tracer { ctx: self.ctx.clone(), value, ty, created: loc.clone() })
    }

    /// Ends the trace with `outputs`: the recorded function, or the trace's first error.
    pub fn finish(self, outputs: &[Tensor], loc: &Loc) -> Result<Recorded> {
        let mut values = Vec::with_capacity(outputs.len());
        for t in outputs {
            if let Err(e) = placement(&[t], loc) {
                self.ctx.record_error(&e);
            } else {
                values.push(self.ctx.value_of(t, loc));
            }
        }
        let mut st = self.ctx.state.take();
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        values.extend(st.vars_written.iter().map(|v| st.var_values[&v.id()]));
        st.func.outputs = values;
        st.func.params = st
            .explicit
            .iter()
            .chain(st.var_params.iter().map(|(_, p)| p))
            .chain(st.captures.iter().map(|(_, p)| p))
            .copied()
            .collect();
        Ok(Recorded {
            function: renumbered(&st.func),
            var_inputs: st.var_params.into_iter().map(|(v, _)| v).collect(),
            var_outputs: st.vars_written,
            captures: st.captures.into_iter().map(|(t, _)| t).collect(),
        })
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        self.ctx.finished.set(true);
        let id = self.ctx.id;
        STACK.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(i) = s.iter().rposition(|c| c.id == id) {
                s.truncate(i);
            }
        });
    }
}

/// `f` with values numbered in definition order (parameters first, then equation outputs),
/// as the text parser builds functions: the canonical form that compares equal across traces.
pub(crate) fn renumbered(f: &Function) -> Function {
    let mut out = Function::new();
    let mut map: Vec<Option<Value>> = vec![None; f.num_values()];
    for &p in &f.params {
        map[p.index()] = Some(out.add_param(f.ty(p).clone()));
    }
    // Tracing defines every value before its use, so every lookup succeeds.
    let get = |map: &[Option<Value>], v: Value| map[v.index()].expect("traced values are defined before use");
    for e in &f.eqns {
        let ins: SmallVec<[Value; 3]> = e.inputs.iter().map(|&v| get(&map, v)).collect();
        let outs = out.push_typed(e.prim.clone(), &ins, e.outputs.iter().map(|&v| f.ty(v).clone()), e.loc.clone());
        for (&o, n) in e.outputs.iter().zip(outs) {
            map[o.index()] = Some(n);
        }
    }
    out.outputs = f.outputs.iter().map(|&v| get(&map, v)).collect();
    out
}
