//! `.npy` files written by numpy (tests/npy/make_fixtures.py) go in through `--input NAME=@file`
//! and come out through `--save` byte for byte as numpy wrote them; files gradjit cannot read
//! faithfully are refused with an error that says why.

use assert_cmd::Command;
use predicates::str::contains;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npy").join(name)
}

/// Runs the identity function on parameter type `ty` with `a=@fixture`, saving into `dir`.
fn identity(ty: &str, file: &Path, dir: &Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("gradjit")
        .unwrap()
        .args(["run", "--interpret", "--json", "-", "--save"])
        .arg(dir)
        .arg("-i")
        .arg(format!("a=@{}", file.display()))
        .write_stdin(format!("{{ lambda ; a:{ty}. let in (a,) }}"))
        .assert()
}

#[test]
fn numpy_files_round_trip_byte_for_byte() {
    let cases = [
        ("f32_2x3.npy", "f32[2,3]", "[[0.0, 0.25, 0.5], [0.75, 1.0, 1.25]]"),
        ("f64_scalar.npy", "f64[]", "0.1"),
        ("i32_4.npy", "i32[4]", "[1, -2, 3, 2147483647]"),
        ("i64_0x3.npy", "i64[0,3]", "[]"),
        ("bool_3.npy", "bool[3]", "[true, false, true]"),
        ("c64_2.npy", "c64[2]", "[[1.0, 2.0], [-0.0, -0.5]]"),
        ("c128_2x1.npy", "c128[2,1]", "[[[0.25, -1.0]], [[3.0, 0.0]]]"),
    ];
    for (name, ty, data) in cases {
        let dir = tempfile::tempdir().unwrap();
        identity(ty, &fixture(name), dir.path()).success().stdout(contains(format!("\"data\": {data}}}")));
        let written = std::fs::read(dir.path().join("a.npy")).unwrap();
        assert_eq!(written, std::fs::read(fixture(name)).unwrap(), "{name}");
    }
}

#[test]
fn big_endian_and_version_2_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    identity("f64[2]", &fixture("f64_big_endian.npy"), dir.path()).success().stdout(contains("\"data\": [1.5, -2.0]}"));
    identity("f32[3]", &fixture("f32_v2.npy"), dir.path()).success().stdout(contains("\"data\": [1.0, 2.0, 3.0]}"));
    // numpy's default float64 converts to an f32 parameter; a single element fills the shape.
    identity("f32[2,2]", &fixture("f64_scalar.npy"), dir.path()).success().stdout(contains("[[0.1, 0.1], [0.1, 0.1]]"));
}

#[test]
fn unreadable_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("fortran.npy", "f64[2,3]", "Fortran-order arrays are not supported: save with np.ascontiguousarray(a)"),
        ("object.npy", "f32[2]", "object arrays are not supported"),
        ("f16.npy", "f32[1]", "unsupported dtype '<f2'"),
        ("record.npy", "f32[2]", "structured arrays (records) are not supported"),
        ("c64_2.npy", "f32[2]", "holds c64 data, which does not convert to f32"),
        ("f32_2x3.npy", "f32[3,2]", "the parameter is f32[3,2] but the value has shape (2, 3)"),
        ("make_fixtures.py", "f32[]", "not a .npy file"),
    ];
    for (name, ty, message) in cases {
        identity(ty, &fixture(name), dir.path()).code(2).stderr(contains(message));
    }
}
