//! Fusion planning: which equations run in which loop, and which values get memory.
//!
//! The planner walks the equations in order and gives every value a [`Class`]:
//!
//! - **leaf**: needs no computation of its own. A strided view of a buffer (parameters, constants, outputs
//!   of other steps, and every `broadcast_in_dim`/`reshape`/static `slice` of those), a splat constant, an
//!   `iota` (an index expression), or a broadcast single-element value. Broadcasts are index maps (stride
//!   0); slices are offsets and scaled strides.
//! - **loop**: computed inside the loop of a fusion *group* whose iteration space is the value's shape
//!   (size-1 dimensions aside). Elementwise operations join the group of an operand when that creates
//!   no cycle between steps; groups of one shape that read a common input merge afterwards (multi-output
//!   fusion). Reductions of a loop value are accumulated by the same loop.
//! - **scalar**: a single-element computation that floats: it is recomputed once in the *prologue* of
//!   each kernel that reads it (and splat), or, when it must be stored and depends on a group's
//!   reductions, computed in that group's *epilogue*. A full reduction of a leaf (`sum(y)`) is a scalar
//!   whose prologue runs its own small loop.
//!
//! A value is written to memory only when a non-fused step, another group or the caller reads it, and not
//! even then when it is a few cheap operations from leaves that the reading loop recomputes
//! ([`RECOMPUTE_MAX_OPS`]). An edge `pad` of a value is stored by the loop that computes the value, at an
//! offset into the padded buffer, whose border a prologue nest of that kernel fills. Everything else
//! (dot_general, other shape ops, gather, ...) is a separate [`Step`].
//!
//! The result is a [`Plan`]: buffers and steps in execution order; kernels are in kernel IR
//! ([`crate::kir`]), ready for lowering.

use crate::error::CodegenError;
use crate::kir::{Access, KOp, LoopNest, Reduction, Store};
use gradjit_ir::{BinaryOp, DType, Function, HostArray, Literal, Prim, ReduceOp, Scalar, TensorType, Value};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

/// Index of a buffer in [`Plan::buffers`].
pub type BufId = usize;
type NodeId = usize;

/// Full reductions of leaves up to this many elements run in the prologue of the kernel that needs
/// them (single-threaded); larger ones get a threaded kernel of their own.
const PROLOGUE_REDUCE_MAX: usize = 1 << 16;

/// Loop values computed by at most this many cheap operations from leaves are recomputed by the loops of
/// other groups that read them, instead of being stored by their own loop and loaded back: a few
/// arithmetic operations cost less than a round trip through memory.
pub const RECOMPUTE_MAX_OPS: usize = 4;

/// Where a buffer's memory comes from.
#[derive(Clone, Debug)]
pub enum BufKind {
    /// The caller's argument `i` (read-only).
    Param(usize),
    /// A constant of the function.
    Const(Arc<HostArray>),
    /// Written by a step: an intermediate or a function output.
    Temp,
}

#[derive(Clone, Debug)]
pub struct Buffer {
    /// The type of the value that defines it (views of it may reshape it).
    pub ty: TensorType,
    pub kind: BufKind,
}

impl Buffer {
    pub fn bytes(&self) -> usize {
        self.ty.numel() * self.ty.dtype.size_of()
    }
}

/// An entry of a kernel's argument table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KArg {
    Buf(BufId),
    /// The kernel's scratch of 8-byte slots, where the prologue leaves single-element values.
    Slots,
}

/// A fused kernel: prologue nests, the (threaded) body nest and an epilogue, over one argument table.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub name: String,
    /// The equations computed by this kernel (indices into the planned function).
    pub eqns: Vec<usize>,
    pub args: Vec<KArg>,
    pub slots: usize,
    pub prologue: Vec<LoopNest>,
    pub body: LoopNest,
    pub epilogue: Option<LoopNest>,
}

/// One step of execution.
#[derive(Clone, Debug)]
pub enum Step {
    Kernel(Kernel),
    /// A non-fused equation run by the Rust runtime (GEMM, shape ops, indexing, or the interpreter).
    Host {
        eqn: usize,
        prim: Prim,
        inputs: Vec<BufId>,
        outputs: Vec<BufId>,
        /// The types of the equation's operands and results (a buffer may hold a value of another shape).
        types: Vec<TensorType>,
    },
}

impl Step {
    /// Buffers this step reads.
    pub fn reads(&self) -> Vec<BufId> {
        match self {
            Step::Kernel(k) => {
                k.args.iter().filter_map(|a| if let KArg::Buf(b) = a { Some(*b) } else { None }).collect()
            }
            Step::Host { inputs, .. } => inputs.clone(),
        }
    }
    /// Buffers this step writes.
    pub fn writes(&self) -> Vec<BufId> {
        match self {
            Step::Kernel(k) => {
                let nests = k.prologue.iter().chain(std::iter::once(&k.body)).chain(&k.epilogue);
                let mut w: Vec<BufId> = nests
                    .flat_map(|n| n.stores.iter().map(|s| s.to.arg).chain(n.reductions.iter().map(|r| r.to.arg)))
                    .filter_map(|a| if let KArg::Buf(b) = k.args[a] { Some(b) } else { None })
                    .collect();
                w.sort_unstable();
                w.dedup();
                w
            }
            Step::Host { outputs, .. } => outputs.clone(),
        }
    }
}

/// The planned function.
#[derive(Clone, Debug)]
pub struct Plan {
    pub buffers: Vec<Buffer>,
    pub steps: Vec<Step>,
    /// The buffer holding each function output, and its type (a buffer may be viewed with another shape).
    pub outputs: Vec<(BufId, TensorType)>,
    pub params: Vec<TensorType>,
}

impl Plan {
    pub fn kernels(&self) -> impl Iterator<Item = &Kernel> {
        self.steps.iter().filter_map(|s| if let Step::Kernel(k) = s { Some(k) } else { None })
    }
}

impl fmt::Display for Plan {
    /// The fusion dump: buffers, then each step with its loop nests.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.buffers.iter().enumerate() {
            let kind = match &b.kind {
                BufKind::Param(p) => format!("param {p}"),
                BufKind::Const(_) => "const".to_string(),
                BufKind::Temp => "temp".to_string(),
            };
            writeln!(f, "buf{i}: {} ({kind})", b.ty)?;
        }
        for s in &self.steps {
            match s {
                Step::Kernel(k) => {
                    let args: Vec<String> = k
                        .args
                        .iter()
                        .map(|a| match a {
                            KArg::Buf(b) => format!("buf{b}"),
                            KArg::Slots => format!("slots[{}]", k.slots),
                        })
                        .collect();
                    writeln!(f, "kernel {} (eqns {:?}) args({}):", k.name, k.eqns, args.join(", "))?;
                    for (i, n) in k.prologue.iter().enumerate() {
                        writeln!(f, "  prologue {i}:")?;
                        write!(f, "{n}")?;
                    }
                    writeln!(f, "  body:")?;
                    write!(f, "{}", k.body)?;
                    if let Some(e) = &k.epilogue {
                        writeln!(f, "  epilogue:")?;
                        write!(f, "{e}")?;
                    }
                }
                Step::Host { eqn, prim, inputs, outputs, .. } => {
                    let list = |v: &[BufId]| v.iter().map(|b| format!("buf{b}")).collect::<Vec<_>>().join(", ");
                    writeln!(f, "host {} (eqn {eqn}) ({}) -> ({})", prim.name(), list(inputs), list(outputs))?;
                }
            }
        }
        let outs: Vec<String> = self.outputs.iter().map(|(b, _)| format!("buf{b}")).collect();
        writeln!(f, "outputs ({})", outs.join(", "))
    }
}

// ------------------------------------------------------------------------------------------------ classes

#[derive(Clone, Debug, PartialEq)]
enum Src {
    Buffer(BufId),
    Const(Scalar),
    Index,
    /// A single-element value of class [`Class::Scalar`], broadcast.
    Scalar(Value),
}

/// A value that needs no computation: `src` seen through an index map (one stride per dimension of
/// the value; for [`Src::Index`] the strides are the coefficients of the index).
#[derive(Clone, Debug, PartialEq)]
struct Leaf {
    src: Src,
    strides: Vec<i64>,
    offset: i64,
}

#[derive(Clone, Debug)]
enum Class {
    Leaf(Leaf),
    Loop(NodeId),
    Scalar,
}

struct Group {
    space: Vec<usize>,
    /// Equations computed in the loop (elementwise and reductions), in order.
    eqns: Vec<usize>,
    stores: Vec<(Value, BufId)>,
    reductions: Vec<(Value, BufId)>,
    /// Single-element values stored by the epilogue.
    epilogue: Vec<(Value, BufId)>,
    /// Loop values stored into the interior of a padded buffer: `pad` fused as an offset store, with the
    /// border filled by a prologue nest of the same kernel.
    padded: Vec<Padded>,
    deps: BTreeSet<NodeId>,
}

/// `pad(v)` with edge padding only, written by the loop that computes `v`.
struct Padded {
    value: Value,
    to: BufId,
    low: Vec<usize>,
    fill: Scalar,
}

enum Node {
    Group(Group),
    Host { eqn: usize, inputs: Vec<BufId>, outputs: Vec<BufId>, deps: BTreeSet<NodeId> },
    Merged(NodeId),
}

/// Complex values fuse too: lowering splits them into real parts (`lower/complex.rs`).
pub fn is_fusible_dtype(d: DType) -> bool {
    matches!(d, DType::F32 | DType::F64 | DType::I32 | DType::I64 | DType::Bool | DType::C64 | DType::C128)
}

/// The dimensions of `dims` that are not 1.
fn canonical(dims: &[usize]) -> Vec<usize> {
    dims.iter().copied().filter(|&d| d != 1).collect()
}

/// Strides of `strides` (one per entry of `dims`) on the dimensions that are not 1.
fn canonical_strides(dims: &[usize], strides: &[i64]) -> Vec<i64> {
    dims.iter().zip(strides).filter(|(&d, _)| d != 1).map(|(_, &s)| s).collect()
}

fn row_major(dims: &[usize]) -> Vec<i64> {
    let mut s = vec![1i64; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1] as i64;
    }
    s
}

/// Row-major layout, ignoring size-1 dimensions.
fn is_contiguous(dims: &[usize], strides: &[i64]) -> bool {
    canonical_strides(dims, strides) == row_major(&canonical(dims))
}

fn reduce_binary(op: ReduceOp, dt: DType) -> BinaryOp {
    match (op, dt) {
        (ReduceOp::Sum, _) => BinaryOp::Add,
        (ReduceOp::Prod, _) => BinaryOp::Mul,
        (ReduceOp::Max, DType::Bool) => BinaryOp::Or,
        (ReduceOp::Min, DType::Bool) => BinaryOp::And,
        (ReduceOp::Max, _) => BinaryOp::Max,
        (ReduceOp::Min, _) => BinaryOp::Min,
    }
}

/// The identity of a reduction in `dt`: what an empty reduction gives.
pub fn reduce_identity(op: ReduceOp, dt: DType) -> Scalar {
    match (op, dt) {
        (ReduceOp::Sum, d) => Scalar::from_f64(0.0, d),
        (ReduceOp::Prod, d) => Scalar::from_f64(1.0, d),
        (ReduceOp::Max, DType::F32) => Scalar::F32(f32::NEG_INFINITY),
        (ReduceOp::Max, DType::F64) => Scalar::F64(f64::NEG_INFINITY),
        (ReduceOp::Max, DType::I32) => Scalar::I32(i32::MIN),
        (ReduceOp::Max, DType::I64) => Scalar::I64(i64::MIN),
        (ReduceOp::Max, _) => Scalar::Bool(false),
        (ReduceOp::Min, DType::F32) => Scalar::F32(f32::INFINITY),
        (ReduceOp::Min, DType::F64) => Scalar::F64(f64::INFINITY),
        (ReduceOp::Min, DType::I32) => Scalar::I32(i32::MAX),
        (ReduceOp::Min, DType::I64) => Scalar::I64(i64::MAX),
        (ReduceOp::Min, _) => Scalar::Bool(true),
    }
}

// ------------------------------------------------------------------------------------------------ planner

struct Planner<'f> {
    f: &'f Function,
    def: Vec<Option<usize>>,
    class: Vec<Option<Class>>,
    buffers: Vec<Buffer>,
    producer: Vec<Option<NodeId>>,
    nodes: Vec<Node>,
    materialised: HashMap<Value, BufId>,
    /// Single-element values that a loop reads (through other single-element values or a broadcast):
    /// these must be ready before that loop starts, so reductions among them run in a prologue.
    feeds_loop: Vec<bool>,
}

/// For every value: is it a single-element value that some loop over a larger space reads, directly or
/// through single-element computations?
fn feeds_loop(f: &Function) -> Vec<bool> {
    let mut feeds = vec![false; f.num_values()];
    for e in f.eqns.iter().rev() {
        let out = e.outputs[0];
        let big_consumer = f.ty(out).numel() > 1
            && (e.prim.is_elementwise() || matches!(e.prim, Prim::BroadcastInDim { .. } | Prim::Reshape { .. }));
        let through = f.ty(out).numel() == 1 && e.outputs.iter().any(|o| feeds[o.index()]);
        if big_consumer || through {
            for &i in &e.inputs {
                if f.ty(i).numel() == 1 {
                    feeds[i.index()] = true;
                }
            }
        }
    }
    feeds
}

/// Plans `f` (which must verify and contain no `call`).
pub fn plan(f: &Function) -> Result<Plan, CodegenError> {
    let mut p = Planner {
        f,
        def: f.definitions(),
        class: vec![None; f.num_values()],
        buffers: Vec::new(),
        producer: Vec::new(),
        nodes: Vec::new(),
        materialised: HashMap::new(),
        feeds_loop: feeds_loop(f),
    };
    for (i, &v) in f.params.iter().enumerate() {
        let b = p.new_buffer(f.ty(v).clone(), BufKind::Param(i), None);
        p.set_buffer_leaf(v, b);
    }
    for e in 0..f.eqns.len() {
        p.visit(e)?;
    }
    // Sibling loops merge before the outputs are placed, so that scalars computed from the reductions of
    // several siblings land in the epilogue of their merged loop.
    p.merge_siblings();
    let mut outputs = Vec::with_capacity(f.outputs.len());
    for &o in &f.outputs {
        outputs.push((p.materialise(o)?, f.ty(o).clone()));
    }
    let steps = p.build_steps()?;
    Ok(Plan { buffers: p.buffers, steps, outputs, params: f.param_types() })
}

impl<'f> Planner<'f> {
    fn new_buffer(&mut self, ty: TensorType, kind: BufKind, producer: Option<NodeId>) -> BufId {
        self.buffers.push(Buffer { ty, kind });
        self.producer.push(producer);
        self.buffers.len() - 1
    }

    fn set_buffer_leaf(&mut self, v: Value, b: BufId) {
        let dims = self.f.ty(v).dims().to_vec();
        self.class[v.index()] = Some(Class::Leaf(Leaf { src: Src::Buffer(b), strides: row_major(&dims), offset: 0 }));
        self.materialised.insert(v, b);
    }

    fn class_of(&self, v: Value) -> Result<Class, CodegenError> {
        self.class
            .get(v.index())
            .cloned()
            .flatten()
            .ok_or_else(|| CodegenError::Unsupported(format!("value %{} is used before it is defined", v.index())))
    }

    fn find(&self, mut n: NodeId) -> NodeId {
        while let Node::Merged(m) = self.nodes[n] {
            n = m;
        }
        n
    }

    fn group(&mut self, n: NodeId) -> &mut Group {
        let n = self.find(n);
        match &mut self.nodes[n] {
            Node::Group(g) => g,
            _ => unreachable!("node {n} is not a group"),
        }
    }

    fn node_deps(&self, n: NodeId) -> Vec<NodeId> {
        match &self.nodes[n] {
            Node::Group(g) => g.deps.iter().map(|&d| self.find(d)).collect(),
            Node::Host { deps, .. } => deps.iter().map(|&d| self.find(d)).collect(),
            Node::Merged(m) => vec![*m],
        }
    }

    /// True if `a` depends (transitively, through at least one edge) on `b`.
    fn reaches(&self, a: NodeId, b: NodeId) -> bool {
        let (a, b) = (self.find(a), self.find(b));
        let mut stack = self.node_deps(a);
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            let n = self.find(n);
            if n == b {
                return true;
            }
            if seen.insert(n) {
                stack.extend(self.node_deps(n));
            }
        }
        false
    }

    /// The steps whose results computing `v` reads (for a loop value: its group).
    fn deps(&self, v: Value) -> Result<BTreeSet<NodeId>, CodegenError> {
        let mut out = BTreeSet::new();
        self.collect_deps(v, &mut out)?;
        Ok(out)
    }

    fn collect_deps(&self, v: Value, out: &mut BTreeSet<NodeId>) -> Result<(), CodegenError> {
        match self.class_of(v)? {
            Class::Leaf(Leaf { src: Src::Buffer(b), .. }) => out.extend(self.producer[b].map(|n| self.find(n))),
            Class::Leaf(Leaf { src: Src::Scalar(s), .. }) => self.collect_deps(s, out)?,
            Class::Leaf(_) => {}
            Class::Loop(g) => {
                out.insert(self.find(g));
            }
            Class::Scalar => {
                let e = self.def[v.index()].expect("scalars are defined by equations");
                for &i in &self.f.eqns[e].inputs {
                    self.collect_deps(i, out)?;
                }
            }
        }
        Ok(())
    }

    fn new_group(&mut self, space: Vec<usize>, deps: BTreeSet<NodeId>) -> NodeId {
        let g =
            Group { space, eqns: vec![], stores: vec![], reductions: vec![], epilogue: vec![], padded: vec![], deps };
        self.nodes.push(Node::Group(g));
        self.nodes.len() - 1
    }

    fn merge(&mut self, into: NodeId, from: NodeId) {
        let (into, from) = (self.find(into), self.find(from));
        if into == from {
            return;
        }
        let Node::Group(g) = std::mem::replace(&mut self.nodes[from], Node::Merged(into)) else {
            unreachable!("only groups merge")
        };
        let t = self.group(into);
        t.eqns.extend(g.eqns);
        t.eqns.sort_unstable();
        t.stores.extend(g.stores);
        t.reductions.extend(g.reductions);
        t.epilogue.extend(g.epilogue);
        t.padded.extend(g.padded);
        t.deps.extend(g.deps);
        t.deps.remove(&into);
        t.deps.remove(&from);
    }

    // -------------------------------------------------------------------------------- visiting equations

    fn visit(&mut self, e: usize) -> Result<(), CodegenError> {
        let f = self.f;
        let eqn = &f.eqns[e];
        let out = eqn.outputs[0];
        let out_ty = f.ty(out);
        let leaf = |src: Src, strides: Vec<i64>| Some(Class::Leaf(Leaf { src, strides, offset: 0 }));
        let class = match &eqn.prim {
            Prim::Constant(Literal::Splat(s, shape)) if is_fusible_dtype(s.dtype()) => {
                leaf(Src::Const(*s), vec![0; shape.rank()])
            }
            Prim::Constant(lit) => {
                let b = self.new_buffer(out_ty.clone(), BufKind::Const(Arc::new(lit.to_array())), None);
                self.set_buffer_leaf(out, b);
                None
            }
            Prim::Iota { dtype, shape, axis } if is_fusible_dtype(*dtype) => {
                let mut c = vec![0; shape.rank()];
                c[*axis] = 1;
                leaf(Src::Index, c)
            }
            Prim::StopGradient => Some(self.class_of(eqn.inputs[0])?),
            Prim::BroadcastInDim { dims, .. } => self.broadcast(eqn.inputs[0], out_ty, dims)?,
            Prim::Reshape { .. } => self.reshape(eqn.inputs[0], out_ty)?,
            Prim::Slice { start, stride, .. } if is_fusible_dtype(out_ty.dtype) && !out_ty.dtype.is_complex() => {
                self.slice(eqn.inputs[0], out_ty, start, stride)?
            }
            Prim::Pad { low, interior, value, .. }
                if is_fusible_dtype(out_ty.dtype) && !out_ty.dtype.is_complex() && interior.iter().all(|&i| i == 0) =>
            {
                self.pad(e, low, *value)?;
                None
            }
            p if p.is_elementwise() && self.fusible_elementwise(e) => {
                if out_ty.numel() == 1 {
                    Some(Class::Scalar)
                } else {
                    Some(Class::Loop(self.place(e, canonical(out_ty.dims()))?))
                }
            }
            // A complex product is not two real reductions: it is a host step.
            Prim::Reduce { op, axes: _ }
                if is_fusible_dtype(out_ty.dtype) && !(out_ty.dtype.is_complex() && *op == ReduceOp::Prod) =>
            {
                self.reduce(e)?
            }
            _ => {
                self.host(e)?;
                None
            }
        };
        if let Some(c) = class {
            self.class[out.index()] = Some(c);
        }
        Ok(())
    }

    fn fusible_elementwise(&self, e: usize) -> bool {
        let eqn = &self.f.eqns[e];
        eqn.inputs.iter().chain(&eqn.outputs).all(|&v| is_fusible_dtype(self.f.ty(v).dtype))
    }

    fn broadcast(&mut self, x: Value, out_ty: &TensorType, dims: &[usize]) -> Result<Option<Class>, CodegenError> {
        let x_ty = self.f.ty(x).clone();
        let map = |l: &Leaf| {
            let mut s = vec![0i64; out_ty.rank()];
            for (i, &d) in dims.iter().enumerate() {
                if x_ty.dims()[i] != 1 {
                    s[d] = l.strides[i];
                }
            }
            Leaf { src: l.src.clone(), strides: s, offset: l.offset }
        };
        Ok(Some(match self.class_of(x)? {
            Class::Leaf(l) => Class::Leaf(map(&l)),
            c if x_ty.numel() == out_ty.numel() => c,
            Class::Scalar => Class::Leaf(Leaf { src: Src::Scalar(x), strides: vec![0; out_ty.rank()], offset: 0 }),
            Class::Loop(_) => {
                let b = self.materialise(x)?;
                Class::Leaf(map(&Leaf { src: Src::Buffer(b), strides: row_major(x_ty.dims()), offset: 0 }))
            }
        }))
    }

    fn reshape(&mut self, x: Value, out_ty: &TensorType) -> Result<Option<Class>, CodegenError> {
        let x_ty = self.f.ty(x).clone();
        let same_space = canonical(x_ty.dims()) == canonical(out_ty.dims());
        let c = self.class_of(x)?;
        Ok(Some(match c {
            Class::Leaf(l) if same_space => {
                let kept = canonical_strides(x_ty.dims(), &l.strides);
                let mut it = kept.into_iter();
                let strides = out_ty.dims().iter().map(|&d| if d == 1 { 0 } else { it.next().unwrap_or(0) }).collect();
                Class::Leaf(Leaf { strides, ..l })
            }
            Class::Leaf(Leaf { src: src @ (Src::Const(_) | Src::Scalar(_)), .. }) => {
                Class::Leaf(Leaf { src, strides: vec![0; out_ty.rank()], offset: 0 })
            }
            Class::Leaf(Leaf { src: Src::Buffer(b), strides, offset }) if is_contiguous(x_ty.dims(), &strides) => {
                Class::Leaf(Leaf { src: Src::Buffer(b), strides: row_major(out_ty.dims()), offset })
            }
            c @ (Class::Scalar | Class::Loop(_)) if same_space => c,
            _ => {
                let b = self.materialise(x)?;
                Class::Leaf(Leaf { src: Src::Buffer(b), strides: row_major(out_ty.dims()), offset: 0 })
            }
        }))
    }

    /// A static slice is an index map: the view starts further in and steps further.
    fn slice(
        &mut self,
        x: Value,
        out_ty: &TensorType,
        start: &[usize],
        stride: &[usize],
    ) -> Result<Option<Class>, CodegenError> {
        let x_ty = self.f.ty(x).clone();
        let view = |l: Leaf| {
            let offset = l.offset + start.iter().zip(&l.strides).map(|(&s, &st)| s as i64 * st).sum::<i64>();
            let strides = l.strides.iter().zip(stride).map(|(&st, &k)| st * k as i64).collect();
            Leaf { src: l.src, strides, offset }
        };
        Ok(Some(match self.class_of(x)? {
            Class::Leaf(l @ Leaf { src: Src::Buffer(_) | Src::Const(_), .. }) => Class::Leaf(view(l)),
            // Every element of a single-element value is that value.
            Class::Scalar => Class::Leaf(Leaf { src: Src::Scalar(x), strides: vec![0; out_ty.rank()], offset: 0 }),
            Class::Leaf(Leaf { src: Src::Scalar(s), .. }) => {
                Class::Leaf(Leaf { src: Src::Scalar(s), strides: vec![0; out_ty.rank()], offset: 0 })
            }
            // An index has no offset term: read it from memory.
            Class::Leaf(Leaf { src: Src::Index, .. }) | Class::Loop(_) => {
                let b = self.materialise(x)?;
                Class::Leaf(view(Leaf { src: Src::Buffer(b), strides: row_major(x_ty.dims()), offset: 0 }))
            }
        }))
    }

    /// Edge padding of a loop value: the loop that computes it stores it at an offset into the padded
    /// buffer, and a prologue nest of that kernel fills the border. A view or a single-element value gets a
    /// loop of its own.
    fn pad(&mut self, e: usize, low: &[usize], fill: Scalar) -> Result<(), CodegenError> {
        let eqn = &self.f.eqns[e];
        let (x, out) = (eqn.inputs[0], eqn.outputs[0]);
        let x_ty = self.f.ty(x).clone();
        let g = match self.class_of(x)? {
            Class::Loop(g) => self.find(g),
            _ => {
                let deps = self.deps(x)?;
                self.new_group(canonical(x_ty.dims()), deps)
            }
        };
        let b = self.new_buffer(self.f.ty(out).clone(), BufKind::Temp, Some(g));
        let fill = fill.cast(x_ty.dtype);
        self.group(g).padded.push(Padded { value: x, to: b, low: low.to_vec(), fill });
        self.set_buffer_leaf(out, b);
        Ok(())
    }

    fn reduce(&mut self, e: usize) -> Result<Option<Class>, CodegenError> {
        let eqn = &self.f.eqns[e];
        let (x, out) = (eqn.inputs[0], eqn.outputs[0]);
        let (x_ty, out_ty) = (self.f.ty(x).clone(), self.f.ty(out).clone());
        let class = self.class_of(x)?;
        let leaf_reduce = out_ty.numel() == 1
            && self.feeds_loop[out.index()]
            && x_ty.numel() <= PROLOGUE_REDUCE_MAX
            && matches!(&class, Class::Leaf(Leaf { src: Src::Buffer(_) | Src::Const(_) | Src::Index, .. }));
        if x_ty.numel() == 1 || leaf_reduce {
            return Ok(Some(Class::Scalar));
        }
        let g = self.place(e, canonical(x_ty.dims()))?;
        let b = self.new_buffer(out_ty, BufKind::Temp, Some(g));
        self.group(g).reductions.push((out, b));
        self.set_buffer_leaf(out, b);
        Ok(None)
    }

    /// Puts loop equation `e` (space `space`) into a group: the group of one of its loop operands when that
    /// creates no cycle (merging the groups of other loop operands when possible), else a new group.
    fn place(&mut self, e: usize, space: Vec<usize>) -> Result<NodeId, CodegenError> {
        let inputs = self.f.eqns[e].inputs.clone();
        let mut loop_groups: Vec<NodeId> = Vec::new();
        let mut ext = BTreeSet::new();
        for &i in &inputs {
            match self.class_of(i)? {
                Class::Loop(g) => {
                    let g = self.find(g);
                    if !loop_groups.contains(&g) {
                        loop_groups.push(g);
                    }
                }
                _ => self.collect_deps(i, &mut ext)?,
            }
        }
        let legal = |p: &Self, c: NodeId| {
            p.group_space(c) == space
                && ext.iter().all(|&d| d != c && !p.reaches(d, c))
                && loop_groups.iter().all(|&o| o == c || !p.reaches(o, c))
        };
        let target = loop_groups.iter().copied().find(|&c| legal(self, c));
        let g = match target {
            Some(c) => {
                for &o in &loop_groups {
                    if o != c && self.group_space(o) == space && !self.reaches(c, o) && !self.reaches(o, c) {
                        self.merge(c, o);
                    }
                }
                c
            }
            None => self.new_group(space, BTreeSet::new()),
        };
        let g = self.find(g);
        // Operands computed by other groups are read from memory, unless they are cheap to recompute.
        for &i in &inputs {
            if let Class::Loop(o) = self.class_of(i)? {
                if self.find(o) != g && self.recompute_cost(i).is_none() {
                    self.materialise(i)?;
                }
            }
        }
        let mut deps = BTreeSet::new();
        for &i in &inputs {
            self.collect_deps(i, &mut deps)?;
        }
        deps.remove(&g);
        let grp = self.group(g);
        grp.deps.extend(deps);
        grp.eqns.push(e);
        Ok(g)
    }

    /// The operations a loop of another group runs to recompute loop value `v` from leaves (and slots), if
    /// they are few and cheap (no transcendental, no division). Reading `v` that way keeps the dependency
    /// on its group (ordering stays conservative) but needs no buffer.
    fn recompute_cost(&self, v: Value) -> Option<usize> {
        self.cost_within(v, RECOMPUTE_MAX_OPS)
    }

    /// [`Self::recompute_cost`] if it is at most `budget` (the budget bounds the walk over shared operands).
    fn cost_within(&self, v: Value, budget: usize) -> Option<usize> {
        use gradjit_ir::UnaryOp;
        match self.class.get(v.index())?.as_ref()? {
            Class::Leaf(_) | Class::Scalar => Some(0),
            Class::Loop(_) if budget == 0 => None,
            Class::Loop(_) => {
                let eqn = &self.f.eqns[self.def[v.index()]?];
                let cheap = match &eqn.prim {
                    Prim::Binary(op) => {
                        matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Max | BinaryOp::Min)
                    }
                    Prim::Unary(op) => matches!(op, UnaryOp::Neg | UnaryOp::Abs),
                    Prim::Select | Prim::Compare(_) | Prim::ConvertElementType { .. } => true,
                    Prim::Reshape { .. } | Prim::StopGradient => true,
                    _ => false,
                };
                if !cheap || self.f.ty(v).dtype.is_complex() {
                    return None;
                }
                let mut total = 1;
                for &i in &eqn.inputs {
                    total += self.cost_within(i, budget.checked_sub(total)?)?;
                }
                (total <= budget).then_some(total)
            }
        }
    }

    fn group_space(&self, g: NodeId) -> Vec<usize> {
        match &self.nodes[self.find(g)] {
            Node::Group(g) => g.space.clone(),
            _ => vec![],
        }
    }

    fn host(&mut self, e: usize) -> Result<(), CodegenError> {
        let eqn = &self.f.eqns[e];
        let mut inputs = Vec::with_capacity(eqn.inputs.len());
        for &i in &eqn.inputs.clone() {
            inputs.push(self.materialise(i)?);
        }
        let deps: BTreeSet<NodeId> = inputs.iter().filter_map(|&b| self.producer[b].map(|n| self.find(n))).collect();
        self.nodes.push(Node::Host { eqn: e, inputs, outputs: vec![], deps });
        let n = self.nodes.len() - 1;
        let mut outputs = Vec::new();
        for &o in &self.f.eqns[e].outputs {
            let b = self.new_buffer(self.f.ty(o).clone(), BufKind::Temp, Some(n));
            self.set_buffer_leaf(o, b);
            outputs.push(b);
        }
        if let Node::Host { outputs: outs, .. } = &mut self.nodes[n] {
            *outs = outputs;
        }
        Ok(())
    }

    /// The buffer holding `v` in row-major layout, arranging for some step to write it.
    fn materialise(&mut self, v: Value) -> Result<BufId, CodegenError> {
        if let Some(&b) = self.materialised.get(&v) {
            return Ok(b);
        }
        let ty = self.f.ty(v).clone();
        let b = match self.class_of(v)? {
            Class::Leaf(Leaf { src: Src::Buffer(b), strides, offset: 0 })
                if is_contiguous(ty.dims(), &strides) && self.buffers[b].bytes() == ty.numel() * ty.dtype.size_of() =>
            {
                b
            }
            Class::Leaf(_) => {
                let deps = self.deps(v)?;
                let g = self.new_group(canonical(ty.dims()), deps);
                let b = self.new_buffer(ty, BufKind::Temp, Some(g));
                self.group(g).stores.push((v, b));
                b
            }
            Class::Loop(g) => {
                let b = self.new_buffer(ty, BufKind::Temp, Some(self.find(g)));
                self.group(g).stores.push((v, b));
                b
            }
            Class::Scalar => self.materialise_scalar(v, ty)?,
        };
        self.materialised.insert(v, b);
        Ok(b)
    }

    /// A scalar is stored by the epilogue of the last group it depends on, or by a kernel of its own.
    fn materialise_scalar(&mut self, v: Value, ty: TensorType) -> Result<BufId, CodegenError> {
        let deps = self.deps(v)?;
        let home = deps
            .iter()
            .copied()
            .find(|&g| matches!(self.nodes[g], Node::Group(_)) && deps.iter().all(|&d| d == g || !self.reaches(d, g)));
        let g = match home {
            Some(g) => g,
            None => self.new_group(vec![], BTreeSet::new()),
        };
        let b = self.new_buffer(ty, BufKind::Temp, Some(g));
        let grp = self.group(g);
        grp.deps.extend(deps.into_iter().filter(|&d| d != g));
        if home.is_some() {
            grp.epilogue.push((v, b));
        } else {
            grp.stores.push((v, b));
        }
        Ok(b)
    }

    /// Multi-output fusion: groups over the same space that read a common buffer and do not depend on
    /// each other become one loop.
    fn merge_siblings(&mut self) {
        let groups: Vec<NodeId> = (0..self.nodes.len()).filter(|&n| matches!(self.nodes[n], Node::Group(_))).collect();
        let inputs: HashMap<NodeId, BTreeSet<BufId>> = groups.iter().map(|&g| (g, self.group_inputs(g))).collect();
        for (i, &a) in groups.iter().enumerate() {
            for &b in &groups[i + 1..] {
                let (ra, rb) = (self.find(a), self.find(b));
                if ra == rb || self.group_space(ra) != self.group_space(rb) || self.group_space(ra).is_empty() {
                    continue;
                }
                let shares = inputs[&a].intersection(&inputs[&b]).next().is_some();
                if shares && !self.reaches(ra, rb) && !self.reaches(rb, ra) {
                    self.merge(ra, rb);
                }
            }
        }
    }

    /// Buffers read by a group's loop equations (non-constant ones).
    fn group_inputs(&self, g: NodeId) -> BTreeSet<BufId> {
        let Node::Group(grp) = &self.nodes[g] else { return BTreeSet::new() };
        let mut out = BTreeSet::new();
        for &e in &grp.eqns {
            for &i in &self.f.eqns[e].inputs {
                if let Some(Class::Leaf(Leaf { src: Src::Buffer(b), .. })) = &self.class[i.index()] {
                    if !matches!(self.buffers[*b].kind, BufKind::Const(_)) {
                        out.insert(*b);
                    }
                }
            }
        }
        for (v, _) in &grp.stores {
            if let Some(Class::Leaf(Leaf { src: Src::Buffer(b), .. })) = &self.class[v.index()] {
                out.insert(*b);
            }
        }
        out
    }

    // -------------------------------------------------------------------------------- building steps

    /// Live nodes in a topological order that follows the program order where it can.
    fn schedule(&self) -> Result<Vec<NodeId>, CodegenError> {
        let live: Vec<NodeId> = (0..self.nodes.len()).filter(|&n| !matches!(self.nodes[n], Node::Merged(_))).collect();
        let mut done: BTreeSet<NodeId> = BTreeSet::new();
        let mut order = Vec::with_capacity(live.len());
        while order.len() < live.len() {
            let next = live
                .iter()
                .copied()
                .find(|n| !done.contains(n) && self.node_deps(*n).iter().all(|d| done.contains(d) || d == n));
            let Some(n) = next else {
                return Err(CodegenError::Unsupported("internal error: the fusion plan has a cycle".into()));
            };
            done.insert(n);
            order.push(n);
        }
        Ok(order)
    }

    fn build_steps(&mut self) -> Result<Vec<Step>, CodegenError> {
        let order = self.schedule()?;
        let mut steps = Vec::with_capacity(order.len());
        for n in order {
            match &self.nodes[n] {
                Node::Group(_) => {
                    let k = self.build_kernel(n, steps.len())?;
                    steps.push(Step::Kernel(k));
                }
                Node::Host { eqn, inputs, outputs, .. } => {
                    let e = &self.f.eqns[*eqn];
                    steps.push(Step::Host {
                        eqn: *eqn,
                        prim: e.prim.clone(),
                        inputs: inputs.clone(),
                        outputs: outputs.clone(),
                        types: e.inputs.iter().chain(&e.outputs).map(|&v| self.f.ty(v).clone()).collect(),
                    })
                }
                Node::Merged(_) => unreachable!("schedule skips merged nodes"),
            }
        }
        Ok(steps)
    }

    fn build_kernel(&self, g: NodeId, index: usize) -> Result<Kernel, CodegenError> {
        let Node::Group(grp) = &self.nodes[g] else { unreachable!("build_kernel on a group") };
        let mut kb = KernelBuilder { p: self, group: g, args: vec![], slots: vec![], slot_words: vec![], words: 0 };

        // Body: every store and reduction of the loop.
        let mut body = NestBuilder::new(grp.space.clone(), true);
        for &(v, b) in &grp.stores {
            let value = body.value(&mut kb, v)?;
            let to = kb.store_access(b, self.f.ty(v).dims(), None);
            body.nest.stores.push(Store { value, to });
        }
        for pd in &grp.padded {
            let value = body.value(&mut kb, pd.value)?;
            let (x_dims, out_dims) = (self.f.ty(pd.value).dims(), self.buffers[pd.to].ty.dims().to_vec());
            let rm = row_major(&out_dims);
            let offset = pd.low.iter().zip(&rm).map(|(&l, &r)| l as i64 * r).sum();
            let to = Access { arg: kb.arg(KArg::Buf(pd.to)), offset, strides: canonical_strides(x_dims, &rm) };
            body.nest.stores.push(Store { value, to });
        }
        for &(out, b) in &grp.reductions {
            let e = self.def[out.index()].expect("reductions are equations");
            let Prim::Reduce { op, axes } = &self.f.eqns[e].prim else { unreachable!("a reduction") };
            let x = self.f.eqns[e].inputs[0];
            let value = body.value(&mut kb, x)?;
            let to = kb.store_access(b, self.f.ty(x).dims(), Some(axes));
            body.nest.reductions.push(Reduction { op: *op, value, to, init_in_kernel: false });
        }
        let mut body = body.nest;

        let epilogue = if grp.epilogue.is_empty() {
            None
        } else {
            let mut nb = NestBuilder::new(vec![], false);
            for &(v, b) in &grp.epilogue {
                let value = nb.value(&mut kb, v)?;
                let mut to = kb.store_access(b, &[], None);
                to.strides = vec![];
                nb.nest.stores.push(Store { value, to });
            }
            Some(nb.nest)
        };

        // Prologue: the loops of the leaf reductions, then the scalar program filling the other slots.
        let mut scalar_program = None;
        let computed: Vec<(usize, Value)> =
            kb.slots.iter().enumerate().filter(|(_, (_, lr))| !lr).map(|(i, &(v, _))| (i, v)).collect();
        if !computed.is_empty() {
            let mut nb = NestBuilder::new(vec![], false);
            nb.recompute = true;
            for (slot, v) in computed {
                let value = nb.value(&mut kb, v)?;
                let to = kb.slot_access(slot, self.f.ty(v).dtype, 0);
                nb.nest.stores.push(Store { value, to });
            }
            scalar_program = Some(nb.nest);
        }
        let mut prologue = Vec::new();
        let reduces: Vec<(usize, Value)> =
            kb.slots.iter().enumerate().filter(|(_, (_, lr))| *lr).map(|(i, &(v, _))| (i, v)).collect();
        for (slot, v) in reduces {
            let e = self.def[v.index()].expect("reductions are equations");
            let Prim::Reduce { op, .. } = &self.f.eqns[e].prim else { unreachable!("a reduction") };
            let x = self.f.eqns[e].inputs[0];
            let x_ty = self.f.ty(x);
            let mut nb = NestBuilder::new(canonical(x_ty.dims()), true);
            let value = nb.value(&mut kb, x)?;
            let to = kb.slot_access(slot, x_ty.dtype, nb.nest.dims.len());
            nb.nest.reductions.push(Reduction { op: *op, value, to, init_in_kernel: true });
            prologue.push(nb.nest);
        }
        prologue.extend(scalar_program);
        for pd in &grp.padded {
            let arg = kb.arg(KArg::Buf(pd.to));
            prologue.extend(border_fills(
                arg,
                self.f.ty(pd.value).dims(),
                self.buffers[pd.to].ty.dims(),
                &pd.low,
                pd.fill,
            ));
        }

        for n in prologue.iter_mut().chain(std::iter::once(&mut body)) {
            n.coalesce();
        }
        let slots = kb.words;
        let mut eqns = grp.eqns.clone();
        eqns.extend(grp.epilogue.iter().filter_map(|(v, _)| self.def[v.index()]));
        eqns.sort_unstable();
        eqns.dedup();
        Ok(Kernel { name: format!("k{index}"), eqns, args: kb.args, slots, prologue, body, epilogue })
    }
}

/// Nests storing `fill` into the border of a `out_dims` buffer (argument `arg`) whose interior, from
/// `low`, is an `x_dims` box: for each dimension `d`, the slabs before and after the interior along `d`,
/// within the interior along the dimensions before `d` and whole along those after it. The slabs are
/// disjoint and cover the border.
fn border_fills(arg: usize, x_dims: &[usize], out_dims: &[usize], low: &[usize], fill: Scalar) -> Vec<LoopNest> {
    let rm = row_major(out_dims);
    let mut nests = Vec::new();
    for d in 0..out_dims.len() {
        let after = low[d] + x_dims[d];
        for (from, to) in [(0, low[d]), (after, out_dims[d])] {
            let mut dims: Vec<usize> = x_dims[..d].to_vec();
            dims.push(to - from);
            dims.extend(&out_dims[d + 1..]);
            if dims.contains(&0) {
                continue;
            }
            let offset = (0..d).map(|j| low[j] as i64 * rm[j]).sum::<i64>() + from as i64 * rm[d];
            let mut nest = LoopNest { dims, ..LoopNest::default() };
            nest.ops.push((KOp::Const(fill), fill.dtype()));
            nest.stores.push(Store { value: 0, to: Access { arg, offset, strides: rm.clone() } });
            nest.coalesce();
            nests.push(nest);
        }
    }
    nests
}

/// Per-kernel state while building its nests: the argument table and the slots.
struct KernelBuilder<'p, 'f> {
    p: &'p Planner<'f>,
    group: NodeId,
    args: Vec<KArg>,
    /// The single-element values the prologue leaves in slots `0..`, and whether each is a reduction
    /// of a leaf (computed by a loop of its own) rather than a scalar program.
    slots: Vec<(Value, bool)>,
    /// The first 8-byte word of each slot (a `c128` takes two, 16-byte aligned), and the words used.
    slot_words: Vec<usize>,
    words: usize,
}

impl KernelBuilder<'_, '_> {
    fn arg(&mut self, a: KArg) -> usize {
        if let Some(i) = self.args.iter().position(|&x| x == a) {
            return i;
        }
        self.args.push(a);
        self.args.len() - 1
    }

    /// Access to buffer `b` as a row-major array of `dims` (with stride 0 on `reduced` axes, where the
    /// strides are those of the reduced shape), over the canonical loop space.
    fn store_access(&mut self, b: BufId, dims: &[usize], reduced: Option<&gradjit_ir::Axes>) -> Access {
        let strides = match reduced {
            None => row_major(dims),
            Some(axes) => {
                let kept: Vec<usize> = (0..dims.len()).filter(|a| !axes.contains(a)).map(|a| dims[a]).collect();
                let ks = row_major(&kept);
                let mut it = ks.into_iter();
                (0..dims.len()).map(|a| if axes.contains(&a) { 0 } else { it.next().unwrap_or(0) }).collect()
            }
        };
        Access { arg: self.arg(KArg::Buf(b)), offset: 0, strides: canonical_strides(dims, &strides) }
    }

    /// Slot `slot` read or written as one element of `dt`, broadcast over `rank` loop dimensions.
    fn slot_access(&mut self, slot: usize, dt: DType, rank: usize) -> Access {
        let size = dt.size_of().max(1) as i64;
        Access { arg: self.arg(KArg::Slots), offset: self.slot_words[slot] as i64 * 8 / size, strides: vec![0; rank] }
    }

    fn has_slot(&self, v: Value) -> bool {
        self.slots.iter().any(|&(x, _)| x == v)
    }

    /// The slot of a single-element value computed by the prologue (allocating it).
    fn slot(&mut self, v: Value, leaf_reduce: bool) -> usize {
        if let Some(i) = self.slots.iter().position(|&(x, _)| x == v) {
            return i;
        }
        let words = self.p.f.ty(v).dtype.size_of().div_ceil(8).max(1);
        let first = self.words.next_multiple_of(words);
        self.slot_words.push(first);
        self.words = first + words;
        self.slots.push((v, leaf_reduce));
        self.slots.len() - 1
    }
}

/// Builds one loop nest's program from values of the function, memoised.
struct NestBuilder {
    nest: LoopNest,
    /// True for the loop over the group's space; false for single-iteration scalar programs.
    is_loop: bool,
    /// True for the prologue's scalar program, which computes the slots and so never reads them.
    recompute: bool,
    memo: HashMap<Value, usize>,
}

impl NestBuilder {
    fn new(dims: Vec<usize>, is_loop: bool) -> NestBuilder {
        NestBuilder { nest: LoopNest { dims, ..LoopNest::default() }, is_loop, recompute: false, memo: HashMap::new() }
    }

    fn push(&mut self, op: KOp, dt: DType) -> usize {
        self.nest.ops.push((op, dt));
        self.nest.ops.len() - 1
    }

    fn load_slot(&mut self, kb: &mut KernelBuilder, v: Value, leaf_reduce: bool) -> usize {
        let dt = kb.p.f.ty(v).dtype;
        let slot = kb.slot(v, leaf_reduce);
        let a = kb.slot_access(slot, dt, self.nest.dims.len());
        self.push(KOp::Load(a), dt)
    }

    fn value(&mut self, kb: &mut KernelBuilder, v: Value) -> Result<usize, CodegenError> {
        if let Some(&i) = self.memo.get(&v) {
            return Ok(i);
        }
        let i = self.value_uncached(kb, v)?;
        self.memo.insert(v, i);
        Ok(i)
    }

    fn value_uncached(&mut self, kb: &mut KernelBuilder, v: Value) -> Result<usize, CodegenError> {
        let p = kb.p;
        let ty = p.f.ty(v).clone();
        match p.class_of(v)? {
            Class::Leaf(l) => self.leaf(kb, &l, &ty),
            Class::Loop(g) if p.find(g) == p.find(kb.group) && self.is_loop => self.equation(kb, v),
            // A cheap value of another loop that nobody stored: recomputed here from its leaves.
            Class::Loop(_) if self.is_loop && !p.materialised.contains_key(&v) && p.recompute_cost(v).is_some() => {
                self.equation(kb, v)
            }
            Class::Loop(_) => {
                let b = *p.materialised.get(&v).ok_or_else(|| {
                    CodegenError::Unsupported(format!("internal error: value %{} was not materialised", v.index()))
                })?;
                let mut to = kb.store_access(b, ty.dims(), None);
                if !self.is_loop {
                    to.strides = vec![];
                }
                Ok(self.push(KOp::Load(to), ty.dtype))
            }
            Class::Scalar => {
                let e = p.def[v.index()].expect("scalars are equations");
                let eqn = &p.f.eqns[e];
                let leaf_reduce = matches!(eqn.prim, Prim::Reduce { .. }) && p.f.ty(eqn.inputs[0]).numel() != 1;
                if leaf_reduce {
                    Ok(self.load_slot(kb, v, true))
                } else if self.is_loop || (!self.recompute && kb.has_slot(v)) {
                    Ok(self.load_slot(kb, v, false))
                } else {
                    self.equation(kb, v)
                }
            }
        }
    }

    fn leaf(&mut self, kb: &mut KernelBuilder, l: &Leaf, ty: &TensorType) -> Result<usize, CodegenError> {
        let strides =
            if self.is_loop { canonical_strides(ty.dims(), &l.strides) } else { vec![0; self.nest.dims.len()] };
        match &l.src {
            Src::Buffer(b) => {
                let arg = kb.arg(KArg::Buf(*b));
                Ok(self.push(KOp::Load(Access { arg, offset: l.offset, strides }), ty.dtype))
            }
            Src::Const(s) => Ok(self.push(KOp::Const(*s), ty.dtype)),
            Src::Index => Ok(self.push(KOp::Index(strides), ty.dtype)),
            Src::Scalar(s) => self.value(kb, *s),
        }
    }

    /// The program of the equation defining `v`, after its operands'.
    fn equation(&mut self, kb: &mut KernelBuilder, v: Value) -> Result<usize, CodegenError> {
        let p = kb.p;
        let e = p.def[v.index()].expect("computed values are equations");
        let eqn = &p.f.eqns[e];
        let dt = p.f.ty(v).dtype;
        let mut ins = Vec::with_capacity(eqn.inputs.len());
        for &i in &eqn.inputs {
            ins.push(self.value(kb, i)?);
        }
        let op = match &eqn.prim {
            Prim::Unary(o) => KOp::Unary(*o, ins[0]),
            Prim::Binary(o) => KOp::Binary(*o, ins[0], ins[1]),
            Prim::Compare(o) => KOp::Compare(*o, ins[0], ins[1]),
            Prim::Select => KOp::Select(ins[0], ins[1], ins[2]),
            Prim::IntegerPow { y } => KOp::IntegerPow(*y, ins[0]),
            Prim::ConvertElementType { .. } => KOp::Convert(ins[0]),
            Prim::StopGradient | Prim::BroadcastInDim { .. } | Prim::Reshape { .. } => return Ok(ins[0]),
            Prim::Reduce { op, .. } => {
                // A reduction of one element: `identity op x`, as the interpreter folds it.
                let id = self.push(KOp::Const(reduce_identity(*op, dt)), dt);
                KOp::Binary(reduce_binary(*op, dt), id, ins[0])
            }
            other => {
                return Err(CodegenError::Unsupported(format!(
                    "internal error: {} is not a loop operation",
                    other.name()
                )))
            }
        };
        Ok(self.push(op, dt))
    }
}
