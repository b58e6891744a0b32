//! A small emitter of equations into a [`Function`], used by every derivative rule.
//!
//! Rules read like the math they implement (`b.mul(t, b.cos(x)?)`) instead of spelling out
//! `Prim` values and operand lists. Each emitted equation goes through the primitive's shape
//! rule, so an ill-typed rule fails with a [`ShapeError`](gradjit_ir::ShapeError) naming the
//! shapes, at the source location of the primal equation being differentiated.

use crate::error::AdError;
use gradjit_ir::{
    Axes, BinaryOp, CompareOp, DType, DotDims, Function, Loc, Prim, ReduceOp, Shape, TensorType, UnaryOp, Value,
};
use smallvec::SmallVec;
use std::sync::Arc;

/// The outputs of one equation.
pub(crate) type Outs = SmallVec<[Value; 1]>;

/// What a JVP is built for: to be evaluated (forward mode), or to be linearized and transposed
/// (reverse mode). Only `custom_vjp_call` differentiates differently: its rule exists for reverse
/// mode alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Forward,
    Linearize,
}

/// Appends equations to a function, tagging them with the location of the equation they derive from.
pub(crate) struct Builder<'f> {
    pub f: &'f mut Function,
    pub loc: Option<Loc>,
    /// What the JVP rules emitting through this builder are building.
    pub mode: Mode,
}

macro_rules! unary_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        $(pub fn $name(&mut self, x: Value) -> Result<Value, AdError> {
            self.unary(UnaryOp::$op, x)
        })*
    };
}

macro_rules! binary_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        $(pub fn $name(&mut self, x: Value, y: Value) -> Result<Value, AdError> {
            self.binary(BinaryOp::$op, x, y)
        })*
    };
}

impl<'f> Builder<'f> {
    pub fn new(f: &'f mut Function) -> Builder<'f> {
        Builder { f, loc: None, mode: Mode::Forward }
    }

    /// A builder for a JVP built in `mode`.
    pub fn with_mode(f: &'f mut Function, mode: Mode) -> Builder<'f> {
        Builder { f, loc: None, mode }
    }

    pub fn ty(&self, v: Value) -> TensorType {
        self.f.ty(v).clone()
    }

    /// Appends `prim ins` and returns its outputs.
    pub fn emit(&mut self, prim: Prim, ins: &[Value]) -> Result<Outs, AdError> {
        Ok(self.f.push(prim, ins, self.loc.clone())?)
    }

    /// Appends `prim ins` and returns its only output.
    pub fn emit1(&mut self, prim: Prim, ins: &[Value]) -> Result<Value, AdError> {
        Ok(self.f.push1(prim, ins, self.loc.clone())?)
    }

    pub fn unary(&mut self, op: UnaryOp, x: Value) -> Result<Value, AdError> {
        self.emit1(Prim::Unary(op), &[x])
    }
    pub fn binary(&mut self, op: BinaryOp, x: Value, y: Value) -> Result<Value, AdError> {
        self.emit1(Prim::Binary(op), &[x, y])
    }
    pub fn compare(&mut self, op: CompareOp, x: Value, y: Value) -> Result<Value, AdError> {
        self.emit1(Prim::Compare(op), &[x, y])
    }

    unary_methods!(neg => Neg, exp => Exp, sin => Sin, cos => Cos, floor => Floor,
        ceil => Ceil, real => Real, imag => Imag, conj => Conj);
    binary_methods!(add => Add, sub => Sub, mul => Mul, div => Div, pow => Pow, complex => Complex);

    /// A constant of type `ty` with every element `v` (converted to the dtype).
    pub fn splat(&mut self, v: f64, ty: &TensorType) -> Result<Value, AdError> {
        self.emit1(Prim::splat(v, ty), &[])
    }
    /// `v` with the type of `like`.
    pub fn full_like(&mut self, v: f64, like: Value) -> Result<Value, AdError> {
        let ty = self.ty(like);
        self.splat(v, &ty)
    }
    pub fn zeros(&mut self, ty: &TensorType) -> Result<Value, AdError> {
        self.splat(0.0, ty)
    }
    /// `t`, or zeros of `ty` when `t` is a symbolic zero.
    pub fn instantiate(&mut self, t: Option<Value>, ty: &TensorType) -> Result<Value, AdError> {
        match t {
            Some(t) => Ok(t),
            None => self.zeros(ty),
        }
    }
    /// `x * k` for a constant `k`.
    pub fn scale(&mut self, x: Value, k: f64) -> Result<Value, AdError> {
        let k = self.full_like(k, x)?;
        self.mul(x, k)
    }
    /// `x + k` for a constant `k`.
    pub fn add_const(&mut self, x: Value, k: f64) -> Result<Value, AdError> {
        let k = self.full_like(k, x)?;
        self.add(x, k)
    }
    /// `k - x` for a constant `k`.
    pub fn const_sub(&mut self, k: f64, x: Value) -> Result<Value, AdError> {
        let k = self.full_like(k, x)?;
        self.sub(k, x)
    }
    /// Sum of two optional (symbolically zero when `None`) values.
    pub fn add_any(&mut self, x: Option<Value>, y: Option<Value>) -> Result<Option<Value>, AdError> {
        Ok(match (x, y) {
            (Some(x), Some(y)) => Some(self.add(x, y)?),
            (x, None) => x,
            (None, y) => y,
        })
    }

    pub fn select(&mut self, pred: Value, on_true: Value, on_false: Value) -> Result<Value, AdError> {
        self.emit1(Prim::Select, &[pred, on_true, on_false])
    }
    pub fn convert(&mut self, x: Value, dtype: DType) -> Result<Value, AdError> {
        if self.f.ty(x).dtype == dtype {
            return Ok(x);
        }
        self.emit1(Prim::ConvertElementType { dtype }, &[x])
    }
    pub fn broadcast_in_dim(&mut self, x: Value, shape: &Shape, dims: Axes) -> Result<Value, AdError> {
        self.emit1(Prim::BroadcastInDim { shape: shape.clone(), dims }, &[x])
    }
    pub fn reshape(&mut self, x: Value, shape: &Shape) -> Result<Value, AdError> {
        if self.f.ty(x).shape == *shape {
            return Ok(x);
        }
        self.emit1(Prim::Reshape { shape: shape.clone() }, &[x])
    }
    pub fn transpose(&mut self, x: Value, perm: Axes) -> Result<Value, AdError> {
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(x);
        }
        self.emit1(Prim::Transpose { perm }, &[x])
    }
    pub fn reduce(&mut self, op: ReduceOp, x: Value, axes: Axes) -> Result<Value, AdError> {
        if axes.is_empty() {
            return Ok(x);
        }
        self.emit1(Prim::Reduce { op, axes }, &[x])
    }
    pub fn reduce_sum(&mut self, x: Value, axes: Axes) -> Result<Value, AdError> {
        self.reduce(ReduceOp::Sum, x, axes)
    }
    pub fn slice(&mut self, x: Value, start: Axes, limit: Axes, stride: Axes) -> Result<Value, AdError> {
        self.emit1(Prim::Slice { start, limit, stride }, &[x])
    }
    pub fn dot_general(&mut self, x: Value, y: Value, dims: DotDims) -> Result<Value, AdError> {
        self.emit1(Prim::DotGeneral(dims), &[x, y])
    }
    pub fn call(&mut self, body: Function, args: &[Value]) -> Result<Outs, AdError> {
        self.emit(Prim::Call { body: Arc::new(body) }, args)
    }
    /// `x` broadcast back to `shape` after a reduction over `axes` removed them.
    pub fn unreduce(&mut self, x: Value, shape: &Shape, axes: &Axes) -> Result<Value, AdError> {
        let kept: Axes = (0..shape.rank()).filter(|a| !axes.contains(a)).collect();
        if kept.len() == shape.rank() {
            return Ok(x);
        }
        self.broadcast_in_dim(x, shape, kept)
    }

    /// Copies `g`'s equations into this function with `args` bound to its parameters; returns its outputs.
    pub fn inline(&mut self, g: &Function, args: &[Value]) -> Result<Vec<Value>, AdError> {
        let mut env: Vec<Option<Value>> = vec![None; g.num_values()];
        for (&p, &a) in g.params.iter().zip(args) {
            env[p.index()] = Some(a);
        }
        let saved = self.loc.clone();
        for e in &g.eqns {
            let ins = e.inputs.iter().map(|&v| lookup(&env, v)).collect::<Result<SmallVec<[Value; 3]>, _>>()?;
            self.loc = e.loc.clone();
            let outs = self.emit(e.prim.clone(), &ins)?;
            for (&o, n) in e.outputs.iter().zip(outs) {
                env[o.index()] = Some(n);
            }
        }
        self.loc = saved;
        g.outputs.iter().map(|&v| lookup(&env, v)).collect()
    }
}

/// The value bound to `v` in an environment filled in definition order (an error for a function
/// that uses a value before defining it, which the verifier rejects).
pub(crate) fn lookup(env: &[Option<Value>], v: Value) -> Result<Value, AdError> {
    env.get(v.index()).copied().flatten().ok_or(AdError::Undefined { value: v.index() })
}
