//! Elementwise operations: the arithmetic operators, unary functions (`exp`, `tanh`, ...),
//! binary functions (`pow`, `maximum`, ...), comparisons, `select`, casts and `stop_gradient`.
//!
//! The operands of a binary operation are brought to one shape by numpy broadcasting (one
//! `broadcast_in_dim` per operand that needs it); a Rust scalar becomes a splat constant of
//! the other operand's dtype and shape.

use super::{broadcast_all, concrete};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::trace::{bind1, caller, placement, poison1, Placement};
use gradjit_ir::{BinaryOp, CompareOp, DType, HostArray, Literal, Loc, Prim, Scalar, UnaryOp};
use std::ops;

/// An operand of a tensor operation: a tensor, or a weakly typed Rust scalar.
#[derive(Clone, Debug)]
pub enum Operand {
    /// A tensor (or an array, as a concrete tensor).
    Tensor(Tensor),
    /// Takes the dtype of the tensor it is combined with.
    Scalar(Scalar),
}

/// What can be an operand: tensors, arrays and Rust scalars (`f32 f64 i32 i64 bool`).
pub trait IntoOperand {
    /// The value as an operand.
    fn into_operand(self) -> Operand;
}

impl IntoOperand for Tensor {
    fn into_operand(self) -> Operand {
        Operand::Tensor(self)
    }
}
impl IntoOperand for &Tensor {
    fn into_operand(self) -> Operand {
        Operand::Tensor(self.clone())
    }
}
impl IntoOperand for Array {
    fn into_operand(self) -> Operand {
        Operand::Tensor(Tensor::from(self))
    }
}
impl IntoOperand for &Array {
    fn into_operand(self) -> Operand {
        Operand::Tensor(Tensor::from(self))
    }
}
impl IntoOperand for Operand {
    fn into_operand(self) -> Operand {
        self
    }
}

macro_rules! scalar_operands {
    ($($t:ty => $v:ident),*) => {$(
        impl IntoOperand for $t {
            fn into_operand(self) -> Operand {
                Operand::Scalar(Scalar::$v(self))
            }
        }
    )*};
}
scalar_operands!(f32 => F32, f64 => F64, i32 => I32, i64 => I64, bool => Bool);

/// `s` converted to `dtype`, if a scalar of its kind may take that dtype: floats become any
/// inexact type, integers any numeric type, booleans only bool.
fn weak_cast(op: &str, s: Scalar, dtype: DType, loc: &Loc) -> Result<Scalar> {
    let ok = match s.dtype() {
        DType::F32 | DType::F64 => dtype.is_inexact(),
        DType::I32 | DType::I64 => dtype.is_numeric(),
        DType::Bool => dtype == DType::Bool,
        DType::C64 | DType::C128 => dtype.is_complex(),
        DType::Float0 => false,
    };
    if ok {
        Ok(s.cast(dtype))
    } else {
        let kind = match s.dtype() {
            DType::F32 | DType::F64 => "float",
            DType::I32 | DType::I64 => "integer",
            DType::Bool => "bool",
            _ => "complex",
        };
        Err(Error::op(
            op,
            format!(
                "cannot combine the {kind} scalar {s} with a tensor of dtype {dtype} without changing the tensor's \
                 dtype; convert it with astype"
            ),
            loc.clone(),
        ))
    }
}

/// The scalar `s` as a tensor of the type of `like`: a splat constant recorded in the trace
/// if `like` is traced (no full-size array is built), else concrete data.
pub(crate) fn splat_like(op: &str, s: Scalar, like: &Tensor, loc: &Loc) -> Result<Tensor> {
    let ty = like.ty_or_err()?;
    let v = weak_cast(op, s, ty.dtype, loc)?;
    Ok(match placement(&[like], loc)? {
        Placement::Eager => concrete(HostArray::full(v, ty.shape)),
        Placement::Trace(ctx) => ctx.splat(Literal::Splat(v, ty.shape), loc),
    })
}

/// Two operands as tensors of one type: scalars take the tensor's, tensors broadcast.
pub(crate) fn pair(op: &str, lhs: Operand, rhs: Operand, loc: &Loc) -> Result<(Tensor, Tensor)> {
    match (lhs, rhs) {
        (Operand::Tensor(a), Operand::Tensor(b)) => {
            let mut v = broadcast_all(op, &[&a, &b], loc)?.into_iter();
            Ok((v.next().expect("two operands"), v.next().expect("two operands")))
        }
        (Operand::Tensor(a), Operand::Scalar(s)) => {
            let b = splat_like(op, s, &a, loc)?;
            Ok((a, b))
        }
        (Operand::Scalar(s), Operand::Tensor(b)) => Ok((splat_like(op, s, &b, loc)?, b)),
        (Operand::Scalar(a), Operand::Scalar(b)) => {
            // Two weak scalars take the default type of their kind, as in JAX: f32 for floats,
            // i32 for integers (`mask.select(1.0, 0.0)` is f32).
            let default = match a.dtype() {
                DType::F64 => DType::F32,
                DType::I64 => DType::I32,
                d => d,
            };
            let a = concrete(HostArray::scalar(a.cast(default)));
            let b = splat_like(op, b, &a, loc)?;
            Ok((a, b))
        }
    }
}

/// `lhs op rhs` after broadcasting.
pub(crate) fn binary(op: BinaryOp, lhs: Operand, rhs: Operand, loc: &Loc) -> Tensor {
    match pair(op.name(), lhs, rhs, loc) {
        Ok((a, b)) => bind1(Prim::Binary(op), &[&a, &b], loc),
        Err(e) => poison1(e),
    }
}

fn compare(op: CompareOp, lhs: Operand, rhs: Operand, loc: &Loc) -> Tensor {
    match pair(op.name(), lhs, rhs, loc) {
        Ok((a, b)) => bind1(Prim::Compare(op), &[&a, &b], loc),
        Err(e) => poison1(e),
    }
}

pub(crate) fn unary(op: UnaryOp, x: &Tensor, loc: &Loc) -> Tensor {
    bind1(Prim::Unary(op), &[x], loc)
}

/// `on_true` where `pred` holds, else `on_false`, elementwise; the three broadcast together
/// and `pred` must be bool.
#[track_caller]
pub fn select(pred: &Tensor, on_true: impl IntoOperand, on_false: impl IntoOperand) -> Tensor {
    let loc = caller();
    let run = || -> Result<Tensor> {
        let (a, b) = pair("select", on_true.into_operand(), on_false.into_operand(), &loc)?;
        let v = broadcast_all("select", &[pred, &a, &b], &loc)?;
        Ok(bind1(Prim::Select, &[&v[0], &v[1], &v[2]], &loc))
    };
    run().unwrap_or_else(poison1)
}

macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:ident),* $(,)?) => {
        impl Tensor {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $name(&self) -> Tensor {
                    unary(UnaryOp::$op, self, &caller())
                }
            )*
        }
    };
}

unary_methods! {
    /// `|x|` (the modulus, a real tensor, for complex `x`).
    abs => Abs,
    /// `-1`, `0` or `1` (`x/|x|` for complex).
    sign => Sign,
    /// `e^x`.
    exp => Exp,
    /// `exp(x) - 1`, accurate near 0.
    expm1 => Expm1,
    /// The natural logarithm.
    log => Log,
    /// `log(1 + x)`, accurate near 0.
    log1p => Log1p,
    /// The square root.
    sqrt => Sqrt,
    /// `1 / sqrt(x)`.
    rsqrt => Rsqrt,
    /// The hyperbolic tangent.
    tanh => Tanh,
    /// The logistic function `1 / (1 + exp(-x))`.
    sigmoid => Logistic,
    /// The sine (of radians).
    sin => Sin,
    /// The cosine.
    cos => Cos,
    /// The tangent.
    tan => Tan,
    /// The error function.
    erf => Erf,
    /// Rounds down.
    floor => Floor,
    /// Rounds up.
    ceil => Ceil,
    /// Rounds half away from zero.
    round => Round,
    /// True where the element is neither infinite nor NaN.
    is_finite => IsFinite,
    /// Logical not of a bool tensor, bitwise not of an integer one.
    logical_not => Not,
    /// The real part of a complex tensor.
    real => Real,
    /// The imaginary part of a complex tensor.
    imag => Imag,
    /// The complex conjugate.
    conj => Conj,
}

macro_rules! binary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:ident),* $(,)?) => {
        impl Tensor {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $name(&self, other: impl IntoOperand) -> Tensor {
                    binary(BinaryOp::$op, Operand::Tensor(self.clone()), other.into_operand(), &caller())
                }
            )*
        }
    };
}

binary_methods! {
    /// `self ^ other`, elementwise (see [`Tensor::powi`] for integer exponents).
    pow => Pow,
    /// The larger of the two, elementwise (NaN if either is NaN).
    maximum => Max,
    /// The smaller of the two, elementwise (NaN if either is NaN).
    minimum => Min,
    /// `atan(self / other)` in the quadrant of the point `(other, self)`.
    atan2 => Atan2,
    /// Logical and of bool tensors, bitwise and of integer ones.
    logical_and => And,
    /// Logical or of bool tensors, bitwise or of integer ones.
    logical_or => Or,
    /// Shift right, filling with zeros (integers).
    shift_right_logical => ShiftRightLogical,
    /// The complex number `self + i·other` from real parts.
    complex => Complex,
}

macro_rules! compare_methods {
    ($($(#[$doc:meta])* $name:ident => $op:ident),* $(,)?) => {
        impl Tensor {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $name(&self, other: impl IntoOperand) -> Tensor {
                    compare(CompareOp::$op, Operand::Tensor(self.clone()), other.into_operand(), &caller())
                }
            )*
        }
    };
}

compare_methods! {
    /// `self < other`, a bool tensor.
    lt => Lt,
    /// `self <= other`, a bool tensor.
    le => Le,
    /// `self > other`, a bool tensor.
    gt => Gt,
    /// `self >= other`, a bool tensor.
    ge => Ge,
    /// `self == other`, elementwise, a bool tensor.
    equal => Eq,
    /// `self != other`, elementwise, a bool tensor.
    not_equal => Ne,
}

impl Tensor {
    /// `self ^ n` for an integer constant `n` (one `integer_pow`: exact and cheap to differentiate).
    #[track_caller]
    pub fn powi(&self, n: i32) -> Tensor {
        bind1(Prim::IntegerPow { y: n }, &[self], &caller())
    }

    /// `self ^ y` for a float constant `y`.
    #[track_caller]
    pub fn powf(&self, y: f64) -> Tensor {
        binary(BinaryOp::Pow, Operand::Tensor(self.clone()), Operand::Scalar(Scalar::F64(y)), &caller())
    }

    /// `self * self`.
    #[track_caller]
    pub fn square(&self) -> Tensor {
        self.powi(2)
    }

    /// `1 / self`.
    #[track_caller]
    pub fn reciprocal(&self) -> Tensor {
        binary(BinaryOp::Div, Operand::Scalar(Scalar::I32(1)), Operand::Tensor(self.clone()), &caller())
    }

    /// The tensor converted to `dtype` (itself if it already has it).
    #[track_caller]
    pub fn astype(&self, dtype: DType) -> Tensor {
        if self.dtype() == dtype && self.error().is_none() {
            return self.clone();
        }
        bind1(Prim::ConvertElementType { dtype }, &[self], &caller())
    }

    /// The same value, through which no derivative flows.
    #[track_caller]
    pub fn stop_gradient(&self) -> Tensor {
        bind1(Prim::StopGradient, &[self], &caller())
    }

    /// `on_true` where `self` (a bool tensor) holds, else `on_false` (see [`select`]).
    #[track_caller]
    pub fn select(&self, on_true: impl IntoOperand, on_false: impl IntoOperand) -> Tensor {
        select(self, on_true, on_false)
    }
}

macro_rules! binary_operator {
    ($Trait:ident, $method:ident, $AssignTrait:ident, $assign:ident, $op:ident) => {
        impl<R: IntoOperand> ops::$Trait<R> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: R) -> Tensor {
                binary(BinaryOp::$op, Operand::Tensor(self), rhs.into_operand(), &caller())
            }
        }
        impl<R: IntoOperand> ops::$Trait<R> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: R) -> Tensor {
                binary(BinaryOp::$op, Operand::Tensor(self.clone()), rhs.into_operand(), &caller())
            }
        }
        impl<R: IntoOperand> ops::$AssignTrait<R> for Tensor {
            #[track_caller]
            fn $assign(&mut self, rhs: R) {
                *self = binary(BinaryOp::$op, Operand::Tensor(self.clone()), rhs.into_operand(), &caller());
            }
        }
        // A scalar on the left is `f64` or `i32` only: with one impl per literal kind, `1.0 - &x`
        // infers its type (f32 *and* f64 impls would leave `(1.0 - &x).exp()` ambiguous).
        binary_operator!(@lhs $Trait, $method, $op, f64, i32, Array, &Array);
    };
    (@lhs $Trait:ident, $method:ident, $op:ident, $($lhs:ty),*) => {$(
        impl ops::$Trait<Tensor> for $lhs {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                binary(BinaryOp::$op, self.into_operand(), Operand::Tensor(rhs), &caller())
            }
        }
        impl ops::$Trait<&Tensor> for $lhs {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                binary(BinaryOp::$op, self.into_operand(), Operand::Tensor(rhs.clone()), &caller())
            }
        }
    )*};
}

binary_operator!(Add, add, AddAssign, add_assign, Add);
binary_operator!(Sub, sub, SubAssign, sub_assign, Sub);
binary_operator!(Mul, mul, MulAssign, mul_assign, Mul);
binary_operator!(Div, div, DivAssign, div_assign, Div);
binary_operator!(Rem, rem, RemAssign, rem_assign, Rem);
binary_operator!(BitAnd, bitand, BitAndAssign, bitand_assign, And);
binary_operator!(BitOr, bitor, BitOrAssign, bitor_assign, Or);

impl ops::Neg for Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        unary(UnaryOp::Neg, &self, &caller())
    }
}
impl ops::Neg for &Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        unary(UnaryOp::Neg, self, &caller())
    }
}
impl ops::Not for Tensor {
    type Output = Tensor;
    #[track_caller]
    fn not(self) -> Tensor {
        unary(UnaryOp::Not, &self, &caller())
    }
}
impl ops::Not for &Tensor {
    type Output = Tensor;
    #[track_caller]
    fn not(self) -> Tensor {
        unary(UnaryOp::Not, self, &caller())
    }
}
