//! The primitives of the IR.
//!
//! A primitive is a value of [`Prim`]: the operation and its static parameters. Elementwise
//! operations are grouped into the small enums [`UnaryOp`], [`BinaryOp`] and [`CompareOp`] so
//! that every later stage can treat a whole family with one rule. Elementwise operations take
//! operands of *equal* shapes (broadcasting is explicit, through `broadcast_in_dim`, as in
//! `jax.lax`), so the cotangent of a broadcast is summed back in exactly one place: the
//! transpose of `broadcast_in_dim`.
//!
//! The shape and dtype rule of every primitive is in [`crate::shape_rules`]; its derivative
//! rules are in `gradjit-autodiff`'s `rules/jvp.rs` and `rules/transpose.rs`; its lowering in
//! `gradjit-codegen`. The table
//! in `docs/primitives.md` lists all three and is checked against the code by a test.

use crate::array::{HostArray, Scalar};
use crate::dtype::{DType, Shape, TensorType};
use crate::function::Function;
use smallvec::{smallvec, SmallVec};
use std::sync::Arc;

/// A small list of axes or sizes, as primitive parameters hold them.
pub type Axes = SmallVec<[usize; 4]>;

macro_rules! op_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),* }
        impl $name {
            /// Every operation of this family.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// The mnemonic used in the text format.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            /// Parses a mnemonic.
            pub fn from_name(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
}

op_enum!(
    /// Elementwise operations of one operand.
    UnaryOp {
        Neg = "neg", Abs = "abs", Sign = "sign", Exp = "exp", Expm1 = "expm1", Log = "log",
        Log1p = "log1p", Sqrt = "sqrt", Rsqrt = "rsqrt", Tanh = "tanh", Logistic = "logistic",
        Sin = "sin", Cos = "cos", Tan = "tan", Erf = "erf", Floor = "floor", Ceil = "ceil",
        Round = "round", IsFinite = "is_finite", Not = "not",
        Real = "real", Imag = "imag", Conj = "conj",
    }
);

op_enum!(
    /// Elementwise operations of two operands of equal type.
    BinaryOp {
        Add = "add", Sub = "sub", Mul = "mul", Div = "div", Pow = "pow", Max = "max", Min = "min",
        Rem = "rem", Atan2 = "atan2", And = "and", Or = "or", ShiftRightLogical = "shift_right_logical",
        Complex = "complex",
    }
);

op_enum!(
    /// Elementwise comparisons; the result is `bool`.
    CompareOp { Eq = "eq", Ne = "ne", Lt = "lt", Le = "le", Gt = "gt", Ge = "ge" }
);

op_enum!(
    /// Reductions over a set of axes.
    ReduceOp { Sum = "reduce_sum", Max = "reduce_max", Min = "reduce_min", Prod = "reduce_prod" }
);

op_enum!(
    /// Collective reductions over a named mapped axis (JAX's `psum`, `pmean`, `pmax`, `pmin`).
    CollectiveOp { Psum = "psum", Pmean = "pmean", Pmax = "pmax", Pmin = "pmin" }
);

op_enum!(
    /// Index of the extreme element along one axis.
    ArgOp { ArgMax = "argmax", ArgMin = "argmin" }
);

impl UnaryOp {
    /// Which element types the operation accepts.
    pub fn accepts(self, d: DType) -> bool {
        use UnaryOp::*;
        match self {
            Neg | Sign => d.is_numeric(),
            Abs => d.is_numeric(),
            Exp | Expm1 | Log | Log1p | Sqrt | Rsqrt | Tanh | Logistic | Sin | Cos | Tan => d.is_inexact(),
            Erf | Floor | Ceil | Round | IsFinite => d.is_float(),
            Not => d == DType::Bool || d.is_int(),
            Real | Imag | Conj => d.is_complex(),
        }
    }
    /// The element type of the result.
    pub fn result_dtype(self, d: DType) -> DType {
        match self {
            UnaryOp::IsFinite => DType::Bool,
            UnaryOp::Abs | UnaryOp::Real | UnaryOp::Imag => d.real(),
            _ => d,
        }
    }
}

impl BinaryOp {
    /// Which element types the operation accepts (both operands have this type).
    pub fn accepts(self, d: DType) -> bool {
        use BinaryOp::*;
        match self {
            Add | Sub | Mul => d.is_numeric(),
            Div | Pow => d.is_numeric(),
            Max | Min | Rem => d.is_float() || d.is_int(),
            Atan2 => d.is_float(),
            And | Or => d == DType::Bool || d.is_int(),
            ShiftRightLogical => d.is_int(),
            Complex => d.is_float(),
        }
    }
    /// The element type of the result.
    pub fn result_dtype(self, d: DType) -> DType {
        match self {
            BinaryOp::Complex => d.complex().unwrap_or(d),
            _ => d,
        }
    }
}

impl CompareOp {
    pub fn accepts(self, d: DType) -> bool {
        match self {
            CompareOp::Eq | CompareOp::Ne => d != DType::Float0,
            _ => d.is_float() || d.is_int() || d == DType::Bool,
        }
    }
}

/// True if `name` can name a mapped axis: an identifier (`[A-Za-z_][A-Za-z0-9_]*`), so that the
/// text format writes it as a bare word.
pub fn is_axis_name(name: &str) -> bool {
    let mut cs = name.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Contracting and batch dimensions of a `dot_general`, as in XLA.
///
/// The result's dimensions are: batch dimensions, then the free dimensions of `lhs` in order,
/// then the free dimensions of `rhs` in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DotDims {
    pub lhs_contract: Axes,
    pub rhs_contract: Axes,
    pub lhs_batch: Axes,
    pub rhs_batch: Axes,
}

/// The value of a `constant`: one scalar repeated over a shape, or dense data.
#[derive(Clone, Debug, PartialEq, Hash)]
pub enum Literal {
    /// Every element equals the scalar; the shape is the constant's output shape.
    Splat(Scalar, Shape),
    /// Explicit data (a captured array).
    Dense(Arc<HostArray>),
}

impl Eq for Literal {}

impl Literal {
    pub fn ty(&self) -> TensorType {
        match self {
            Literal::Splat(s, shape) => TensorType::new(s.dtype(), shape.clone()),
            Literal::Dense(a) => a.ty().clone(),
        }
    }
    /// The literal as an array.
    pub fn to_array(&self) -> HostArray {
        match self {
            Literal::Splat(s, shape) => HostArray::full(*s, shape.clone()),
            Literal::Dense(a) => (**a).clone(),
        }
    }
    /// The repeated scalar, if all elements are equal.
    pub fn splat(&self) -> Option<Scalar> {
        match self {
            Literal::Splat(s, _) => Some(*s),
            Literal::Dense(a) => a.splat_value(),
        }
    }
}

// Scalars hash by bits, so that CSE can key on literals.
impl std::hash::Hash for Scalar {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match *self {
            Scalar::F32(v) => v.to_bits().hash(h),
            Scalar::F64(v) => v.to_bits().hash(h),
            Scalar::I32(v) => v.hash(h),
            Scalar::I64(v) => v.hash(h),
            Scalar::Bool(v) => v.hash(h),
            Scalar::C64(v) => (v.re.to_bits(), v.im.to_bits()).hash(h),
            Scalar::C128(v) => (v.re.to_bits(), v.im.to_bits()).hash(h),
            Scalar::Float0 => 0u8.hash(h),
        }
    }
}

/// A primitive operation and its static parameters.
///
/// Operand conventions (in order) are documented on each variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Prim {
    /// `x` → `op(x)`, elementwise.
    Unary(UnaryOp),
    /// `x y` → `op(x, y)`, elementwise, equal types.
    Binary(BinaryOp),
    /// `x y` → `bool`, elementwise, equal types.
    Compare(CompareOp),
    /// `x` → `x^y` for an integer constant `y` (JAX's `integer_pow`).
    IntegerPow { y: i32 },
    /// `pred on_true on_false` → `pred ? on_true : on_false`, elementwise; `pred` is bool of the same shape.
    Select,
    /// `x` → `x` placed into `shape`: operand dimension `i` becomes output dimension `dims[i]`
    /// (its size must equal that output size or be 1).
    BroadcastInDim { shape: Shape, dims: Axes },
    /// `x` → the same elements in a new shape of the same size.
    Reshape { shape: Shape },
    /// `x` → `x` with dimensions permuted: output dimension `i` is operand dimension `perm[i]`.
    Transpose { perm: Axes },
    /// `x` → `x[start:limit:stride]` per dimension.
    Slice { start: Axes, limit: Axes, stride: Axes },
    /// `x` → `x` padded with `value`: `low`/`high` elements at each end, `interior` between elements.
    Pad { low: Axes, high: Axes, interior: Axes, value: Scalar },
    /// `x0 x1 ...` → the operands joined along `axis`.
    Concatenate { axis: usize },
    /// `x` → `x` reversed along `axes`.
    Rev { axes: Axes },
    /// `x idx` → `take(x, idx, axis)`: the output shape is `x.shape[..axis] + idx.shape + x.shape[axis+1..]`.
    /// Indices are clamped into range (as JAX does).
    Gather { axis: usize },
    /// `x idx upd` → `x` with `upd` added at `idx` along `axis` (the transpose of `gather`).
    ScatterAdd { axis: usize },
    /// `x i0 i1 ...` → the block of `sizes` starting at the scalar integer indices (clamped).
    DynamicSlice { sizes: Axes },
    /// `x upd i0 i1 ...` → `x` with the block `upd` written at the scalar indices (clamped).
    DynamicUpdateSlice,
    /// `x` → `x` reduced over `axes` (removed from the shape).
    Reduce { op: ReduceOp, axes: Axes },
    /// `x` → index of the extreme element along `axis`, of `index_dtype`.
    Arg { op: ArgOp, axis: usize, index_dtype: DType },
    /// `lhs rhs` → generalised matrix product.
    DotGeneral(DotDims),
    /// `x` → `x` converted to `dtype`.
    ConvertElementType { dtype: DType },
    /// `()` → `0, 1, 2, ...` along `axis` of `shape`.
    Iota { dtype: DType, shape: Shape, axis: usize },
    /// `()` → a constant.
    Constant(Literal),
    /// `x` → `x`, with a zero derivative.
    StopGradient,
    /// `key:i64[]` → counter-based random bits of `shape` (`i32` or `i64`), by the Threefry-2x32
    /// block cipher keyed by `key` over the counters `0..n`: reproducible and order-free.
    RandomBits { shape: Shape, dtype: DType },
    /// Calls a sub-function inline.
    Call { body: Arc<Function> },
    /// `consts... init... xs...` → `carry... ys...`: a loop of `length` steps (JAX's `scan`).
    ///
    /// Step `i` (counting down from `length - 1` when `reverse`) calls `body(consts, carry,
    /// x_slices)` with `x_slices` the `i`th slices of `xs` along their leading axis, which has
    /// `length` elements; the body returns `(carry, y_slices)`. The results are the last carry
    /// (`init` when `length` is 0) and the `ys` stacked along a new leading axis of `length`,
    /// slice `i` written by step `i`. The body is one function, compiled once, whatever `length`.
    Scan { length: usize, reverse: bool, num_consts: usize, num_carry: usize, body: Arc<Function> },
    /// `cond_consts... body_consts... init...` → `carry...`: while `cond(cond_consts, carry)` (a
    /// `bool[]`) holds, `carry = body(body_consts, carry)` (JAX's `while_loop`).
    While { cond_consts: usize, body_consts: usize, cond: Arc<Function>, body: Arc<Function> },
    /// `index operands...` → `branches[index](operands...)` (JAX's `switch`; `cond` with two
    /// branches). The index is a scalar integer, clamped into `0..branches.len()`, or a bool
    /// (`false` is branch 0). Every branch takes the operands and returns the same types.
    Cond { branches: Vec<Arc<Function>> },
    /// `xs...` → `body(xs...)`, differentiated by the rule `jvp(xs..., ts...) = (body(xs...),
    /// tangents...)` instead of through `body` (JAX's `custom_jvp_call`). `ts` has one tangent per
    /// operand (dtype [`DType::tangent`]); the rule must be linear in them.
    CustomJvp { body: Arc<Function>, jvp: Arc<Function> },
    /// `xs...` → `body(xs...)`, differentiated in reverse mode by `fwd(xs...) = (body(xs...),
    /// residuals...)` and `bwd(residuals..., output cotangents...) = operand cotangents...`
    /// (JAX's `custom_vjp_call`). Forward-mode differentiation of it is an error, as in JAX.
    CustomVjp { body: Arc<Function>, fwd: Arc<Function>, bwd: Arc<Function> },
    /// `residuals... tangents...` → output tangents: the linear map whose transpose is `bwd`
    /// (taking the residuals, then one cotangent per output). Reverse mode of a `custom_vjp_call`
    /// emits it and transposes it into a call of `bwd`; it cannot be evaluated forwards.
    CustomLin { num_res: usize, bwd: Arc<Function> },
    /// `x` → `op` of `x` over every lane of the mapped axis `axis_name` (JAX's `psum` and kin).
    ///
    /// Only a batching transform (`vmap` with that `axis_name`) gives the name a meaning: it
    /// rewrites the collective into a reduction over its batch dimension. Evaluated or compiled
    /// with the name unbound, it is an error. The result has the operand's type.
    Collective { op: CollectiveOp, axis_name: Arc<str> },
}

/// The kind of a primitive, without parameters: one per row of the primitive table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrimKind {
    Unary(UnaryOp),
    Binary(BinaryOp),
    Compare(CompareOp),
    IntegerPow,
    Select,
    BroadcastInDim,
    Reshape,
    Transpose,
    Slice,
    Pad,
    Concatenate,
    Rev,
    Gather,
    ScatterAdd,
    DynamicSlice,
    DynamicUpdateSlice,
    Reduce(ReduceOp),
    Arg(ArgOp),
    DotGeneral,
    ConvertElementType,
    Iota,
    Constant,
    StopGradient,
    RandomBits,
    Call,
    Scan,
    While,
    Cond,
    CustomJvp,
    CustomVjp,
    CustomLin,
    Collective(CollectiveOp),
}

impl PrimKind {
    /// Every primitive kind, for tables and exhaustive tests.
    pub fn all() -> Vec<PrimKind> {
        let mut v: Vec<PrimKind> = Vec::new();
        v.extend(UnaryOp::ALL.iter().map(|&o| PrimKind::Unary(o)));
        v.extend(BinaryOp::ALL.iter().map(|&o| PrimKind::Binary(o)));
        v.extend(CompareOp::ALL.iter().map(|&o| PrimKind::Compare(o)));
        v.extend([PrimKind::IntegerPow, PrimKind::Select, PrimKind::BroadcastInDim, PrimKind::Reshape]);
        v.extend([PrimKind::Transpose, PrimKind::Slice, PrimKind::Pad, PrimKind::Concatenate, PrimKind::Rev]);
        v.extend([PrimKind::Gather, PrimKind::ScatterAdd, PrimKind::DynamicSlice, PrimKind::DynamicUpdateSlice]);
        v.extend(ReduceOp::ALL.iter().map(|&o| PrimKind::Reduce(o)));
        v.extend(ArgOp::ALL.iter().map(|&o| PrimKind::Arg(o)));
        v.extend([PrimKind::DotGeneral, PrimKind::ConvertElementType, PrimKind::Iota, PrimKind::Constant]);
        v.extend([PrimKind::StopGradient, PrimKind::RandomBits, PrimKind::Call]);
        v.extend([PrimKind::Scan, PrimKind::While, PrimKind::Cond]);
        v.extend([PrimKind::CustomJvp, PrimKind::CustomVjp, PrimKind::CustomLin]);
        v.extend(CollectiveOp::ALL.iter().map(|&o| PrimKind::Collective(o)));
        v
    }

    /// The mnemonic in the text format.
    pub fn name(self) -> &'static str {
        match self {
            PrimKind::Unary(o) => o.name(),
            PrimKind::Binary(o) => o.name(),
            PrimKind::Compare(o) => o.name(),
            PrimKind::Reduce(o) => o.name(),
            PrimKind::Arg(o) => o.name(),
            PrimKind::Collective(o) => o.name(),
            PrimKind::IntegerPow => "integer_pow",
            PrimKind::Select => "select",
            PrimKind::BroadcastInDim => "broadcast_in_dim",
            PrimKind::Reshape => "reshape",
            PrimKind::Transpose => "transpose",
            PrimKind::Slice => "slice",
            PrimKind::Pad => "pad",
            PrimKind::Concatenate => "concatenate",
            PrimKind::Rev => "rev",
            PrimKind::Gather => "gather",
            PrimKind::ScatterAdd => "scatter_add",
            PrimKind::DynamicSlice => "dynamic_slice",
            PrimKind::DynamicUpdateSlice => "dynamic_update_slice",
            PrimKind::DotGeneral => "dot_general",
            PrimKind::ConvertElementType => "convert_element_type",
            PrimKind::Iota => "iota",
            PrimKind::Constant => "constant",
            PrimKind::StopGradient => "stop_gradient",
            PrimKind::RandomBits => "random_bits",
            PrimKind::Call => "call",
            PrimKind::Scan => "scan",
            PrimKind::While => "while",
            PrimKind::Cond => "cond",
            PrimKind::CustomJvp => "custom_jvp_call",
            PrimKind::CustomVjp => "custom_vjp_call",
            PrimKind::CustomLin => "custom_lin",
        }
    }

    /// Looks a kind up by mnemonic.
    pub fn from_name(s: &str) -> Option<PrimKind> {
        PrimKind::all().into_iter().find(|k| k.name() == s)
    }
}

impl Prim {
    pub fn kind(&self) -> PrimKind {
        match self {
            Prim::Unary(o) => PrimKind::Unary(*o),
            Prim::Binary(o) => PrimKind::Binary(*o),
            Prim::Compare(o) => PrimKind::Compare(*o),
            Prim::IntegerPow { .. } => PrimKind::IntegerPow,
            Prim::Select => PrimKind::Select,
            Prim::BroadcastInDim { .. } => PrimKind::BroadcastInDim,
            Prim::Reshape { .. } => PrimKind::Reshape,
            Prim::Transpose { .. } => PrimKind::Transpose,
            Prim::Slice { .. } => PrimKind::Slice,
            Prim::Pad { .. } => PrimKind::Pad,
            Prim::Concatenate { .. } => PrimKind::Concatenate,
            Prim::Rev { .. } => PrimKind::Rev,
            Prim::Gather { .. } => PrimKind::Gather,
            Prim::ScatterAdd { .. } => PrimKind::ScatterAdd,
            Prim::DynamicSlice { .. } => PrimKind::DynamicSlice,
            Prim::DynamicUpdateSlice => PrimKind::DynamicUpdateSlice,
            Prim::Reduce { op, .. } => PrimKind::Reduce(*op),
            Prim::Arg { op, .. } => PrimKind::Arg(*op),
            Prim::DotGeneral(_) => PrimKind::DotGeneral,
            Prim::ConvertElementType { .. } => PrimKind::ConvertElementType,
            Prim::Iota { .. } => PrimKind::Iota,
            Prim::Constant(_) => PrimKind::Constant,
            Prim::StopGradient => PrimKind::StopGradient,
            Prim::RandomBits { .. } => PrimKind::RandomBits,
            Prim::Call { .. } => PrimKind::Call,
            Prim::Scan { .. } => PrimKind::Scan,
            Prim::While { .. } => PrimKind::While,
            Prim::Cond { .. } => PrimKind::Cond,
            Prim::CustomJvp { .. } => PrimKind::CustomJvp,
            Prim::CustomVjp { .. } => PrimKind::CustomVjp,
            Prim::CustomLin { .. } => PrimKind::CustomLin,
            Prim::Collective { op, .. } => PrimKind::Collective(*op),
        }
    }

    /// The mnemonic in the text format.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// True for operations applied independently to each element (fusible into one loop).
    pub fn is_elementwise(&self) -> bool {
        matches!(
            self,
            Prim::Unary(_)
                | Prim::Binary(_)
                | Prim::Compare(_)
                | Prim::IntegerPow { .. }
                | Prim::Select
                | Prim::ConvertElementType { .. }
                | Prim::StopGradient
        )
    }

    /// The sub-functions the primitive carries, in the order its parameters list them.
    pub fn bodies(&self) -> SmallVec<[&Arc<Function>; 2]> {
        match self {
            Prim::Call { body } | Prim::Scan { body, .. } => smallvec![body],
            Prim::While { cond, body, .. } => smallvec![cond, body],
            Prim::Cond { branches } => branches.iter().collect(),
            Prim::CustomJvp { body, jvp } => smallvec![body, jvp],
            Prim::CustomVjp { body, fwd, bwd } => smallvec![body, fwd, bwd],
            Prim::CustomLin { bwd, .. } => smallvec![bwd],
            _ => SmallVec::new(),
        }
    }

    /// The same primitive with `f` applied to each sub-function (in the order of [`Prim::bodies`]).
    pub fn map_bodies(&self, mut f: impl FnMut(&Function) -> Function) -> Prim {
        let r: Result<Prim, std::convert::Infallible> = self.try_map_bodies(|b| Ok(f(b)));
        match r {
            Ok(p) => p,
            Err(never) => match never {},
        }
    }

    /// [`Prim::map_bodies`] with a fallible `f`.
    pub fn try_map_bodies<E>(&self, mut f: impl FnMut(&Function) -> Result<Function, E>) -> Result<Prim, E> {
        let mut g = |b: &Arc<Function>| f(b).map(Arc::new);
        Ok(match self {
            Prim::Call { body } => Prim::Call { body: g(body)? },
            Prim::Scan { length, reverse, num_consts, num_carry, body } => Prim::Scan {
                length: *length,
                reverse: *reverse,
                num_consts: *num_consts,
                num_carry: *num_carry,
                body: g(body)?,
            },
            Prim::While { cond_consts, body_consts, cond, body } => {
                Prim::While { cond_consts: *cond_consts, body_consts: *body_consts, cond: g(cond)?, body: g(body)? }
            }
            Prim::Cond { branches } => Prim::Cond { branches: branches.iter().map(g).collect::<Result<_, E>>()? },
            Prim::CustomJvp { body, jvp } => Prim::CustomJvp { body: g(body)?, jvp: g(jvp)? },
            Prim::CustomVjp { body, fwd, bwd } => Prim::CustomVjp { body: g(body)?, fwd: g(fwd)?, bwd: g(bwd)? },
            Prim::CustomLin { num_res, bwd } => Prim::CustomLin { num_res: *num_res, bwd: g(bwd)? },
            p => p.clone(),
        })
    }

    /// The number of results, read from the parameters (the shape rule checks that they agree
    /// with the operands).
    pub fn num_results(&self) -> usize {
        match self {
            Prim::Call { body } | Prim::Scan { body, .. } | Prim::While { body, .. } => body.outputs.len(),
            Prim::CustomJvp { body, .. } | Prim::CustomVjp { body, .. } => body.outputs.len(),
            Prim::Cond { branches } => branches.first().map_or(0, |b| b.outputs.len()),
            Prim::CustomLin { num_res, bwd } => bwd.params.len().saturating_sub(*num_res),
            _ => 1,
        }
    }

    /// A splat constant of `ty` holding `v` converted to its dtype.
    pub fn splat(v: f64, ty: &TensorType) -> Prim {
        Prim::Constant(Literal::Splat(Scalar::from_f64(v, ty.dtype), ty.shape.clone()))
    }
}
