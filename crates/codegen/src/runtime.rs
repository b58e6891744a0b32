//! Running a compiled plan: binding buffers, splitting kernels over threads, combining partial reductions.
//!
//! A kernel's body is split along its outermost loop into chunks fixed by the shape alone (never by the
//! number of threads), run on the rayon pool. Reductions whose output every chunk touches (stride 0 on the
//! split dimension) accumulate per chunk into scratch, and the partials are folded in chunk order, so the
//! result is the same whatever the thread count.

use crate::lower::{CompiledKernel, NestFn};
use crate::plan::{reduce_identity, KArg, Kernel};
use gradjit_ir::{DType, ReduceOp, Scalar};
use rayon::prelude::*;

/// Work (loop iterations) per chunk below which a kernel stays on one thread.
const GRAIN: usize = 1 << 15;
const MAX_CHUNKS: usize = 64;

/// A body reduction as the runtime sees it.
#[derive(Clone, Debug)]
struct RedInfo {
    arg: usize,
    op: ReduceOp,
    dt: DType,
    numel: usize,
    /// Every chunk writes all of it: chunks after the first accumulate into scratch partials.
    partial: bool,
}

/// A kernel ready to run: its functions and how to split it.
pub(crate) struct KernelRun {
    fns: CompiledKernel,
    args: Vec<KArg>,
    prologue_ends: Vec<i64>,
    chunks: Vec<(i64, i64)>,
    reductions: Vec<RedInfo>,
    /// Byte offset of each reduction's partials inside the scratch (after the slots).
    partial_offsets: Vec<usize>,
    pub scratch_bytes: usize,
}

/// Splits `0..d0` (the outermost of `dims`) into chunks of about `GRAIN` iterations each.
fn chunks(dims: &[usize]) -> Vec<(i64, i64)> {
    let Some(&d0) = dims.first() else { return vec![(0, 1)] };
    let work: usize = dims.iter().product();
    let n = (work / GRAIN).clamp(1, MAX_CHUNKS).min(d0.max(1));
    if n <= 1 {
        return vec![(0, d0 as i64)];
    }
    // A single dimension is the vectorised one: keep chunk starts on whole vectors.
    let align = if dims.len() == 1 { 64 } else { 1 };
    let len = d0.div_ceil(n).div_ceil(align) * align;
    (0..d0).step_by(len).map(|lo| (lo as i64, (lo + len).min(d0) as i64)).collect()
}

fn round_up(n: usize) -> usize {
    n.div_ceil(64) * 64
}

impl KernelRun {
    pub fn new(k: &Kernel, fns: CompiledKernel, buf_numel: impl Fn(usize) -> usize) -> KernelRun {
        let chunks = chunks(&k.body.dims);
        let reductions: Vec<RedInfo> = k
            .body
            .reductions
            .iter()
            .map(|r| {
                let KArg::Buf(b) = k.args[r.to.arg] else { unreachable!("reductions write buffers") };
                RedInfo {
                    arg: r.to.arg,
                    op: r.op,
                    dt: k.body.ops[r.value].1,
                    numel: buf_numel(b),
                    partial: chunks.len() > 1 && r.to.strides.first() == Some(&0),
                }
            })
            .collect();
        let slots_bytes = round_up(k.slots * 8);
        let mut offset = slots_bytes;
        let mut partial_offsets = Vec::with_capacity(reductions.len());
        for r in &reductions {
            partial_offsets.push(offset);
            if r.partial {
                offset += round_up(r.numel * r.dt.size_of()) * (chunks.len() - 1);
            }
        }
        KernelRun {
            fns,
            args: k.args.clone(),
            prologue_ends: k.prologue.iter().map(|n| n.dims.first().map_or(1, |&d| d as i64)).collect(),
            chunks,
            reductions,
            partial_offsets,
            scratch_bytes: offset,
        }
    }

    /// Runs the kernel with buffer pointers `bufs` and scratch memory `scratch` (`scratch_bytes` long).
    ///
    /// # Safety
    /// Every buffer the kernel addresses must be valid for its type, and `scratch` for `scratch_bytes`.
    pub unsafe fn run(&self, bufs: &[*mut u8], scratch: *mut u8, threads: Option<usize>) {
        self.run_with_table(bufs, scratch, threads, &mut Vec::with_capacity(self.args.len()));
    }

    /// [`KernelRun::run`] building the argument table in `table` (cleared first), so that a caller
    /// running kernels in a loop (a compiled loop body) allocates nothing.
    ///
    /// # Safety
    /// As [`KernelRun::run`].
    pub unsafe fn run_with_table(
        &self,
        bufs: &[*mut u8],
        scratch: *mut u8,
        threads: Option<usize>,
        table: &mut Vec<*mut u8>,
    ) {
        table.clear();
        table.extend(self.args.iter().map(|a| match a {
            KArg::Buf(b) => bufs[*b],
            KArg::Slots => scratch,
        }));
        for (f, &end) in self.fns.prologue.iter().zip(&self.prologue_ends) {
            f(table.as_ptr(), 0, end);
        }
        for r in &self.reductions {
            fill(table[r.arg], reduce_identity(r.op, r.dt), r.numel);
        }
        let body = self.fns.body;
        if self.chunks.len() == 1 {
            body(table.as_ptr(), self.chunks[0].0, self.chunks[0].1);
        } else {
            self.run_chunks(body, table, scratch, threads != Some(1));
        }
        if let Some(e) = self.fns.epilogue {
            e(table.as_ptr(), 0, 1);
        }
    }

    unsafe fn run_chunks(&self, body: NestFn, table: &[*mut u8], scratch: *mut u8, parallel: bool) {
        let table = SendPtrs(table.to_vec());
        let scratch = SendPtr(scratch);
        let run_chunk = |c: usize| {
            let mut t = table.clone();
            for (r, &off) in self.reductions.iter().zip(&self.partial_offsets) {
                if r.partial && c > 0 {
                    let stride = round_up(r.numel * r.dt.size_of());
                    let p = scratch.get().add(off + (c - 1) * stride);
                    fill(p, reduce_identity(r.op, r.dt), r.numel);
                    t.0[r.arg] = p;
                }
            }
            let (lo, hi) = self.chunks[c];
            body(t.0.as_ptr(), lo, hi);
        };
        if parallel {
            (0..self.chunks.len()).into_par_iter().for_each(run_chunk);
        } else {
            (0..self.chunks.len()).for_each(run_chunk);
        }
        // Fold the partials in chunk order.
        for (r, &off) in self.reductions.iter().zip(&self.partial_offsets) {
            if r.partial {
                let stride = round_up(r.numel * r.dt.size_of());
                for c in 1..self.chunks.len() {
                    combine(r.op, r.dt, table.0[r.arg], scratch.get().add(off + (c - 1) * stride), r.numel);
                }
            }
        }
    }
}

#[derive(Clone)]
struct SendPtrs(Vec<*mut u8>);
// SAFETY: the pointers address buffers that outlive the parallel loop; chunks write disjoint parts (or
// their own partials).
unsafe impl Send for SendPtrs {}
unsafe impl Sync for SendPtrs {}

#[derive(Clone, Copy)]
struct SendPtr(*mut u8);
impl SendPtr {
    fn get(self) -> *mut u8 {
        self.0
    }
}
// SAFETY: as for SendPtrs.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// Writes `v` into `n` elements at `p`.
unsafe fn fill(p: *mut u8, v: Scalar, n: usize) {
    match v {
        Scalar::F32(x) => std::slice::from_raw_parts_mut(p as *mut f32, n).fill(x),
        Scalar::F64(x) => std::slice::from_raw_parts_mut(p as *mut f64, n).fill(x),
        Scalar::I32(x) => std::slice::from_raw_parts_mut(p as *mut i32, n).fill(x),
        Scalar::I64(x) => std::slice::from_raw_parts_mut(p as *mut i64, n).fill(x),
        Scalar::Bool(x) => std::slice::from_raw_parts_mut(p, n).fill(u8::from(x)),
        Scalar::C64(x) => std::slice::from_raw_parts_mut(p as *mut num_complex::Complex32, n).fill(x),
        Scalar::C128(x) => std::slice::from_raw_parts_mut(p as *mut num_complex::Complex64, n).fill(x),
        _ => {}
    }
}

/// `acc[i] = acc[i] op part[i]` with the kernels' semantics (NaN-propagating max/min, wrapping integers).
unsafe fn combine(op: ReduceOp, dt: DType, acc: *mut u8, part: *const u8, n: usize) {
    unsafe fn each<T: Copy>(acc: *mut u8, part: *const u8, n: usize, f: impl Fn(T, T) -> T) {
        let (a, p) =
            (std::slice::from_raw_parts_mut(acc as *mut T, n), std::slice::from_raw_parts(part as *const T, n));
        for (x, &y) in a.iter_mut().zip(p) {
            *x = f(*x, y);
        }
    }
    use ReduceOp::*;
    match (op, dt) {
        (Sum, DType::F32) => each::<f32>(acc, part, n, |a, b| a + b),
        (Sum, DType::F64) => each::<f64>(acc, part, n, |a, b| a + b),
        (Sum, DType::C64) => each::<num_complex::Complex32>(acc, part, n, |a, b| a + b),
        (Sum, DType::C128) => each::<num_complex::Complex64>(acc, part, n, |a, b| a + b),
        (Prod, DType::F32) => each::<f32>(acc, part, n, |a, b| a * b),
        (Prod, DType::F64) => each::<f64>(acc, part, n, |a, b| a * b),
        (Max, DType::F32) => each::<f32>(acc, part, n, ieee_max32),
        (Max, DType::F64) => each::<f64>(acc, part, n, ieee_max64),
        (Min, DType::F32) => each::<f32>(acc, part, n, |a, b| -ieee_max32(-a, -b)),
        (Min, DType::F64) => each::<f64>(acc, part, n, |a, b| -ieee_max64(-a, -b)),
        (Sum, DType::I32) => each::<i32>(acc, part, n, i32::wrapping_add),
        (Sum, DType::I64) => each::<i64>(acc, part, n, i64::wrapping_add),
        (Prod, DType::I32) => each::<i32>(acc, part, n, i32::wrapping_mul),
        (Prod, DType::I64) => each::<i64>(acc, part, n, i64::wrapping_mul),
        (Max, DType::I32) => each::<i32>(acc, part, n, Ord::max),
        (Max, DType::I64) => each::<i64>(acc, part, n, Ord::max),
        (Min, DType::I32) => each::<i32>(acc, part, n, Ord::min),
        (Min, DType::I64) => each::<i64>(acc, part, n, Ord::min),
        (Max, _) => each::<u8>(acc, part, n, |a, b| a | b),
        (Min, _) => each::<u8>(acc, part, n, |a, b| a & b),
        _ => {}
    }
}

/// IEEE 754-2019 maximum (NaN-propagating, `max(-0, +0) = +0`), as CLIF `fmax`.
fn ieee_max32(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else if a > b || (a == b && b.is_sign_negative()) {
        a
    } else {
        b
    }
}

fn ieee_max64(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a > b || (a == b && b.is_sign_negative()) {
        a
    } else {
        b
    }
}
