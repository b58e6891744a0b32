//! Text round trips: for every primitive, `parse(print(f)) == f` and printing again gives the
//! same text; hand-written text parses to its canonical form; bad text gives located errors;
//! no input makes the parser panic.

use gradjit_ir::text::parse_function;
use gradjit_ir::{
    ArgOp, BinaryOp, CompareOp, DType, DotDims, Function, HostArray, Literal, Loc, Prim, PrimKind, ReduceOp, Scalar,
    TensorType, UnaryOp, Value,
};
use num_complex::{Complex32, Complex64};
use proptest::prelude::*;
use smallvec::smallvec;
use std::sync::Arc;

fn ty(dtype: DType, dims: &[usize]) -> TensorType {
    TensorType::new(dtype, dims)
}

fn push(f: &mut Function, prim: Prim, ins: &[Value]) -> Value {
    f.push1(prim, ins, None).unwrap_or_else(|e| panic!("bad sample: {e}"))
}

/// The first dtype `accepts` takes, so each elementwise op is sampled at a type it is defined for.
fn dtype_for(accepts: impl Fn(DType) -> bool) -> DType {
    DType::ALL.into_iter().find(|&d| accepts(d)).expect("op accepts some dtype")
}

/// A function applying `kind` (an exhaustive match: a new primitive needs a sample to compile).
/// Values are created in definition order (parameters first), the order the parser creates
/// them in, so that the parsed function compares equal.
fn sample(kind: PrimKind) -> Function {
    let mut f = Function::new();
    let out = match kind {
        PrimKind::Unary(op) => {
            let x = f.add_param(ty(dtype_for(|d| op.accepts(d)), &[2, 3]));
            push(&mut f, Prim::Unary(op), &[x])
        }
        PrimKind::Binary(op) => {
            let t = ty(dtype_for(|d| op.accepts(d)), &[4]);
            let (x, y) = (f.add_param(t.clone()), f.add_param(t));
            push(&mut f, Prim::Binary(op), &[x, y])
        }
        PrimKind::Compare(op) => {
            let t = ty(dtype_for(|d| op.accepts(d)), &[]);
            let (x, y) = (f.add_param(t.clone()), f.add_param(t));
            push(&mut f, Prim::Compare(op), &[x, y])
        }
        PrimKind::IntegerPow => {
            let x = f.add_param(ty(DType::F64, &[4]));
            push(&mut f, Prim::IntegerPow { y: -3 }, &[x])
        }
        PrimKind::Select => {
            let p = f.add_param(ty(DType::Bool, &[3]));
            let (x, y) = (f.add_param(ty(DType::C64, &[3])), f.add_param(ty(DType::C64, &[3])));
            push(&mut f, Prim::Select, &[p, x, y])
        }
        PrimKind::BroadcastInDim => {
            let x = f.add_param(ty(DType::F32, &[3]));
            push(&mut f, Prim::BroadcastInDim { shape: [2, 3].into(), dims: smallvec![1] }, &[x])
        }
        PrimKind::Reshape => {
            let x = f.add_param(ty(DType::I64, &[2, 3]));
            push(&mut f, Prim::Reshape { shape: [3, 1, 2].into() }, &[x])
        }
        PrimKind::Transpose => {
            let x = f.add_param(ty(DType::F32, &[2, 3, 4]));
            push(&mut f, Prim::Transpose { perm: smallvec![2, 0, 1] }, &[x])
        }
        PrimKind::Slice => {
            let x = f.add_param(ty(DType::F32, &[10, 2]));
            let slice = Prim::Slice { start: smallvec![1, 0], limit: smallvec![9, 2], stride: smallvec![3, 1] };
            push(&mut f, slice, &[x])
        }
        PrimKind::Pad => {
            let (x, z, i) = (
                f.add_param(ty(DType::F32, &[3])),
                f.add_param(ty(DType::C128, &[3])),
                f.add_param(ty(DType::I32, &[3])),
            );
            let pad = |value| Prim::Pad { low: smallvec![1], high: smallvec![0], interior: smallvec![2], value };
            let y = push(&mut f, pad(Scalar::F32(-0.0)), &[x]);
            push(&mut f, pad(Scalar::C128(Complex64::new(1.5, -2.0))), &[z]);
            push(&mut f, pad(Scalar::I32(-7)), &[i]);
            y
        }
        PrimKind::Concatenate => {
            let xs: Vec<Value> = [1, 0, 2].iter().map(|&n| f.add_param(ty(DType::F64, &[n, 2]))).collect();
            push(&mut f, Prim::Concatenate { axis: 0 }, &xs)
        }
        PrimKind::Rev => {
            let x = f.add_param(ty(DType::I32, &[2, 3]));
            push(&mut f, Prim::Rev { axes: smallvec![1, 0] }, &[x])
        }
        PrimKind::Gather => {
            let (x, i) = (f.add_param(ty(DType::F32, &[5, 3])), f.add_param(ty(DType::I32, &[2, 2])));
            push(&mut f, Prim::Gather { axis: 0 }, &[x, i])
        }
        PrimKind::ScatterAdd => {
            let x = f.add_param(ty(DType::F32, &[5, 3]));
            let i = f.add_param(ty(DType::I64, &[2]));
            let u = f.add_param(ty(DType::F32, &[5, 2]));
            push(&mut f, Prim::ScatterAdd { axis: 1 }, &[x, i, u])
        }
        PrimKind::DynamicSlice => {
            let x = f.add_param(ty(DType::F32, &[5, 4]));
            let (i, j) = (f.add_param(ty(DType::I32, &[])), f.add_param(ty(DType::I32, &[])));
            push(&mut f, Prim::DynamicSlice { sizes: smallvec![2, 0] }, &[x, i, j])
        }
        PrimKind::DynamicUpdateSlice => {
            let (x, u) = (f.add_param(ty(DType::F32, &[5, 4])), f.add_param(ty(DType::F32, &[2, 2])));
            let (i, j) = (f.add_param(ty(DType::I64, &[])), f.add_param(ty(DType::I64, &[])));
            push(&mut f, Prim::DynamicUpdateSlice, &[x, u, i, j])
        }
        PrimKind::Reduce(op) => {
            let x = f.add_param(ty(DType::F32, &[2, 3, 4]));
            push(&mut f, Prim::Reduce { op, axes: smallvec![0, 2] }, &[x])
        }
        PrimKind::Arg(op) => {
            let x = f.add_param(ty(DType::F64, &[2, 3]));
            push(&mut f, Prim::Arg { op, axis: 1, index_dtype: DType::I64 }, &[x])
        }
        PrimKind::DotGeneral => {
            let (l, r) = (f.add_param(ty(DType::F32, &[2, 3, 4])), f.add_param(ty(DType::F32, &[2, 4, 5])));
            let dims = DotDims {
                lhs_contract: smallvec![2],
                rhs_contract: smallvec![1],
                lhs_batch: smallvec![0],
                rhs_batch: smallvec![0],
            };
            push(&mut f, Prim::DotGeneral(dims), &[l, r])
        }
        PrimKind::ConvertElementType => {
            let x = f.add_param(ty(DType::I32, &[3]));
            push(&mut f, Prim::ConvertElementType { dtype: DType::C64 }, &[x])
        }
        PrimKind::Iota => push(&mut f, Prim::Iota { dtype: DType::I64, shape: [2, 3].into(), axis: 1 }, &[]),
        PrimKind::Constant => return constants(),
        PrimKind::StopGradient => {
            let x = f.add_param(ty(DType::F32, &[0]));
            push(&mut f, Prim::StopGradient, &[x])
        }
        PrimKind::RandomBits => {
            let key = f.add_param(ty(DType::I64, &[]));
            push(&mut f, Prim::RandomBits { shape: [4].into(), dtype: DType::I32 }, &[key])
        }
        PrimKind::Call => return nested_calls(),
        PrimKind::Scan => return scans(),
        PrimKind::While => {
            // Doubles x until the counter reaches the limit.
            let (i32s, f64s) = (ty(DType::I32, &[]), ty(DType::F64, &[2]));
            let cond = sub(&[i32s.clone(), i32s.clone(), f64s.clone()], |g, p| {
                vec![push(g, Prim::Compare(CompareOp::Lt), &[p[1], p[0]])]
            });
            let body = sub(&[i32s.clone(), f64s.clone()], |g, p| {
                let one = push(g, Prim::splat(1.0, &ty(DType::I32, &[])), &[]);
                let i = push(g, Prim::Binary(BinaryOp::Add), &[p[0], one]);
                vec![i, push(g, Prim::Binary(BinaryOp::Add), &[p[1], p[1]])]
            });
            let (limit, i0, x) = (f.add_param(i32s.clone()), f.add_param(i32s), f.add_param(f64s));
            let prim = Prim::While { cond_consts: 1, body_consts: 0, cond, body };
            f.push(prim, &[limit, i0, x], None).unwrap()[1]
        }
        PrimKind::Cond => {
            // Three branches on an integer index, and one on a bool.
            let t = ty(DType::F32, &[3]);
            let branch = |op| sub(&[t.clone(), t.clone()], |g, p| vec![push(g, Prim::Binary(op), &[p[0], p[1]])]);
            let branches = vec![branch(BinaryOp::Add), branch(BinaryOp::Mul), branch(BinaryOp::Max)];
            let (i, p) = (f.add_param(ty(DType::I32, &[])), f.add_param(ty(DType::Bool, &[])));
            let (x, y) = (f.add_param(t.clone()), f.add_param(t.clone()));
            let z = push(&mut f, Prim::Cond { branches }, &[i, x, y]);
            push(&mut f, Prim::Cond { branches: vec![branch(BinaryOp::Sub)] }, &[p, z, y])
        }
        PrimKind::CustomJvp => {
            let t = ty(DType::F64, &[3]);
            let body = sub(std::slice::from_ref(&t), |g, p| vec![push(g, Prim::Unary(UnaryOp::Sin), &[p[0]])]);
            let jvp = sub(&[t.clone(), t.clone()], |g, p| {
                let y = push(g, Prim::Unary(UnaryOp::Sin), &[p[0]]);
                let c = push(g, Prim::Unary(UnaryOp::Cos), &[p[0]]);
                vec![y, push(g, Prim::Binary(BinaryOp::Mul), &[p[1], c])]
            });
            let x = f.add_param(t);
            push(&mut f, Prim::CustomJvp { body, jvp }, &[x])
        }
        PrimKind::CustomVjp => {
            let (t, n) = (ty(DType::F64, &[3]), ty(DType::I32, &[]));
            let body = sub(&[t.clone(), n.clone()], |g, p| vec![push(g, Prim::Unary(UnaryOp::Sin), &[p[0]])]);
            let fwd = sub(&[t.clone(), n.clone()], |g, p| {
                vec![push(g, Prim::Unary(UnaryOp::Sin), &[p[0]]), push(g, Prim::Unary(UnaryOp::Cos), &[p[0]])]
            });
            let bwd = sub(&[t.clone(), t.clone()], |g, p| {
                let zero = push(g, Prim::Constant(Literal::Splat(Scalar::Float0, [].into())), &[]);
                vec![push(g, Prim::Binary(BinaryOp::Mul), &[p[1], p[0]]), zero]
            });
            let (x, k) = (f.add_param(t), f.add_param(n));
            push(&mut f, Prim::CustomVjp { body, fwd, bwd }, &[x, k])
        }
        PrimKind::CustomLin => {
            let t = ty(DType::F32, &[2]);
            let bwd = sub(&[t.clone(), t.clone()], |g, p| vec![push(g, Prim::Binary(BinaryOp::Mul), &[p[1], p[0]])]);
            let (r, x) = (f.add_param(t.clone()), f.add_param(t));
            push(&mut f, Prim::CustomLin { num_res: 1, bwd }, &[r, x])
        }
        PrimKind::Collective(op) => {
            let x = f.add_param(ty(DType::F32, &[2, 3]));
            push(&mut f, Prim::Collective { op, axis_name: "batch_1".into() }, &[x])
        }
    };
    f.outputs.push(out);
    f
}

/// Splat and dense constants of every dtype, with the awkward floats.
fn constants() -> Function {
    let mut f = Function::new();
    let mut splat = |s: Scalar, dims: &[usize]| {
        push(&mut f, Prim::Constant(Literal::Splat(s, dims.into())), &[]);
    };
    let c64 = |re, im| Scalar::C64(Complex32::new(re, im));
    let c128 = |re, im| Scalar::C128(Complex64::new(re, im));
    for s in [
        Scalar::F32(3.3368979),
        Scalar::F32(-0.0),
        Scalar::F32(f32::NAN),
        Scalar::F32(-f32::NAN),
        Scalar::F32(f32::INFINITY),
        Scalar::F32(f32::MIN_POSITIVE / 4.0),
        Scalar::F64(-f64::INFINITY),
        Scalar::F64(0.1),
        Scalar::F64(1e300),
        Scalar::F64(-2.5e-8),
        Scalar::I32(i32::MIN),
        Scalar::I64(i64::MAX),
        Scalar::Bool(true),
        c64(1.0, -0.5),
        c64(f32::NAN, -f32::NAN),
        c128(-0.0, -0.0),
        c128(f64::INFINITY, -f64::INFINITY),
        c128(1e-7, 2.0),
        Scalar::Float0,
    ] {
        splat(s, &[]);
        splat(s, &[2, 0]);
    }
    splat(Scalar::F32(1.0), &[10]);
    let dense = |f: &mut Function, a: HostArray| push(f, Prim::Constant(Literal::Dense(Arc::new(a))), &[]);
    dense(&mut f, HostArray::from_slice([2, 2], &[1.0f32, -0.0, f32::NAN, f32::NEG_INFINITY]).unwrap());
    dense(&mut f, HostArray::from_slice([3], &[0.1f64, 1e-300, -f64::NAN]).unwrap());
    dense(&mut f, HostArray::from_slice([], &[7i32]).unwrap());
    dense(&mut f, HostArray::from_slice([0], &[0i64; 0]).unwrap());
    dense(&mut f, HostArray::from_slice([1, 3], &[true, false, true]).unwrap());
    dense(&mut f, HostArray::from_slice([2], &[Complex32::new(1.0, 2.0), Complex32::new(-0.0, -3.5)]).unwrap());
    dense(&mut f, HostArray::from_slice([1], &[Complex64::new(f64::NAN, 1e10)]).unwrap());
    let last = dense(&mut f, HostArray::zeros(DType::Float0, [2]));
    f.outputs = vec![last];
    f
}

/// `call` bodies nested two deep, each with its own names.
fn nested_calls() -> Function {
    let t = ty(DType::F32, &[3]);
    let mut inner = Function::new();
    let x = inner.add_param(t.clone());
    let y = push(&mut inner, Prim::Unary(gradjit_ir::UnaryOp::Sin), &[x]);
    inner.outputs = vec![y, x];
    let mut middle = Function::new();
    let (a, b) = (middle.add_param(t.clone()), middle.add_param(t.clone()));
    let c = push(&mut middle, Prim::Binary(gradjit_ir::BinaryOp::Mul), &[a, b]);
    let outs = middle.push(Prim::Call { body: Arc::new(inner) }, &[c], None).unwrap();
    middle.outputs = vec![outs[1], outs[0]];
    let mut f = Function::new();
    let p = f.add_param(t);
    let outs = f.push(Prim::Call { body: Arc::new(middle) }, &[p, p], None).unwrap();
    f.outputs = outs.to_vec();
    f
}

/// A sub-function of parameters `params`, returning what `build` gives.
fn sub(params: &[TensorType], build: impl FnOnce(&mut Function, &[Value]) -> Vec<Value>) -> Arc<Function> {
    let mut g = Function::new();
    let ps: Vec<Value> = params.iter().map(|t| g.add_param(t.clone())).collect();
    g.outputs = build(&mut g, &ps);
    Arc::new(g)
}

/// An RNN step `h' = tanh(w·h + x)` scanned forwards, and a reversed scan with no carry.
fn scans() -> Function {
    let (h, w) = (ty(DType::F32, &[3]), ty(DType::F32, &[3]));
    let step = sub(&[w.clone(), h.clone(), h.clone()], |g, p| {
        let wh = push(g, Prim::Binary(BinaryOp::Mul), &[p[0], p[1]]);
        let s = push(g, Prim::Binary(BinaryOp::Add), &[wh, p[2]]);
        let h = push(g, Prim::Unary(UnaryOp::Tanh), &[s]);
        vec![h, h]
    });
    let mut f = Function::new();
    let (wv, h0, xs) = (f.add_param(w), f.add_param(h.clone()), f.add_param(ty(DType::F32, &[4, 3])));
    let prim = Prim::Scan { length: 4, reverse: false, num_consts: 1, num_carry: 1, body: step };
    let outs = f.push(prim, &[wv, h0, xs], None).unwrap();
    let negate = sub(&[h], |g, p| vec![push(g, Prim::Unary(UnaryOp::Neg), &[p[0]])]);
    let prim = Prim::Scan { length: 4, reverse: true, num_consts: 0, num_carry: 0, body: negate };
    let ys = f.push(prim, &[outs[1]], None).unwrap();
    f.outputs = vec![outs[0], ys[0]];
    f
}

/// `f` prints, parses back to an equal function and prints to the same text, with and
/// without locations.
fn assert_round_trip(f: &Function) {
    let text = f.to_string();
    let g = parse_function(&text).unwrap_or_else(|e| panic!("{e}\nin:\n{text}"));
    assert_eq!(g.to_string(), text);
    assert_eq!(&g, f, "{text}");

    let located = f.to_text_with_locs();
    let g = parse_function(&located).unwrap_or_else(|e| panic!("{e}\nin:\n{located}"));
    assert_eq!(g.to_text_with_locs(), located);
    assert_eq!(g.to_string(), text);
    let locs = |f: &Function| f.eqns.iter().map(|e| e.loc.clone()).collect::<Vec<_>>();
    assert_eq!(locs(&g), locs(f));
}

#[test]
fn every_primitive_round_trips() {
    for kind in PrimKind::all() {
        let f = sample(kind);
        fn applies(f: &Function, kind: PrimKind) -> bool {
            f.eqns.iter().any(|e| e.prim.kind() == kind)
        }
        assert!(applies(&f, kind), "the sample for {} does not apply it", kind.name());
        assert_round_trip(&f);
    }
}

#[test]
fn every_dtype_and_rank_round_trips_as_parameters() {
    let mut f = Function::new();
    for d in DType::ALL {
        for dims in [&[][..], &[0], &[3], &[2, 0, 5], &[1, 1, 1, 1, 1]] {
            f.add_param(ty(d, dims));
        }
    }
    f.outputs = f.params.iter().rev().copied().collect();
    assert_round_trip(&f);
    assert!(f.to_string().starts_with("{ lambda ; a:f32[] b:f32[0] c:f32[3] d:f32[2,0,5] e:f32[1,1,1,1,1] f:f64[]"));
}

#[test]
fn locations_round_trip_with_awkward_file_names() {
    let mut f = sample(PrimKind::Pad);
    let files = ["src/lib.rs", "C:\\users\\me\\a \"quoted\" # file.rs", "new\nline.rs"];
    for (i, e) in f.eqns.iter_mut().enumerate() {
        e.loc = Some(Loc::new(files[i % files.len()], 10 + i as u32, 5));
    }
    f.eqns[1].loc = None;
    assert_round_trip(&f);
    let text = f.to_text_with_locs();
    assert!(text.contains("value=-0.0] a loc(\"src/lib.rs\":10:5)\n"), "{text}");
    assert!(text.contains("loc(\"new\\nline.rs\":12:5)"), "{text}");
}

#[test]
fn constants_print_splat_and_dense_values() {
    let text = constants().to_string();
    for line in [
        "a:f32[] = constant[value=3.3368979]",
        "e:f32[] = constant[value=nan]",
        "g:f32[] = constant[value=-nan]",
        "q:f64[] = constant[value=1e300]",
        "ba:c64[] = constant[value=1.0-0.5j]",
        "bc:c64[] = constant[value=nan-nanj]",
        "bg:c128[] = constant[value=inf-infj]",
        "bk:float0[] = constant[value=0]",
        "bn:f32[2,2] = constant[value=[1.0 -0.0 nan -inf]]",
        "bp:i32[] = constant[value=[7]]",
        "bq:i64[0] = constant[value=[]]",
        "br:bool[1,3] = constant[value=[true false true]]",
        "bu:float0[2] = constant[value=[0 0]]",
    ] {
        assert!(text.contains(&format!("    {line}\n")), "missing `{line}` in\n{text}");
    }
}

/// Hand-written text: any names, comments, spacing and parameter order.
#[test]
fn free_form_text_parses_to_the_canonical_form() {
    let src = "# the seed example, renamed and reflowed
        {lambda;x:f32[1] y:f32[10]
           z:f32[10].let
          prod : f32[10] = mul y z   # elementwise
          k:f32[]=constant[value=3.3368979]
          k1:f32[1] = broadcast_in_dim[broadcast_dimensions=() shape=(1,)] k
          t:f32[1] = mul x k1
          t2:f32[10] = broadcast_in_dim[shape=(10,) broadcast_dimensions=(0,)] t
          s:f32[10] = add prod t2
          u:f32[10] = tanh s
          r:f32[] = reduce_sum[axes=(0,)] u
          n:f32[] = constant[value=10]
          in_:f32[] = div r n loc(\"model.rs\":3:9)
        in (in_) }  # trailing comment
    ";
    let f = parse_function(src).unwrap_or_else(|e| panic!("{e}"));
    let canonical = "\
{ lambda ; a:f32[1] b:f32[10] c:f32[10]. let
    d:f32[10] = mul b c
    e:f32[] = constant[value=3.3368979]
    f:f32[1] = broadcast_in_dim[shape=(1,) broadcast_dimensions=()] e
    g:f32[1] = mul a f
    h:f32[10] = broadcast_in_dim[shape=(10,) broadcast_dimensions=(0,)] g
    i:f32[10] = add d h
    j:f32[10] = tanh i
    k:f32[] = reduce_sum[axes=(0,)] j
    l:f32[] = constant[value=10.0]
    m:f32[] = div k l
  in (m,) }";
    assert_eq!(f.to_string(), canonical);
    assert_eq!(f.eqns[9].loc, Some(Loc::new("model.rs", 3, 9)));
    assert_eq!(parse_function(canonical).unwrap().to_string(), canonical);
    assert_eq!(parse_function(canonical).unwrap(), f);
}

#[test]
fn literals_take_their_type_from_the_binder() {
    let f = parse_function(
        "{ lambda ; . let a:c64[2] = constant[value=1.0] b:i64[3] = constant[value=[1 2 -3]] in (a, b) }",
    )
    .unwrap();
    assert_eq!(f.eqns[0].prim, Prim::Constant(Literal::Splat(Scalar::C64(Complex32::new(1.0, 0.0)), [2].into())));
    let dense = HostArray::from_slice([3], &[1i64, 2, -3]).unwrap();
    assert_eq!(f.eqns[1].prim, Prim::Constant(Literal::Dense(Arc::new(dense))));
    let f =
        parse_function("{ lambda ; x:f64[2]. let y:f64[3] = pad[low=(0,) high=(1,) interior=(0,) value=1] x in (y,) }")
            .unwrap();
    assert!(matches!(f.eqns[0].prim, Prim::Pad { value: Scalar::F64(v), .. } if v == 1.0));
}

#[test]
fn reductions_and_args_of_every_op_print_their_mnemonic() {
    for op in ReduceOp::ALL {
        assert!(sample(PrimKind::Reduce(*op)).to_string().contains(&format!("= {}[axes=(0, 2)] a", op.name())));
    }
    for op in ArgOp::ALL {
        assert!(sample(PrimKind::Arg(*op)).to_string().contains(&format!("= {}[axis=1 index_dtype=i64] a", op.name())));
    }
}

// ---- errors ----

/// `src` fails to parse at `line:col` with exactly `message`.
#[track_caller]
fn assert_error(src: &str, line: usize, col: usize, message: &str) {
    match parse_function(src) {
        Ok(f) => panic!("parsed, expected `{message}`:\n{f}"),
        Err(e) => assert_eq!((e.line, e.col, e.message.as_str()), (line, col, message), "\n{e}"),
    }
}

const HEAD: &str = "{ lambda ; a:f32[10] b:f32[10]. let\n";

#[test]
fn errors_name_the_line_column_and_problem() {
    let eqn = |line: &str| format!("{HEAD}    {line}\n  in (a,) }}");
    // Unknown primitive, unknown and duplicate names.
    assert_error(&eqn("c:f32[10] = mull a b"), 2, 17, "unknown primitive `mull`");
    assert_error(&eqn("c:f32[10] = mul a x"), 2, 23, "unknown value `x`");
    assert_error(&eqn("b:f32[10] = mul a a"), 2, 5, "`b` is already defined");
    assert_error("{ lambda ; a:f32[] a:f32[]. let\n  in (a,) }", 1, 20, "`a` is already defined");
    assert_error(&format!("{HEAD}  in (c,) }}"), 2, 7, "unknown value `c`");
    // Bad types.
    assert_error(&eqn("c:f23[10] = mul a b"), 2, 7, "unknown dtype `f23`");
    assert_error(&eqn("c:f32[1x] = mul a b"), 2, 11, "expected a dimension, found `1x`");
    assert_error(&eqn("c:f32[10,] = mul a b"), 2, 14, "expected a dimension, found `]`");
    assert_error(
        &eqn("c:f32[99999999999] = mul a b"),
        2,
        11,
        "a dimension `99999999999` is too large (at most 2147483647)",
    );
    assert_error(
        &eqn("c:f32[65536,65536,65537] = mul a b"),
        2,
        7,
        "shape [65536, 65536, 65537] has more than 2^48 elements",
    );
    // Written type disagreeing with the shape rule; operand count and types.
    assert_error(&eqn("c:f32[10] d:f32[3] = mul a b"), 2, 5, "`mul` has 1 result(s), but 2 binder(s) are written");
    assert_error(&eqn("c:f64[10] = mul a b"), 2, 5, "`c` is written as f64[10] but `mul` gives f32[10]");
    assert_error(&eqn("c:f32[10] = mul a"), 2, 17, "mul: expects 2 operand(s), got 1 (f32[10])");
    assert_error(&eqn("c:f32[10] = sin a b"), 2, 17, "sin: expects 1 operand(s), got 2 (f32[10], f32[10])");
    assert_error(&eqn("c:bool[10] = not a"), 2, 18, "not: does not accept dtype f32 (operand f32[10])");
    // Parameters: missing, unknown, repeated, ill-typed.
    assert_error(&eqn("c:f32[] = reduce_sum a"), 2, 15, "`reduce_sum` needs parameter `axes`");
    assert_error(
        &eqn("c:f32[] = reduce_sum[axes=(0,) keepdims=1] a"),
        2,
        36,
        "`reduce_sum` has no parameter `keepdims`",
    );
    assert_error(&eqn("c:f32[] = reduce_sum[axes=(0,) axes=(0,)] a"), 2, 36, "parameter `axes` is given twice");
    assert_error(&eqn("c:f32[] = reduce_sum[axes=0] a"), 2, 31, "`axes` must be a tuple such as `(0, 1)`");
    assert_error(&eqn("c:f32[] = reduce_sum[axes=(-1,)] a"), 2, 32, "expected a non-negative integer, found `-1`");
    assert_error(
        &eqn("c:f32[] = reduce_sum[axes=(1,)] a"),
        2,
        15,
        "reduce_sum: axis 1 out of range for f32[10] (rank 1)",
    );
    assert_error(&eqn("c:f64[10] = convert_element_type[new_dtype=f65] a"), 2, 48, "unknown dtype `f65`");
    assert_error(&eqn("c:f32[10] = integer_pow[y=2.5] a"), 2, 31, "expected an i32 exponent, found `2.5`");
    assert_error(&eqn("c:f32[3] = constant[value=[1.0 2.0]]"), 2, 31, "2 element(s) written, f32[3] has 3");
    assert_error(&eqn("c:i32[3] = constant[value=1.5]"), 2, 31, "`1.5` is not a i32 value");
    assert_error(
        &eqn("c:f32[] d:f32[] = constant[value=1.0]"),
        2,
        23,
        "`constant` needs exactly one binder, whose type its value has",
    );
    assert_error(
        &eqn("c:f32[11] = pad[low=(1,) high=(0,) interior=(0,) value=true] a"),
        2,
        60,
        "`true` is not a f32 value",
    );
    assert_error(&eqn("c:f32[10] = call[body=1] a"), 2, 27, "`body` must be a function `{ lambda ; ... }`");
    // Unexpected tokens and end of input.
    assert_error(&eqn("c:f32[10] = mul a b )"), 2, 25, "expected an equation or `in`, found `)`");
    assert_error(&eqn("c:f32[10] mul a b"), 2, 15, "expected `=` or another binder, found `mul`");
    assert_error(&format!("{HEAD}    c:f32[10] = mul a b"), 2, 24, "expected an equation or `in`, found end of input");
    assert_error("{ lambda ; . let in () } extra", 1, 26, "expected end of input, found `extra`");
    assert_error("", 1, 1, "expected `{`, found end of input");
    assert_error("{ lambda ; . let in (1.0,) }", 1, 22, "expected a value name, found `1.0`");
    assert_error(&eqn("c:f32[10] = neg a loc(\"x.rs\":1)"), 2, 35, "expected `:`, found `)`");
    assert_error(&eqn("c:f32[10] = neg a $"), 2, 23, "unexpected character `$`");
}

#[test]
fn errors_in_nested_bodies_point_into_them() {
    let src = "{ lambda ; a:f32[3]. let
    b:f32[3] = call[body={ lambda ; a:f32[3]. let
            b:f32[3] = sin c
          in (b,) }] a
  in (b,) }";
    assert_error(src, 3, 28, "unknown value `c`");
    let level = "{ lambda ; . let a:f32[] = call[body=";
    assert_error(&level.repeat(100), 1, 64 * level.len() + 1, "functions nested more than 64 deep");
}

#[test]
fn errors_display_the_line_and_a_caret() {
    let e = parse_function(&format!("{HEAD}    c:f32[10] = mull a b\n  in (c,) }}")).unwrap_err();
    assert_eq!(e.to_string(), "2:17: unknown primitive `mull`\n    c:f32[10] = mull a b\n                ^");
    let e = parse_function("{ lambda ; a:f32[]. let").unwrap_err();
    assert_eq!(
        e.to_string(),
        "1:24: expected an equation or `in`, found end of input\n{ lambda ; a:f32[]. let\n                       ^"
    );
}

// ---- robustness ----

/// Valid texts to mutate: every sample, with locations.
fn corpus() -> Vec<String> {
    PrimKind::all().into_iter().map(|k| sample(k).to_text_with_locs()).collect()
}

/// Characters the grammar cares about, and a few it does not.
const ALPHABET: &[char] = &[
    '{', '}', '(', ')', '[', ']', ',', ':', ';', '.', '=', ' ', '\n', '#', '"', '\\', '-', '+', '0', '1', '9', 'a',
    'e', 'j', 'f', 'n', 'i', 'x', 'é', '\t',
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_random_text(s in "\\PC{0,80}") {
        let _ = parse_function(&s);
    }

    #[test]
    fn parser_never_panics_on_mutated_text(
        which in 0usize..1000,
        edits in prop::collection::vec((0usize..10_000, 0usize..6, prop::sample::select(ALPHABET)), 1..6),
    ) {
        let texts = corpus();
        let mut chars: Vec<char> = texts[which % texts.len()].chars().collect();
        for (at, op, c) in edits {
            let i = at % (chars.len() + 1);
            match op {
                0 => chars.insert(i, c),
                1 if i < chars.len() => { chars.remove(i); }
                2 if i < chars.len() => chars[i] = c,
                3 => { let end = (i + 5).min(chars.len()); chars.drain(i..end); }
                4 => { let piece: Vec<char> = chars[i..(i + 8).min(chars.len())].to_vec(); chars.splice(i..i, piece); }
                _ => chars.insert(i, '9'),
            }
        }
        let text: String = chars.into_iter().collect();
        if let Ok(f) = parse_function(&text) {
            // Whatever parses is well typed and prints canonically.
            let printed = f.to_string();
            prop_assert_eq!(parse_function(&printed).map(|g| g.to_string()), Ok(printed));
        }
    }
}
