//! What a compiled `scan` costs per step beyond its body: a scalar body (one multiply-add) run for
//! 10 and for 1000 steps. The difference over 990 steps is the loop driver's per-step overhead
//! (binding the body's pointers, swapping carries, calling its kernel).
//!
//! `cargo bench --bench scan_step`

use criterion::{criterion_group, criterion_main, Criterion};
use gradjit_codegen::{compile, CompileOptions};
use gradjit_ir::{parse_function, HostArray};
use std::time::Duration;

fn scan_of_length(length: usize) -> String {
    format!(
        "{{ lambda ; a:f32[] c0:f32[] xs:f32[{length}] . let
            c:f32[] ys:f32[{length}] = scan[length={length} reverse=false num_consts=1 num_carry=1 body={{ lambda ; a:f32[] c:f32[] x:f32[]. let
                    d:f32[] = mul c a
                    e:f32[] = add d x
                  in (e, d) }}] a c0 xs
          in (c, ys) }}"
    )
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("scan_step");
    group.sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    for length in [10usize, 1000] {
        let f = parse_function(&scan_of_length(length)).expect("parses");
        let exe = compile(&f, &CompileOptions::default()).expect("compiles");
        let a = HostArray::from_vec([], vec![0.9f32]).expect("scalar");
        let c0 = HostArray::from_vec([], vec![0.5f32]).expect("scalar");
        let xs = HostArray::from_vec([length], (0..length).map(|i| (i as f32 * 0.37).sin()).collect()).expect("xs");
        group.bench_function(format!("length_{length}"), |b| b.iter(|| exe.run(&[&a, &c0, &xs]).expect("runs")));
    }
    group.finish();
}

criterion_group!(scan_step, benches);
criterion_main!(scan_step);
