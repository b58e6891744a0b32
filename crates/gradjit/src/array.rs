//! `Array`: the user's n-d array of concrete data on the host.
//!
//! An `Array` is a shared handle on a [`HostArray`], the one array representation of every
//! stage (IR constants, interpreter values, kernel arguments), so data never changes form on
//! its way into or out of a compiled function. Cloning is O(1); mutation through
//! [`Array::host_mut`] copies the data first if it is shared (copy on write), so an array
//! captured by a traced function as a constant can never change under it.
//!
//! Constructors follow numpy and default to `f32` (`zeros`, `ones`, `full`, `arange`,
//! `linspace`, `eye`); each has an `_of` twin that takes a [`DType`]. Data comes in from
//! scalars, `Vec`s, (nested) Rust arrays and `ndarray` arrays of any layout, and goes out as
//! `Vec<T>`, scalars and standard-layout `ndarray` arrays. Reading data as the wrong element type
//! is an error, never a silent conversion: convert first with [`Array::astype`].
//!
//! `Display` prints like numpy's `str` and `Debug` like JAX's `repr`:
//!
//! ```
//! use gradjit::Array;
//! let a = Array::from([[1.0f32, 2.5], [3.0, 4.0]]);
//! assert_eq!(a.to_string(), "[[1.  2.5]\n [3.  4. ]]");
//! assert_eq!(format!("{:?}", Array::from(vec![1.0f32, 2.0])), "Array([1., 2.], dtype=float32)");
//! ```

use crate::error::{Error, Result};
use gradjit_ir::{DType, Element, HostArray, Loc, Scalar, Shape, TensorType};
use ndarray::{ArrayBase, ArrayD, ArrayViewD, Data, Dimension, IxDyn};
use num_complex::{Complex32, Complex64};
use std::fmt;
use std::sync::Arc;

/// An n-d array of concrete data: dtype, shape and row-major elements. Clones share the data.
#[derive(Clone)]
pub struct Array {
    inner: Arc<HostArray>,
}

/// The error of an array operation, at the user's call site.
#[track_caller]
fn error(op: &str, message: impl Into<String>) -> Error {
    Error::op(op, message, Loc::from_std(std::panic::Location::caller()))
}

impl Array {
    // ---- The host array inside ----

    /// Wraps a host array (no copy).
    pub fn from_host(a: HostArray) -> Array {
        Array { inner: Arc::new(a) }
    }

    /// Wraps a shared host array (no copy).
    pub fn from_host_arc(a: Arc<HostArray>) -> Array {
        Array { inner: a }
    }

    /// The host array.
    pub fn as_host(&self) -> &HostArray {
        &self.inner
    }

    /// The shared host array, e.g. to make an IR constant that shares this array's data.
    pub fn host_arc(&self) -> Arc<HostArray> {
        Arc::clone(&self.inner)
    }

    /// The host array, copied only if the data is shared.
    pub fn into_host(self) -> HostArray {
        Arc::try_unwrap(self.inner).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The host array for writing; the data is copied first if another handle shares it.
    pub fn host_mut(&mut self) -> &mut HostArray {
        Arc::make_mut(&mut self.inner)
    }

    /// True if both handles share the same data.
    pub fn shares_data_with(&self, other: &Array) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    // ---- Type ----

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.inner.dtype()
    }

    /// The dimensions (empty for a scalar).
    pub fn shape(&self) -> &[usize] {
        self.inner.dims()
    }

    /// The dtype and shape, as the IR writes them (`f32[2,3]`).
    pub fn ty(&self) -> &TensorType {
        self.inner.ty()
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.inner.rank()
    }

    /// The number of elements (as `ndarray`'s `len`; numpy's `size`).
    pub fn len(&self) -> usize {
        self.inner.numel()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.inner.numel()
    }

    /// True if the array has no elements (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.inner.numel() == 0
    }

    // ---- Constructors (f32, and `_of` twins taking a dtype) ----

    /// Zeros of dtype f32.
    pub fn zeros(shape: impl Into<Shape>) -> Array {
        Array::zeros_of(DType::F32, shape)
    }

    /// Zeros (`false`, `0`, `0.0`) of `dtype`.
    pub fn zeros_of(dtype: DType, shape: impl Into<Shape>) -> Array {
        Array::from_host(HostArray::zeros(dtype, shape))
    }

    /// Ones of dtype f32.
    pub fn ones(shape: impl Into<Shape>) -> Array {
        Array::ones_of(DType::F32, shape)
    }

    /// Ones (`true`, `1`, `1.0`) of `dtype`.
    pub fn ones_of(dtype: DType, shape: impl Into<Shape>) -> Array {
        Array::full_of(dtype, 1.0, shape)
    }

    /// Every element `value`, dtype f32.
    pub fn full(value: f32, shape: impl Into<Shape>) -> Array {
        Array::from_host(HostArray::full(Scalar::F32(value), shape))
    }

    /// Every element `value` converted to `dtype` (as [`Array::astype`] converts).
    pub fn full_of(dtype: DType, value: f64, shape: impl Into<Shape>) -> Array {
        Array::from_host(HostArray::full(Scalar::F64(value).cast(dtype), shape))
    }

    /// A rank-0 array holding `value`, of `value`'s type.
    pub fn scalar<T: Element>(value: T) -> Array {
        Array::from_host(HostArray::scalar(value.to_scalar()))
    }

    /// `[0, 1, ..., n-1]` as f32.
    pub fn arange(n: usize) -> Array {
        Array::from_host(HostArray::from_vec([n], (0..n).map(|i| i as f32).collect()).expect("n values fill [n]"))
    }

    /// numpy's `arange(start, stop, step, dtype)`: `start + i*step` for `i` in
    /// `0..ceil((stop - start) / step)`, computed in f64 and converted to `dtype`.
    #[track_caller]
    pub fn arange_of(dtype: DType, start: f64, stop: f64, step: f64) -> Result<Array> {
        let n = (stop - start) / step;
        if step == 0.0 || !n.is_finite() {
            return Err(error("arange", format!("cannot step from {start} to {stop} by {step}")));
        }
        let n = n.ceil().max(0.0) as usize;
        Ok(Array::from_f64s(dtype, [n], (0..n).map(|i| start + i as f64 * step)))
    }

    /// `num` evenly spaced f32 values from `start` to `stop`, both included.
    pub fn linspace(start: f64, stop: f64, num: usize) -> Array {
        Array::linspace_of(DType::F32, start, stop, num)
    }

    /// numpy's `linspace(start, stop, num, dtype)`: computed in f64, the last value exactly `stop`.
    pub fn linspace_of(dtype: DType, start: f64, stop: f64, num: usize) -> Array {
        let step = if num > 1 { (stop - start) / (num - 1) as f64 } else { 0.0 };
        let value = |i: usize| if i + 1 == num && num > 1 { stop } else { start + i as f64 * step };
        Array::from_f64s(dtype, [num], (0..num).map(value))
    }

    /// The `n`×`n` identity matrix, f32.
    pub fn eye(n: usize) -> Array {
        Array::eye_of(DType::F32, n)
    }

    /// The `n`×`n` identity matrix of `dtype`.
    pub fn eye_of(dtype: DType, n: usize) -> Array {
        Array::from_f64s(dtype, [n, n], (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }))
    }

    fn from_f64s(dtype: DType, shape: impl Into<Shape>, values: impl Iterator<Item = f64>) -> Array {
        let mut a = HostArray::zeros(dtype, shape);
        for (i, v) in values.enumerate() {
            a.set(i, Scalar::F64(v));
        }
        Array::from_host(a)
    }

    /// An array from row-major data; the length must be the product of the dimensions.
    #[track_caller]
    pub fn from_vec<T: Element>(shape: impl Into<Shape>, data: Vec<T>) -> Result<Array> {
        Array::from_slice(shape, &data)
    }

    /// An array copied from row-major data; the length must be the product of the dimensions.
    #[track_caller]
    pub fn from_slice<T: Element>(shape: impl Into<Shape>, data: &[T]) -> Result<Array> {
        let shape = shape.into();
        HostArray::from_slice(shape.clone(), data).map(Array::from_host).ok_or_else(|| {
            error("from_vec", format!("{} elements cannot fill shape {shape} ({} elements)", data.len(), shape.numel()))
        })
    }

    /// The same data with another shape of as many elements.
    #[track_caller]
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Array> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(error(
                "reshape",
                format!("cannot reshape an array of shape {} into shape {shape}", self.inner.shape()),
            ));
        }
        let host = self.clone().into_host().reshaped(shape).expect("same number of elements");
        Ok(Array::from_host(host))
    }

    /// The array converted to `dtype` (float to int truncates toward zero and saturates; complex
    /// to real drops the imaginary part; nonzero is `true`). The same data if already `dtype`.
    pub fn astype(&self, dtype: DType) -> Array {
        if dtype == self.dtype() {
            return self.clone();
        }
        Array::from_host(self.inner.cast(dtype))
    }

    // ---- Reading data ----

    /// The data as a row-major slice; `T` must be the element type.
    #[track_caller]
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        self.inner.as_slice::<T>().ok_or_else(|| self.dtype_error::<T>("as_slice"))
    }

    /// The data copied into a row-major `Vec`; `T` must be the element type.
    #[track_caller]
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        self.inner.to_vec::<T>().ok_or_else(|| self.dtype_error::<T>("to_vec"))
    }

    /// The elements converted to f64 (the real part of complex numbers, 0 or 1 for bools).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        self.inner.to_f64_vec()
    }

    /// The one element of a one-element array (any shape: `()`, `(1,)`, `(1, 1)`...); `T` must be
    /// the element type.
    #[track_caller]
    pub fn item<T: Element>(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(error(
                "item",
                format!("only one-element arrays have an item; this one has shape {}", self.inner.shape()),
            ));
        }
        Ok(self.as_slice::<T>()?[0])
    }

    /// The element at a multi-index, if it is in bounds.
    pub fn get(&self, index: &[usize]) -> Option<Scalar> {
        if index.len() != self.ndim() || index.iter().zip(self.shape()).any(|(&i, &d)| i >= d) {
            return None;
        }
        let flat = index.iter().zip(self.inner.shape().strides().iter()).map(|(i, s)| i * s).sum();
        Some(self.inner.get(flat))
    }

    /// A zero-copy `ndarray` view; `T` must be the element type.
    #[track_caller]
    pub fn view<T: Element>(&self) -> Result<ArrayViewD<'_, T>> {
        let data = self.as_slice::<T>()?;
        Ok(ArrayViewD::from_shape(IxDyn(self.shape()), data).expect("a host array is row-major and fills its shape"))
    }

    /// The data copied into a standard-layout `ndarray` array; `T` must be the element type.
    #[track_caller]
    pub fn to_ndarray<T: Element>(&self) -> Result<ArrayD<T>> {
        Ok(self.view::<T>()?.to_owned())
    }

    #[track_caller]
    fn dtype_error<T: Element>(&self, op: &str) -> Error {
        error(
            op,
            format!(
                "the array has dtype {}, not {}; convert it first with .astype(DType::{:?})",
                self.dtype(),
                T::DTYPE,
                T::DTYPE
            ),
        )
    }

    // ---- Comparison ----

    /// numpy's `allclose`: true if the arrays broadcast together and every pair of elements has
    /// `|a - b| <= atol + rtol * |b|` (NaN is close to nothing; infinities of one sign are equal).
    /// Complex numbers compare by the modulus of their difference; every dtype compares in
    /// double precision.
    pub fn allclose(&self, other: &Array, rtol: f64, atol: f64) -> bool {
        let Some(shape) = broadcast_shapes(self.shape(), other.shape()) else {
            return false;
        };
        let (ia, ib) = (broadcast_index(self.shape(), &shape), broadcast_index(other.shape(), &shape));
        (0..shape.iter().product()).all(|i| {
            let (a, b) = (self.inner.get(ia(i)).to_c128(), other.inner.get(ib(i)).to_c128());
            if a == b {
                return true; // Also equal infinities, whose difference is NaN.
            }
            (a - b).norm() <= atol + rtol * b.norm()
        })
    }

    /// The largest `|a - b|` over the elements of two arrays of one shape, or `None` if the shapes
    /// differ. NaN if either array has a NaN where the other differs.
    pub fn max_abs_diff(&self, other: &Array) -> Option<f64> {
        (self.shape() == other.shape()).then(|| {
            self.inner.scalars().zip(other.inner.scalars()).fold(0.0f64, |m, (a, b)| {
                let (a, b) = (a.to_c128(), b.to_c128());
                let d = if a == b { 0.0 } else { (a - b).norm() };
                if d.is_nan() || m.is_nan() {
                    f64::NAN
                } else {
                    m.max(d)
                }
            })
        })
    }
}

/// The shape two shapes broadcast to (numpy's rules: align at the right; equal or 1).
fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() < rank { 1 } else { s[i + s.len() - rank] };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y || y == 1 => Some(x),
            (1, y) => Some(y),
            _ => None,
        })
        .collect()
}

/// Maps a flat index of the broadcast shape `out` to the flat index of the array of `shape`.
fn broadcast_index(shape: &[usize], out: &[usize]) -> impl Fn(usize) -> usize {
    let offset = out.len() - shape.len();
    let strides = Shape::new(shape).strides();
    // Per output axis: its size and the input stride (0 where the input is broadcast).
    let axes: Vec<(usize, usize)> = (0..out.len())
        .map(|k| {
            let stride = if k < offset || shape[k - offset] == 1 { 0 } else { strides[k - offset] };
            (out[k], stride)
        })
        .collect();
    move |mut flat| {
        let mut index = 0;
        for &(size, stride) in axes.iter().rev() {
            index += (flat % size) * stride;
            flat /= size;
        }
        index
    }
}

/// Panics unless `actual` and `desired` are [`Array::allclose`], with numpy.testing's report:
/// the mismatch count, the largest absolute and relative differences, and both arrays.
#[track_caller]
pub fn assert_allclose(actual: &Array, desired: &Array, rtol: f64, atol: f64) {
    if actual.allclose(desired, rtol, atol) {
        return;
    }
    let mut report = format!("arrays are not close (rtol={rtol:e}, atol={atol:e})\n");
    if actual.shape() == desired.shape() {
        let pairs: Vec<(f64, f64)> = actual
            .inner
            .scalars()
            .zip(desired.inner.scalars())
            .map(|(a, b)| {
                let (a, b) = (a.to_c128(), b.to_c128());
                if a == b {
                    (0.0, b.norm())
                } else {
                    ((a - b).norm(), b.norm())
                }
            })
            .collect();
        let bad = pairs.iter().filter(|(d, b)| d.is_nan() || *d > atol + rtol * b).count();
        let max_abs = pairs.iter().map(|p| p.0).fold(0.0, f64::max);
        let max_rel = pairs.iter().filter(|p| p.1 != 0.0).map(|p| p.0 / p.1).fold(0.0, f64::max);
        report += &format!("mismatched elements: {bad} / {}\n", pairs.len());
        report += &format!("max absolute difference: {max_abs:e}\nmax relative difference: {max_rel:e}\n");
    } else {
        report += &format!("shapes {} and {} differ\n", actual.inner.shape(), desired.inner.shape());
    }
    panic!("{report} actual: {actual:?}\ndesired: {desired:?}");
}

impl PartialEq for Array {
    /// Same dtype, shape and bits (so NaN equals NaN, and -0.0 differs from 0.0): equality of
    /// values, as a hash map or a test needs it. For numerical closeness use [`Array::allclose`].
    fn eq(&self, other: &Array) -> bool {
        self.shares_data_with(other) || self.inner == other.inner
    }
}

impl fmt::Display for Array {
    /// numpy's `str`; a precision (`{:.3}`) sets numpy's `precision` print option.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.inner, f)
    }
}

impl fmt::Debug for Array {
    /// JAX's `repr`: `Array([1., 2.], dtype=float32)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.repr("Array"))
    }
}

// ---- Conversions ----

impl From<HostArray> for Array {
    fn from(a: HostArray) -> Array {
        Array::from_host(a)
    }
}

impl From<&Array> for Array {
    fn from(a: &Array) -> Array {
        a.clone()
    }
}

/// Conversions from Rust values of each element type (written per type, because a generic
/// `From<Vec<T>>` would overlap `From<Vec<[T; N]>>`-like impls under Rust's coherence rules).
macro_rules! from_elements {
    ($($t:ty),*) => {$(
        impl From<$t> for Array {
            /// A rank-0 array.
            fn from(v: $t) -> Array {
                Array::scalar(v)
            }
        }
        impl From<Vec<$t>> for Array {
            /// A 1-d array.
            fn from(v: Vec<$t>) -> Array {
                Array::from(v.as_slice())
            }
        }
        impl From<&[$t]> for Array {
            /// A 1-d array.
            fn from(v: &[$t]) -> Array {
                Array::from_host(HostArray::from_slice([v.len()], v).expect("a slice fills its own length"))
            }
        }
        impl<const N: usize> From<[$t; N]> for Array {
            /// A 1-d array.
            fn from(v: [$t; N]) -> Array {
                Array::from(v.as_slice())
            }
        }
        impl<const M: usize, const N: usize> From<[[$t; N]; M]> for Array {
            /// A 2-d array, one inner array a row.
            fn from(v: [[$t; N]; M]) -> Array {
                Array::from_host(HostArray::from_slice([M, N], v.as_flattened()).expect("M rows of N fill [M, N]"))
            }
        }
    )*};
}
from_elements!(f32, f64, i32, i64, bool, Complex32, Complex64);

impl<T: Element, S: Data<Elem = T>, D: Dimension> From<&ArrayBase<S, D>> for Array {
    /// A copy of an `ndarray` array of any memory layout, in logical (row-major) order.
    fn from(a: &ArrayBase<S, D>) -> Array {
        let host = match a.as_slice() {
            Some(contiguous) => HostArray::from_slice(a.shape(), contiguous),
            None => HostArray::from_vec(a.shape(), a.iter().copied().collect()),
        };
        Array::from_host(host.expect("an ndarray's elements fill its shape"))
    }
}

impl<T: Element, S: Data<Elem = T>, D: Dimension> From<ArrayBase<S, D>> for Array {
    /// A copy of an `ndarray` array of any memory layout, in logical (row-major) order.
    fn from(a: ArrayBase<S, D>) -> Array {
        Array::from(&a)
    }
}

impl<T: Element, D: Dimension> TryFrom<&Array> for ndarray::Array<T, D> {
    type Error = Error;
    /// A standard-layout copy: `ArrayD`, or `Array1`, `Array2`... if the rank matches.
    #[track_caller]
    fn try_from(a: &Array) -> Result<ndarray::Array<T, D>> {
        let data = a.to_ndarray::<T>()?;
        let rank = data.ndim();
        data.into_dimensionality::<D>()
            .map_err(|_| error("to_ndarray", format!("the array has rank {rank}, not {}", D::NDIM.unwrap_or(rank))))
    }
}

impl<T: Element, D: Dimension> TryFrom<Array> for ndarray::Array<T, D> {
    type Error = Error;
    #[track_caller]
    fn try_from(a: Array) -> Result<ndarray::Array<T, D>> {
        ndarray::Array::try_from(&a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array1, Array2, Array3, ShapeBuilder};

    #[test]
    fn constructors_have_numpy_values() {
        assert_eq!(Array::zeros([2, 3]).to_vec::<f32>().unwrap(), vec![0.0; 6]);
        assert_eq!(Array::zeros([2, 3]).shape(), &[2, 3]);
        assert_eq!(Array::ones([2]).to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
        assert_eq!(Array::ones_of(DType::Bool, [2]).to_vec::<bool>().unwrap(), vec![true, true]);
        assert_eq!(Array::zeros_of(DType::I64, [3]).to_vec::<i64>().unwrap(), vec![0, 0, 0]);
        assert_eq!(Array::full(2.5, [2]).to_vec::<f32>().unwrap(), vec![2.5, 2.5]);
        assert_eq!(Array::full_of(DType::I32, -3.7, [1]).to_vec::<i32>().unwrap(), vec![-3]);
        assert_eq!(Array::arange(4).to_vec::<f32>().unwrap(), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(Array::arange_of(DType::I32, 2.0, 11.0, 3.0).unwrap().to_vec::<i32>().unwrap(), vec![2, 5, 8]);
        assert_eq!(
            Array::arange_of(DType::F64, 1.0, 0.0, -0.25).unwrap().to_vec::<f64>().unwrap(),
            [1.0, 0.75, 0.5, 0.25]
        );
        assert!(Array::arange_of(DType::F64, 1.0, 2.0, -1.0).unwrap().is_empty());
        assert_eq!(Array::linspace(0.0, 1.0, 5).to_vec::<f32>().unwrap(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(Array::linspace_of(DType::F64, 3.0, 9.0, 1).to_vec::<f64>().unwrap(), vec![3.0]);
        assert!(Array::linspace(0.0, 1.0, 0).is_empty());
        // The last value is exactly `stop`, whatever the rounding of the step.
        assert_eq!(Array::linspace_of(DType::F64, 0.0, 0.3, 4).to_vec::<f64>().unwrap()[3], 0.3);
        assert_eq!(Array::eye(3).to_vec::<f32>().unwrap(), vec![1., 0., 0., 0., 1., 0., 0., 0., 1.]);
        assert_eq!(Array::eye_of(DType::I32, 2).to_vec::<i32>().unwrap(), vec![1, 0, 0, 1]);
        let s = Array::scalar(7i64);
        assert_eq!((s.dtype(), s.ndim(), s.len(), s.item::<i64>().unwrap()), (DType::I64, 0, 1, 7));
    }

    #[test]
    fn arange_rejects_a_zero_or_useless_step() {
        let e = Array::arange_of(DType::F32, 0.0, 1.0, 0.0).unwrap_err();
        assert!(e.to_string().starts_with("arange: cannot step from 0 to 1 by 0 (at "), "{e}");
        assert!(e.loc().unwrap().file.ends_with("array.rs"));
        assert!(Array::arange_of(DType::F32, 0.0, f64::INFINITY, 1.0).is_err());
    }

    #[test]
    fn from_vec_checks_the_length() {
        let a = Array::from_vec([2, 2], vec![1i32, 2, 3, 4]).unwrap();
        assert_eq!((a.dtype(), a.shape(), a.numel()), (DType::I32, &[2usize, 2][..], 4));
        let e = Array::from_vec([2, 3], vec![1.0f32; 5]).unwrap_err();
        assert!(e.to_string().starts_with("from_vec: 5 elements cannot fill shape (2, 3) (6 elements)"), "{e}");
        assert!(Array::from_vec([0, 4], Vec::<f64>::new()).unwrap().is_empty());
    }

    #[test]
    fn reading_the_wrong_dtype_is_an_error() {
        let a = Array::from(vec![1.0f32, 2.0]);
        let e = a.to_vec::<f64>().unwrap_err();
        assert!(e.to_string().contains("the array has dtype f32, not f64; convert it first with .astype(DType::F64)"));
        assert_eq!(a.astype(DType::F64).to_vec::<f64>().unwrap(), vec![1.0, 2.0]);
        assert!(a.item::<f32>().unwrap_err().to_string().contains("this one has shape (2,)"));
        assert_eq!(Array::from_vec([1, 1], vec![4.5f32]).unwrap().item::<f32>().unwrap(), 4.5);
    }

    #[test]
    fn astype_converts_like_convert_element_type() {
        let a = Array::from(vec![-1.7f64, 0.0, 2.9]);
        assert_eq!(a.astype(DType::I32).to_vec::<i32>().unwrap(), vec![-1, 0, 2]);
        assert_eq!(a.astype(DType::Bool).to_vec::<bool>().unwrap(), vec![true, false, true]);
        assert_eq!(a.astype(DType::C64).to_vec::<Complex32>().unwrap()[2], Complex32::new(2.9, 0.0));
        assert!(a.astype(DType::F64).shares_data_with(&a));
    }

    #[test]
    fn scalar_and_collection_conversions() {
        assert_eq!(Array::from(1.5f32).dtype(), DType::F32);
        assert_eq!(Array::from(1.5f64).dtype(), DType::F64);
        assert!(Array::from(true).item::<bool>().unwrap());
        assert_eq!(Array::from(Complex64::new(1.0, -1.0)).item::<Complex64>().unwrap(), Complex64::new(1.0, -1.0));
        assert_eq!(Array::from([1i64, 2, 3]).shape(), &[3]);
        assert_eq!(Array::from(&[1i32, 2][..]).to_vec::<i32>().unwrap(), vec![1, 2]);
        let m = Array::from([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        assert_eq!((m.shape(), m.get(&[1, 0])), (&[2usize, 3][..], Some(Scalar::F64(4.0))));
        assert_eq!(m.get(&[2, 0]), None);
        assert_eq!(m.get(&[0]), None);
    }

    #[test]
    fn clones_share_data_until_written() {
        let a = Array::from(vec![1.0f32, 2.0]);
        let mut b = a.clone();
        assert!(b.shares_data_with(&a));
        b.host_mut().set(0, Scalar::F32(9.0));
        assert!(!b.shares_data_with(&a));
        assert_eq!(a.to_vec::<f32>().unwrap(), vec![1.0, 2.0]);
        assert_eq!(b.to_vec::<f32>().unwrap(), vec![9.0, 2.0]);
        let arc = b.host_arc();
        assert!(Arc::ptr_eq(&arc, &b.host_arc()));
        assert_eq!(b.reshape([2, 1]).unwrap().shape(), &[2, 1]);
        assert!(b
            .reshape([3])
            .unwrap_err()
            .to_string()
            .contains("cannot reshape an array of shape (2,) into shape (3,)"));
    }

    #[test]
    fn ndarray_round_trips_of_rank_0_to_3() {
        let r0 = ndarray::arr0(2.5f32).into_dyn();
        let r1 = Array1::from(vec![1i32, 2, 3]).into_dyn();
        let r2 = Array2::from_shape_fn((2, 3), |(i, j)| (10 * i + j) as f64).into_dyn();
        let r3 = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (100 * i + 10 * j + k) as i64).into_dyn();
        let a0 = Array::from(&r0);
        assert_eq!((a0.ndim(), a0.item::<f32>().unwrap()), (0, 2.5));
        assert_eq!(ArrayD::<f32>::try_from(&a0).unwrap(), r0);
        assert_eq!(ArrayD::<i32>::try_from(&Array::from(&r1)).unwrap(), r1);
        let a2 = Array::from(&r2);
        assert_eq!(a2.to_vec::<f64>().unwrap(), vec![0., 1., 2., 10., 11., 12.]);
        assert_eq!(a2.to_ndarray::<f64>().unwrap(), r2);
        let a3 = Array::from(r3.clone());
        assert_eq!(a3.get(&[1, 2, 3]), Some(Scalar::I64(123)));
        assert_eq!(ArrayD::<i64>::try_from(a3).unwrap(), r3);
    }

    #[test]
    fn ndarray_fixed_rank_conversions_check_the_rank() {
        let m = Array::from([[1.0f32, 2.0], [3.0, 4.0]]);
        let m2 = Array2::<f32>::try_from(&m).unwrap();
        assert_eq!(m2, ndarray::arr2(&[[1.0, 2.0], [3.0, 4.0]]));
        let e = Array1::<f32>::try_from(&m).unwrap_err();
        assert!(e.to_string().starts_with("to_ndarray: the array has rank 2, not 1"), "{e}");
        assert!(Array2::<f64>::try_from(&m).is_err());
        assert_eq!(m.view::<f32>().unwrap()[[1, 0]], 3.0);
    }

    #[test]
    fn non_contiguous_ndarrays_copy_in_logical_order() {
        let base = Array2::from_shape_fn((3, 4), |(i, j)| (10 * i + j) as f32);
        // Transposed (column-major view), strided slice, and a Fortran-order array.
        let t = Array::from(&base.t());
        assert_eq!(t.shape(), &[4, 3]);
        assert_eq!(t.to_vec::<f32>().unwrap()[..4], [0., 10., 20., 1.]);
        let sliced = Array::from(&base.slice(s![..;2, 1..;2]));
        assert_eq!((sliced.shape(), sliced.to_vec::<f32>().unwrap()), (&[2usize, 2][..], vec![1., 3., 21., 23.]));
        let fortran = Array2::from_shape_vec((2, 3).f(), vec![1.0f64, 4., 2., 5., 3., 6.]).unwrap();
        assert_eq!(Array::from(&fortran).to_vec::<f64>().unwrap(), vec![1., 2., 3., 4., 5., 6.]);
        // Back to ndarray: always standard layout.
        let back = Array2::<f32>::try_from(&t).unwrap();
        assert!(back.is_standard_layout());
        assert_eq!(back, base.t());
    }

    #[test]
    fn size_zero_arrays_convert() {
        let e = ArrayD::<f32>::zeros(IxDyn(&[0, 3]));
        let a = Array::from(&e);
        assert_eq!((a.shape(), a.is_empty()), (&[0usize, 3][..], true));
        assert_eq!(ArrayD::<f32>::try_from(&a).unwrap().shape(), &[0, 3]);
        assert_eq!(a.to_vec::<f32>().unwrap(), Vec::<f32>::new());
        assert_eq!(format!("{a:?}"), "Array([], shape=(0, 3), dtype=float32)");
    }

    #[test]
    fn prints_like_numpy_and_jax() {
        let a = Array::from([[1.0f32, 2.5], [-3.0, 4.0]]);
        assert_eq!(a.to_string(), "[[ 1.   2.5]\n [-3.   4. ]]");
        assert_eq!(format!("{a:?}"), "Array([[ 1. ,  2.5],\n       [-3. ,  4. ]], dtype=float32)");
        assert_eq!(Array::scalar(0.5f64).to_string(), "0.5");
        assert_eq!(format!("{:?}", Array::scalar(0.5f64)), "Array(0.5, dtype=float64)");
        assert_eq!(
            format!("{:?}", Array::arange_of(DType::I32, 0.0, 3.0, 1.0).unwrap()),
            "Array([0, 1, 2], dtype=int32)"
        );
        assert_eq!(format!("{:.2}", Array::from(vec![1.0f64 / 3.0])), "[0.33]");
    }

    #[test]
    fn allclose_follows_numpy() {
        let a = Array::from(vec![1.0f32, 2.0, 3.0]);
        assert!(a.allclose(&Array::from(vec![1.0f32, 2.0, 3.00001]), 1e-5, 1e-8));
        assert!(!a.allclose(&Array::from(vec![1.0f32, 2.0, 3.001]), 1e-5, 1e-8));
        assert!(a.allclose(&Array::from(vec![1.0f64, 2.0, 3.0]), 0.0, 0.0), "dtypes may differ");
        // Broadcasting: against a scalar and a column.
        assert!(Array::full(2.0, [2, 3]).allclose(&Array::from(2.0f32), 0.0, 0.0));
        let col = Array::from([[1.0f32], [2.0]]);
        let m = Array::from([[1.0f32, 1.0, 1.0], [2.0, 2.0, 2.0]]);
        assert!(m.allclose(&col, 0.0, 0.0));
        assert!(!m.allclose(&Array::from(vec![1.0f32, 2.0]), 0.0, 0.0), "(2, 3) and (2,) do not broadcast");
        // NaN is close to nothing; infinities equal themselves.
        assert!(!Array::from(f32::NAN).allclose(&Array::from(f32::NAN), 1.0, 1.0));
        assert!(Array::from(f32::INFINITY).allclose(&Array::from(f32::INFINITY), 0.0, 0.0));
        assert!(!Array::from(f32::INFINITY).allclose(&Array::from(f32::NEG_INFINITY), 0.0, 0.0));
        assert_eq!(a.max_abs_diff(&Array::from(vec![1.5f32, 2.0, 2.0])), Some(1.0));
        assert_eq!(a.max_abs_diff(&Array::from(vec![1.5f32])), None);
    }

    #[test]
    fn assert_allclose_reports_the_mismatch() {
        let a = Array::from(vec![1.0f32, 2.0]);
        assert_allclose(&a, &Array::from(vec![1.0f32, 2.0000001]), 1e-6, 0.0);
        let report = std::panic::catch_unwind(|| assert_allclose(&a, &Array::from(vec![1.0f32, 2.5]), 1e-6, 0.0))
            .unwrap_err()
            .downcast::<String>()
            .unwrap();
        assert!(report.contains("mismatched elements: 1 / 2"), "{report}");
        assert!(report.contains("max absolute difference: 5e-1"), "{report}");
        assert!(report.contains("desired: Array([1. , 2.5], dtype=float32)"), "{report}");
    }

    #[test]
    fn equality_is_bitwise() {
        assert_eq!(Array::from(vec![f32::NAN]), Array::from(vec![f32::NAN]));
        assert_ne!(Array::from(0.0f32), Array::from(-0.0f32));
        assert_ne!(Array::from(1.0f32), Array::from(1.0f64));
        assert_ne!(Array::zeros([2]), Array::zeros([1, 2]));
    }
}
