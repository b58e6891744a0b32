//! What tracing costs: `jit(grad(f))` records IR proportional to the function, never to its
//! data. The constants autodiff makes (the seed of a `mean`, `1 - tanh²`) stay splat literals
//! at any size, both in the traced IR and in what the compiler is given, so the first call's
//! trace is as fast at n = 1e6 as at n = 1e3 (issue 5's compile target; timed by
//! `cargo bench --bench jit_grad`, asserted here structurally: by the constants in the IR, and by
//! the bytes the trace allocates, counted by this binary's allocator).

use gradjit::{grad, jit, make_ir, Array, Function, Tensor};
use gradjit_ir::{parse_function, Literal, Prim};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting the bytes each thread allocates.
struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|n| n.set(n.get() + layout.size()));
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|n| n.set(n.get() + layout.size()));
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATED.try_with(|n| n.set(n.get() + new_size));
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// `f`'s result and the bytes this thread allocated while it ran (arrays included: the array pool,
/// which would hand out recycled blocks unseen, is emptied and kept empty).
fn allocated_by<R>(f: impl FnOnce() -> R) -> (R, usize) {
    gradjit_ir::array::pool::set_limit(0);
    gradjit_ir::array::pool::trim();
    let before = ALLOCATED.with(Cell::get);
    let r = f();
    (r, ALLOCATED.with(Cell::get) - before)
}

/// The seed's example (W1 of docs/benchmarks.md): `mean(tanh(z*v + x*sum(y)))`, `y` captured.
fn w1(x: Tensor, z: Tensor, v: Tensor) -> Tensor {
    let y = Array::from(vec![0.05f32, -0.02, 0.07, 0.01, -0.03, 0.04, 0.09, -0.08, 0.02, 0.06]);
    (&z * &v + &x * Tensor::from(&y).sum()).tanh().mean()
}

fn w1_args(n: usize) -> (Array, Array, Array) {
    let ramp = |scale: f32| Array::from((0..n).map(|i| scale * (i % 7) as f32 - 0.5).collect::<Vec<_>>());
    (Array::from(vec![0.3f32]), ramp(0.1), ramp(-0.2))
}

/// The element counts of the dense and of the splat constants of `f`, its bodies included.
fn constant_sizes(f: &Function, dense: &mut Vec<usize>, splat: &mut Vec<usize>) {
    for e in &f.eqns {
        match &e.prim {
            Prim::Constant(lit @ Literal::Dense(_)) => dense.push(lit.ty().numel()),
            Prim::Constant(lit) => splat.push(lit.ty().numel()),
            p => p.bodies().into_iter().for_each(|b| constant_sizes(b, dense, splat)),
        }
    }
}

/// Checks that `f` holds no dense constant of more than a few elements and a splat of `n`.
fn assert_splat_constants(f: &Function, n: usize, what: &str) {
    let (mut dense, mut splat) = (Vec::new(), Vec::new());
    constant_sizes(f, &mut dense, &mut splat);
    assert!(dense.iter().all(|&k| k <= 10), "{what}: dense constants of {dense:?} elements\n{f}");
    assert!(splat.contains(&n), "{what}: the full-size constants are splats: {splat:?}\n{f}");
}

#[test]
fn a_jitted_gradient_keeps_full_size_constants_splat() {
    let n = 1_000_000;
    let args = w1_args(n);
    let df = jit(grad(w1).argnums([0, 1, 2]));
    // What jit traces (the gradient inlined into the trace of the jitted function) ...
    let traced = make_ir(&df, (&args.0, &args.1, &args.2)).unwrap();
    assert_splat_constants(traced.function(), n, "traced");
    // ... and what the compiler is given.
    let compiled = jit(grad(w1).argnums([0, 1, 2])).dumps(true).compile((&args.0, &args.1, &args.2)).unwrap();
    let ir = parse_function(compiled.stage("ir").expect("codegen's input with dumps on")).unwrap();
    assert_splat_constants(&ir, n, "compiled");
}

#[test]
fn tracing_a_jitted_gradient_allocates_the_same_at_every_size() {
    let trace = |n: usize| {
        let args = w1_args(n);
        let (ir, bytes) =
            allocated_by(|| make_ir(jit(grad(w1).argnums([0, 1, 2])), (&args.0, &args.1, &args.2)).unwrap());
        (ir.function().eqns.iter().map(|e| e.prim.name().to_string()).collect::<Vec<_>>(), bytes)
    };
    let ((small, small_bytes), (large, large_bytes)) = (trace(1_000), trace(1_000_000));
    assert_eq!(small, large, "the same equations");
    // Materialising one f32 constant of the large size would take 4 MB.
    assert!(large_bytes < small_bytes + (64 << 10), "{large_bytes} bytes at n = 1e6, {small_bytes} at n = 1e3");
}

#[test]
fn small_constant_subexpressions_still_fold_while_tracing() {
    // `sum(y)` of a captured 10-vector is folded to a scalar constant; the large product of two
    // captured arrays is recorded instead of computed.
    let big = Array::full(2.0, [100_000]);
    let ir = make_ir(|x: Tensor| (Tensor::from(&big) * Tensor::from(&big) * &x).sum(), Array::ones([100_000])).unwrap();
    let muls = ir.function().eqns.iter().filter(|e| e.prim.name() == "mul").count();
    assert_eq!(muls, 2, "{ir}");
    assert_splat_constants(ir.function(), 100_000, "captured splat");
    let y = Array::from(vec![1.0f32, 2.0, 3.0]);
    let ir = make_ir(|x: Tensor| &x * Tensor::from(&y).sum(), Array::ones([4])).unwrap();
    assert!(ir.to_string().contains("constant[value=6.0]"), "{ir}");
    // Outside any trace, operations on data run at once, at any size.
    let t = Tensor::from(&big) * Tensor::from(&big);
    assert_eq!(t.to_vec::<f32>().unwrap()[99_999], 4.0);
}
