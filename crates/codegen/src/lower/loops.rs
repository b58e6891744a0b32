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
//!
//! Compile time grows with the code, so long programs (a transcendental expands to tens of instructions per
//! op) get `U = 2` and, instead of the vector and scalar loops, one staged loop: `while j < n` one vector,
//! where a partial last vector is copied through stack slots and its lanes past `n` masked out of the
//! reductions. That is two copies of the program fewer than `U = 4` with both tails (W1's kernel: 740 machine
//! instructions down to 385, W5's: 1004 to 538).

use super::complex;
use super::elementwise::{scalar_ty, Mode, OpEmitter};
use crate::error::CodegenError;
use crate::kir::{Access, KOp, LoopNest};
use crate::plan::reduce_identity;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, FuncRef, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Value};
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

/// Rough machine instructions per element of one op: the polynomial math functions and per-lane runtime calls
/// expand to tens of instructions, everything else to about one.
fn op_cost(nest: &LoopNest, op: &KOp) -> usize {
    match op {
        KOp::Unary(UnaryOp::Sqrt | UnaryOp::Rsqrt, _) => 1,
        KOp::Unary(o, x) if nest.ops[*x].1.is_float() && super::elementwise::has_math_emitter(*o) => 20,
        KOp::Binary(o, x, _) if super::calls::binary(*o, nest.ops[*x].1).is_some() => 20,
        KOp::Binary(BinaryOp::Pow | BinaryOp::Atan2, ..) => 20,
        _ => 1,
    }
}

/// A program is long if it costs more than this: any transcendental makes it so. Long programs are unrolled
/// less and finish their rows with a staged partial vector (see `NestEmitter::staged_loop`), whose fixed cost
/// (copy loops, selects, a lane mask) is about this many instructions.
const LONG_PROGRAM: usize = 16;

fn is_long(nest: &LoopNest) -> bool {
    nest.ops.iter().map(|(op, _)| op_cost(nest, op)).sum::<usize>() > LONG_PROGRAM
}

/// Copies of the program in the main vector loop. Short programs need several independent copies to keep the
/// FMA units busy; long ones have that parallelism within one copy (and across iterations, which out-of-order
/// execution overlaps), would spill with more, and every copy is compile time: Cranelift's cost (register
/// allocation above all) grows with the code.
fn unroll_for(nest: &LoopNest) -> i64 {
    if is_long(nest) {
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
        let vals = e.program(b, Mode::Scalar, Pos { j: zero, staged: None }, &bases, &Hoisted::default())?;
        e.write_scalar_results(b, &vals, zero, &bases)?;
        return Ok(());
    }
    e.level(b, 0, &bases)
}

/// Where one copy of the program runs: inner position `j`, and for the staged tail loop the addresses that
/// replace the moving accesses' own.
#[derive(Clone, Copy)]
struct Pos<'a> {
    j: Value,
    staged: Option<&'a Staged>,
}

/// One step of the staged tail loop: the address of each moving access by form (a stack slot when the vector
/// is partial, else its memory), and the mask of the lanes inside the row.
struct Staged {
    addrs: Vec<Option<Value>>,
    valid: Value,
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

/// `while var + need <= hi { body(var); var += step }`.
fn counted_loop(
    b: &mut FunctionBuilder,
    var: Variable,
    hi: Value,
    (need, step): (i64, i64),
    mut body: impl FnMut(&mut FunctionBuilder, Value) -> Result<(), CodegenError>,
) -> Result<(), CodegenError> {
    let header = b.create_block();
    let body_block = b.create_block();
    let exit = b.create_block();
    b.ins().jump(header, &[]);
    b.switch_to_block(header);
    let j = b.use_var(var);
    let next = b.ins().iadd_imm_s(j, need);
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

    /// The inner strides of every load, store and reduction.
    fn stride_of_accesses(&self) -> impl Iterator<Item = i64> + '_ {
        let inner = self.inner();
        let loads = self.nest.ops.iter().filter_map(move |(op, _)| match op {
            KOp::Load(a) => Some(a.strides[inner]),
            _ => None,
        });
        let stores = self.nest.stores.iter().map(move |s| s.to.strides[inner]);
        loads.chain(stores).chain(self.nest.reductions.iter().map(move |r| r.to.strides[inner]))
    }

    /// The rest of the row after the unrolled loop, one vector at a time (`while j < hi`). A partial last vector
    /// is copied into stack slots, computed there as a whole vector, and its valid lanes copied back: the row
    /// needs no scalar copy of the program, which would cost as much compile time as a vector one.
    #[allow(clippy::too_many_arguments)]
    fn staged_loop(
        &self,
        b: &mut FunctionBuilder,
        j: Variable,
        hi: Value,
        vmode: Mode,
        bases: &[Value],
        hoisted: &Hoisted,
        acc: impl Fn(usize) -> Variable,
    ) -> Result<(), CodegenError> {
        let nest = self.nest;
        let inner = self.inner();
        let float = vector_float(nest).expect("a vector nest");
        let (w, ty, size) = (vmode.lanes(), scalar_ty(float), float.size_of() as i64);
        // Forms that move with `j`: (form, read before the program, written after it).
        let mut moving: Vec<(usize, bool, bool)> = Vec::new();
        for (i, (op, _)) in nest.ops.iter().enumerate() {
            if matches!(op, KOp::Load(a) if a.strides[inner] != 0) {
                moving.push((self.op_form[&i], true, false));
            }
        }
        moving.extend((0..nest.stores.len()).map(|si| (self.store_form0 + si, false, true)));
        for (ri, r) in nest.reductions.iter().enumerate() {
            if r.to.strides[inner] != 0 {
                moving.push((self.red_form0 + ri, true, true));
            }
        }
        let slots: Vec<Value> = moving
            .iter()
            .map(|_| {
                let slot = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 16, 4));
                b.ins().stack_addr(types::I64, slot, 0)
            })
            .collect();
        // Lane numbers, compared with the count of elements left to mask a partial vector.
        let mask_ty = vmode.ty(DType::Bool);
        let lane = mask_ty.lane_type();
        let zero = b.ins().iconst(lane, 0);
        let mut iota = b.ins().splat(mask_ty, zero);
        for l in 1..w {
            let x = b.ins().iconst(lane, l);
            iota = b.ins().insertlane(iota, x, l as u8);
        }
        counted_loop(b, j, hi, (1, w), |b, jv| {
            let left = b.ins().isub(hi, jv);
            let whole = b.ins().iconst(types::I64, w);
            let partial = b.ins().icmp(IntCC::SignedLessThan, left, whole);
            let n = b.ins().smin(left, whole);
            let memory: Vec<Value> =
                moving.iter().map(|&(f, ..)| self.at(b, f, bases[f], Pos { j: jv, staged: None })).collect();
            let pairs = |read: bool| -> Vec<(Value, Value)> {
                let sel = moving.iter().zip(memory.iter().zip(&slots));
                sel.filter(|((_, r, wr), _)| if read { *r } else { *wr }).map(|(_, (&m, &s))| (m, s)).collect()
            };
            let ins: Vec<(Value, Value)> = pairs(true);
            if !ins.is_empty() {
                let copy_in = b.create_block();
                let compute = b.create_block();
                b.ins().brif(partial, copy_in, &[], compute, &[]);
                b.switch_to_block(copy_in);
                copy_elements(b, ty, size, n, &ins)?;
                b.ins().jump(compute, &[]);
                b.switch_to_block(compute);
            }
            let mut addrs = vec![None; self.forms.len()];
            for ((&(f, ..), &m), &s) in moving.iter().zip(&memory).zip(&slots) {
                addrs[f] = Some(b.ins().select(partial, s, m));
            }
            let n_lane = if lane == types::I64 { n } else { b.ins().ireduce(lane, n) };
            let n_lanes = b.ins().splat(mask_ty, n_lane);
            let valid = b.ins().icmp(IntCC::SignedLessThan, iota, n_lanes);
            let staged = Staged { addrs, valid };
            let pos = Pos { j: jv, staged: Some(&staged) };
            let vals = self.program(b, vmode, pos, bases, hoisted)?;
            self.write_results(b, vmode, &vals, pos, bases, &acc)?;
            let outs: Vec<(Value, Value)> = pairs(false).into_iter().map(|(m, s)| (s, m)).collect();
            if !outs.is_empty() {
                let copy_out = b.create_block();
                let done = b.create_block();
                b.ins().brif(partial, copy_out, &[], done, &[]);
                b.switch_to_block(copy_out);
                copy_elements(b, ty, size, n, &outs)?;
                b.ins().jump(done, &[]);
                b.switch_to_block(done);
            }
            Ok(())
        })
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
        counted_loop(b, var, hi, (1, 1), |b, i| {
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
        // Long programs finish a row through stack slots (`staged_loop`), unless the nest reads or writes complex
        // parts (stride 2), whose interleaved layout the slots do not model; others with a vector loop and a
        // scalar one.
        let staged_tail = vector.is_some() && is_long(nest) && self.stride_of_accesses().all(|s| matches!(s, 0 | 1));
        let scalar_tail = !staged_tail;
        let modes: Vec<Mode> = vector.into_iter().chain(scalar_tail.then_some(Mode::Scalar)).collect();

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

        // Accumulators of reductions with inner stride 0: U vector ones and, with a scalar tail, a scalar one.
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
            let mut loops = vec![(unroll, w * unroll)];
            if scalar_tail {
                loops.push((1, w));
            }
            for (copies, step) in loops {
                counted_loop(b, j, hi, (step, step), |b, jv| {
                    for u in 0..copies {
                        let at = if u == 0 { jv } else { b.ins().iadd_imm_s(jv, u * w) };
                        let pos = Pos { j: at, staged: None };
                        let vals = self.program(b, vmode, pos, bases, &hoisted[&vmode])?;
                        self.write_results(b, vmode, &vals, pos, bases, |r| acc[&(r, vmode, u)])?;
                    }
                    Ok(())
                })?;
            }
            if staged_tail {
                self.staged_loop(b, j, hi, vmode, bases, &hoisted[&vmode], |r| acc[&(r, vmode, 0)])?;
            }
        }
        if scalar_tail {
            counted_loop(b, j, hi, (1, 1), |b, jv| {
                let pos = Pos { j: jv, staged: None };
                let vals = self.program(b, Mode::Scalar, pos, bases, &hoisted[&Mode::Scalar])?;
                self.write_results(b, Mode::Scalar, &vals, pos, bases, |r| acc[&(r, Mode::Scalar, 0)])
            })?;
        }

        // Fold the accumulators: vector copies pairwise in order, lanes in a tree, then the scalar tail.
        for &r in &row_reds {
            let red = &nest.reductions[r];
            let dt = nest.ops[red.value].1;
            let mut total = acc.get(&(r, Mode::Scalar, 0)).map(|&v| b.use_var(v));
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
                total = Some(match total {
                    Some(tail) => em.reduce_combine(red.op, dt, lanes_total, tail)?,
                    None => lanes_total,
                });
            }
            let total = total.expect("a vector or a scalar accumulator");
            let addr = bases[self.red_form0 + r];
            let mut em = OpEmitter { b, mode: Mode::Scalar, calls: self.calls };
            let old = em.b.ins().load(scalar_ty(dt), MemFlagsData::trusted(), addr, 0);
            let new = em.reduce_combine(red.op, dt, old, total)?;
            b.ins().store(MemFlagsData::trusted(), new, addr, 0);
        }
        Ok(())
    }

    /// The address (or index) of form `f` at `pos`.
    fn at(&self, b: &mut FunctionBuilder, f: usize, base: Value, pos: Pos) -> Value {
        if let Some(addr) = pos.staged.and_then(|s| s.addrs[f]) {
            return addr;
        }
        let c = self.forms[f].coefs.last().copied().unwrap_or(0);
        if c == 0 {
            base
        } else {
            advance(b, base, pos.j, c)
        }
    }

    /// Emits the program at inner position `j`, returning one value per op.
    fn program(
        &self,
        b: &mut FunctionBuilder,
        mode: Mode,
        pos: Pos,
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
                    let addr = self.at(em.b, f, bases[f], pos);
                    let odd = a.offset.rem_euclid(2) == 1;
                    let even = if odd { em.b.ins().iadd_imm_s(addr, -(dt.size_of() as i64)) } else { addr };
                    complex::load_part(em.b, mode.ty(dt), even, odd)
                }
                KOp::Load(_) => {
                    let f = self.op_form[&i];
                    let addr = self.at(em.b, f, bases[f], pos);
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
                    let idx = self.at(em.b, f, bases[f], pos);
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
        pos: Pos,
        bases: &[Value],
        acc: impl Fn(usize) -> Variable,
    ) -> Result<(), CodegenError> {
        let nest = self.nest;
        let inner = self.inner();
        for (si, s) in nest.stores.iter().enumerate() {
            let f = self.store_form0 + si;
            let addr = self.at(b, f, bases[f], pos);
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
                // Lanes past the end of a partial vector hold garbage: they add the identity instead.
                let v = match pos.staged {
                    Some(s) => {
                        let id = em.constant(reduce_identity(r.op, dt), dt);
                        em.choose(s.valid, vals[r.value], id)
                    }
                    None => vals[r.value],
                };
                let new = em.reduce_combine(r.op, dt, old, v)?;
                b.def_var(var, new);
            } else {
                let f = self.red_form0 + ri;
                let addr = self.at(b, f, bases[f], pos);
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

/// Copies `n` elements of type `ty` (`size` bytes each) from each `(from, to)` pair's first address to its second.
fn copy_elements(
    b: &mut FunctionBuilder,
    ty: types::Type,
    size: i64,
    n: Value,
    pairs: &[(Value, Value)],
) -> Result<(), CodegenError> {
    let t = b.declare_var(types::I64);
    let zero = b.ins().iconst(types::I64, 0);
    b.def_var(t, zero);
    counted_loop(b, t, n, (1, 1), |b, i| {
        for &(from, to) in pairs {
            let src = advance(b, from, i, size);
            let x = b.ins().load(ty, MemFlagsData::trusted(), src, 0);
            let dst = advance(b, to, i, size);
            b.ins().store(MemFlagsData::trusted(), x, dst, 0);
        }
        Ok(())
    })
}

/// `base + i · c`.
fn advance(b: &mut FunctionBuilder, base: Value, i: Value, c: i64) -> Value {
    let off = if c == 1 { i } else { b.ins().imul_imm_s(i, c) };
    b.ins().iadd(base, off)
}

#[cfg(test)]
mod tests {
    use crate::{compile, CompileOptions};
    use gradjit_ir::{interp, parse_function, HostArray};

    /// Long programs (a transcendental) finish every row with a staged partial vector: check elementwise
    /// outputs, row sums (accumulators, masked lanes) and column sums (read-modify-write through the slots) at
    /// every row length around the vector widths, against the interpreter.
    #[test]
    fn staged_tails_match_the_interpreter() {
        for dt in ["f32", "f64"] {
            for n in 1..=11usize {
                let text = format!(
                    "{{ lambda ; a:{dt}[3,{n}]. let b:{dt}[3,{n}] = exp a c:{dt}[{n}] = reduce_sum[axes=(0,)] b \
                     d:{dt}[3] = reduce_sum[axes=(1,)] b e:{dt}[3,{n}] = tanh b in (e, c, d) }}"
                );
                let f = parse_function(&text).unwrap();
                let xs: Vec<f64> = (0..3 * n).map(|i| (i as f64 * 0.37).sin()).collect();
                let a = if dt == "f32" {
                    HostArray::from_vec([3, n], xs.iter().map(|&x| x as f32).collect::<Vec<_>>())
                } else {
                    HostArray::from_vec([3, n], xs)
                }
                .unwrap();
                let got = compile(&f, &CompileOptions::default()).unwrap().run(&[&a]).unwrap();
                let want = interp::run(&f, &[a]).unwrap();
                for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                    for (x, y) in g.to_f64_vec().iter().zip(w.to_f64_vec()) {
                        assert!((x - y).abs() <= 1e-5 * y.abs().max(1.0), "{dt} n={n} output {k}: {x} != {y}");
                    }
                }
            }
        }
    }
}
