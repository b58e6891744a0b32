//! Every kind of bad input is an `Err` that names the operation, the shapes or dtypes, and
//! the line of this file where the operation was written: eagerly when the value is read,
//! and from `make_ir` when tracing.

use gradjit::{make_ir, s, Array, DType, Error, Tensor, TrainVar, Var};
use std::cell::Cell;

/// `e`'s message contains every part and this file's `line`.
#[track_caller]
fn assert_err(e: &Error, parts: &[&str], line: u32) {
    let msg = e.to_string();
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} does not mention {p:?}");
    }
    let at = format!("{}:{line}:", file!());
    assert!(msg.contains(&at), "message {msg:?} does not point at {at}");
    assert_eq!(e.loc().map(|l| (l.file.to_string(), l.line)), Some((file!().to_string(), line)), "{msg}");
}

fn t(v: &[f32]) -> Tensor {
    Tensor::from(v)
}

fn m23() -> Tensor {
    Tensor::from([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]])
}

#[test]
fn eager_errors_surface_when_the_value_is_read() {
    let (a, b) = (t(&[1.0, 2.0, 3.0]), t(&[1.0, 2.0, 3.0, 4.0]));
    let cases: Vec<(Tensor, u32, &[&str])> = vec![
        (&a + &b, line!(), &["add", "could not be broadcast", "(3,)", "(4,)"]),
        (&a * Tensor::from(vec![1.0f64, 2.0, 3.0]), line!(), &["mul", "dtypes differ", "f32[3]", "f64[3]"]),
        (Tensor::from(vec![1i32, 2]) * 2.5, line!(), &["mul", "float", "i32", "astype"]),
        (m23().sum_axes(2, false), line!(), &["sum", "axis 2", "f32[2,3]"]),
        (m23().mean_axes([0, -2], true), line!(), &["sum", "repeated axis", "f32[2,3]"]),
        (m23().argmax(-3), line!(), &["argmax", "axis -3", "f32[2,3]"]),
        (m23().reshape([4, -1]), line!(), &["reshape", "f32[2,3]", "[4, -1]"]),
        (m23().reshape([-1, -1]), line!(), &["reshape", "f32[2,3]"]),
        (m23().matmul(&m23()), line!(), &["matmul", "f32[2,3]", "contracted dimensions differ"]),
        (a.matmul(&Tensor::from(1.0f32)), line!(), &["matmul", "at least one dimension", "f32[]"]),
        (m23().dot(&b), line!(), &["dot", "f32[2,3]", "f32[4]"]),
        (m23().at(s![.., 3]), line!(), &["index", "index 3 is out of bounds for axis 1 with size 3", "f32[2,3]"]),
        (m23().at(s![0, 0, 0]), line!(), &["index", "too many indices", "f32[2,3]"]),
        (m23().at(s![..;0]), line!(), &["slice", "step cannot be zero"]),
        (m23().index(-3), line!(), &["index", "index -3", "size 2"]),
        (m23().permute([0, 0]), line!(), &["permute", "not a permutation", "f32[2,3]"]),
        (m23().squeeze_axes(0), line!(), &["squeeze", "axis 0", "size is 2"]),
        (m23().expand_dims(4), line!(), &["expand_dims", "axis 4", "f32[2,3]"]),
        (m23().broadcast_to([3]), line!(), &["broadcast_to", "f32[2,3]"]),
        (m23().broadcast_to([4, 3]), line!(), &["broadcast_in_dim", "cannot broadcast f32[2,3]", "(4, 3)"]),
        (gradjit::concatenate(&[m23(), a.clone()], 0), line!(), &["concatenate", "f32[2,3]", "f32[3]"]),
        (gradjit::stack(&[a.clone(), b.clone()], 0), line!(), &["stack", "(3,)", "(4,)"]),
        (m23().take(&t(&[0.0]), 0), line!(), &["gather", "indices must be integers", "f32[1]"]),
        (a.exp().astype(DType::I32).exp(), line!(), &["exp", "does not accept dtype i32"]),
        (a.select(1.0, 2.0), line!(), &["select", "predicate must be bool", "f32[3]"]),
        (Tensor::from(vec![true]).sin(), line!(), &["sin", "does not accept dtype bool"]),
    ];
    for (tensor, line, parts) in &cases {
        let err = tensor.to_array().unwrap_err();
        assert_err(&err, parts, *line);
        assert_eq!(tensor.error(), Some(&err));
    }
}

#[test]
fn a_poisoned_tensor_carries_the_first_error_through_later_operations() {
    let (bad, line) = (t(&[1.0, 2.0]) + t(&[1.0, 2.0, 3.0]), line!());
    let later = (bad.exp() * 2.0).sum().matmul(&m23());
    assert_err(&later.to_array().unwrap_err(), &["add", "(2,)", "(3,)"], line);
    assert!(later.shape().is_empty() && later.error().is_some());
}

#[test]
fn make_ir_reports_the_first_error_of_the_trace_at_the_users_line() {
    let line = Cell::new(0);
    let err = make_ir(
        |x: Tensor| {
            let (y, l) = (x.sum_axes(1, false), line!());
            line.set(l);
            // A second error later does not hide the first.
            let _ = x.reshape([7]);
            y
        },
        Array::ones([3]),
    )
    .unwrap_err();
    assert_err(&err, &["sum", "axis 1", "f32[3]"], line.get());

    // An error in a dropped intermediate still fails the trace.
    let err = make_ir(
        |x: Tensor| {
            let (_unused, l) = (&x + Tensor::from(vec![1.0f32, 2.0]), line!());
            line.set(l);
            x
        },
        Array::ones([3]),
    )
    .unwrap_err();
    assert_err(&err, &["add", "(3,)", "(2,)"], line.get());
}

#[test]
fn writing_a_var_of_another_shape_or_dtype_is_an_error() {
    let x = TrainVar::new(Array::zeros([3])).with_name("net.x");
    // Eagerly: an immediate Err, and the variable keeps its value.
    let (r, line) = (x.set(&Tensor::from(vec![1.0f32; 4])), line!());
    assert_err(
        &r.unwrap_err(),
        &["`net.x` (f32[3])", "The shape of the original data is (3,), while we got (4,)."],
        line,
    );
    let (r, line) = (x.assign(Array::zeros_of(DType::F64, [3])), line!());
    assert_err(&r.unwrap_err(), &["The dtype of the original data is f32, while we got f64."], line);
    assert_eq!(x.get().to_vec::<f32>().unwrap(), vec![0.0; 3]);

    // Inside a trace: recorded, so make_ir fails even if the Err is ignored.
    let line = Cell::new(0);
    let err = make_ir(
        |z: Tensor| {
            let (r, l) = (x.set(&z), line!());
            line.set(l);
            assert!(r.is_err());
            z
        },
        Array::ones([4]),
    )
    .unwrap_err();
    assert_err(&err, &["`net.x`", "The shape of the original data is (3,), while we got (4,)."], line.get());

    // An unnamed variable is named by its id.
    let v = Var::new(Array::zeros([2]));
    let msg = v.set(&Tensor::from(1.0f32)).unwrap_err().to_string();
    assert!(msg.contains(&format!("var#{}", v.id().index())) && msg.contains("(2,), while we got ()"), "{msg}");
}

#[test]
fn reading_the_value_of_a_traced_tensor_is_an_error() {
    let seen = Cell::new(false);
    make_ir(
        |x: Tensor| {
            let (r, line) = (x.to_array(), line!());
            let err = r.unwrap_err();
            assert!(matches!(err, Error::Concretization { .. }));
            assert_err(&err, &["f32[2]", "not known while tracing"], line);
            assert!(x.item().is_err());
            seen.set(true);
            x
        },
        Array::ones([2]),
    )
    .unwrap();
    assert!(seen.get());
}

#[test]
fn arguments_that_do_not_fit_the_parameters_are_errors() {
    let tree = gradjit::Tree::Tuple(vec![gradjit::Tree::Leaf(Array::ones([1])), gradjit::Tree::Leaf(Array::ones([1]))]);
    let err = make_ir(|x: Tensor| x, &tree).unwrap_err();
    assert!(matches!(&err, Error::Argument(m) if m.contains("argument 0") && m.contains("a tuple of 2")), "{err}");
    let err = make_ir(|xs: Vec<Tensor>| xs[0].clone(), Array::ones([1])).unwrap_err();
    assert!(matches!(&err, Error::Argument(m) if m.contains("Vec<Tensor>")), "{err}");
    // A poisoned tensor as an argument.
    let bad = t(&[1.0]) + t(&[1.0, 2.0, 3.0]) + t(&[1.0, 2.0]);
    let err = make_ir(|x: Tensor| x, bad).unwrap_err();
    assert!(err.to_string().contains("argument 0"), "{err}");
}

#[test]
fn a_function_returning_err_fails_make_ir_with_that_error() {
    let err = make_ir(|_x: Tensor| -> gradjit::Result<Tensor> { Err(Error::Argument("no".into())) }, Array::ones([1]))
        .unwrap_err();
    assert_eq!(err, Error::Argument("no".into()));
}
