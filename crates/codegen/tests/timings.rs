//! Compile and run times of representative workloads, printed (not asserted: timing is for the
//! criterion benchmarks). Run with `cargo test --release -p gradjit-codegen --test timings -- --ignored
//! --nocapture`.

mod common;

use common::array;
use gradjit_codegen::{compile, CompileOptions, Compiler};
use gradjit_ir::{parse_function, DType, Function, HostArray};
use std::time::Instant;

fn mlp_loss(batch: usize) -> Function {
    let src = format!(
        "{{ lambda ; w1:f32[784,256] b1:f32[256] w2:f32[256,10] b2:f32[10] x:f32[{b},784] y:f32[{b},10]. let
    h:f32[{b},256] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] x w1
    b1b:f32[{b},256] = broadcast_in_dim[shape=({b}, 256) broadcast_dimensions=(1,)] b1
    h1:f32[{b},256] = add h b1b
    z:f32[{b},256] = constant[value=0.0]
    a:f32[{b},256] = max h1 z
    o:f32[{b},10] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a w2
    b2b:f32[{b},10] = broadcast_in_dim[shape=({b}, 10) broadcast_dimensions=(1,)] b2
    o1:f32[{b},10] = add o b2b
    m:f32[{b}] = reduce_max[axes=(1,)] o1
    mb:f32[{b},10] = broadcast_in_dim[shape=({b}, 10) broadcast_dimensions=(0,)] m
    s:f32[{b},10] = sub o1 mb
    e:f32[{b},10] = exp s
    se:f32[{b}] = reduce_sum[axes=(1,)] e
    ls:f32[{b}] = log se
    lsb:f32[{b},10] = broadcast_in_dim[shape=({b}, 10) broadcast_dimensions=(0,)] ls
    lp:f32[{b},10] = sub s lsb
    t:f32[{b},10] = mul lp y
    tot:f32[] = reduce_sum[axes=(0, 1)] t
    c:f32[] = constant[value=-0.00390625]
    loss:f32[] = mul tot c
  in (loss,) }}",
        b = batch
    );
    parse_function(&src).unwrap()
}

fn seed(n: usize) -> Function {
    parse_function(&format!(
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
    ))
    .unwrap()
}

fn time(name: &str, f: &Function, args: &[HostArray], reps: usize) {
    let compiler = Compiler::new().unwrap();
    let t = Instant::now();
    let exe = compiler.compile(f, &CompileOptions::default()).unwrap();
    let compile_ms = t.elapsed().as_secs_f64() * 1e3;
    let refs: Vec<&HostArray> = args.iter().collect();
    exe.run(&refs).unwrap();
    let t = Instant::now();
    for _ in 0..reps {
        exe.run(&refs).unwrap();
    }
    let run_us = t.elapsed().as_secs_f64() * 1e6 / reps as f64;
    let t = Instant::now();
    gradjit_ir::interp::run(f, args).unwrap();
    let interp_us = t.elapsed().as_secs_f64() * 1e6;
    let kernels = exe.plan().kernels().count();
    println!(
        "{name:32} compile {compile_ms:7.2} ms  run {run_us:9.1} us  interpreter {interp_us:10.1} us  ({kernels} kernels, {} steps)",
        exe.plan().steps.len()
    );
}

#[test]
#[ignore]
fn print_compile_and_run_times() {
    let _ = compile(&seed(8), &CompileOptions::default());
    for n in [1000, 1_000_000] {
        let f = seed(n);
        let g = gradjit_autodiff::grad(&f, &[0, 2, 3]).unwrap();
        let args = vec![
            array(DType::F32, &[1], 1, -1.0, 1.0),
            array(DType::F32, &[n], 2, 0.0, 1.0),
            array(DType::F32, &[n], 3, -1.0, 1.0),
            array(DType::F32, &[n], 4, -1.0, 1.0),
        ];
        time(&format!("seed value n={n}"), &f, &args, 50);
        time(&format!("seed grad n={n}"), &g, &args, 50);
    }
    let f = mlp_loss(256);
    let g = gradjit_autodiff::grad(&f, &[0, 1, 2, 3]).unwrap();
    let args: Vec<HostArray> =
        f.params.iter().enumerate().map(|(i, &p)| array(DType::F32, f.ty(p).dims(), i as u64, -0.1, 0.1)).collect();
    time("mlp loss batch=256", &f, &args, 20);
    time("mlp grad batch=256", &g, &args, 20);
}
