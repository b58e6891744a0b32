//! The transforms composed and checked against values computed by hand: higher derivatives,
//! Jacobians and Hessians, the seed example of the brainpy `grad` documentation, JAX's complex
//! conventions, and the errors.

mod common;

use common::{assert_all_close, assert_close, f64s, parse, run, sample, Domain, Rng};
use gradjit_autodiff::{
    grad, hessian, hvp, jacfwd, jacrev, jvp, partial_eval, select_outputs, transpose, vjp, AdError,
};
use gradjit_ir::{DType, Function, HostArray, Scalar, TensorType};
use num_complex::Complex64;

fn scalar(v: f64) -> HostArray {
    f64s(&[], &[v])
}

fn c128(re: f64, im: f64) -> HostArray {
    HostArray::scalar(Scalar::C128(Complex64::new(re, im)))
}

const CUBE: &str = "{ lambda ; a:f64[]. let b:f64[] = integer_pow[y=3] a in (b,) }";

#[test]
fn grad_of_grad_of_cube_at_two_is_twelve() {
    let f = parse(CUBE);
    let df = select_outputs(&grad(&f, &[0]).unwrap(), &[1]).unwrap();
    let ddf = grad(&df, &[0]).unwrap();
    let out = run(&ddf, &[scalar(2.0)]);
    assert_eq!(out[0].to_vec::<f64>().unwrap(), vec![12.0], "3x² at 2");
    assert_eq!(out[1].to_vec::<f64>().unwrap(), vec![12.0], "6x at 2");
    // And a third time: d³/dx³ x³ = 6.
    let dddf = grad(&select_outputs(&ddf, &[1]).unwrap(), &[0]).unwrap();
    assert_eq!(run(&dddf, &[scalar(2.0)])[1].to_vec::<f64>().unwrap(), vec![6.0]);
}

/// f(x) = x0² x1 + x1 x2³ + exp(x0 x2).
const HESSIAN_F: &str = "{ lambda ; x:f64[3]. let
    a:f64[1] = slice[start=(0,) limit=(1,) stride=(1,)] x
    b:f64[1] = slice[start=(1,) limit=(2,) stride=(1,)] x
    c:f64[1] = slice[start=(2,) limit=(3,) stride=(1,)] x
    x0:f64[] = reshape[shape=()] a
    x1:f64[] = reshape[shape=()] b
    x2:f64[] = reshape[shape=()] c
    d:f64[] = integer_pow[y=2] x0
    e:f64[] = mul d x1
    f:f64[] = integer_pow[y=3] x2
    g:f64[] = mul x1 f
    h:f64[] = mul x0 x2
    i:f64[] = exp h
    j:f64[] = add e g
    k:f64[] = add j i
  in (k,) }";

#[test]
fn hessian_matches_the_hand_computed_matrix() {
    let f = parse(HESSIAN_F);
    let x = f64s(&[3], &[1.0, 2.0, 0.5]);
    let e = 0.5f64.exp();
    #[rustfmt::skip]
    let expected = [
        2.0 * 2.0 + 0.25 * e, 2.0,       e * 1.5,
        2.0,                  0.0,       0.75,
        e * 1.5,              0.75,      6.0 * 2.0 * 0.5 + e,
    ];
    let h = hessian(&f, &[0]).unwrap();
    let out = run(&h, std::slice::from_ref(&x));
    assert_eq!(out.len(), 1);
    assert_all_close(&out[0], &f64s(&[3, 3], &expected), 1e-12, "hessian");

    // Forward-over-reverse and reverse-over-reverse Hessian-vector products agree with H·v.
    let v = f64s(&[3], &[0.3, -1.0, 2.0]);
    let hv: Vec<f64> =
        (0..3).map(|i| (0..3).map(|j| expected[3 * i + j] * v.to_vec::<f64>().unwrap()[j]).sum()).collect();
    let fwd = run(&hvp(&f, &[0]).unwrap(), &[x.clone(), v.clone()]);
    assert_all_close(&fwd[0], &f64s(&[3], &hv), 1e-12, "hvp");
    let reverse_over_reverse = grad_of_grad_dot_v(&f);
    let rr = run(&reverse_over_reverse, &[x, v]);
    assert_all_close(&rr[1], &f64s(&[3], &hv), 1e-12, "grad of <grad f, v>");
}

/// `(x, v) ↦ <grad f(x), v>`, differentiated again with respect to `x`.
fn grad_of_grad_dot_v(f: &Function) -> Function {
    let g = select_outputs(&grad(f, &[0]).unwrap(), &[1]).unwrap();
    let text = format!(
        "{{ lambda ; x:f64[3] v:f64[3]. let
            g:f64[3] = call[body={g}] x
            p:f64[3] = mul g v
            s:f64[] = reduce_sum[axes=(0,)] p
          in (s,) }}"
    );
    grad(&parse(&text), &[0]).unwrap()
}

#[test]
fn jacfwd_and_jacrev_agree_on_a_function_with_two_inputs_and_outputs() {
    let f = parse(
        "{ lambda ; a:f64[2,1] b:f64[3]. let
            c:f64[2,3] = broadcast_in_dim[shape=(2, 3) broadcast_dimensions=(0, 1)] a
            d:f64[2,3] = broadcast_in_dim[shape=(2, 3) broadcast_dimensions=(1,)] b
            e:f64[2,3] = mul c d
            f:f64[2,3] = sin e
            g:f64[3] = reduce_sum[axes=(0,)] f
            h:f64[] = reduce_max[axes=(0,)] b
          in (g, h) }",
    );
    let fwd = jacfwd(&f, &[1, 0]).unwrap();
    let rev = jacrev(&f, &[1, 0]).unwrap();
    let mut rng = Rng::new(7);
    let args: Vec<HostArray> = f.params.iter().map(|&p| sample(&mut rng, f.ty(p), Domain::Any)).collect();
    let (jf, jr) = (run(&fwd, &args), run(&rev, &args));
    let shapes: [&[usize]; 4] = [&[3, 3], &[3, 2, 1], &[3], &[2, 1]];
    for (i, (a, b)) in jf.iter().zip(&jr).enumerate() {
        assert_eq!(a.dims(), shapes[i], "jacobian {i}");
        assert_all_close(a, b, 1e-12, &format!("jacobian {i}"));
    }
    // ∂g/∂b is diagonal: g_j = Σ_i sin(a_i b_j), so ∂g_j/∂b_j = Σ_i a_i cos(a_i b_j).
    let (a, b) = (args[0].to_vec::<f64>().unwrap(), args[1].to_vec::<f64>().unwrap());
    let d = jf[0].to_vec::<f64>().unwrap();
    for j in 0..3 {
        for k in 0..3 {
            let want = if j == k { a.iter().map(|&ai| ai * (ai * b[j]).cos()).sum() } else { 0.0 };
            assert_close(d[3 * j + k], want, 1e-12, &format!("∂g{j}/∂b{k}"));
        }
    }
}

/// The seed example of docs/ir-format.md: `mean(tanh(z*v + x*sum(y)))` with `x` of shape (1,).
const SEED: &str = "{ lambda ; a:f32[1] b:f32[10] c:f32[10]. let
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

#[test]
fn grad_of_the_seed_example_gives_brainpys_values() {
    let f = parse(SEED);
    let g = grad(&f, &[0, 1, 2]).unwrap();
    assert!(
        g.eqns.len() <= 3 * f.eqns.len(),
        "{} equations for a {}-equation forward:\n{g}",
        g.eqns.len(),
        f.eqns.len()
    );
    let x = HostArray::from_vec([1], vec![0.0f32]).unwrap();
    let z = HostArray::from_vec([10], vec![0.5f32; 10]).unwrap();
    let v = HostArray::from_vec([10], (0..10).map(|i| 0.1 * i as f32).collect::<Vec<_>>()).unwrap();
    let out = run(&g, &[x, z, v]);
    let close = |got: &HostArray, want: &[f64], what: &str| {
        let got = got.to_f64_vec();
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!((a - b).abs() < 2e-6, "{what}[{i}]: {a} vs {b}");
        }
    };
    // §2 of brainpy-grad-semantics.md (brainpy 2.6.1, whose sum(y) is the constant above).
    close(&out[0], &[0.217034], "loss");
    close(&out[1], &[3.118695], "d/dx");
    close(
        &out[2],
        &[0.0, 0.009975, 0.019801, 0.029335, 0.038442, 0.047001, 0.054908, 0.06208, 0.068451, 0.07398],
        "dz",
    );
    close(
        &out[3],
        &[0.05, 0.049875, 0.049503, 0.048892, 0.048052, 0.047001, 0.045757, 0.044343, 0.042782, 0.0411],
        "dv",
    );
}

#[test]
fn complex_gradients_follow_jax() {
    // |z|² at 1+2j: JAX's grad gives the conjugate, 2-4j.
    let abs2 = parse(
        "{ lambda ; z:c128[]. let
            c:c128[] = conj z
            p:c128[] = mul z c
            r:f64[] = real p
          in (r,) }",
    );
    let out = run(&grad(&abs2, &[0]).unwrap(), &[c128(1.0, 2.0)]);
    assert_eq!(out[1].get(0).to_c128(), Complex64::new(2.0, -4.0));
    // The same through abs, whose complex JVP is its own rule.
    let abs_sq = parse("{ lambda ; z:c128[]. let a:f64[] = abs z b:f64[] = integer_pow[y=2] a in (b,) }");
    let out = run(&grad(&abs_sq, &[0]).unwrap(), &[c128(1.0, 2.0)]);
    assert!((out[1].get(0).to_c128() - Complex64::new(2.0, -4.0)).norm() < 1e-12, "{}", out[1]);
    // Holomorphic z² at 1+2j: f'(z) = 2z = 2+4j.
    let square = parse("{ lambda ; z:c128[]. let b:c128[] = mul z z in (b,) }");
    let out = run(&grad(&square, &[0]).unwrap(), &[c128(1.0, 2.0)]);
    assert_eq!(out[1].get(0).to_c128(), Complex64::new(2.0, 4.0));
}

#[test]
fn grad_passes_aux_outputs_through_and_orders_gradients_by_wrt() {
    // loss = 2a + 3b; aux = a*b.
    let f = parse(
        "{ lambda ; a:f64[] b:f64[] n:i32[4]. let
            c:f64[] = constant[value=2.0]
            d:f64[] = constant[value=3.0]
            e:f64[] = mul c a
            g:f64[] = mul d b
            h:f64[] = add e g
            i:f64[] = mul a b
          in (h, i) }",
    );
    let g = grad(&f, &[1, 0, 2]).unwrap();
    let n = HostArray::from_vec([4], vec![1i32, 2, 3, 4]).unwrap();
    let out = run(&g, &[scalar(5.0), scalar(7.0), n]);
    assert_eq!(out.len(), 5);
    assert_eq!(out[0].to_vec::<f64>().unwrap(), vec![31.0], "loss");
    assert_eq!(out[1].to_vec::<f64>().unwrap(), vec![35.0], "aux");
    assert_eq!(out[2].to_vec::<f64>().unwrap(), vec![3.0], "d/db");
    assert_eq!(out[3].to_vec::<f64>().unwrap(), vec![2.0], "d/da");
    assert_eq!(out[4].ty(), &TensorType::new(DType::Float0, [4]), "an integer parameter's gradient is float0");
}

#[test]
fn vjp_takes_one_cotangent_per_output() {
    let f = parse(
        "{ lambda ; a:f64[2] b:f64[2]. let
            c:f64[2] = mul a b
            d:f64[2] = sin a
          in (c, d) }",
    );
    let g = vjp(&f, &[0]).unwrap();
    let (a, b) = (f64s(&[2], &[0.5, 1.0]), f64s(&[2], &[3.0, -2.0]));
    let (c1, c2) = (f64s(&[2], &[1.0, 10.0]), f64s(&[2], &[0.1, 0.2]));
    let out = run(&g, &[a.clone(), b, c1, c2]);
    let av = a.to_vec::<f64>().unwrap();
    let want: Vec<f64> = (0..2).map(|i| [1.0, 10.0][i] * [3.0, -2.0][i] + [0.1, 0.2][i] * av[i].cos()).collect();
    assert_all_close(&out[2], &f64s(&[2], &want), 1e-14, "vjp");
}

#[test]
fn jvp_of_a_call_evaluates_the_body_once() {
    let f = parse(
        "{ lambda ; a:f64[3]. let
            b:f64[3] = call[body={ lambda ; a:f64[3]. let b:f64[3] = exp a in (b,) }] a
          in (b,) }",
    );
    let j = jvp(&f).unwrap();
    let calls = j.eqns.iter().filter(|e| e.prim.name() == "call").count();
    assert_eq!(calls, 1, "{j}");
    let x = f64s(&[3], &[0.0, 1.0, -1.0]);
    let out = run(&j, &[x.clone(), f64s(&[3], &[1.0, 1.0, 1.0])]);
    assert_all_close(&out[1], &out[0], 1e-15, "exp' = exp");
}

#[test]
fn partial_eval_splits_and_composes_back() {
    // linear in b: f(a, b) = (sin a, cos(a) * b)
    let f = parse(
        "{ lambda ; a:f64[2] b:f64[2]. let
            c:f64[2] = sin a
            d:f64[2] = cos a
            e:f64[2] = mul d b
          in (c, e) }",
    );
    let split = partial_eval(&f, &[false, true]).unwrap();
    assert_eq!(split.output_is_linear, vec![false, true]);
    assert_eq!(split.num_residuals, 1, "cos a is the one residual\n{}", split.primal);
    let (a, b) = (f64s(&[2], &[0.3, 1.2]), f64s(&[2], &[2.0, -1.0]));
    let direct = run(&f, &[a.clone(), b.clone()]);
    let primal = run(&split.primal, &[a]);
    let linear = run(&split.linear, &[primal[1].clone(), b]);
    assert!(primal[0].bit_eq(&direct[0]) && linear[0].bit_eq(&direct[1]));
}

#[test]
fn transpose_of_a_matrix_product_multiplies_by_the_transposed_matrix() {
    let f = parse(
        "{ lambda ; m:f64[2,3] x:f64[3]. let
            y:f64[2] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] m x
          in (y,) }",
    );
    let t = transpose(&f, &[false, true]).unwrap();
    let m = f64s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let out = run(&t, &[m, f64s(&[2], &[1.0, -1.0])]);
    assert_eq!(out[0].to_vec::<f64>().unwrap(), vec![-3.0, -3.0, -3.0]);
}

#[test]
fn errors_name_the_problem() {
    let vector_loss = parse("{ lambda ; a:f64[3]. let b:f64[3] = sin a in (b,) }");
    let e = grad(&vector_loss, &[0]).unwrap_err();
    assert!(matches!(e, AdError::NonScalarLoss { .. }));
    assert_eq!(e.to_string(), "grad is only defined for scalar-output functions, but output 0 is f64[3]");

    let int_loss = parse("{ lambda ; a:i32[]. let b:i32[] = neg a in (b,) }");
    assert!(matches!(grad(&int_loss, &[0]), Err(AdError::NonDifferentiableLoss { .. })));

    let f = parse(CUBE);
    assert_eq!(grad(&f, &[1]).unwrap_err(), AdError::BadArgnum { index: 1, num_params: 1 });
    assert_eq!(grad(&f, &[0, 0]).unwrap_err(), AdError::DuplicateArgnum { index: 0 });
    assert!(matches!(select_outputs(&f, &[3]), Err(AdError::BadOutput { index: 3, num_outputs: 1 })));

    let e = transpose(&f, &[true]).unwrap_err();
    assert_eq!(e.to_string(), "cannot transpose `integer_pow`: it is not linear in operand(s) (f64[] linear)");

    let int_input = parse("{ lambda ; a:i32[2]. let b:f64[2] = convert_element_type[new_dtype=f64] a in (b,) }");
    assert!(matches!(jacfwd(&int_input, &[0]), Err(AdError::NonDifferentiableInput { index: 0, .. })));
}

#[test]
fn abs_has_slope_one_at_zero_as_in_jax() {
    let f = parse("{ lambda ; a:f64[]. let b:f64[] = abs a in (b,) }");
    let out = run(&grad(&f, &[0]).unwrap(), &[scalar(0.0)]);
    assert_eq!(out[1].to_vec::<f64>().unwrap(), vec![1.0]);
    let z = parse("{ lambda ; a:c128[]. let b:f64[] = abs a in (b,) }");
    let out = run(&grad(&z, &[0]).unwrap(), &[c128(0.0, 0.0)]);
    assert_eq!(out[1].get(0).to_c128(), Complex64::new(0.0, 0.0), "0, not NaN, at the origin");
}
