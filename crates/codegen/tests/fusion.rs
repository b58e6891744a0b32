//! Fusion decisions (the seed gradient is one kernel), thread-count independence, the cache, dumps and
//! errors.

mod common;

use common::{array, check, check_with, compare, Tol};
use gradjit_codegen::plan::{BufKind, KArg, Step};
use gradjit_codegen::{compile, CodegenError, CompileOptions, Compiler, Executable};
use gradjit_ir::{parse_function, DType, Function, HostArray};

/// The seed's `Example`: `mean(tanh(z * v + x * sum(y)))` with `x: [1]`, `y, z, v: [n]`.
fn seed(n: usize) -> Function {
    let src = format!(
        "{{ lambda ; x:f32[1] y:f32[{n}] z:f32[{n}] v:f32[{n}]. let
    s:f32[] = reduce_sum[axes=(0,)] y
    sb:f32[1] = broadcast_in_dim[shape=(1,) broadcast_dimensions=()] s
    t1:f32[1] = mul x sb
    zv:f32[{n}] = mul z v
    t1b:f32[{n}] = broadcast_in_dim[shape=({n},) broadcast_dimensions=(0,)] t1
    u:f32[{n}] = add zv t1b
    t2:f32[{n}] = tanh u
    total:f32[] = reduce_sum[axes=(0,)] t2
    count:f32[] = constant[value={n}.0]
    mean:f32[] = div total count
  in (mean,) }}"
    );
    parse_function(&src).unwrap()
}

fn seed_args(n: usize) -> Vec<HostArray> {
    vec![
        array(DType::F32, &[1], 1, -1.0, 1.0),
        array(DType::F32, &[n], 2, 0.0, 1.0),
        array(DType::F32, &[n], 3, -1.0, 1.0),
        array(DType::F32, &[n], 4, -1.0, 1.0),
    ]
}

/// The gradient of the seed with respect to `x`, `z` and `v` (and its value) compiles to a single kernel
/// that loads `z` and `v` once, stores `dz` and `dv`, accumulates the sum for `dx`, and allocates no
/// intermediate array.
#[test]
fn seed_gradient_is_one_kernel_without_intermediates() {
    for n in [10, 1000, 50_000] {
        let g = gradjit_autodiff::grad(&seed(n), &[0, 2, 3]).unwrap();
        let exe = check(&g, &seed_args(n), Tol::Rel(1e-5));
        let plan = exe.plan();
        assert_eq!(plan.steps.len(), 1, "{plan}");
        let Step::Kernel(k) = &plan.steps[0] else { panic!("not a kernel:\n{plan}") };
        // z and v are parameters 2 and 3 (buffers 2 and 3); the body reads each exactly once.
        for param in [2usize, 3] {
            let arg = k.args.iter().position(|&a| a == KArg::Buf(param)).expect("z and v are arguments");
            let loads = k
                .body
                .ops
                .iter()
                .filter(|(op, _)| matches!(op, gradjit_codegen::kir::KOp::Load(a) if a.arg == arg))
                .count();
            assert_eq!(loads, 1, "param {param}:\n{plan}");
        }
        assert_eq!(k.body.stores.len(), 2, "dz and dv:\n{plan}");
        assert!(!k.body.reductions.is_empty(), "the sum for dx:\n{plan}");
        // Every array-sized buffer is a parameter or an output.
        let outputs: Vec<usize> = plan.outputs.iter().map(|(b, _)| *b).collect();
        for (i, b) in plan.buffers.iter().enumerate() {
            if matches!(b.kind, BufKind::Temp) && b.ty.numel() > 1 {
                assert!(outputs.contains(&i), "buf{i} is an intermediate array:\n{plan}");
            }
        }
    }
}

/// Kernels split over threads in chunks fixed by the shape: every thread count gives the same bits.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let n = 300_001;
    let g = gradjit_autodiff::grad(&seed(n), &[0, 2, 3]).unwrap();
    let rows = parse_function(
        "{ lambda ; a:f32[700,600]. let b:f32[600] = reduce_sum[axes=(0,)] a
            c:f32[700] = reduce_max[axes=(1,)] a
            d:f32[] = reduce_sum[axes=(0, 1)] a in (b, c, d) }",
    )
    .unwrap();
    let cases = [(g, seed_args(n)), (rows, vec![array(DType::F32, &[700, 600], 9, -1.0, 1.0)])];
    for (f, args) in cases {
        let refs: Vec<&HostArray> = args.iter().collect();
        let runs: Vec<Vec<HostArray>> = [Some(1), Some(2), Some(3), None]
            .into_iter()
            .map(|threads| {
                let exe = compile(&f, &CompileOptions { threads, ..Default::default() }).unwrap();
                exe.run(&refs).unwrap()
            })
            .collect();
        for r in &runs[1..] {
            assert_eq!(r, &runs[0], "thread counts disagree");
        }
        // And they agree with the interpreter.
        let want = gradjit_ir::interp::run(&f, &args).unwrap();
        for (g, w) in runs[0].iter().zip(&want) {
            compare(g, w, Tol::Rel(1e-4)).unwrap();
        }
    }
}

#[test]
fn executables_are_send_sync_and_run_concurrently() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Executable>();
    let f = seed(5000);
    let exe = compile(&f, &CompileOptions::default()).unwrap();
    let args = seed_args(5000);
    let want = exe.run(&args.iter().collect::<Vec<_>>()).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(exe.run(&args.iter().collect::<Vec<_>>()).unwrap(), want);
                }
            });
        }
    });
}

#[test]
fn the_cache_is_bounded_and_evicted_code_stays_valid_while_held() {
    let compiler = Compiler::with_capacity(2).unwrap();
    let opts = CompileOptions::default();
    let fs: Vec<Function> = (1..=3).map(|n| seed(n * 8)).collect();
    let first = compiler.compile(&fs[0], &opts).unwrap();
    compiler.compile(&fs[1], &opts).unwrap();
    assert_eq!(compiler.cached(), 2);
    // A hit returns the same compiled code.
    let again = compiler.compile(&fs[0], &opts).unwrap();
    assert!(Executable::same(&first, &again));
    compiler.compile(&fs[2], &opts).unwrap();
    assert_eq!(compiler.cached(), 2);
    // fs[1] was least recently used: evicted, so compiling it again makes new code.
    let args = seed_args(8);
    let out = first.run(&args.iter().collect::<Vec<_>>()).unwrap();
    assert_eq!(out.len(), 1);
}

#[test]
fn dumps_show_every_stage_and_gradjit_dump_writes_them() {
    let f = seed(100);
    let exe = compile(&f, &CompileOptions { dumps: true, ..Default::default() }).unwrap();
    let d = exe.dumps();
    assert!(d.ir.contains("reduce_sum"));
    assert!(d.fusion.contains("kernel k0"), "{}", d.fusion);
    assert!(d.clif.contains("function") && d.clif.contains("f32x4"), "{}", d.clif);
    assert!(d.clif_opt.contains("function"));
    assert!(!d.asm.trim().is_empty());

    let dir = std::env::temp_dir().join(format!("gradjit-dump-test-{}", std::process::id()));
    std::env::set_var("GRADJIT_DUMP", &dir);
    let g = seed(101);
    compile(&g, &CompileOptions::default()).unwrap();
    std::env::remove_var("GRADJIT_DUMP");
    let files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    for stage in ["ir", "simplified", "fusion", "clif", "clif-opt", "asm"] {
        assert!(files.iter().any(|n| n.ends_with(&format!(".{stage}.txt"))), "{stage} missing in {files:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_and_bad_functions_are_errors() {
    let f = seed(4);
    let exe = compile(&f, &CompileOptions::default()).unwrap();
    let args = seed_args(4);
    assert!(matches!(exe.run(&[&args[0]]), Err(CodegenError::ArgumentCount { expected: 4, actual: 1 })));
    let wrong = array(DType::F64, &[4], 1, 0.0, 1.0);
    assert!(matches!(
        exe.run(&[&args[0], &args[1], &wrong, &args[3]]),
        Err(CodegenError::ArgumentType { index: 2, .. })
    ));
    // An equation whose declared type is wrong does not verify.
    let mut bad = Function::new();
    let x = bad.add_param(gradjit_ir::TensorType::new(DType::F32, [3]));
    let y = bad.push_typed(
        gradjit_ir::Prim::Unary(gradjit_ir::UnaryOp::Exp),
        &[x],
        [gradjit_ir::TensorType::new(DType::F32, [4])],
        None,
    )[0];
    bad.outputs.push(y);
    assert!(matches!(compile(&bad, &CompileOptions::default()), Err(CodegenError::Verify(_))));
}

/// Memory planning: intermediates that are dead share arena bytes.
#[test]
fn dead_intermediates_share_memory() {
    // Four matrix products in a chain: each product's input dies when the next one is computed.
    let src = "{ lambda ; a:f32[64,64]. let
        b:f32[64,64] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a a
        c:f32[64,64] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] b a
        d:f32[64,64] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] c a
        e:f32[64,64] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] d a
      in (e,) }";
    let f = parse_function(src).unwrap();
    let exe = check_with(&f, &[array(DType::F32, &[64, 64], 1, -0.2, 0.2)], Tol::Rel(1e-4), &CompileOptions::default());
    // b, c, d are 16 KiB each; two live at a time at most.
    assert!(exe.arena_bytes() <= 2 * 64 * 64 * 4, "arena of {} bytes", exe.arena_bytes());
}
