//! Property test: random programs of elementwise operations, broadcasts, reductions and shape operations
//! compile to the same results as the interpreter gives, in f32 and f64, at sizes from empty to 100003.
//!
//! A program is a list of instructions over a pool of values of shapes `[m,n]`, `[n,m]`, `[m]`, `[n]` and
//! `[]`; each instruction picks its operands from the pool by index (modulo the candidates), so proptest
//! can shrink a failing program instruction by instruction.

mod common;

use common::{array, compare, Tol};
use gradjit_codegen::{compile, CompileOptions};
use gradjit_ir::{
    Axes, BinaryOp, CompareOp, DType, Function, HostArray, Prim, ReduceOp, Shape, TensorType, UnaryOp, Value,
};
use proptest::prelude::*;

const UNARY: [UnaryOp; 6] = [UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Tanh, UnaryOp::Logistic, UnaryOp::Sin, UnaryOp::Cos];
const BINARY: [BinaryOp; 5] = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Max, BinaryOp::Min];
const SIZES: [(usize, usize); 9] = [(1, 1), (1, 3), (3, 4), (4, 5), (7, 8), (5, 0), (8, 1000), (3, 333), (1, 100003)];

#[derive(Clone, Debug)]
enum Instr {
    Unary(usize, usize),
    Binary(usize, usize, usize),
    /// `select(a > b, a, b)`.
    Select(usize, usize),
    Reduce(usize, usize, usize),
    Broadcast(usize),
    Transpose(usize),
    Rev(usize),
    Exp(usize),
}

fn instr() -> impl Strategy<Value = Instr> {
    let i = || 0usize..64;
    prop_oneof![
        (i(), i()).prop_map(|(o, a)| Instr::Unary(o, a)),
        (i(), i(), i()).prop_map(|(o, a, b)| Instr::Binary(o, a, b)),
        (i(), i()).prop_map(|(a, b)| Instr::Select(a, b)),
        (i(), i(), i()).prop_map(|(o, a, b)| Instr::Reduce(o, a, b)),
        i().prop_map(Instr::Broadcast),
        i().prop_map(Instr::Transpose),
        i().prop_map(Instr::Rev),
        i().prop_map(Instr::Exp),
    ]
}

struct Builder {
    f: Function,
    pool: Vec<Value>,
    m: usize,
    n: usize,
}

impl Builder {
    fn with_shape(&self, dims: &[usize]) -> Vec<Value> {
        self.pool.iter().copied().filter(|&v| self.f.ty(v).dims() == dims).collect()
    }
    fn pick(&self, k: usize) -> Value {
        self.pool[k % self.pool.len()]
    }
    /// A value of the same shape as `v`, or `v` broadcast into it from something smaller.
    fn partner(&mut self, v: Value, k: usize) -> Value {
        let dims = self.f.ty(v).dims().to_vec();
        let same = self.with_shape(&dims);
        let scalars = self.with_shape(&[]);
        if k.is_multiple_of(3) && !scalars.is_empty() {
            let s = scalars[k / 3 % scalars.len()];
            return self.push(Prim::BroadcastInDim { shape: Shape::new(&dims), dims: Axes::new() }, &[s]);
        }
        same[k % same.len()]
    }
    fn push(&mut self, prim: Prim, ins: &[Value]) -> Value {
        let v = self.f.push1(prim, ins, None).expect("well-typed by construction");
        self.pool.push(v);
        v
    }

    fn apply(&mut self, i: &Instr) {
        let (m, n) = (self.m, self.n);
        match *i {
            Instr::Unary(o, a) => {
                let a = self.pick(a);
                self.push(Prim::Unary(UNARY[o % UNARY.len()]), &[a]);
            }
            Instr::Exp(a) => {
                // exp of a bounded value, so that chains stay finite.
                let a = self.pick(a);
                let t = self.push(Prim::Unary(UnaryOp::Tanh), &[a]);
                self.push(Prim::Unary(UnaryOp::Exp), &[t]);
            }
            Instr::Binary(o, a, b) => {
                let a = self.pick(a);
                let b = self.partner(a, b);
                self.push(Prim::Binary(BINARY[o % BINARY.len()]), &[a, b]);
            }
            Instr::Select(a, b) => {
                let a = self.pick(a);
                let b = self.partner(a, b);
                let p = self.push(Prim::Compare(CompareOp::Gt), &[a, b]);
                self.pool.pop();
                self.push(Prim::Select, &[p, a, b]);
            }
            Instr::Reduce(o, a, axes) => {
                let a = self.pick(a);
                let rank = self.f.ty(a).rank();
                if rank == 0 {
                    return;
                }
                let all: Vec<Vec<usize>> = match rank {
                    1 => vec![vec![0]],
                    _ => vec![vec![0], vec![1], vec![0, 1]],
                };
                let op = [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min][o % 3];
                self.push(Prim::Reduce { op, axes: Axes::from_slice(&all[axes % all.len()]) }, &[a]);
            }
            Instr::Broadcast(a) => {
                let a = self.pick(a);
                let dims = self.f.ty(a).dims().to_vec();
                let (shape, bdims): (Vec<usize>, Vec<usize>) = match dims.as_slice() {
                    [] => (vec![m, n], vec![]),
                    [d] if *d == n => (vec![m, n], vec![1]),
                    [d] if *d == m => (vec![m, n], vec![0]),
                    _ => return,
                };
                self.push(Prim::BroadcastInDim { shape: Shape::new(&shape), dims: Axes::from_slice(&bdims) }, &[a]);
            }
            Instr::Transpose(a) => {
                let a = self.pick(a);
                if self.f.ty(a).rank() == 2 {
                    self.push(Prim::Transpose { perm: Axes::from_slice(&[1, 0]) }, &[a]);
                }
            }
            Instr::Rev(a) => {
                let a = self.pick(a);
                if self.f.ty(a).rank() == 2 {
                    self.push(Prim::Rev { axes: Axes::from_slice(&[1]) }, &[a]);
                }
            }
        }
    }
}

fn program(dt: DType, m: usize, n: usize, instrs: &[Instr], outs: &[usize]) -> Function {
    let mut b = Builder { f: Function::new(), pool: vec![], m, n };
    for dims in [vec![m, n], vec![m, n], vec![n], vec![]] {
        let p = b.f.add_param(TensorType::new(dt, dims));
        b.pool.push(p);
    }
    for i in instrs {
        b.apply(i);
    }
    let last = *b.pool.last().expect("parameters");
    b.f.outputs.push(last);
    for &o in outs {
        let v = b.pick(o);
        b.f.outputs.push(v);
    }
    b.f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_match_the_interpreter(
        f64_: bool,
        size in 0..SIZES.len(),
        instrs in prop::collection::vec(instr(), 1..14),
        outs in prop::collection::vec(0usize..64, 0..3),
        seed in 0u64..1000,
    ) {
        let dt = if f64_ { DType::F64 } else { DType::F32 };
        let (m, n) = SIZES[size];
        let f = program(dt, m, n, &instrs, &outs);
        let args: Vec<HostArray> =
            f.params.iter().enumerate().map(|(i, &p)| array(dt, f.ty(p).dims(), seed * 8 + i as u64, -2.0, 2.0)).collect();
        let exe = compile(&f, &CompileOptions::default()).map_err(|e| TestCaseError::fail(format!("{e}\n{f}")))?;
        let got = exe.run(&args.iter().collect::<Vec<_>>()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want = gradjit_ir::interp::run(&f, &args).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let tol = Tol::Rel(if dt == DType::F32 { 2e-3 } else { 1e-9 });
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            if let Err(msg) = compare(g, w, tol) {
                return Err(TestCaseError::fail(format!("output {i}: {msg}\n{f}\n{}", exe.plan())));
            }
        }
    }
}
