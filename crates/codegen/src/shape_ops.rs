//! Host steps: the primitives that do not fuse, run by Rust code on raw buffers.
//!
//! Data movement (transpose, slice, pad, concatenate, rev, dynamic slices, gather) is one strided copy
//! routine, generic over the element size only, since moving bytes does not care about dtypes.
//! `dot_general` goes to [`crate::gemm`]; `scatter_add` and `argmax`/`argmin` are plain loops. The
//! remaining primitives (`random_bits`, `scatter_add`/`argmax`/`argmin` of the dtypes they do not cover) run
//! through the reference interpreter on copies of their operands: correct by construction, and rare on hot
//! paths.

use crate::error::CodegenError;
use gradjit_ir::{interp, DType, HostArray, Prim, Scalar, TensorType};

/// A read-only buffer with its type.
#[derive(Clone, Copy)]
pub struct In<'a> {
    pub ptr: *const u8,
    pub ty: &'a TensorType,
}

/// A writable buffer with its type.
#[derive(Clone, Copy)]
pub struct Out<'a> {
    pub ptr: *mut u8,
    pub ty: &'a TensorType,
}

fn row_major(dims: &[usize]) -> Vec<isize> {
    let mut s = vec![1isize; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1] as isize;
    }
    s
}

/// Copies the elements of a `dims`-shaped index space: `dst[dst_off + i·ds] = src[src_off + i·ss]`
/// (offsets and strides in elements of `esize` bytes).
///
/// # Safety
/// Every addressed element must lie inside the respective allocation, and the two must not overlap.
#[allow(clippy::too_many_arguments)]
pub unsafe fn copy_strided(
    esize: usize,
    dims: &[usize],
    dst: *mut u8,
    dst_off: isize,
    ds: &[isize],
    src: *const u8,
    src_off: isize,
    ss: &[isize],
) {
    if esize == 0 || dims.contains(&0) {
        return;
    }
    let rank = dims.len();
    if rank == 0 {
        std::ptr::copy_nonoverlapping(
            src.offset(src_off * esize as isize),
            dst.offset(dst_off * esize as isize),
            esize,
        );
        return;
    }
    let (n, dsi, ssi) = (dims[rank - 1], ds[rank - 1], ss[rank - 1]);
    let mut idx = vec![0usize; rank - 1];
    loop {
        let mut d = dst_off;
        let mut s = src_off;
        for k in 0..rank - 1 {
            d += idx[k] as isize * ds[k];
            s += idx[k] as isize * ss[k];
        }
        let (dp, sp) = (dst.offset(d * esize as isize), src.offset(s * esize as isize));
        if dsi == 1 && ssi == 1 {
            std::ptr::copy_nonoverlapping(sp, dp, n * esize);
        } else {
            match esize {
                1 => row::<u8>(n, dp, dsi, sp, ssi),
                4 => row::<u32>(n, dp, dsi, sp, ssi),
                8 => row::<u64>(n, dp, dsi, sp, ssi),
                16 => row::<u128>(n, dp, dsi, sp, ssi),
                _ => {
                    for i in 0..n as isize {
                        let (a, b) = (dp.offset(i * dsi * esize as isize), sp.offset(i * ssi * esize as isize));
                        std::ptr::copy_nonoverlapping(b, a, esize);
                    }
                }
            }
        }
        // Advance the outer multi-index.
        let mut k = rank - 1;
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            idx[k] += 1;
            if idx[k] < dims[k] {
                break;
            }
            idx[k] = 0;
        }
    }
}

unsafe fn row<T: Copy>(n: usize, dst: *mut u8, ds: isize, src: *const u8, ss: isize) {
    let (d, s) = (dst as *mut T, src as *const T);
    for i in 0..n as isize {
        d.offset(i * ds).write_unaligned(s.offset(i * ss).read_unaligned());
    }
}

/// The bytes of one element.
fn scalar_bytes(s: Scalar) -> Vec<u8> {
    match s {
        Scalar::F32(v) => v.to_le_bytes().to_vec(),
        Scalar::F64(v) => v.to_le_bytes().to_vec(),
        Scalar::I32(v) => v.to_le_bytes().to_vec(),
        Scalar::I64(v) => v.to_le_bytes().to_vec(),
        Scalar::Bool(v) => vec![u8::from(v)],
        Scalar::C64(v) => [v.re.to_le_bytes(), v.im.to_le_bytes()].concat(),
        Scalar::C128(v) => [v.re.to_le_bytes(), v.im.to_le_bytes()].concat(),
        Scalar::Float0 => vec![],
    }
}

/// Writes the element `v` (its bytes) `n` times from `dst`: typed stores for the common widths, not a
/// `memcpy` call per element.
unsafe fn fill(dst: *mut u8, n: usize, v: &[u8]) {
    unsafe fn typed<T: Copy>(dst: *mut u8, n: usize, v: &[u8]) {
        let x = (v.as_ptr() as *const T).read_unaligned();
        for i in 0..n {
            (dst as *mut T).add(i).write_unaligned(x);
        }
    }
    match v.len() {
        0 => {}
        1 => dst.write_bytes(v[0], n),
        4 => typed::<u32>(dst, n, v),
        8 => typed::<u64>(dst, n, v),
        16 => typed::<u128>(dst, n, v),
        e => {
            for i in 0..n {
                std::ptr::copy_nonoverlapping(v.as_ptr(), dst.add(i * e), e);
            }
        }
    }
}

/// Reads element `i` of an integer buffer as i64.
unsafe fn read_index(a: In, i: usize) -> i64 {
    match a.ty.dtype {
        DType::I32 => i64::from((a.ptr as *const i32).add(i).read_unaligned()),
        _ => (a.ptr as *const i64).add(i).read_unaligned(),
    }
}

/// Runs a host step.
///
/// # Safety
/// Every pointer must be valid for its type's bytes; outputs must not overlap inputs.
pub unsafe fn run(prim: &Prim, eqn: usize, ins: &[In], outs: &[Out]) -> Result<(), CodegenError> {
    let out = outs[0];
    let esize = out.ty.dtype.size_of();
    let odims = out.ty.dims();
    let orm = row_major(odims);
    match prim {
        Prim::Transpose { perm } => {
            let xrm = row_major(ins[0].ty.dims());
            let ss: Vec<isize> = perm.iter().map(|&p| xrm[p]).collect();
            copy_strided(esize, odims, out.ptr, 0, &orm, ins[0].ptr, 0, &ss);
        }
        Prim::Slice { start, stride, .. } => {
            let xrm = row_major(ins[0].ty.dims());
            let off: isize = start.iter().zip(&xrm).map(|(&s, &r)| s as isize * r).sum();
            let ss: Vec<isize> = stride.iter().zip(&xrm).map(|(&s, &r)| s as isize * r).collect();
            copy_strided(esize, odims, out.ptr, 0, &orm, ins[0].ptr, off, &ss);
        }
        Prim::Rev { axes } => {
            let xrm = row_major(ins[0].ty.dims());
            let mut off = 0;
            let mut ss = xrm.clone();
            for &a in axes {
                off += (odims[a] as isize - 1) * xrm[a];
                ss[a] = -xrm[a];
            }
            copy_strided(esize, odims, out.ptr, 0, &orm, ins[0].ptr, off, &ss);
        }
        Prim::Reshape { .. } | Prim::StopGradient => {
            std::ptr::copy_nonoverlapping(ins[0].ptr, out.ptr, out.ty.numel() * esize);
        }
        Prim::BroadcastInDim { dims, .. } => {
            let x = ins[0];
            let xrm = row_major(x.ty.dims());
            let mut ss = vec![0isize; odims.len()];
            for (i, &d) in dims.iter().enumerate() {
                if x.ty.dims()[i] != 1 {
                    ss[d] = xrm[i];
                }
            }
            copy_strided(esize, odims, out.ptr, 0, &orm, x.ptr, 0, &ss);
        }
        Prim::Pad { low, interior, value, .. } => {
            fill(out.ptr, out.ty.numel(), &scalar_bytes(value.cast(out.ty.dtype)));
            let x = ins[0];
            let off: isize = low.iter().zip(&orm).map(|(&l, &r)| l as isize * r).sum();
            let ds: Vec<isize> = interior.iter().zip(&orm).map(|(&p, &r)| (p as isize + 1) * r).collect();
            copy_strided(esize, x.ty.dims(), out.ptr, off, &ds, x.ptr, 0, &row_major(x.ty.dims()));
        }
        Prim::Concatenate { axis } => {
            let mut pos = 0;
            for x in ins {
                copy_strided(esize, x.ty.dims(), out.ptr, pos * orm[*axis], &orm, x.ptr, 0, &row_major(x.ty.dims()));
                pos += x.ty.dims()[*axis] as isize;
            }
        }
        Prim::DynamicSlice { .. } => {
            let x = ins[0];
            let xrm = row_major(x.ty.dims());
            let mut off = 0;
            for (d, idx) in ins[1..].iter().enumerate() {
                let max = (x.ty.dims()[d] - odims[d]) as i64;
                off += read_index(*idx, 0).clamp(0, max) as isize * xrm[d];
            }
            copy_strided(esize, odims, out.ptr, 0, &orm, x.ptr, off, &xrm);
        }
        Prim::DynamicUpdateSlice => {
            let (x, upd) = (ins[0], ins[1]);
            std::ptr::copy_nonoverlapping(x.ptr, out.ptr, out.ty.numel() * esize);
            let mut off = 0;
            for (d, idx) in ins[2..].iter().enumerate() {
                let max = (odims[d] - upd.ty.dims()[d]) as i64;
                off += read_index(*idx, 0).clamp(0, max) as isize * orm[d];
            }
            copy_strided(esize, upd.ty.dims(), out.ptr, off, &orm, upd.ptr, 0, &row_major(upd.ty.dims()));
        }
        Prim::Gather { axis } => {
            let (x, idx) = (ins[0], ins[1]);
            let xd = x.ty.dims();
            let outer: usize = xd[..*axis].iter().product();
            let inner: usize = xd[axis + 1..].iter().product();
            let (n, k) = (xd[*axis], idx.ty.numel());
            let block = inner * esize;
            for o in 0..outer {
                for j in 0..k {
                    let i = read_index(idx, j).clamp(0, n as i64 - 1) as usize;
                    let src = x.ptr.add((o * n + i) * block);
                    let dst = out.ptr.add((o * k + j) * block);
                    std::ptr::copy_nonoverlapping(src, dst, block);
                }
            }
        }
        Prim::ScatterAdd { axis } if out.ty.dims()[*axis] > 0 => {
            let (x, idx, upd) = (ins[0], ins[1], ins[2]);
            std::ptr::copy_nonoverlapping(x.ptr, out.ptr, out.ty.numel() * esize);
            let done = match out.ty.dtype {
                DType::F32 => scatter_add::<f32>(*axis, idx, upd, out, |a, b| a + b),
                DType::F64 => scatter_add::<f64>(*axis, idx, upd, out, |a, b| a + b),
                DType::C64 => scatter_add::<num_complex::Complex32>(*axis, idx, upd, out, |a, b| a + b),
                DType::C128 => scatter_add::<num_complex::Complex64>(*axis, idx, upd, out, |a, b| a + b),
                DType::I32 => scatter_add::<i32>(*axis, idx, upd, out, i32::wrapping_add),
                DType::I64 => scatter_add::<i64>(*axis, idx, upd, out, i64::wrapping_add),
                DType::Bool => scatter_add::<u8>(*axis, idx, upd, out, |a, b| a | b),
                _ => false,
            };
            if !done {
                interpret(prim, eqn, ins, outs)?;
            }
        }
        Prim::Arg { op, axis, .. } => {
            let x = ins[0];
            let max = *op == gradjit_ir::ArgOp::ArgMax;
            let done = match x.ty.dtype {
                DType::F32 => arg::<f32>(*axis, max, x, out, f32::is_nan),
                DType::F64 => arg::<f64>(*axis, max, x, out, f64::is_nan),
                DType::I32 => arg::<i32>(*axis, max, x, out, |_| false),
                DType::I64 => arg::<i64>(*axis, max, x, out, |_| false),
                _ => false,
            };
            if !done {
                interpret(prim, eqn, ins, outs)?;
            }
        }
        Prim::Reduce { op: gradjit_ir::ReduceOp::Prod, axes } if out.ty.dtype == DType::C64 => {
            reduce_prod(axes, ins[0], out, num_complex::Complex32::new(1.0, 0.0))
        }
        Prim::Reduce { op: gradjit_ir::ReduceOp::Prod, axes } if out.ty.dtype == DType::C128 => {
            reduce_prod(axes, ins[0], out, num_complex::Complex64::new(1.0, 0.0))
        }
        Prim::DotGeneral(dims)
            if matches!(out.ty.dtype, DType::F32 | DType::F64 | DType::I32 | DType::I64 | DType::C64 | DType::C128) =>
        {
            crate::gemm::dot_general(dims, ins[0], ins[1], out)?
        }
        _ => interpret(prim, eqn, ins, outs)?,
    }
    Ok(())
}

/// `out[.., clamp(idx[j]), ..] += upd[.., j, ..]` in row-major order of the updates (so repeated indices
/// accumulate in the interpreter's order); `out` already holds the operand.
unsafe fn scatter_add<T: Copy>(axis: usize, idx: In, upd: In, out: Out, add: fn(T, T) -> T) -> bool {
    let d = out.ty.dims();
    let (outer, n, inner) = (d[..axis].iter().product::<usize>(), d[axis], d[axis + 1..].iter().product::<usize>());
    let k = idx.ty.numel();
    let (o, u) = (out.ptr as *mut T, upd.ptr as *const T);
    for a in 0..outer {
        for j in 0..k {
            let i = read_index(idx, j).clamp(0, n as i64 - 1) as usize;
            for c in 0..inner {
                let t = o.add((a * n + i) * inner + c);
                *t = add(*t, *u.add((a * k + j) * inner + c));
            }
        }
    }
    true
}

/// The index of the first extreme element along `axis` (a NaN counts as the most extreme), written as
/// the output's integer dtype.
unsafe fn arg<T: Copy + PartialOrd>(axis: usize, max: bool, x: In, out: Out, is_nan: fn(T) -> bool) -> bool {
    let d = x.ty.dims();
    let (outer, n, inner) = (d[..axis].iter().product::<usize>(), d[axis], d[axis + 1..].iter().product::<usize>());
    let xs = x.ptr as *const T;
    for a in 0..outer {
        for c in 0..inner {
            let at = |k: usize| *xs.add((a * n + k) * inner + c);
            let mut best = 0;
            for k in 1..n {
                let (cand, cur) = (at(k), at(best));
                let beats = if max { cand > cur } else { cand < cur };
                if !is_nan(cur) && (is_nan(cand) || beats) {
                    best = k;
                }
            }
            match out.ty.dtype {
                DType::I32 => *(out.ptr as *mut i32).add(a * inner + c) = best as i32,
                _ => *(out.ptr as *mut i64).add(a * inner + c) = best as i64,
            }
        }
    }
    true
}

/// `reduce_prod` (of complex numbers, which do not fuse): every output element starts at `one` and
/// multiplies in the operand's elements in row-major order, the interpreter's order and formula.
unsafe fn reduce_prod<T: Copy + std::ops::Mul<Output = T>>(axes: &[usize], x: In, out: Out, one: T) {
    let xd = x.ty.dims();
    let orm = row_major(out.ty.dims());
    let mut kept = orm.iter();
    let strides: Vec<isize> =
        (0..xd.len()).map(|a| if axes.contains(&a) { 0 } else { kept.next().copied().unwrap_or(0) }).collect();
    let (xs, acc) = (x.ptr as *const T, out.ptr as *mut T);
    for o in 0..out.ty.numel() {
        *acc.add(o) = one;
    }
    let mut idx = vec![0usize; xd.len()];
    let mut at = 0isize;
    for i in 0..x.ty.numel() {
        let a = acc.offset(at);
        *a = *a * *xs.add(i);
        // Next operand index in row-major order, keeping `at` the output offset.
        for d in (0..xd.len()).rev() {
            idx[d] += 1;
            at += strides[d];
            if idx[d] < xd[d] {
                break;
            }
            at -= strides[d] * xd[d] as isize;
            idx[d] = 0;
        }
    }
}

/// Runs `prim` with the reference interpreter on copies of the operands.
unsafe fn interpret(prim: &Prim, eqn: usize, ins: &[In], outs: &[Out]) -> Result<(), CodegenError> {
    let args: Vec<HostArray> = ins
        .iter()
        .map(|a| {
            // SAFETY: every byte is copied in just below.
            let mut h = unsafe { HostArray::uninit(a.ty.dtype, a.ty.shape.clone()) };
            let n = h.bytes().len();
            h.bytes_mut().copy_from_slice(std::slice::from_raw_parts(a.ptr, n));
            h
        })
        .collect();
    let refs: Vec<&HostArray> = args.iter().collect();
    let results = interp::apply(prim, &refs).map_err(|error| CodegenError::Interp {
        eqn,
        prim: prim.name(),
        error: Box::new(error),
    })?;
    for (r, o) in results.iter().zip(outs) {
        std::ptr::copy_nonoverlapping(r.bytes().as_ptr(), o.ptr, r.bytes().len());
    }
    Ok(())
}
