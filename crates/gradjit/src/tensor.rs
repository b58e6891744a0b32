//! `Tensor`: the values a gradjit function computes with.
//!
//! A tensor is one of three things:
//! - **concrete**: it holds an [`Array`]; operations on concrete tensors are evaluated at once
//!   (eager mode), so `Tensor::from(a).sum()` works outside any transformation;
//! - **traced**: a value of the function a transformation is recording; operations on it are
//!   recorded (see [`crate::trace`]) and its shape and dtype are known, its data is not;
//! - **poisoned**: an operation that produced it failed. Operations never fail in user code
//!   (`&a * &b + 1.0` reads naturally); the first error travels with the tensor and surfaces
//!   as `Err` when the transformation finishes or the value is read ([`Tensor::to_array`]).
//!
//! Cloning a tensor is cheap (a reference count), so functions take tensors by value.

use crate::array::Array;
use crate::error::{Error, Result};
use crate::trace::{caller, Tracer};
use gradjit_ir::{DType, Element, HostArray, Loc, Scalar, TensorType};
use num_complex::{Complex32, Complex64};
use std::fmt;
use std::rc::Rc;

/// An n-d array value: concrete data, a value being traced, or the error that prevented it.
#[derive(Clone)]
#[must_use = "a tensor operation does nothing but compute its result"]
pub struct Tensor {
    pub(crate) repr: Repr,
}

#[derive(Clone)]
pub(crate) enum Repr {
    Concrete(Array),
    Traced(Tracer),
    Poisoned(Rc<Error>),
}

impl Tensor {
    pub(crate) fn traced(t: Tracer) -> Tensor {
        Tensor { repr: Repr::Traced(t) }
    }

    pub(crate) fn poisoned(e: Rc<Error>) -> Tensor {
        Tensor { repr: Repr::Poisoned(e) }
    }

    /// The data, if the tensor is concrete.
    pub(crate) fn concrete(&self) -> Option<&Array> {
        match &self.repr {
            Repr::Concrete(a) => Some(a),
            _ => None,
        }
    }

    /// The type (dtype and shape), or `None` for a poisoned tensor.
    pub fn ty(&self) -> Option<TensorType> {
        match &self.repr {
            Repr::Concrete(a) => Some(a.as_host().ty().clone()),
            Repr::Traced(t) => Some(t.ty.clone()),
            Repr::Poisoned(_) => None,
        }
    }

    /// The type, or the error of a poisoned tensor.
    pub(crate) fn ty_or_err(&self) -> Result<TensorType> {
        match &self.repr {
            Repr::Poisoned(e) => Err((**e).clone()),
            _ => Ok(self.ty().expect("only poisoned tensors have no type")),
        }
    }

    /// The dimensions (empty for a scalar, and for a poisoned tensor).
    pub fn shape(&self) -> &[usize] {
        match &self.repr {
            Repr::Concrete(a) => a.as_host().dims(),
            Repr::Traced(t) => t.ty.dims(),
            Repr::Poisoned(_) => &[],
        }
    }

    /// The element type (`float0` for a poisoned tensor).
    pub fn dtype(&self) -> DType {
        match &self.repr {
            Repr::Concrete(a) => a.as_host().dtype(),
            Repr::Traced(t) => t.ty.dtype,
            Repr::Poisoned(_) => DType::Float0,
        }
    }

    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape().len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.shape().iter().product()
    }

    /// True for a value being traced (its data is not known).
    pub fn is_traced(&self) -> bool {
        matches!(self.repr, Repr::Traced(_))
    }

    /// True for a tensor holding data.
    pub fn is_concrete(&self) -> bool {
        matches!(self.repr, Repr::Concrete(_))
    }

    /// The error of a poisoned tensor.
    pub fn error(&self) -> Option<&Error> {
        match &self.repr {
            Repr::Poisoned(e) => Some(e),
            _ => None,
        }
    }

    /// The data: the array of a concrete tensor; the error of a poisoned one; an error for a
    /// traced one, whose data is not known while tracing.
    #[track_caller]
    pub fn to_array(&self) -> Result<Array> {
        self.to_array_at(&caller())
    }

    pub(crate) fn to_array_at(&self, used: &Loc) -> Result<Array> {
        match &self.repr {
            Repr::Concrete(a) => Ok(a.clone()),
            Repr::Poisoned(e) => Err((**e).clone()),
            Repr::Traced(t) if t.ctx.is_finished() => {
                Err(Error::EscapedTensor { created: t.created.clone(), used: used.clone() })
            }
            Repr::Traced(t) => {
                Err(Error::Concretization { ty: t.ty.clone(), created: t.created.clone(), used: used.clone() })
            }
        }
    }

    /// The data as a flat row-major `Vec<T>`; `T` must be the tensor's element type.
    #[track_caller]
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        let loc = caller();
        let a = self.to_array_at(&loc)?;
        a.as_host()
            .to_vec::<T>()
            .ok_or_else(|| Error::op("to_vec", format!("the tensor has dtype {}, not {}", self.dtype(), T::DTYPE), loc))
    }

    /// The value of a one-element tensor, converted to `f64` (the real part of a complex).
    #[track_caller]
    pub fn item(&self) -> Result<f64> {
        let loc = caller();
        let a = self.to_array_at(&loc)?;
        let h = a.as_host();
        if h.numel() != 1 {
            return Err(Error::op("item", format!("the tensor {} has {} elements, not 1", h.ty(), h.numel()), loc));
        }
        Ok(h.get(0).to_f64())
    }

    /// A concrete rank-0 tensor holding `v`.
    pub fn scalar(v: impl Element) -> Tensor {
        Tensor::from(HostArray::scalar(v.to_scalar()))
    }

    /// A concrete tensor of `shape` whose every element is `v`.
    pub fn full(v: impl Element, shape: &[usize]) -> Tensor {
        Tensor::from(HostArray::full(v.to_scalar(), shape))
    }

    /// A concrete tensor of zeros.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Tensor {
        Tensor::from(HostArray::zeros(dtype, shape))
    }

    /// A concrete tensor of ones.
    pub fn ones(dtype: DType, shape: &[usize]) -> Tensor {
        Tensor::from(HostArray::full(Scalar::from_f64(1.0, dtype), shape))
    }

    /// Zeros of this tensor's type (concrete: the shape is static even when tracing).
    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.dtype(), self.shape())
    }

    /// Ones of this tensor's type.
    pub fn ones_like(&self) -> Tensor {
        Tensor::ones(self.dtype(), self.shape())
    }
}

impl From<Array> for Tensor {
    fn from(a: Array) -> Tensor {
        Tensor { repr: Repr::Concrete(a) }
    }
}

impl From<&Array> for Tensor {
    fn from(a: &Array) -> Tensor {
        Tensor { repr: Repr::Concrete(a.clone()) }
    }
}

impl From<HostArray> for Tensor {
    fn from(a: HostArray) -> Tensor {
        Tensor::from(Array::from_host(a))
    }
}

impl From<&Tensor> for Tensor {
    fn from(t: &Tensor) -> Tensor {
        t.clone()
    }
}

/// Tensors from Rust values, through [`Array`]'s conversions (a concrete tensor).
macro_rules! tensor_from_elements {
    ($($t:ty),*) => {$(
        impl From<$t> for Tensor {
            /// A rank-0 tensor.
            fn from(v: $t) -> Tensor {
                Tensor::from(Array::from(v))
            }
        }
        impl From<Vec<$t>> for Tensor {
            /// A 1-d tensor.
            fn from(v: Vec<$t>) -> Tensor {
                Tensor::from(Array::from(v))
            }
        }
        impl From<&[$t]> for Tensor {
            /// A 1-d tensor.
            fn from(v: &[$t]) -> Tensor {
                Tensor::from(Array::from(v))
            }
        }
        impl<const N: usize> From<[$t; N]> for Tensor {
            /// A 1-d tensor.
            fn from(v: [$t; N]) -> Tensor {
                Tensor::from(Array::from(v))
            }
        }
        impl<const M: usize, const N: usize> From<[[$t; N]; M]> for Tensor {
            /// A 2-d tensor, one inner array a row.
            fn from(v: [[$t; N]; M]) -> Tensor {
                Tensor::from(Array::from(v))
            }
        }
    )*};
}
tensor_from_elements!(f32, f64, i32, i64, bool, Complex32, Complex64);

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Concrete(a) => fmt::Display::fmt(a.as_host(), f),
            Repr::Traced(t) => write!(f, "Traced<{}>", t.ty),
            Repr::Poisoned(e) => write!(f, "Poisoned<{e}>"),
        }
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Concrete(a) => write!(f, "Tensor({:?})", a.as_host()),
            Repr::Traced(t) => write!(f, "Tensor(traced {} created at {})", t.ty, t.created),
            Repr::Poisoned(e) => write!(f, "Tensor(poisoned: {e})"),
        }
    }
}
