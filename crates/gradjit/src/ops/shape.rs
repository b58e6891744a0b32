//! Shape operations: reshaping, transposing, broadcasting, slicing and indexing, joining, and
//! the data-dependent indexing primitives (`take`, `scatter_add`, `dynamic_slice`, ...).
//!
//! Slicing follows python: `x.at(s![1..-1, ..;2, 0])` takes rows `1..n-1`, every other column,
//! and the first element of the last axis (removing that axis). Negative positions count from
//! the end, out-of-range bounds clamp, a negative step walks backwards. A basic slice is one
//! `slice` primitive (after one `rev` for negative steps, and before one `reshape` for indices
//! and new axes).

use super::{broadcast_in, normalize_axes, normalize_axis, normalize_axis_in, Dim, IntList};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::trace::{bind1, caller, poison1, unify};
use gradjit_ir::{Axes, DType, Loc, Prim, Scalar, Shape, TensorType};
use std::borrow::Borrow;
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// One entry of a slice spec (see [`Tensor::at`] and the [`s!`](crate::s) macro).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceArg {
    /// One position; the dimension is removed. Negative counts from the end.
    Index(i64),
    /// `start..stop` by `step`, python's rules (`None` is the default end for the step's direction).
    Range {
        /// The first position (`None`: the start for a positive step, the end for a negative one).
        start: Option<i64>,
        /// The position not reached (`None`: past the end in the step's direction).
        stop: Option<i64>,
        /// The distance between taken positions (not 0).
        step: i64,
    },
    /// A new dimension of size 1 (numpy's `None`/`newaxis`).
    NewAxis,
}

impl SliceArg {
    /// All of a dimension.
    pub const ALL: SliceArg = SliceArg::Range { start: None, stop: None, step: 1 };

    /// The same range taken every `step` elements (a no-op on an index or a new axis).
    pub fn step(self, step: i64) -> SliceArg {
        match self {
            SliceArg::Range { start, stop, .. } => SliceArg::Range { start, stop, step },
            other => other,
        }
    }
}

impl<D: Dim> From<D> for SliceArg {
    fn from(i: D) -> SliceArg {
        SliceArg::Index(i.to_i64())
    }
}
impl<D: Dim> From<Range<D>> for SliceArg {
    fn from(r: Range<D>) -> SliceArg {
        SliceArg::Range { start: Some(r.start.to_i64()), stop: Some(r.end.to_i64()), step: 1 }
    }
}
impl<D: Dim> From<RangeFrom<D>> for SliceArg {
    fn from(r: RangeFrom<D>) -> SliceArg {
        SliceArg::Range { start: Some(r.start.to_i64()), stop: None, step: 1 }
    }
}
impl<D: Dim> From<RangeTo<D>> for SliceArg {
    fn from(r: RangeTo<D>) -> SliceArg {
        SliceArg::Range { start: None, stop: Some(r.end.to_i64()), step: 1 }
    }
}
impl<D: Dim> From<RangeInclusive<D>> for SliceArg {
    fn from(r: RangeInclusive<D>) -> SliceArg {
        SliceArg::Range { start: Some(r.start().to_i64()), stop: inclusive_stop(r.end().to_i64()), step: 1 }
    }
}
impl<D: Dim> From<RangeToInclusive<D>> for SliceArg {
    fn from(r: RangeToInclusive<D>) -> SliceArg {
        SliceArg::Range { start: None, stop: inclusive_stop(r.end.to_i64()), step: 1 }
    }
}
impl From<RangeFull> for SliceArg {
    fn from(_: RangeFull) -> SliceArg {
        SliceArg::ALL
    }
}

/// The exclusive stop of an inclusive end (`..=-1` runs to the end).
fn inclusive_stop(end: i64) -> Option<i64> {
    (end != -1).then_some(end + 1)
}

/// A slice spec: `s![1..3, .., -1, 2..;2]` (a `;k` suffix is the step).
#[macro_export]
macro_rules! s {
    ($($e:expr $(; $step:expr)?),* $(,)?) => {
        [$($crate::SliceArg::from($e) $(.step($step))?),*]
    };
}

/// Python's `slice(start, stop, step).indices(n)`, as (first index, count).
fn slice_indices(start: Option<i64>, stop: Option<i64>, step: i64, n: i64) -> (i64, i64) {
    let resolve = |v: i64, lo: i64, hi: i64| (if v < 0 { v + n } else { v }).clamp(lo, hi);
    if step > 0 {
        let a = start.map_or(0, |s| resolve(s, 0, n));
        let b = stop.map_or(n, |s| resolve(s, 0, n));
        (a, ((b - a).max(0) + step - 1) / step)
    } else {
        let a = start.map_or(n - 1, |s| resolve(s, -1, n - 1));
        let b = stop.map_or(-1, |s| resolve(s, -1, n - 1));
        (a, ((a - b).max(0) + (-step) - 1) / (-step))
    }
}

/// `x[spec]`.
fn basic_index(x: &Tensor, spec: &[SliceArg], loc: &Loc) -> Result<Tensor> {
    let ty = x.ty_or_err()?;
    let dims = ty.dims();
    let used = spec.iter().filter(|a| !matches!(a, SliceArg::NewAxis)).count();
    if used > ty.rank() {
        return Err(Error::op("index", format!("too many indices for {ty}: {used} were given"), loc.clone()));
    }
    let (mut start, mut limit, mut stride): (Axes, Axes, Axes) =
        (Axes::from_elem(0, ty.rank()), dims.iter().copied().collect(), Axes::from_elem(1, ty.rank()));
    let mut rev = Axes::new();
    let mut out: Vec<usize> = Vec::new();
    let mut axis = 0;
    for arg in spec {
        match *arg {
            SliceArg::NewAxis => out.push(1),
            SliceArg::Index(i) => {
                let n = dims[axis] as i64;
                let j = if i < 0 { i + n } else { i };
                if !(0..n).contains(&j) {
                    return Err(Error::op(
                        "index",
                        format!("index {i} is out of bounds for axis {axis} with size {n} of {ty}"),
                        loc.clone(),
                    ));
                }
                (start[axis], limit[axis]) = (j as usize, j as usize + 1);
                axis += 1;
            }
            SliceArg::Range { start: a, stop: b, step } => {
                if step == 0 {
                    return Err(Error::op("slice", "slice step cannot be zero", loc.clone()));
                }
                let n = dims[axis] as i64;
                let (first, count) = slice_indices(a, b, step, n);
                // A backward slice is a forward one of the reversed axis.
                let first = if step < 0 {
                    rev.push(axis);
                    n - 1 - first
                } else {
                    first
                };
                let first = if count == 0 { 0 } else { first as usize };
                let (count, step) = (count as usize, step.unsigned_abs() as usize);
                start[axis] = first;
                limit[axis] = if count == 0 { 0 } else { first + (count - 1) * step + 1 };
                stride[axis] = step;
                out.push(count);
                axis += 1;
            }
        }
    }
    out.extend_from_slice(&dims[axis..]);
    let mut y = x.clone();
    if !rev.is_empty() {
        y = bind1(Prim::Rev { axes: rev }, &[&y], loc);
    }
    let whole = start.iter().all(|&s| s == 0) && limit.as_slice() == dims && stride.iter().all(|&s| s == 1);
    if !whole {
        y = bind1(Prim::Slice { start, limit, stride }, &[&y], loc);
    }
    if y.shape() != out.as_slice() {
        y = bind1(Prim::Reshape { shape: Shape::from(out) }, &[&y], loc);
    }
    Ok(y)
}

/// The shape `dims` asks for, with at most one `-1` standing for the rest.
fn reshape_target(dims: &[i64], ty: &TensorType, loc: &Loc) -> Result<Shape> {
    let bad = || {
        Error::op("reshape", format!("cannot reshape {ty} ({} elements) into shape {dims:?}", ty.numel()), loc.clone())
    };
    let known: i64 = dims.iter().filter(|&&d| d != -1).product();
    let holes = dims.iter().filter(|&&d| d == -1).count();
    if holes > 1 || dims.iter().any(|&d| d < -1) {
        return Err(bad());
    }
    let numel = ty.numel() as i64;
    let out: Vec<usize> = if holes == 1 {
        if known == 0 || numel % known != 0 {
            return Err(bad());
        }
        dims.iter().map(|&d| if d == -1 { (numel / known) as usize } else { d as usize }).collect()
    } else {
        dims.iter().map(|&d| d as usize).collect()
    };
    if out.iter().product::<usize>() != ty.numel() {
        return Err(bad());
    }
    Ok(Shape::from(out))
}

/// Runs a fallible body of a shape operation; its error poisons the result.
fn guarded(r: Result<Tensor>) -> Tensor {
    r.unwrap_or_else(poison1)
}

impl Tensor {
    /// The same elements in a new shape; one dimension may be `-1` (inferred).
    #[track_caller]
    pub fn reshape(&self, dims: impl IntList) -> Tensor {
        let loc = caller();
        guarded(self.ty_or_err().and_then(|ty| {
            let shape = reshape_target(&dims.into_ints(), &ty, &loc)?;
            Ok(if shape == ty.shape { self.clone() } else { bind1(Prim::Reshape { shape }, &[self], &loc) })
        }))
    }

    /// The elements as a 1-d tensor.
    #[track_caller]
    pub fn flatten(&self) -> Tensor {
        self.reshape([-1])
    }

    /// The dimensions reversed (numpy's `.T`).
    #[track_caller]
    pub fn transpose(&self) -> Tensor {
        let r = self.rank() as i64;
        self.permute((0..r).rev().collect::<Vec<_>>())
    }

    /// The dimensions permuted: output dimension `i` is input dimension `axes[i]`.
    #[track_caller]
    pub fn permute(&self, axes: impl IntList) -> Tensor {
        let loc = caller();
        guarded(self.ty_or_err().and_then(|ty| {
            let axes = axes.into_ints();
            let perm: Axes = axes.iter().map(|&a| normalize_axis("permute", a, &ty, &loc)).collect::<Result<_>>()?;
            let mut seen = perm.clone();
            seen.sort_unstable();
            seen.dedup();
            if perm.len() != ty.rank() || seen.len() != ty.rank() {
                return Err(Error::op(
                    "permute",
                    format!("{axes:?} is not a permutation of the axes of {ty}"),
                    loc.clone(),
                ));
            }
            if perm.iter().enumerate().all(|(i, &p)| i == p) {
                return Ok(self.clone());
            }
            Ok(bind1(Prim::Transpose { perm }, &[self], &loc))
        }))
    }

    /// Axes `a` and `b` exchanged.
    #[track_caller]
    pub fn swapaxes(&self, a: impl Dim, b: impl Dim) -> Tensor {
        let loc = caller();
        let axes = self.ty_or_err().and_then(|ty| {
            Ok((normalize_axis("swapaxes", a.to_i64(), &ty, &loc)?, normalize_axis("swapaxes", b.to_i64(), &ty, &loc)?))
        });
        match axes {
            Ok((a, b)) => {
                let mut perm: Vec<i64> = (0..self.rank() as i64).collect();
                perm.swap(a, b);
                self.permute(perm)
            }
            Err(e) => poison1(e),
        }
    }

    /// The last two axes exchanged (the matrix transpose of a batch of matrices).
    #[track_caller]
    pub fn mt(&self) -> Tensor {
        self.swapaxes(-1, -2)
    }

    /// A new dimension of size 1 at `axis` (in `-(rank+1)..=rank`).
    #[track_caller]
    pub fn expand_dims(&self, axis: impl Dim) -> Tensor {
        let loc = caller();
        guarded(self.ty_or_err().and_then(|ty| {
            let a = normalize_axis_in("expand_dims", axis.to_i64(), ty.rank() + 1, &ty, &loc)?;
            let mut dims = ty.dims().to_vec();
            dims.insert(a, 1);
            Ok(bind1(Prim::Reshape { shape: Shape::from(dims) }, &[self], &loc))
        }))
    }

    /// Every dimension of size 1 removed.
    #[track_caller]
    pub fn squeeze(&self) -> Tensor {
        let ones: Vec<i64> = (0..self.rank()).filter(|&i| self.shape()[i] == 1).map(|i| i as i64).collect();
        self.squeeze_axes(ones)
    }

    /// The dimensions `axes`, which must have size 1, removed.
    #[track_caller]
    pub fn squeeze_axes(&self, axes: impl IntList) -> Tensor {
        let loc = caller();
        guarded(self.ty_or_err().and_then(|ty| {
            let axes = normalize_axes("squeeze", &axes.into_ints(), &ty, &loc)?;
            if let Some(&a) = axes.iter().find(|&&a| ty.dims()[a] != 1) {
                return Err(Error::op(
                    "squeeze",
                    format!("cannot remove axis {a} of {ty}: its size is {}, not 1", ty.dims()[a]),
                    loc.clone(),
                ));
            }
            if axes.is_empty() {
                return Ok(self.clone());
            }
            let dims: Vec<usize> = (0..ty.rank()).filter(|i| !axes.contains(i)).map(|i| ty.dims()[i]).collect();
            Ok(bind1(Prim::Reshape { shape: Shape::from(dims) }, &[self], &loc))
        }))
    }

    /// The tensor broadcast to `dims` by numpy's rules.
    #[track_caller]
    pub fn broadcast_to(&self, dims: impl IntList) -> Tensor {
        let loc = caller();
        guarded(self.ty_or_err().and_then(|ty| {
            let dims = dims.into_ints();
            if dims.len() < ty.rank() || dims.iter().any(|&d| d < 0) {
                return Err(Error::op("broadcast_to", format!("cannot broadcast {ty} to shape {dims:?}"), loc.clone()));
            }
            let shape = Shape::from(dims.iter().map(|&d| d as usize).collect::<Vec<_>>());
            Ok(broadcast_in(self, &shape, &loc))
        }))
    }

    /// `self[spec]` with python's basic indexing: build `spec` with [`s!`](crate::s).
    #[track_caller]
    pub fn at(&self, spec: impl AsRef<[SliceArg]>) -> Tensor {
        guarded(basic_index(self, spec.as_ref(), &caller()))
    }

    /// `self[i]`: the sub-tensor at position `i` of axis 0 (negative counts from the end).
    #[track_caller]
    pub fn index(&self, i: impl Dim) -> Tensor {
        guarded(basic_index(self, &[SliceArg::Index(i.to_i64())], &caller()))
    }

    /// `start..stop` by `step` along `axis`, python's rules (clamped bounds, negative positions
    /// from the end, a negative step walks backwards; `i64::MAX`/`i64::MIN` reach the ends).
    #[track_caller]
    pub fn slice(&self, axis: impl Dim, start: i64, stop: i64, step: i64) -> Tensor {
        let loc = caller();
        guarded(self.ty_or_err().and_then(|ty| {
            let axis = normalize_axis("slice", axis.to_i64(), &ty, &loc)?;
            let mut spec = vec![SliceArg::ALL; axis];
            spec.push(SliceArg::Range { start: Some(start), stop: Some(stop), step });
            basic_index(self, &spec, &loc)
        }))
    }

    /// The elements at integer `indices` along `axis` (`numpy.take`; indices are clamped into
    /// range). The result's shape is `shape[..axis] + indices.shape + shape[axis+1..]`.
    #[track_caller]
    pub fn take(&self, indices: &Tensor, axis: impl Dim) -> Tensor {
        let loc = caller();
        guarded(self.ty_or_err().and_then(|ty| {
            let axis = normalize_axis("take", axis.to_i64(), &ty, &loc)?;
            Ok(bind1(Prim::Gather { axis }, &[self, indices], &loc))
        }))
    }

    /// `self` with `updates` added at `indices` along `axis` (repeated indices accumulate); the
    /// transpose of [`Tensor::take`].
    #[track_caller]
    pub fn scatter_add(&self, indices: &Tensor, updates: &Tensor, axis: impl Dim) -> Tensor {
        let loc = caller();
        guarded(self.ty_or_err().and_then(|ty| {
            let axis = normalize_axis("scatter_add", axis.to_i64(), &ty, &loc)?;
            Ok(bind1(Prim::ScatterAdd { axis }, &[self, indices, updates], &loc))
        }))
    }

    /// The block of `sizes` starting at the scalar integer tensors `starts` (clamped so that
    /// the block fits).
    #[track_caller]
    pub fn dynamic_slice(&self, starts: &[impl Borrow<Tensor>], sizes: &[usize]) -> Tensor {
        let mut ins: Vec<&Tensor> = vec![self];
        ins.extend(starts.iter().map(Borrow::borrow));
        bind1(Prim::DynamicSlice { sizes: sizes.iter().copied().collect() }, &ins, &caller())
    }

    /// `self` with the block `update` written at the scalar integer tensors `starts` (clamped).
    #[track_caller]
    pub fn dynamic_update_slice(&self, update: &Tensor, starts: &[impl Borrow<Tensor>]) -> Tensor {
        let mut ins: Vec<&Tensor> = vec![self, update];
        ins.extend(starts.iter().map(Borrow::borrow));
        bind1(Prim::DynamicUpdateSlice, &ins, &caller())
    }

    /// The tensor reversed along `axes`.
    #[track_caller]
    pub fn flip(&self, axes: impl IntList) -> Tensor {
        let loc = caller();
        guarded(self.ty_or_err().and_then(|ty| {
            let axes = normalize_axes("flip", &axes.into_ints(), &ty, &loc)?;
            Ok(bind1(Prim::Rev { axes }, &[self], &loc))
        }))
    }

    /// The tensor padded with `value`: `widths[i] = (before, after)` elements on axis `i`.
    #[track_caller]
    pub fn pad(&self, widths: &[(usize, usize)], value: f64) -> Tensor {
        let low: Vec<usize> = widths.iter().map(|w| w.0).collect();
        let high: Vec<usize> = widths.iter().map(|w| w.1).collect();
        self.pad_interior(&low, &high, &vec![0; widths.len()], value)
    }

    /// The tensor padded with `value`: `low[i]`/`high[i]` elements at the ends of axis `i` and
    /// `interior[i]` between its elements (the `pad` primitive).
    #[track_caller]
    pub fn pad_interior(&self, low: &[usize], high: &[usize], interior: &[usize], value: f64) -> Tensor {
        let value = Scalar::from_f64(value, self.dtype());
        let prim = Prim::Pad {
            low: low.iter().copied().collect(),
            high: high.iter().copied().collect(),
            interior: interior.iter().copied().collect(),
            value,
        };
        bind1(prim, &[self], &caller())
    }

    /// `0, 1, 2, ...` along `axis` of a concrete tensor of `dtype` and `shape`.
    #[track_caller]
    pub fn iota(dtype: DType, shape: &[usize], axis: usize) -> Tensor {
        bind1(Prim::Iota { dtype, shape: Shape::new(shape), axis }, &[], &caller())
    }

    /// `0, 1, ..., n-1` of `dtype`.
    #[track_caller]
    pub fn arange(n: usize, dtype: DType) -> Tensor {
        Tensor::iota(dtype, &[n], 0)
    }

    /// Counter-based random bits (`i32` or `i64`) of `shape` from the key `self` (an `i64[]`),
    /// by the Threefry-2x32 block cipher: the same key always gives the same bits.
    #[track_caller]
    pub fn random_bits(&self, shape: &[usize], dtype: DType) -> Tensor {
        bind1(Prim::RandomBits { shape: Shape::new(shape), dtype }, &[self], &caller())
    }

    /// The tensors joined along `axis` (see [`concatenate`]).
    #[track_caller]
    pub fn concat(&self, others: &[impl Borrow<Tensor>], axis: impl Dim) -> Tensor {
        let mut all: Vec<&Tensor> = vec![self];
        all.extend(others.iter().map(Borrow::borrow));
        concatenate(&all, axis)
    }
}

/// The tensors joined along an existing `axis`; they must agree on every other dimension.
#[track_caller]
pub fn concatenate(tensors: &[impl Borrow<Tensor>], axis: impl Dim) -> Tensor {
    let loc = caller();
    let ts: Vec<&Tensor> = tensors.iter().map(Borrow::borrow).collect();
    let run = || -> Result<Tensor> {
        let first = ts.first().ok_or_else(|| Error::op("concatenate", "needs at least one tensor", loc.clone()))?;
        let ty = first.ty_or_err()?;
        let axis = normalize_axis("concatenate", axis.to_i64(), &ty, &loc)?;
        if ts.len() == 1 {
            return Ok((*first).clone());
        }
        let ts = unify(&ts, &loc)?;
        let refs: Vec<&Tensor> = ts.iter().collect();
        Ok(bind1(Prim::Concatenate { axis }, &refs, &loc))
    };
    guarded(run())
}

/// The tensors, which must have one shape, joined along a new `axis`.
#[track_caller]
pub fn stack(tensors: &[impl Borrow<Tensor>], axis: impl Dim) -> Tensor {
    let loc = caller();
    let ts: Vec<&Tensor> = tensors.iter().map(Borrow::borrow).collect();
    let run = || -> Result<Tensor> {
        let first = ts.first().ok_or_else(|| Error::op("stack", "needs at least one tensor", loc.clone()))?;
        let ty = first.ty_or_err()?;
        for t in &ts[1..] {
            let other = t.ty_or_err()?;
            if other.shape != ty.shape {
                return Err(Error::op(
                    "stack",
                    format!("all tensors must have the same shape, got {} and {}", ty.shape, other.shape),
                    loc.clone(),
                ));
            }
        }
        let axis = normalize_axis_in("stack", axis.to_i64(), ty.rank() + 1, &ty, &loc)?;
        let mut dims = ty.dims().to_vec();
        dims.insert(axis, 1);
        let shape = Shape::from(dims);
        let expanded: Vec<Tensor> =
            ts.iter().map(|t| bind1(Prim::Reshape { shape: shape.clone() }, &[t], &loc)).collect();
        let ts = unify(&expanded.iter().collect::<Vec<_>>(), &loc)?;
        let refs: Vec<&Tensor> = ts.iter().collect();
        Ok(if refs.len() == 1 { ts[0].clone() } else { bind1(Prim::Concatenate { axis }, &refs, &loc) })
    };
    guarded(run())
}
