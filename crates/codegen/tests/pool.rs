//! Output arrays come from the process-wide storage pool (`gradjit_ir::array::pool`): a steady stream of
//! calls reuses warm blocks instead of faulting in fresh pages, and an array the caller still holds is
//! never handed out again.
//!
//! One test, so that no other test of this binary allocates concurrently: the pool's counters and the
//! process's page faults are global.

mod common;

use common::array;
use gradjit_codegen::{compile, CompileOptions, Executable};
use gradjit_ir::array::pool;
use gradjit_ir::{parse_function, DType, HostArray};

/// The simplified gradient of the seed `mean(tanh(z*v + x*sum(y)))`: outputs `dx: [1]`, `dz, dv: [n]`.
fn seed_gradient(n: usize) -> Executable {
    let src = format!(
        "{{ lambda ; a:f32[1] b:f32[{n}] c:f32[{n}]. let
    d:f32[{n}] = mul b c
    e:f32[1] = constant[value=0.28840184]
    f:f32[1] = mul a e
    g:f32[{n}] = broadcast_in_dim[shape=({n},) broadcast_dimensions=(0,)] f
    h:f32[{n}] = add d g
    i:f32[{n}] = tanh h
    j:f32[{n}] = mul i i
    k:f32[{n}] = constant[value=1.0]
    l:f32[{n}] = sub k j
    m:f32[{n}] = constant[value=1e-5]
    n:f32[{n}] = mul m l
    o:f32[] = reduce_sum[axes=(0,)] n
    p:f32[1] = reshape[shape=(1,)] o
    q:f32[1] = mul p e
    r:f32[{n}] = mul n b
    s:f32[{n}] = mul n c
  in (q, s, r) }}"
    );
    compile(&parse_function(&src).unwrap(), &CompileOptions::default()).unwrap()
}

fn args(n: usize) -> Vec<HostArray> {
    vec![
        array(DType::F32, &[1], 1, -1.0, 1.0),
        array(DType::F32, &[n], 2, -1.0, 1.0),
        array(DType::F32, &[n], 3, -1.0, 1.0),
    ]
}

fn run(exe: &Executable, args: &[HostArray]) -> Vec<HostArray> {
    let refs: Vec<&HostArray> = args.iter().collect();
    exe.run(&refs).unwrap()
}

fn ptrs(outs: &[HostArray]) -> Vec<usize> {
    let mut p: Vec<usize> = outs.iter().map(|a| a.as_ptr() as usize).collect();
    p.sort_unstable();
    p
}

/// Minor page faults of this process so far (field 10 of /proc/self/stat).
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split_whitespace().nth(7)?.parse().ok()
}

#[test]
fn outputs_reuse_pooled_blocks_and_never_alias_held_arrays() {
    pool::set_limit(256 << 20);
    let n = 100_003;
    let (exe, a) = (seed_gradient(n), args(n));
    let first = run(&exe, &a);
    let expected: Vec<Vec<f32>> = first.iter().map(|x| x.to_vec::<f32>().unwrap()).collect();
    let first_ptrs = ptrs(&first);
    drop(first);

    // Dropped outputs went to the pool; the next call takes exactly those blocks back.
    let before = pool::stats();
    let second = run(&exe, &a);
    let after = pool::stats();
    assert!(after.hits >= before.hits + 3, "{before:?} -> {after:?}");
    assert_eq!(after.misses, before.misses, "no output went to the system: {before:?} -> {after:?}");
    assert_eq!(ptrs(&second), first_ptrs);
    for (x, e) in second.iter().zip(&expected) {
        assert_eq!(&x.to_vec::<f32>().unwrap(), e, "a reused block gives the same results");
    }

    // Held outputs are not in the pool: the next call gets other blocks and leaves them untouched.
    let third = run(&exe, &a);
    for p in ptrs(&third) {
        assert!(!ptrs(&second).contains(&p), "an output the caller holds was handed out again");
    }
    for ((x, y), e) in second.iter().zip(&third).zip(&expected) {
        assert_eq!(&x.to_vec::<f32>().unwrap(), e);
        assert_eq!(&y.to_vec::<f32>().unwrap(), e);
    }
    // Clones copy out of their own blocks too.
    let copy = third[1].clone();
    assert_ne!(copy.as_ptr(), third[1].as_ptr());
    assert_eq!(copy, third[1]);
    drop((second, third, copy));

    // Zeroed arrays are zero even on a dirty pooled block.
    let dirty = HostArray::full(gradjit_ir::Scalar::F32(7.0), [n]);
    drop(dirty);
    let zeros = HostArray::zeros(DType::F32, [n]);
    assert!(zeros.as_slice::<f32>().unwrap().iter().all(|&x| x == 0.0));
    drop(zeros);

    // Steady state at 2^21 elements (8 MiB outputs): calls fault in no fresh pages.
    let n = 1 << 21;
    let (exe, a) = (seed_gradient(n), args(n));
    // A caller replacing its results holds two calls' outputs at once, so two blocks per output get warm
    // in the first two calls; after that, calls fault in no fresh pages.
    let mut held = run(&exe, &a);
    let mut steady_faults = 0;
    for call in 0..7 {
        let f0 = minor_faults();
        let next = run(&exe, &a);
        drop(std::mem::replace(&mut held, next));
        if let (Some(f0), Some(f1), true) = (f0, minor_faults(), call >= 2) {
            steady_faults += f1 - f0;
        }
    }
    // Fresh outputs would fault 2 x 2048 pages per call.
    assert!(steady_faults < 400, "{steady_faults} minor page faults in 5 steady calls");
    assert_eq!(held[1].numel(), n);
    drop(held);

    // Bounded: lowering the limit releases what is beyond it, and a block over the limit is not kept.
    assert!(pool::stats().pooled_bytes >= 2 * 4 * n, "{:?}", pool::stats());
    pool::set_limit(1 << 20);
    let s = pool::stats();
    assert!(s.pooled_bytes <= 1 << 20, "{s:?}");
    let released = s.released;
    drop(run(&exe, &a));
    let s = pool::stats();
    assert!(s.released >= released + 2, "8 MiB outputs are released under a 1 MiB limit: {s:?}");
    assert!(s.pooled_bytes <= 1 << 20, "{s:?}");
    pool::set_limit(256 << 20);
}
