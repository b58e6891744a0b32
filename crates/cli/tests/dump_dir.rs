//! A dump directory written by a Rust program through `GRADJIT_DUMP` is readable by
//! `gradjit dump`.
//!
//! This test binary is that Rust program: it traces BrainPy's `Example` with the library,
//! differentiates it and compiles it with `GRADJIT_DUMP` set, then reads the directory back with
//! the CLI. It is alone in its binary because it sets an environment variable.

use assert_cmd::Command;
use gradjit::{make_ir, Array, Tensor, TrainVar};
use predicates::prelude::*;
use predicates::str::contains;

#[test]
fn the_dump_directory_of_a_rust_program_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let x = TrainVar::new(Array::zeros([1]));
    let y = Array::from(vec![0.1f32, 0.5, 0.2, 0.3, 0.4, 0.6, 0.7, 0.1, 0.2, 0.25]);
    let f = |z: Tensor, v: Tensor| {
        let t1 = x.value() * Tensor::from(&y).sum();
        (z * v + t1).tanh().mean()
    };
    let traced = make_ir(f, (&Array::ones([10]), &Array::ones([10]))).unwrap();
    let grad = gradjit_autodiff::grad(traced.function(), &[0, 1, 2]).unwrap();
    std::env::set_var("GRADJIT_DUMP", dir.path());
    gradjit_codegen::compile(&grad, &gradjit_codegen::CompileOptions::default()).unwrap();
    std::env::remove_var("GRADJIT_DUMP");

    let gradjit = || Command::cargo_bin("gradjit").unwrap();
    let all = gradjit().arg("dump").arg(dir.path()).assert().success();
    let out = String::from_utf8(all.get_output().stdout.clone()).unwrap();
    let headers: Vec<&str> =
        out.lines().filter(|l| l.starts_with("# == ")).map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(headers, ["# == traced", "# == simplified", "# == fused", "# == clif", "# == clif-opt", "# == asm"]);
    assert!(out.contains(&grad.to_string()), "the traced stage is the compiled function");

    // One stage of one compilation, named by any of its files.
    let ir_file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".ir.txt"))
        .unwrap();
    let fusion_file = ir_file.to_string_lossy().replace(".ir.txt", ".fusion.txt");
    gradjit()
        .args(["dump", &fusion_file, "--stage", "fused"])
        .assert()
        .success()
        .stdout(contains("# == fused: ").and(contains("kernel")));
    gradjit()
        .arg("dump")
        .arg(dir.path())
        .args(["--stage", "grad"])
        .assert()
        .code(2)
        .stderr(contains("not a separate grad stage"));

    // The stored IR is an ordinary IR file: the whole pipeline runs on it again.
    gradjit().args(["check", "--interpret"]).arg(&ir_file).assert().success();
    gradjit()
        .args(["run", "--interpret", "-i", "a=0.5", "-i", "b=0.5", "-i", "c=0"])
        .arg(&ir_file)
        .assert()
        .success()
        .stdout(contains(" = array("));
}
