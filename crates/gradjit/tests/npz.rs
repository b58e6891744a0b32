//! `.npz` files: bit-exact round trips of every dtype, a module and an optimiser saved and
//! restored mid-training, numpy reading our files and us reading numpy's (when a Python with
//! numpy is available), and the errors: missing and mismatched variables, corrupt and
//! compressed files, failed writes that leave nothing half-written.

use gradjit::optim::Adam;
use gradjit::{npz, value_and_grad, Array, DType, Error, Module, ModuleName, Tensor, TrainVar, Var, VarCollection};
use num_complex::{Complex32, Complex64};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory for one test, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("gradjit-npz-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Files of `dir`, sorted (to see that no temporary file is left behind).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Variables of every dtype numpy has, with values that test the bits: NaN payloads, -0.0,
/// infinities, extremes, an empty array and a scalar.
fn every_dtype() -> VarCollection {
    let nan_payload = f32::from_bits(0x7fc0_1234);
    let arrays = [
        (
            "f32",
            Array::from_vec([2, 3], vec![1.5f32, -0.0, nan_payload, f32::INFINITY, f32::MIN_POSITIVE, -3e38]).unwrap(),
        ),
        ("f64", Array::from_vec([4], vec![std::f64::consts::PI, -0.0, f64::NEG_INFINITY, 5e-324]).unwrap()),
        ("i32", Array::from_vec([2, 2], vec![i32::MIN, -1, 0, i32::MAX]).unwrap()),
        ("i64", Array::from_vec([3], vec![i64::MIN, 42, i64::MAX]).unwrap()),
        ("bool", Array::from_vec([3], vec![true, false, true]).unwrap()),
        ("c64", Array::from_vec([2], vec![Complex32::new(1.0, -2.0), Complex32::new(-0.0, 3.5)]).unwrap()),
        ("c128", Array::from_vec([1], vec![Complex64::new(1e300, -1e-300)]).unwrap()),
        ("scalar", Array::from(2.5f32)),
        ("empty", Array::zeros([0, 3])),
        ("nested/name.with.dots", Array::from(vec![7i32])),
    ];
    let mut vars = VarCollection::new();
    for (name, a) in arrays {
        vars.insert(name, Var::new(a)).unwrap();
    }
    vars
}

#[test]
fn save_then_load_round_trips_every_dtype_bit_exactly() {
    let dir = scratch("roundtrip");
    let path = dir.join("vars.npz");
    let vars = every_dtype();
    let saved: Vec<Array> = vars.vars().map(Var::get).collect();
    npz::save(&path, &vars).unwrap();
    for var in vars.vars() {
        var.assign(Array::zeros_of(var.dtype(), var.shape())).unwrap();
    }
    npz::load(&path, &vars).unwrap();
    for ((name, var), before) in vars.iter().zip(&saved) {
        assert!(var.get().as_host().bit_eq(before.as_host()), "{name}: {} after loading {before}", var.get());
    }
    let read = npz::read(&path).unwrap();
    assert_eq!(read.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vars.names().collect::<Vec<_>>());
    // The same variables give the same bytes: nothing depends on the time of writing.
    let again = dir.join("again.npz");
    npz::save(&again, &vars).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&again).unwrap());
    assert_eq!(listing(&dir.0), ["again.npz", "vars.npz"], "no temporary file is left");
}

#[derive(Module)]
struct Linear {
    name: ModuleName,
    w: TrainVar,
    b: TrainVar,
    /// State that is not trained, saved with the rest.
    calls: Var,
}

impl Linear {
    fn new(seed: f32) -> Linear {
        let w: Vec<f32> = (0..6).map(|i| ((i as f32 + seed) * 0.7).sin()).collect();
        Linear {
            name: ModuleName::new("Linear"),
            w: TrainVar::new(Array::from_vec([3, 2], w).unwrap()),
            b: TrainVar::new(Array::zeros([2])),
            calls: Var::new(0i32),
        }
    }

    fn loss(&self, x: &Tensor, y: &Tensor) -> gradjit::Result<Tensor> {
        self.calls.set(&(self.calls.value() + 1i32))?;
        Ok((x.matmul(&self.w.value()) + self.b.value() - y).square().mean())
    }
}

/// The model's variables (relative names, stable across processes) and the optimiser's state
/// under `opt/`: one checkpoint.
fn checkpoint(net: &Linear, opt_state: &VarCollection) -> VarCollection {
    let mut all = net.vars_relative().unwrap();
    for (name, var) in opt_state.iter() {
        all.insert(format!("opt/{name}"), var).unwrap();
    }
    all
}

#[test]
fn a_module_and_its_optimiser_resume_exactly_from_a_checkpoint() {
    let dir = scratch("resume");
    let path = dir.join("ckpt.npz");
    let x = Array::from_vec([4, 3], (0..12).map(|i| (i as f32 * 0.37).cos()).collect::<Vec<f32>>()).unwrap();
    let y = Array::from_vec([4, 2], (0..8).map(|i| (i as f32 * 0.21).sin()).collect::<Vec<f32>>()).unwrap();
    let net = Linear::new(0.0);
    // Relative names (`w`, not `Linear0.w`) do not depend on how many modules the process made.
    let params = net.vars_relative().unwrap().trainable();
    let opt = Adam::new(0.05).build(&params).unwrap();
    let step = || {
        let r = value_and_grad(|x: Tensor, y: Tensor| net.loss(&x, &y)).grad_vars(&params).call((&x, &y)).unwrap();
        opt.update(&r).unwrap();
    };
    for _ in 0..3 {
        step();
    }
    let ckpt = checkpoint(&net, &opt.state());
    assert_eq!(
        ckpt.names().collect::<Vec<_>>(),
        ["w", "b", "calls", "opt/count", "opt/mu-w", "opt/mu-b", "opt/nu-w", "opt/nu-b"]
    );
    npz::save(&path, &ckpt).unwrap();
    for _ in 0..4 {
        step();
    }
    let continued: Vec<Array> = ckpt.vars().map(Var::get).collect();

    // A new process: a fresh model and optimiser, restored from the file, take the same steps.
    let net2 = Linear::new(5.0);
    let params2 = net2.vars_relative().unwrap().trainable();
    let opt2 = Adam::new(0.05).build(&params2).unwrap();
    let ckpt2 = checkpoint(&net2, &opt2.state());
    npz::load(&path, &ckpt2).unwrap();
    assert_eq!(opt2.step_count().unwrap(), 3);
    assert_eq!(net2.calls.get().item::<i32>().unwrap(), 3);
    for _ in 0..4 {
        let r = value_and_grad(|x: Tensor, y: Tensor| net2.loss(&x, &y)).grad_vars(&params2).call((&x, &y)).unwrap();
        opt2.update(&r).unwrap();
    }
    for ((name, var), want) in ckpt2.iter().zip(&continued) {
        assert!(var.get().as_host().bit_eq(want.as_host()), "{name}: {} vs {want}", var.get());
    }
}

#[test]
fn load_checks_every_variable_before_changing_any() {
    let dir = scratch("mismatch");
    let path = dir.join("vars.npz");
    let (a, b, c) = (Var::new(Array::ones([2])), Var::new(Array::ones([3])), Var::new(1i32));
    let mut saved = VarCollection::new();
    saved.insert("a", &a).unwrap();
    saved.insert("b", &b).unwrap();
    saved.insert("c", &c).unwrap();
    npz::save(&path, &saved).unwrap();

    let a2 = Var::new(Array::zeros([2]));
    let b2 = Var::new(Array::zeros([4]));
    let c2 = Var::new(0.0f32);
    let d2 = Var::new(0.0f32);
    let mut wanted = VarCollection::new();
    for (name, var) in [("a", &a2), ("b", &b2), ("c", &c2), ("d", &d2)] {
        wanted.insert(name, var).unwrap();
    }
    let e = npz::load(&path, &wanted).unwrap_err();
    assert!(matches!(e, Error::File { .. }));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: cannot load 3 variables, none was changed: `b` is f32[3] in the file but f32[4] in the program; `c` is \
             i32[] in the file but f32[] in the program; `d` (f32[]) is not in the file",
            path.display()
        )
    );
    assert_eq!(a2.get().to_vec::<f32>().unwrap(), [0.0, 0.0], "`a` matched but was not assigned");
    // A subset of the file loads; the file's other arrays are ignored.
    let mut subset = VarCollection::new();
    subset.insert("a", &a2).unwrap();
    npz::load(&path, &subset).unwrap();
    assert_eq!(a2.get().to_vec::<f32>().unwrap(), [1.0, 1.0]);
}

#[test]
fn unreadable_files_are_clear_errors() {
    let dir = scratch("unreadable");
    let missing = dir.join("missing.npz");
    let e = npz::read(&missing).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: cannot read the file: ", missing.display())), "{e}");

    let garbage = dir.join("garbage.npz");
    std::fs::write(&garbage, b"this is not a zip archive at all, just some text").unwrap();
    let e = npz::read(&garbage).unwrap_err().to_string();
    assert_eq!(e, format!("{}: not a readable .npz file: no end of central directory record", garbage.display()));

    let vars = every_dtype();
    let good = dir.join("good.npz");
    npz::save(&good, &vars).unwrap();
    let mut bytes = std::fs::read(&good).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    let corrupt = dir.join("corrupt.npz");
    std::fs::write(&corrupt, &bytes).unwrap();
    let e = npz::read(&corrupt).unwrap_err().to_string();
    assert!(e.contains("is corrupt (its CRC-32 does not match)"), "{e}");
    let e = npz::load(&corrupt, &vars).unwrap_err().to_string();
    assert!(e.contains("corrupt"), "{e}");
}

#[test]
fn a_failed_save_leaves_the_old_file_and_no_temporary_file() {
    let dir = scratch("failed-save");
    let path = dir.join("vars.npz");
    let mut good = VarCollection::new();
    good.insert("x", Var::new(Array::from(vec![1.0f32, 2.0]))).unwrap();
    npz::save(&path, &good).unwrap();
    let before = std::fs::read(&path).unwrap();

    // float0 has no numpy dtype: the save fails before anything is written.
    let mut bad = good.clone();
    bad.insert("tangent", Var::new(Array::zeros_of(DType::Float0, [2]))).unwrap();
    let e = npz::save(&path, &bad).unwrap_err().to_string();
    assert_eq!(e, format!("{}: cannot save `tangent`: float0 arrays have no numpy equivalent", path.display()));
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // A directory that does not exist: the write fails, nothing is created.
    let nowhere = dir.join("no-such-dir").join("vars.npz");
    let e = npz::save(&nowhere, &good).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: cannot write the file: ", nowhere.display())), "{e}");

    // The destination is a directory: the rename fails and the temporary file is removed.
    let occupied = dir.join("occupied.npz");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("keep"), b"").unwrap();
    assert!(npz::save(&occupied, &good).is_err());
    assert_eq!(listing(&dir.0), ["occupied.npz", "vars.npz"]);
}

/// A Python with numpy: the reference environment, else the system's; `None` skips the checks
/// that need it (the Rust round trips above do not).
fn python_with_numpy() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-ref/bin/python");
    [venv, PathBuf::from("python3")]
        .into_iter()
        .find(|p| Command::new(p).args(["-c", "import numpy"]).output().is_ok_and(|o| o.status.success()))
}

#[test]
fn numpy_reads_our_files_and_we_read_numpys() {
    let Some(python) = python_with_numpy() else {
        eprintln!("skipped: no python with numpy");
        return;
    };
    let dir = scratch("numpy");
    let ours = dir.join("ours.npz");
    npz::save(&ours, &every_dtype()).unwrap();
    // numpy loads every array, with our names, dtypes, shapes and bits; then it writes its own
    // archive (np.savez: zip64 local headers) and a compressed one.
    let script = r#"
import sys, numpy as np
d = np.load(sys.argv[1])
want = {"f32": ("float32", (2, 3)), "f64": ("float64", (4,)), "i32": ("int32", (2, 2)), "i64": ("int64", (3,)),
        "bool": ("bool", (3,)), "c64": ("complex64", (2,)), "c128": ("complex128", (1,)), "scalar": ("float32", ()),
        "empty": ("float32", (0, 3)), "nested/name.with.dots": ("int32", (1,))}
assert sorted(d.files) == sorted(want), d.files
for k, (dt, shape) in want.items():
    assert (str(d[k].dtype), d[k].shape) == (dt, shape), (k, d[k].dtype, d[k].shape)
f32 = d["f32"].reshape(-1)
assert f32.view(np.uint32)[2] == 0x7fc01234 and np.signbit(f32[1]) and f32[3] == np.inf, f32
assert d["i64"][0] == np.iinfo(np.int64).min and d["c64"][1] == np.complex64(-0.0 + 3.5j)
assert d["c128"][0] == 1e300 - 1e-300j and d["scalar"] == 2.5 and list(d["bool"]) == [True, False, True]
np.savez(sys.argv[2], w=np.arange(6, dtype=np.float32).reshape(2, 3), n=np.array([1, -2], dtype=">i8"),
         s=np.float64(0.125), t=np.asfortranarray(np.ones((3,), np.float32)))
np.savez_compressed(sys.argv[3], w=np.zeros(3, np.float32))
print("ok")
"#;
    let (theirs, compressed) = (dir.join("theirs.npz"), dir.join("compressed.npz"));
    let out = Command::new(&python).arg("-c").arg(script).arg(&ours).arg(&theirs).arg(&compressed).output().unwrap();
    assert!(out.status.success(), "numpy failed:\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");

    let arrays = npz::read(&theirs).unwrap();
    let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["w", "n", "s", "t"]);
    assert_eq!(arrays[0].1.shape(), [2, 3]);
    assert_eq!(arrays[0].1.to_vec::<f32>().unwrap(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(arrays[1].1.to_vec::<i64>().unwrap(), [1, -2], "big-endian ints are swapped");
    assert_eq!(arrays[2].1.item::<f64>().unwrap(), 0.125);
    assert_eq!(arrays[3].1.to_vec::<f32>().unwrap(), [1.0; 3], "a 1-d Fortran array is a C array");

    let e = npz::read(&compressed).unwrap_err().to_string();
    assert!(e.contains("entry `w.npy` is compressed (np.savez_compressed): only stored entries (np.savez)"), "{e}");
}
