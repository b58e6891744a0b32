//! `--input name=VALUE`: the argument values of a function.
//!
//! `name` is a parameter as written in the file, its canonical name or its position (see
//! [`Program::param_index`]). `VALUE` is one of:
//!
//! | value | meaning |
//! |---|---|
//! | `2.5`, `-1`, `true`, `nan`, `1+2j` | a number, filling the parameter's shape |
//! | `[[1, 2], [3, 4]]` | a numpy-style nested list (commas optional), of exactly the parameter's shape |
//! | `@data.npy` | a `.npy` file, of the parameter's shape (or a single element); numeric dtypes convert to a float or complex parameter's dtype, integer dtypes to an integer one |
//! | `random`, `random:SEED` | uniform in `[-1, 1)` for floats (both parts of complex numbers), `0..10` for integers, a coin for bools; the stream depends on SEED (default 0) and the parameter's position |
//!
//! Numbers are read in the parameter's dtype, so `0.1` for an `f32` parameter is the `f32`
//! nearest to 0.1.

use crate::error::CliError;
use crate::npy;
use crate::program::Program;
use crate::rng::Rng;
use gradjit_ir::{DType, HostArray, Scalar, Shape, TensorType};
use num_complex::{Complex32, Complex64};

/// One `--input`: which parameter, and how to get its value.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSpec {
    /// The parameter as the user named it.
    pub key: String,
    pub value: ValueSpec,
}

/// How to get a value.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueSpec {
    /// A number or a nested list, as text.
    Literal(String),
    /// A `.npy` file.
    File(String),
    /// Random data from a seed.
    Random { seed: u64 },
}

impl std::str::FromStr for InputSpec {
    type Err = String;

    /// Parses `name=VALUE` (clap calls this for every `--input`).
    fn from_str(s: &str) -> Result<InputSpec, String> {
        let Some((key, value)) = s.split_once('=') else {
            return Err(format!("`{s}` is not of the form name=VALUE (e.g. x=1.5, x=@x.npy, x=random)"));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(format!("`{s}` does not name a parameter"));
        }
        Ok(InputSpec { key: key.to_string(), value: ValueSpec::parse(value)? })
    }
}

impl ValueSpec {
    fn parse(value: &str) -> Result<ValueSpec, String> {
        if let Some(path) = value.strip_prefix('@') {
            return Ok(ValueSpec::File(path.to_string()));
        }
        if let Some(rest) = value.strip_prefix("random") {
            return match rest.strip_prefix(':') {
                None if rest.is_empty() => Ok(ValueSpec::Random { seed: 0 }),
                Some(seed) => seed
                    .parse()
                    .map(|seed| ValueSpec::Random { seed })
                    .map_err(|_| format!("`{seed}` is not a seed (a non-negative integer) in `{value}`")),
                None => Err(format!("`{value}` is not `random` or `random:SEED`")),
            };
        }
        if value.is_empty() {
            return Err("the value is empty".to_string());
        }
        Ok(ValueSpec::Literal(value.to_string()))
    }
}

impl std::fmt::Display for ValueSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueSpec::Literal(s) => f.write_str(s),
            ValueSpec::File(p) => write!(f, "@{p}"),
            ValueSpec::Random { seed } => write!(f, "random:{seed}"),
        }
    }
}

/// What to do about parameters without an `--input`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Name them in an error (`run`, `grad`).
    Error,
    /// Draw them with `random:SEED` (`check`, `bench`).
    Random { seed: u64 },
}

/// The arguments of `program`, one per parameter, and for each the spec it came from.
pub struct Arguments {
    pub values: Vec<HostArray>,
    pub specs: Vec<ValueSpec>,
}

/// Builds every argument of `program` from `specs`.
pub fn arguments(program: &Program, specs: &[InputSpec], missing: Missing) -> Result<Arguments, CliError> {
    let n = program.function.params.len();
    let mut chosen: Vec<Option<ValueSpec>> = vec![None; n];
    for spec in specs {
        let i = program.param_index(&spec.key)?;
        if chosen[i].replace(spec.value.clone()).is_some() {
            return Err(CliError::usage(format!(
                "parameter `{}` is given more than one --input",
                program.param_names[i]
            )));
        }
    }
    // Values given are built first: a mistake in what was typed is reported before what is missing.
    let mut values: Vec<Option<HostArray>> = vec![None; n];
    for (i, spec) in chosen.iter().enumerate() {
        if let Some(spec) = spec {
            values[i] = Some(build_for(program, spec, i)?);
        }
    }
    let absent: Vec<String> = (0..n).filter(|&i| chosen[i].is_none()).map(|i| program.describe_param(i)).collect();
    if !absent.is_empty() {
        match missing {
            Missing::Error => {
                return Err(CliError::usage(format!(
                "missing --input for {} of {}; pass NAME=VALUE (a number, a nested list, @file.npy or random[:SEED])",
                absent.join(", "),
                program.path
            )))
            }
            Missing::Random { seed } => {
                for i in 0..n {
                    if chosen[i].is_none() {
                        let spec = ValueSpec::Random { seed };
                        values[i] = Some(build_for(program, &spec, i)?);
                        chosen[i] = Some(spec);
                    }
                }
            }
        }
    }
    let specs: Vec<ValueSpec> = chosen.into_iter().flatten().collect();
    let values: Vec<HostArray> = values.into_iter().flatten().collect();
    Ok(Arguments { values, specs })
}

/// The value of parameter `i` of `program` from `spec`, errors naming the parameter.
fn build_for(program: &Program, spec: &ValueSpec, i: usize) -> Result<HostArray, CliError> {
    build(spec, program.param_type(i), i)
        .map_err(|m| CliError::usage(format!("--input {}={spec}: {m}", program.param_names[i])))
}

/// The largest argument the command line builds: far beyond any test input, and small enough
/// that a typo in a shape (`f32[1000000000000]`) is an error rather than an out-of-memory abort.
const MAX_ARGUMENT_BYTES: usize = 1 << 34;

/// The value of parameter `position` (of type `ty`) from `spec`.
fn build(spec: &ValueSpec, ty: &TensorType, position: usize) -> Result<HostArray, String> {
    let bytes = ty.numel().saturating_mul(ty.dtype.size_of());
    if bytes > MAX_ARGUMENT_BYTES {
        return Err(format!(
            "the parameter is {ty}: {bytes} bytes, more than the {MAX_ARGUMENT_BYTES} an argument may have"
        ));
    }
    match spec {
        ValueSpec::Literal(text) => {
            let (shape, leaves) = nested(text)?;
            let scalars = leaves.iter().map(|l| scalar(l, ty.dtype)).collect::<Result<Vec<_>, _>>()?;
            let mut a = HostArray::zeros(ty.dtype, shape);
            scalars.into_iter().enumerate().for_each(|(i, s)| a.set(i, s));
            fit(a, ty)
        }
        ValueSpec::File(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            let a = npy::from_bytes(&bytes).map_err(|e| format!("{path}: {e}"))?;
            if a.dtype() != ty.dtype && !converts(a.dtype(), ty.dtype) {
                return Err(format!(
                    "{path} holds {} data, which does not convert to {} without losing its meaning",
                    a.dtype(),
                    ty.dtype
                ));
            }
            fit(a.cast(ty.dtype), ty)
        }
        ValueSpec::Random { seed } => Ok(random(ty, *seed, position as u64)),
    }
}

/// Whether `.npy` data of `from` may be read into a parameter of `to`: numbers into floats and
/// complex numbers (numpy's default float64 for an f32 parameter is the common case), integers
/// into integers, bools into bools. Never complex into real.
fn converts(from: DType, to: DType) -> bool {
    match to {
        DType::F32 | DType::F64 => from.is_float() || from.is_int() || from == DType::Bool,
        DType::C64 | DType::C128 => from.is_numeric() || from == DType::Bool,
        DType::I32 | DType::I64 => from.is_int() || from == DType::Bool,
        _ => false,
    }
}

/// `a` in the parameter's shape: as it is, or a single element repeated.
fn fit(a: HostArray, ty: &TensorType) -> Result<HostArray, String> {
    if a.shape() == &ty.shape {
        Ok(a)
    } else if a.numel() == 1 {
        Ok(HostArray::full(a.get(0), ty.shape.clone()))
    } else {
        Err(format!("the parameter is {ty} but the value has shape {}", a.shape()))
    }
}

/// One number in `dtype`: its text format, or any real number for a float or complex dtype.
fn scalar(text: &str, dtype: DType) -> Result<Scalar, String> {
    let text = match text {
        "True" => "true",
        "False" => "false",
        t => t,
    };
    if let Some(s) = Scalar::parse(text, dtype) {
        return Ok(s);
    }
    let real = Scalar::parse(text, DType::F64).filter(|_| dtype.is_inexact());
    let bool_as_int = matches!(text, "0" | "1").then(|| Scalar::Bool(text == "1")).filter(|_| dtype == DType::Bool);
    real.map(|r| r.cast(dtype)).or(bool_as_int).ok_or_else(|| format!("`{text}` is not a {dtype} number"))
}

/// The shape and the leaves (row-major) of a numpy-style nested list such as `[[1, 2], [3 4]]`.
fn nested(text: &str) -> Result<(Shape, Vec<String>), String> {
    #[derive(Debug)]
    enum Node {
        Leaf(String),
        List(Vec<Node>),
    }
    fn node(chars: &mut std::iter::Peekable<std::str::Chars>, depth: usize) -> Result<Node, String> {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'[').is_none() {
            let leaf: String =
                std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace() && !"[],".contains(*c))).collect();
            return match leaf.is_empty() {
                true => Err("expected a number or `[`".to_string()),
                false => Ok(Node::Leaf(leaf)),
            };
        }
        if depth >= 32 {
            return Err("the list nests too deeply".to_string());
        }
        let mut items = Vec::new();
        loop {
            while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
            if chars.next_if_eq(&']').is_some() {
                return Ok(Node::List(items));
            }
            if chars.peek().is_none() {
                return Err("a `[` is not closed".to_string());
            }
            items.push(node(chars, depth + 1)?);
        }
    }
    fn shape_of(n: &Node, dims: &mut Vec<usize>, depth: usize, leaves: &mut Vec<String>) -> Result<(), String> {
        let ragged = || Err("the nested list is ragged (its rows differ in length or depth)".to_string());
        match n {
            Node::Leaf(s) if depth == dims.len() => {
                leaves.push(s.clone());
                Ok(())
            }
            Node::List(items) if depth < dims.len() && items.len() == dims[depth] => {
                items.iter().try_for_each(|it| shape_of(it, dims, depth + 1, leaves))
            }
            _ => ragged(),
        }
    }
    let mut chars = text.chars().peekable();
    let root = node(&mut chars, 0)?;
    if let Some(c) = chars.find(|c| !c.is_whitespace()) {
        return Err(format!("unexpected `{c}` after the value"));
    }
    // The shape is read along the first element of each level, then everything is checked against it.
    let mut dims = Vec::new();
    let mut at = &root;
    while let Node::List(items) = at {
        dims.push(items.len());
        match items.first() {
            Some(first) => at = first,
            None => break,
        }
    }
    let mut leaves = Vec::new();
    shape_of(&root, &mut dims, 0, &mut leaves)?;
    Ok((Shape::new(&dims), leaves))
}

/// Random data of type `ty` for parameter `position`.
pub fn random(ty: &TensorType, seed: u64, position: u64) -> HostArray {
    let mut rng = Rng::new(seed, position);
    let mut a = HostArray::zeros(ty.dtype, ty.shape.clone());
    for i in 0..a.numel() {
        let s = match ty.dtype {
            DType::F32 | DType::F64 => Scalar::F64(rng.uniform(-1.0, 1.0)),
            DType::C64 => Scalar::C64(Complex32::new(rng.uniform(-1.0, 1.0) as f32, rng.uniform(-1.0, 1.0) as f32)),
            DType::C128 => Scalar::C128(Complex64::new(rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0))),
            DType::I32 | DType::I64 => Scalar::I64(rng.below(10) as i64),
            DType::Bool => Scalar::Bool(rng.below(2) == 1),
            DType::Float0 => Scalar::Float0,
        };
        a.set(i, s);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> TensorType {
        let f = gradjit_ir::parse_function(&format!("{{ lambda ; a:{s}. let in (a,) }}")).unwrap();
        f.ty(f.params[0]).clone()
    }

    fn literal(text: &str, t: &str) -> Result<HostArray, String> {
        build(&ValueSpec::Literal(text.into()), &ty(t), 0)
    }

    #[test]
    fn specs_parse_and_reject_what_they_should() {
        let p = |s: &str| s.parse::<InputSpec>();
        assert_eq!(p("x=1.5").unwrap(), InputSpec { key: "x".into(), value: ValueSpec::Literal("1.5".into()) });
        assert_eq!(p(" 0 = @a=b.npy").unwrap().value, ValueSpec::File("a=b.npy".into()));
        assert_eq!(p("x=random").unwrap().value, ValueSpec::Random { seed: 0 });
        assert_eq!(p("x=random:42").unwrap().value, ValueSpec::Random { seed: 42 });
        assert!(p("x").unwrap_err().contains("not of the form name=VALUE"));
        assert!(p("=1").unwrap_err().contains("does not name a parameter"));
        assert!(p("x=random:-1").unwrap_err().contains("is not a seed"));
        assert!(p("x=randomly").unwrap_err().contains("is not `random` or `random:SEED`"));
        assert!(p("x=").unwrap_err().contains("empty"));
    }

    #[test]
    fn numbers_fill_the_shape_and_lists_must_match_it() {
        assert_eq!(literal("0.5", "f32[3]").unwrap().to_vec::<f32>().unwrap(), vec![0.5; 3]);
        let m = literal("[[1, 2, 3], [4 5 6]]", "f64[2,3]").unwrap();
        assert_eq!(m.to_vec::<f64>().unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(literal("[7]", "i32[]").unwrap().to_vec::<i32>().unwrap(), vec![7]);
        assert_eq!(literal("[True, 0]", "bool[2]").unwrap().to_vec::<bool>().unwrap(), vec![true, false]);
        let c = literal("[1+2j, -0.5]", "c64[2]").unwrap();
        assert_eq!(c.to_vec::<Complex32>().unwrap(), vec![Complex32::new(1.0, 2.0), Complex32::new(-0.5, 0.0)]);
        assert_eq!(literal("[]", "f32[0]").unwrap().numel(), 0);
        assert_eq!(literal("[[], []]", "f32[2,0]").unwrap().dims(), &[2, 0]);

        let errors = [
            ("[1, 2]", "f32[3]", "the parameter is f32[3] but the value has shape (2,)"),
            ("[[1, 2], [3]]", "f32[2,2]", "ragged"),
            ("[[1, 2], 3]", "f32[2,2]", "ragged"),
            ("[1, 2", "f32[2]", "not closed"),
            ("[1] 2", "f32[1]", "unexpected `2` after the value"),
            ("1.5", "i32[]", "`1.5` is not a i32 number"),
            ("abc", "f32[]", "`abc` is not a f32 number"),
        ];
        for (text, t, message) in errors {
            let e = literal(text, t).unwrap_err();
            assert!(e.contains(message), "{text} as {t}: {e}");
        }
    }

    #[test]
    fn absurd_shapes_are_refused_before_allocating() {
        let e = literal("0", "f32[1000000,1000000]").unwrap_err();
        assert!(e.starts_with("the parameter is f32[1000000,1000000]: 4000000000000 bytes, more than"), "{e}");
    }

    #[test]
    fn npy_files_convert_between_compatible_dtypes_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let f64s = HostArray::from_vec([3], vec![0.1f64, 0.2, 0.3]).unwrap();
        std::fs::write(&path, npy::to_bytes(&f64s).unwrap()).unwrap();
        let spec = ValueSpec::File(path.to_string_lossy().into_owned());
        assert_eq!(build(&spec, &ty("f32[3]"), 0).unwrap().to_vec::<f32>().unwrap(), vec![0.1, 0.2, 0.3]);
        assert!(build(&spec, &ty("i32[3]"), 0).unwrap_err().contains("holds f64 data, which does not convert to i32"));
        assert!(build(&spec, &ty("f32[4]"), 0).unwrap_err().contains("has shape (3,)"));
        let missing = ValueSpec::File("/nonexistent/x.npy".into());
        assert!(build(&missing, &ty("f32[]"), 0).unwrap_err().starts_with("/nonexistent/x.npy: "));
    }

    #[test]
    fn random_values_are_reproducible_in_range_and_differ_by_position() {
        let t = ty("f32[100]");
        let a = random(&t, 0, 0);
        assert!(a.bit_eq(&random(&t, 0, 0)));
        assert!(!a.bit_eq(&random(&t, 0, 1)));
        assert!(!a.bit_eq(&random(&t, 1, 0)));
        assert!(a.to_vec::<f32>().unwrap().iter().all(|v| (-1.0..1.0).contains(v)));
        let ints = random(&ty("i64[100]"), 0, 0).to_vec::<i64>().unwrap();
        assert!(ints.iter().all(|v| (0..10).contains(v)) && ints.iter().any(|&v| v != ints[0]));
    }
}
