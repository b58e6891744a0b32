//! Lowering of a [`LoopNest`] to one Cranelift function `fn(args: *const *mut u8, start: i64, end: i64)`.
//!
//! The outermost dimension runs over `start..end` (the chunk the runtime gives this call), the others over
//! their full extent. Every access is an affine form `base + Σ i_d · stride_d`; the outer loops advance the
//! bases, and the innermost loop is:
//!
//! ```text
//! hoisted: loads with inner stride 0 (splat), constants, reduction accumulators = identity
//! main:    while j + W·U <= n: U copies of the program on W-lane vectors   (U accumulators per reduction)
//! vector:  while j + W   <= n: one copy
//! tail:    while j < n:        the program on scalars
//! after:   accumulators combined in a fixed order, reduced across lanes, folded into memory
//! ```
//!
//! `W` is the lane count (4 for f32, 2 for f64) and `U` the unroll factor, which keeps several independent
//! FMA chains in flight. Programs that do not fit the vector model (integers, mixed float widths, strided
//! inner accesses) run the tail loop only. The summation order depends only on the shape, never on the
//! thread count.

use super::complex;
use super::elementwise::{scalar_ty, Mode, OpEmitter};
use crate::error::CodegenError;
use crate::kir::{Access, KOp, LoopNest};
use crate::plan::reduce_identity;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, FuncRef, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use gradjit_ir::{BinaryOp, DType, UnaryOp};
use std::collections::HashMap;

/// The float type a nest can be vectorised over, if any.
pub(crate) fn vector_float(nest: &LoopNest) -> Option<DType> {
    let inner = nest.dims.len().checked_sub(1)?;
    let float = nest.ops.iter().map(|(_, d)| *d).find(|d| d.is_float())?;
    let ok_dt = |d: DType| d == float || d == DType::Bool;
    let inner_of = |a: &Access| a.strides[inner];
    for (op, dt) in &nest.ops {
        if !ok_dt(*dt) {
            return None;
        }
        let fits = match op {
            // Stride 2: a part of complex memory, read as two vectors and a shuffle (`complex::load_part`).
            KOp::Load(a) => *dt == float && (matches!(inner_of(a), 0 | 1) || complex::is_part_load(nest, a, inner)),
            KOp::Index(_) => *dt == float,
            KOp::Const(_) | KOp::Select(..) => true,
            KOp::Convert(x) => {
                let from = nest.ops[*x].1;
                from == *dt || (from == DType::Bool && *dt == float)
            }
            KOp::Unary(UnaryOp::Not, _) => *dt == DType::Bool,
            KOp::Unary(_, x) => nest.ops[*x].1 == float,
            KOp::Binary(BinaryOp::And | BinaryOp::Or, _, _) => *dt == DType::Bool,
            KOp::Binary(..) | KOp::IntegerPow(..) => *dt == float,
            KOp::Compare(_, x, _) => nest.ops[*x].1 == float,
        };
        if !fits {
            return None;
        }
    }
    let stores_ok = nest
        .stores
        .iter()
        .all(|s| nest.ops[s.value].1 == float && (s.to.strides[inner] == 1 || complex::is_part_store(nest, s, inner)));
    let reds_ok = nest.reductions.iter().all(|r| nest.ops[r.value].1 == float && matches!(r.to.strides[inner], 0 | 1));
    (stores_ok && reds_ok).then_some(float)
}

fn unroll_for(nest: &LoopNest) -> i64 {
    // Long programs already keep the FMA units busy and would spill with more copies in flight.
    if nest.ops.len() > 40 {
        2
    } else {
        4
    }
}

/// An affine address (or index) form: `base + Σ i_d · coefs[d]`, in bytes (or index units).
struct Form {
    base: Value,
    coefs: Vec<i64>,
}

/// Emits the body of `nest` into `b` (whose entry block is current and has the three parameters).
pub(crate) fn emit_nest(
    b: &mut FunctionBuilder,
    nest: &LoopNest,
    calls: &HashMap<&'static str, FuncRef>,
    params: [Value; 3],
) -> Result<(), CodegenError> {
    let [args, start, end] = params;
    let mem = MemFlagsData::trusted();
    // Base pointer of each argument used, loaded once.
    let mut ptrs: HashMap<usize, Value> = HashMap::new();
    let mut ptr = |b: &mut FunctionBuilder, arg: usize| {
        *ptrs.entry(arg).or_insert_with(|| b.ins().load(types::I64, mem, args, (arg * 8) as i32))
    };
    let access_form =
        |b: &mut FunctionBuilder, a: &Access, dt: DType, ptr: &mut dyn FnMut(&mut FunctionBuilder, usize) -> Value| {
            let size = dt.size_of() as i64;
            let p = ptr(b, a.arg);
            let base = if a.offset != 0 { b.ins().iadd_imm_s(p, a.offset * size) } else { p };
            Form { base, coefs: a.strides.iter().map(|s| s * size).collect() }
        };

    // Forms in a fixed order: one per load/index op, then stores, then reductions.
    let mut forms: Vec<Form> = Vec::new();
    let mut op_form: HashMap<usize, usize> = HashMap::new();
    for (i, (op, dt)) in nest.ops.iter().enumerate() {
        match op {
            KOp::Load(a) => {
                op_form.insert(i, forms.len());
                forms.push(access_form(b, a, *dt, &mut ptr));
            }
            KOp::Index(c) => {
                op_form.insert(i, forms.len());
                let zero = b.ins().iconst(types::I64, 0);
                forms.push(Form { base: zero, coefs: c.clone() });
            }
            _ => {}
        }
    }
    let store_form0 = forms.len();
    for s in &nest.stores {
        forms.push(access_form(b, &s.to, nest.ops[s.value].1, &mut ptr));
    }
    let red_form0 = forms.len();
    for r in &nest.reductions {
        forms.push(access_form(b, &r.to, nest.ops[r.value].1, &mut ptr));
    }

    let mut e = NestEmitter { nest, calls, forms, op_form, store_form0, red_form0, start, end };

    // Reductions that initialise their own (single-element) output.
    for (ri, r) in nest.reductions.iter().enumerate() {
        if r.init_in_kernel {
            let dt = nest.ops[r.value].1;
            let mut em = OpEmitter { b, mode: Mode::Scalar, calls };
            let id = em.constant(reduce_identity(r.op, dt), dt);
            let base = e.forms[e.red_form0 + ri].base;
            b.ins().store(mem, id, base, 0);
        }
    }
    if nest.numel() == 0 {
        return Ok(());
    }
    let bases: Vec<Value> = e.forms.iter().map(|f| f.base).collect();
    if nest.dims.is_empty() {
        let zero = b.ins().iconst(types::I64, 0);
        let vals = e.program(b, Mode::Scalar, zero, &bases, &Hoisted::default())?;
        e.write_scalar_results(b, &vals, zero, &bases)?;
        return Ok(());
    }
    e.level(b, 0, &bases)
}

/// Values computed before the innermost loop.
#[derive(Default)]
struct Hoisted {
    values: HashMap<usize, Value>,
}

struct NestEmitter<'n, 'c> {
    nest: &'n LoopNest,
    calls: &'c HashMap<&'static str, FuncRef>,
    forms: Vec<Form>,
    op_form: HashMap<usize, usize>,
    store_form0: usize,
    red_form0: usize,
    start: Value,
    end: Value,
}

/// `while var + step <= hi { body(var); var += step }`.
fn counted_loop(
    b: &mut FunctionBuilder,
    var: Variable,
    hi: Value,
    step: i64,
    mut body: impl FnMut(&mut FunctionBuilder, Value) -> Result<(), CodegenError>,
) -> Result<(), CodegenError> {
    let header = b.create_block();
    let body_block = b.create_block();
    let exit = b.create_block();
    b.ins().jump(header, &[]);
    b.switch_to_block(header);
    let j = b.use_var(var);
    let next = b.ins().iadd_imm_s(j, step);
    let go = b.ins().icmp(IntCC::SignedLessThanOrEqual, next, hi);
    b.ins().brif(go, body_block, &[], exit, &[]);
    b.switch_to_block(body_block);
    body(b, j)?;
    let j = b.use_var(var);
    let next = b.ins().iadd_imm_s(j, step);
    b.def_var(var, next);
    b.ins().jump(header, &[]);
    b.switch_to_block(exit);
    Ok(())
}

impl NestEmitter<'_, '_> {
    fn inner(&self) -> usize {
        self.nest.dims.len() - 1
    }

    /// The outer loop of dimension `d`, then the next level.
    fn level(&mut self, b: &mut FunctionBuilder, d: usize, bases: &[Value]) -> Result<(), CodegenError> {
        if d == self.inner() {
            return self.innermost(b, bases);
        }
        let lo = if d == 0 { self.start } else { b.ins().iconst(types::I64, 0) };
        let hi = if d == 0 { self.end } else { b.ins().iconst(types::I64, self.nest.dims[d] as i64) };
        let var = b.declare_var(types::I64);
        b.def_var(var, lo);
        let coefs: Vec<i64> = self.forms.iter().map(|f| f.coefs[d]).collect();
        let bases = bases.to_vec();
        counted_loop(b, var, hi, 1, |b, i| {
            let next: Vec<Value> = bases
                .iter()
                .zip(&coefs)
                .map(|(&base, &c)| if c == 0 { base } else { advance(b, base, i, c) })
                .collect();
            self.level(b, d + 1, &next)
        })
    }

    fn innermost(&mut self, b: &mut FunctionBuilder, bases: &[Value]) -> Result<(), CodegenError> {
        let nest = self.nest;
        let inner = self.inner();
        let (lo, hi) = if inner == 0 {
            (self.start, self.end)
        } else {
            (b.ins().iconst(types::I64, 0), b.ins().iconst(types::I64, nest.dims[inner] as i64))
        };
        let vector = vector_float(nest).map(Mode::Vector);
        let modes: Vec<Mode> = vector.into_iter().chain([Mode::Scalar]).collect();

        // Hoisted per mode: loads with inner stride 0 and constants.
        let mut hoisted: HashMap<Mode, Hoisted> = HashMap::new();
        for &mode in &modes {
            let mut h = Hoisted::default();
            for (i, (op, dt)) in nest.ops.iter().enumerate() {
                let mut em = OpEmitter { b, mode, calls: self.calls };
                let v = match op {
                    KOp::Load(a) if a.strides[inner] == 0 => {
                        let base = bases[self.op_form[&i]];
                        let x = em.b.ins().load(scalar_ty(*dt), MemFlagsData::trusted(), base, 0);
                        em.splat(x, *dt)
                    }
                    KOp::Const(s) => em.constant(*s, *dt),
                    _ => continue,
                };
                h.values.insert(i, v);
            }
            hoisted.insert(mode, h);
        }

        // Accumulators of reductions with inner stride 0: U vector ones and a scalar one.
        let unroll = unroll_for(nest);
        let row_reds: Vec<usize> =
            (0..nest.reductions.len()).filter(|&r| nest.reductions[r].to.strides[inner] == 0).collect();
        let mut acc: HashMap<(usize, Mode, i64), Variable> = HashMap::new();
        for &r in &row_reds {
            let red = &nest.reductions[r];
            let dt = nest.ops[red.value].1;
            for &mode in &modes {
                let copies = if mode == Mode::Scalar { 1 } else { unroll };
                for u in 0..copies {
                    let mut em = OpEmitter { b, mode, calls: self.calls };
                    let id = em.constant(reduce_identity(red.op, dt), dt);
                    let var = b.declare_var(mode.ty(dt));
                    b.def_var(var, id);
                    acc.insert((r, mode, u), var);
                }
            }
        }

        let j = b.declare_var(types::I64);
        b.def_var(j, lo);
        if let Some(vmode) = vector {
            let w = vmode.lanes();
            for (copies, step) in [(unroll, w * unroll), (1, w)] {
                counted_loop(b, j, hi, step, |b, jv| {
                    for u in 0..copies {
                        let at = if u == 0 { jv } else { b.ins().iadd_imm_s(jv, u * w) };
                        let vals = self.program(b, vmode, at, bases, &hoisted[&vmode])?;
                        self.write_results(b, vmode, &vals, at, bases, |r| acc[&(r, vmode, u)])?;
                    }
                    Ok(())
                })?;
            }
        }
        counted_loop(b, j, hi, 1, |b, jv| {
            let vals = self.program(b, Mode::Scalar, jv, bases, &hoisted[&Mode::Scalar])?;
            self.write_results(b, Mode::Scalar, &vals, jv, bases, |r| acc[&(r, Mode::Scalar, 0)])
        })?;

        // Fold the accumulators: vector copies pairwise in order, lanes in a tree, then the scalar tail.
        for &r in &row_reds {
            let red = &nest.reductions[r];
            let dt = nest.ops[red.value].1;
            let mut total = b.use_var(acc[&(r, Mode::Scalar, 0)]);
            if let Some(vmode) = vector {
                let mut em = OpEmitter { b, mode: vmode, calls: self.calls };
                let mut v = em.b.use_var(acc[&(r, vmode, 0)]);
                for u in 1..unroll {
                    let other = em.b.use_var(acc[&(r, vmode, u)]);
                    v = em.reduce_combine(red.op, dt, v, other)?;
                }
                let lanes: Vec<Value> = (0..vmode.lanes() as u8).map(|l| em.b.ins().extractlane(v, l)).collect();
                let mut em = OpEmitter { b, mode: Mode::Scalar, calls: self.calls };
                let lanes_total = if lanes.len() == 4 {
                    let lo = em.reduce_combine(red.op, dt, lanes[0], lanes[1])?;
                    let hi = em.reduce_combine(red.op, dt, lanes[2], lanes[3])?;
                    em.reduce_combine(red.op, dt, lo, hi)?
                } else {
                    em.reduce_combine(red.op, dt, lanes[0], lanes[1])?
                };
                total = em.reduce_combine(red.op, dt, lanes_total, total)?;
            }
            let addr = bases[self.red_form0 + r];
            let mut em = OpEmitter { b, mode: Mode::Scalar, calls: self.calls };
            let old = em.b.ins().load(scalar_ty(dt), MemFlagsData::trusted(), addr, 0);
            let new = em.reduce_combine(red.op, dt, old, total)?;
            b.ins().store(MemFlagsData::trusted(), new, addr, 0);
        }
        Ok(())
    }

    /// The address (or index) of form `f` at inner position `j`.
    fn at(&self, b: &mut FunctionBuilder, f: usize, base: Value, j: Value) -> Value {
        let c = self.forms[f].coefs.last().copied().unwrap_or(0);
        if c == 0 {
            base
        } else {
            advance(b, base, j, c)
        }
    }

    /// Emits the program at inner position `j`, returning one value per op.
    fn program(
        &self,
        b: &mut FunctionBuilder,
        mode: Mode,
        j: Value,
        bases: &[Value],
        hoisted: &Hoisted,
    ) -> Result<Vec<Value>, CodegenError> {
        let nest = self.nest;
        let mut vals: Vec<Value> = Vec::with_capacity(nest.ops.len());
        for (i, (op, dt)) in nest.ops.iter().enumerate() {
            if let Some(&v) = hoisted.values.get(&i) {
                vals.push(v);
                continue;
            }
            let dt = *dt;
            let mut em = OpEmitter { b, mode, calls: self.calls };
            let v = match op {
                KOp::Load(a) if mode != Mode::Scalar && a.strides[self.inner()] == 2 => {
                    let f = self.op_form[&i];
                    let addr = self.at(em.b, f, bases[f], j);
                    let odd = a.offset.rem_euclid(2) == 1;
                    let even = if odd { em.b.ins().iadd_imm_s(addr, -(dt.size_of() as i64)) } else { addr };
                    complex::load_part(em.b, mode.ty(dt), even, odd)
                }
                KOp::Load(_) => {
                    let f = self.op_form[&i];
                    let addr = self.at(em.b, f, bases[f], j);
                    let x = em.b.ins().load(mode.ty(dt), MemFlagsData::trusted(), addr, 0);
                    if mode == Mode::Scalar || dt != DType::Bool {
                        x
                    } else {
                        em.splat(x, dt)
                    }
                }
                KOp::Const(s) => em.constant(*s, dt),
                KOp::Index(_) => {
                    let f = self.op_form[&i];
                    let idx = self.at(em.b, f, bases[f], j);
                    let c = self.forms[f].coefs.last().copied().unwrap_or(0);
                    self.index_value(&mut em, idx, c, dt)?
                }
                KOp::Unary(o, x) => em.unary(*o, nest.ops[*x].1, vals[*x])?,
                KOp::Binary(o, x, y) => em.binary(*o, nest.ops[*x].1, vals[*x], vals[*y])?,
                KOp::Compare(o, x, y) => em.compare(*o, nest.ops[*x].1, vals[*x], vals[*y]),
                KOp::Select(p, x, y) => em.choose(vals[*p], vals[*x], vals[*y]),
                KOp::Convert(x) => em.convert(nest.ops[*x].1, dt, vals[*x])?,
                KOp::IntegerPow(y, x) => em.integer_pow(dt, *y, vals[*x])?,
            };
            vals.push(v);
        }
        Ok(vals)
    }

    /// An index (i64 at lane 0) as a value of `dt`; in vector mode lane `l` adds `l · c`.
    fn index_value(&self, em: &mut OpEmitter, idx: Value, c: i64, dt: DType) -> Result<Value, CodegenError> {
        let scalar = OpEmitter { b: em.b, mode: Mode::Scalar, calls: em.calls }.convert(DType::I64, dt, idx)?;
        if em.mode == Mode::Scalar {
            return Ok(scalar);
        }
        let v = em.splat(scalar, dt);
        if c == 0 {
            return Ok(v);
        }
        let mut lanes = em.constant(gradjit_ir::Scalar::F64(0.0), dt);
        for l in 1..em.mode.lanes() {
            let x = match dt {
                DType::F32 => em.b.ins().f32const((l * c) as f32),
                _ => em.b.ins().f64const((l * c) as f64),
            };
            lanes = em.b.ins().insertlane(lanes, x, l as u8);
        }
        Ok(em.b.ins().fadd(v, lanes))
    }

    fn write_results(
        &self,
        b: &mut FunctionBuilder,
        mode: Mode,
        vals: &[Value],
        j: Value,
        bases: &[Value],
        acc: impl Fn(usize) -> Variable,
    ) -> Result<(), CodegenError> {
        let nest = self.nest;
        let inner = self.inner();
        for (si, s) in nest.stores.iter().enumerate() {
            let f = self.store_form0 + si;
            let addr = self.at(b, f, bases[f], j);
            if mode != Mode::Scalar && s.to.strides[inner] == 2 {
                // The two parts of complex memory: the real part's store writes both, interleaved.
                if s.to.offset.rem_euclid(2) == 0 {
                    let im = complex::imag_store(nest, s).ok_or_else(|| {
                        CodegenError::Unsupported("internal error: a complex store without its imaginary part".into())
                    })?;
                    complex::store_parts(b, vals[s.value], vals[im.value], addr);
                }
                continue;
            }
            b.ins().store(MemFlagsData::trusted(), vals[s.value], addr, 0);
        }
        for (ri, r) in nest.reductions.iter().enumerate() {
            let dt = nest.ops[r.value].1;
            if r.to.strides[inner] == 0 {
                let var = acc(ri);
                let old = b.use_var(var);
                let mut em = OpEmitter { b, mode, calls: self.calls };
                let new = em.reduce_combine(r.op, dt, old, vals[r.value])?;
                b.def_var(var, new);
            } else {
                let f = self.red_form0 + ri;
                let addr = self.at(b, f, bases[f], j);
                let old = b.ins().load(mode.ty(dt), MemFlagsData::trusted(), addr, 0);
                let mut em = OpEmitter { b, mode, calls: self.calls };
                let new = em.reduce_combine(r.op, dt, old, vals[r.value])?;
                b.ins().store(MemFlagsData::trusted(), new, addr, 0);
            }
        }
        Ok(())
    }

    /// Stores and reductions of a single-iteration program (no loops).
    fn write_scalar_results(
        &self,
        b: &mut FunctionBuilder,
        vals: &[Value],
        _j: Value,
        bases: &[Value],
    ) -> Result<(), CodegenError> {
        let nest = self.nest;
        for (si, s) in nest.stores.iter().enumerate() {
            b.ins().store(MemFlagsData::trusted(), vals[s.value], bases[self.store_form0 + si], 0);
        }
        for (ri, r) in nest.reductions.iter().enumerate() {
            let dt = nest.ops[r.value].1;
            let addr = bases[self.red_form0 + ri];
            let old = b.ins().load(scalar_ty(dt), MemFlagsData::trusted(), addr, 0);
            let mut em = OpEmitter { b, mode: Mode::Scalar, calls: self.calls };
            let new = em.reduce_combine(r.op, dt, old, vals[r.value])?;
            b.ins().store(MemFlagsData::trusted(), new, addr, 0);
        }
        Ok(())
    }
}

/// `base + i · c`.
fn advance(b: &mut FunctionBuilder, base: Value, i: Value, c: i64) -> Value {
    let off = if c == 1 { i } else { b.ins().imul_imm_s(i, c) };
    b.ins().iadd(base, off)
}
