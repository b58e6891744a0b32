//! End-to-end tests of the `gradjit` binary: every example, every malformed file, every kind of
//! user error, with their outputs and exit codes.

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use std::path::{Path, PathBuf};

fn gradjit() -> Command {
    Command::cargo_bin("gradjit").expect("the gradjit binary is built")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(name: &str) -> String {
    repo().join("examples/ir").join(name).to_string_lossy().into_owned()
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples/ir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gj"))
        .collect();
    files.sort();
    files
}

fn stdout_of(cmd: &mut Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

fn json_of(cmd: &mut Command) -> serde_json::Value {
    serde_json::from_str(&stdout_of(cmd)).expect("valid JSON")
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(items) => items.iter().flat_map(floats).collect(),
        v => vec![v.as_f64().expect("a number")],
    }
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol, "{got:?} vs {want:?}");
    }
}

#[test]
fn the_examples_are_the_ones_the_issue_asks_for_and_a_loop() {
    let names: Vec<String> = examples().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["lif_scan.gj", "lif_step.gj", "mlp_loss.gj", "seed_example.gj", "softmax_xent.gj"]);
}

#[test]
fn check_passes_on_every_example() {
    for file in examples() {
        gradjit().arg("check").arg(&file).assert().success().stdout(
            contains("autodiff vs central differences")
                .and(contains("compiled vs interpreter"))
                .and(contains("FAIL").not())
                .and(contains("ok: every error is within tolerance")),
        );
    }
}

#[test]
fn every_example_dumps_every_stage() {
    for file in examples() {
        let out = stdout_of(gradjit().arg("dump").arg(&file));
        let headers: Vec<&str> =
            out.lines().filter(|l| l.starts_with("# == ")).map(|l| l.split([':', ' ']).nth(2).unwrap()).collect();
        assert_eq!(headers, ["traced", "simplified", "fused", "clif", "clif-opt", "asm"], "{file:?}");
        let out = stdout_of(gradjit().args(["dump", "--stage", "traced"]).arg(&file));
        let traced = out.lines().skip(1).collect::<Vec<_>>().join("\n");
        let text = std::fs::read_to_string(&file).unwrap();
        let canonical = gradjit_ir::parse_function(&text).unwrap().to_string();
        assert_eq!(traced, canonical);
    }
    let fused =
        stdout_of(gradjit().args(["dump", "--stage", "fused", "--argnums", "x,z,v", &example("seed_example.gj")]));
    assert!(fused.starts_with("# == fused\n") && fused.contains("kernel k0"), "{fused}");
    let asm = stdout_of(gradjit().args(["dump", "--stage", "asm", &example("lif_step.gj")]));
    assert!(asm.contains("ret"), "{asm}");
}

#[test]
fn every_example_runs_compiled_and_interpreted_alike() {
    let cases: [(&str, &[&str], &[&str]); 5] = [
        ("seed_example.gj", &["x=0", "y=random", "z=0.5", "v=random:3"], &["loss = array("]),
        ("mlp_loss.gj", &["w1=random", "b1=0", "w2=random:1", "b2=0", "x=random:2", "y=random:3"], &["loss = array("]),
        ("softmax_xent.gj", &["logits=0", "labels=[1, 2, 3, 4]"], &["loss = array(2.3025851, dtype=float32)"]),
        (
            "lif_step.gj",
            &["v=0.5", "I=[0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1 1 1 1 1 1 1]"],
            &["v_next = ", "spike = "],
        ),
        // A constant current of 0.25 drives v' = v/2 + 0.5 towards 1 from below: no spike, and
        // from v0 = 0 the potentials are 1 - 2^-t, so the loss is mean((1 - 2^-t)^2) over t = 1..20.
        ("lif_scan.gj", &["v0=0", "I=0.25"], &["loss = array(0.916666"]),
    ];
    for (name, inputs, expected) in cases {
        let run = |extra: &[&str]| {
            let mut cmd = gradjit();
            cmd.args(["run", &example(name)]).args(extra);
            for i in inputs {
                cmd.args(["--input", i]);
            }
            cmd
        };
        let out = stdout_of(&mut run(&[]));
        for e in expected {
            assert!(out.contains(e), "{name}: {out}");
        }
        let compiled = json_of(&mut run(&["--json"]));
        let interpreted = json_of(&mut run(&["--json", "--interpret"]));
        let (c, i) = (compiled["outputs"].as_array().unwrap(), interpreted["outputs"].as_array().unwrap());
        assert_eq!(c.len(), i.len());
        for (c, i) in c.iter().zip(i) {
            assert_eq!((&c["name"], &c["shape"]), (&i["name"], &i["shape"]));
            assert_close(&floats(&c["data"]), &floats(&i["data"]), 1e-5);
        }
    }
}

#[test]
fn bench_reports_compile_time_per_call_and_throughput() {
    let out = stdout_of(gradjit().args(["bench", &example("seed_example.gj"), "--argnums", "x,z,v", "--time", "0.05"]));
    assert!(out.starts_with("bench ") && out.contains("gradient with respect to x, z, v, compiled"), "{out}");
    for row in ["compile ", "first call ", "per call ", "throughput "] {
        assert!(out.contains(row), "{row} missing in {out}");
    }
    let json =
        json_of(gradjit().args(["bench", &example("lif_step.gj"), "--time", "0.05", "--json", "--threads", "1"]));
    assert_eq!(json["engine"], "compiled");
    assert!(json["compile_s"].as_f64().unwrap() > 0.0 && json["median_s"].as_f64().unwrap() > 0.0);
    // Two f32[16] inputs, two f32[16] outputs.
    assert_eq!(json["bytes_per_call"], 4 * 16 * 4);
    let json = json_of(gradjit().args(["bench", &example("lif_step.gj"), "--time", "0.05", "--json", "--interpret"]));
    assert_eq!((json["engine"].as_str(), json["compile_s"].is_null()), (Some("interpreter"), true));
    gradjit().args(["bench", &example("lif_step.gj"), "--time", "0"]).assert().code(2);
}

/// The numbers of BrainPy's documentation for its `Example` (z = 0.5, v = 0.1·arange(10), x = 0).
#[test]
fn grad_of_the_seed_example_gives_brainpys_numbers() {
    let json = json_of(gradjit().args([
        "grad",
        &example("seed_example.gj"),
        "--argnums",
        "x,z,v",
        "--return-value",
        "--json",
        "-i",
        "x=0",
        "-i",
        "y=random",
        "-i",
        "z=0.5",
        "-i",
        "v=[0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]",
    ]));
    let grads = json["grads"].as_array().unwrap();
    let names: Vec<&str> = grads.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["grad_x", "grad_z", "grad_v"]);
    assert_eq!(grads[0]["shape"], serde_json::json!([1]));
    let dz = [0.0, 0.009975, 0.019801, 0.029335, 0.038442, 0.047001, 0.054908, 0.06208, 0.068451, 0.07398];
    let dv = [0.05, 0.049875, 0.049503, 0.048892, 0.048052, 0.047001, 0.045757, 0.044343, 0.042782, 0.0411];
    assert_close(&floats(&grads[1]["data"]), &dz, 1e-6);
    assert_close(&floats(&grads[2]["data"]), &dv, 1e-6);
    assert_close(&floats(&json["loss"]["data"]), &[0.217034], 1e-6);
    assert_eq!(json["loss"]["name"], "loss");
}

#[test]
fn grad_prints_gradients_then_loss_then_aux_like_brainpy() {
    let file = write_temp(
        "aux.gj",
        "{ lambda ; a:f32[] b:f32[]. let\n    ab:f32[] = mul a b\n    aux:f32[] = add a b\n  in (ab, aux) }",
    );
    let out =
        stdout_of(gradjit().args(["grad", "--interpret", "--argnums", "1,0", "--has-aux", "--return-value"]).args([
            file.path(),
            "-i".as_ref(),
            "a=2".as_ref(),
            "-i".as_ref(),
            "b=3".as_ref(),
        ]));
    assert_eq!(
        out,
        "grad_b = array(2., dtype=float32)\ngrad_a = array(3., dtype=float32)\nab = array(6., dtype=float32)\n\
         aux = array(5., dtype=float32)\n"
    );
    gradjit()
        .args(["grad", "--interpret"])
        .arg(file.path())
        .args(["-i", "a=2", "-i", "b=3"])
        .assert()
        .code(2)
        .stderr(contains("returns 2 outputs; pass --has-aux"));
}

#[test]
fn grad_refuses_what_cannot_be_differentiated() {
    gradjit()
        .args(["grad", "--interpret", "--has-aux", &example("lif_step.gj"), "-i", "v=0", "-i", "I=0"])
        .assert()
        .code(3)
        .stderr(contains("grad is only defined for scalar-output functions, but output 0 is f32[16]"));
    gradjit()
        .args([
            "grad",
            "--interpret",
            "--argnums",
            "labels",
            &example("softmax_xent.gj"),
            "-i",
            "logits=0",
            "-i",
            "labels=0",
        ])
        .assert()
        .code(2)
        .stderr(contains("cannot differentiate with respect to `labels:i32[4]`"));
}

/// Each file in tests/malformed/ states its expected error on its second line, Cranelift style:
/// `# error: LINE:COL: MESSAGE`. Every subcommand reports it as `file:line:col: message`, the
/// line, a caret under the column, and exit code 2.
#[test]
fn malformed_files_report_file_line_column_and_a_caret() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 15, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected = text.lines().nth(1).and_then(|l| l.strip_prefix("# error: ")).expect("an `# error:` line");
        let mut parts = expected.splitn(3, ':');
        let line: usize = parts.next().unwrap().parse().unwrap();
        let col: usize = parts.next().unwrap().parse().unwrap();
        let message = parts.next().unwrap().trim_start();
        let source_line = text.lines().nth(line - 1).unwrap_or("");
        let caret = format!("{}^", " ".repeat(col - 1));
        let path = file.to_string_lossy();
        let want = format!("error: {path}:{line}:{col}: {message}\n{source_line}\n{caret}\n");
        for args in [&["run", "--interpret"][..], &["dump"], &["check"], &["grad"]] {
            gradjit().args(args).arg(&file).assert().code(2).stdout("").stderr(want.clone());
        }
    }
}

#[test]
fn input_errors_name_the_parameter() {
    let seed = example("seed_example.gj");
    let cases: [(&[&str], &str); 7] = [
        (&["-i", "x=0"], "missing --input for y:f32[10], z:f32[10], v:f32[10] of"),
        (&["-i", "q=0"], "has no parameter `q`; its parameters are x:f32[1], y:f32[10], z:f32[10], v:f32[10]"),
        (&["-i", "y=[1, 2, 3]"], "--input y=[1, 2, 3]: the parameter is f32[10] but the value has shape (3,)"),
        (&["-i", "x=0", "-i", "0=1"], "parameter `x` is given more than one --input"),
        (&["-i", "z=abc"], "--input z=abc: `abc` is not a f32 number"),
        (&["-i", "v=@/nonexistent.npy"], "--input v=@/nonexistent.npy: /nonexistent.npy: No such file"),
        (&["-i", "x"], "`x` is not of the form name=VALUE"),
    ];
    for (inputs, message) in cases {
        gradjit().args(["run", "--interpret", &seed]).args(inputs).assert().code(2).stderr(contains(message));
    }
    gradjit()
        .args(["run", "--interpret", "/nonexistent/f.gj"])
        .assert()
        .code(2)
        .stderr(contains("error: /nonexistent/f.gj: No such file"));
}

#[test]
fn npy_files_carry_outputs_back_in_as_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let lif = example("lif_step.gj");
    let first = json_of(
        gradjit()
            .args(["run", "--interpret", "--json", &lif, "-i", "v=random", "-i", "I=random:1", "--save"])
            .arg(dir.path()),
    );
    let v_next = floats(&first["outputs"][0]["data"]);
    let saved = dir.path().join("v_next.npy");
    let bytes = std::fs::read(&saved).unwrap();
    assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
    assert_eq!(bytes.len(), 128 + 16 * 4);
    assert!(dir.path().join("spike.npy").exists());
    // With no input current, one step halves the potential (v' = v + 0.5·(0 - v)), exactly in
    // binary, and no reset potential (<= 1) can spike.
    let second = json_of(
        gradjit()
            .args(["run", "--interpret", "--json", &lif, "-i", "I=0"])
            .arg("-i")
            .arg(format!("v=@{}", saved.display())),
    );
    let as_f32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
    let halved: Vec<f32> = as_f32(v_next).iter().map(|v| v * 0.5).collect();
    assert_eq!(as_f32(floats(&second["outputs"][0]["data"])), halved);
    assert_eq!(floats(&second["outputs"][1]["data"]), vec![0.0; 16]);

    let bad = dir.path().join("fortran.npy");
    let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (16,), }";
    let mut file = b"\x93NUMPY\x01\x00".to_vec();
    file.extend_from_slice(&(header.len() as u16).to_le_bytes());
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&[0; 64]);
    std::fs::write(&bad, file).unwrap();
    gradjit()
        .args(["run", "--interpret", &lif, "-i", "I=0"])
        .arg("-i")
        .arg(format!("v=@{}", bad.display()))
        .assert()
        .code(2)
        .stderr(contains("Fortran-order arrays are not supported"));
}

#[test]
fn check_fails_with_exit_1_where_the_derivative_does_not_exist() {
    // |x| at 0: autodiff takes the slope 1 (as JAX does), central differences see 0.
    let file = write_temp("abs.gj", "{ lambda ; x:f64[]. let y:f64[] = abs x in (y,) }");
    gradjit()
        .args(["check", "--interpret"])
        .arg(file.path())
        .args(["-i", "x=0"])
        .assert()
        .code(1)
        .stdout(contains("FAIL").and(contains("FAILED: some errors are beyond tolerance")));
    gradjit().args(["check", "--interpret"]).arg(file.path()).args(["-i", "x=0.5"]).assert().success();
}

#[test]
fn check_handles_complex_inputs_and_vector_outputs() {
    let file = write_temp(
        "complex.gj",
        "{ lambda ; z:c64[3] w:f32[3]. let\n    zz:c64[3] = mul z z\n    r:f32[3] = real zz\n    s:f32[3] = mul r w\n    \
         e:f32[3] = exp s\n  in (e, zz) }",
    );
    let json = json_of(gradjit().args(["check", "--interpret", "--json"]).arg(file.path()));
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["gradients"].as_array().unwrap().len(), 2);
    assert!(json["checked"].as_str().unwrap().contains("a VJP check"));
}

#[test]
fn dump_shows_grad_and_each_pass_and_its_output_parses_again() {
    let seed = example("seed_example.gj");
    let out = stdout_of(gradjit().args(["dump", &seed, "--argnums", "x,z,v"]));
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("# == ")).collect();
    assert_eq!(headers.len(), 7, "{out}");
    assert!(headers[0].starts_with("# == traced: ") && headers[0].ends_with("(10 equations)"));
    assert!(headers[1].starts_with("# == grad with respect to x, z, v ("));
    assert!(headers[2].starts_with("# == simplified ("));
    assert_eq!(headers[3..], ["# == fused", "# == clif", "# == clif-opt", "# == asm"]);

    let after = stdout_of(gradjit().args(["dump", &seed, "--argnums", "x,z,v", "--after", "dce"]));
    assert!(after.starts_with("# == after dce (round 1): "), "{after}");
    assert!(after.contains("# == after dce (round 2): unchanged"));

    let dir = tempfile::tempdir().unwrap();
    let simplified = dir.path().join("grad.gj");
    gradjit()
        .args(["dump", &seed, "--argnums", "x,z,v", "--stage", "simplified", "-o"])
        .arg(&simplified)
        .assert()
        .success()
        .stdout("");
    let out = stdout_of(
        gradjit()
            .args(["run", "--interpret", "-i", "a=0", "-i", "b=random", "-i", "c=0.5", "-i", "d=0.5"])
            .arg(&simplified),
    );
    assert_eq!(out.lines().filter(|l| l.contains(" = array(")).count(), 4, "{out}");

    let passes: Vec<&str> = gradjit_ir::passes::PIPELINE.iter().map(|(name, _)| *name).collect();
    gradjit()
        .args(["dump", &seed, "--after", "fuse"])
        .assert()
        .code(2)
        .stderr(contains(format!("unknown pass `fuse`; the passes are {} (or all)", passes.join(", "))));
}

#[test]
fn dump_writes_graphviz() {
    let out = stdout_of(gradjit().args(["dump", "--format", "dot", &example("lif_step.gj")]));
    assert!(out.starts_with("digraph \""));
    assert!(out.contains("p1 [shape=ellipse label=\"I (b:f32[16])\"];"));
    assert!(out.contains("o1 [shape=plaintext label=\"spike: f32[16]\"];"));
    assert!(out.trim_end().ends_with('}'));
    gradjit()
        .args(["dump", "--format", "dot", "--stage", "all", &example("lif_step.gj")])
        .assert()
        .code(2)
        .stderr(contains("--format dot draws one IR stage"));
}

#[test]
fn standard_input_is_read_for_dash() {
    gradjit()
        .args(["run", "-", "-i", "a=[1, 2]"])
        .write_stdin("{ lambda ; a:f64[2]. let b:f64[2] = mul a a in (b,) }")
        .assert()
        .success()
        .stdout("b = array([1., 4.], dtype=float64)\n");
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["dump", "run", "grad", "check", "bench"] {
        gradjit().args([sub, "--help"]).assert().success().stdout(contains("Usage: gradjit"));
    }
    gradjit().arg("--help").assert().success().stdout(contains("Exit codes: 0 success"));
    gradjit().arg("frobnicate").assert().code(2);
}

/// A file with `text` in a temporary directory that lives as long as the returned guard.
fn write_temp(name: &str, text: &str) -> TempFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    TempFile { _dir: dir, path }
}

struct TempFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TempFile {
    fn path(&self) -> &Path {
        &self.path
    }
}
