//! Eager mode: tensor operations outside any transformation compute at once, with numpy's
//! semantics (broadcasting, weakly typed scalars, negative axes, python slicing).

use gradjit::{concatenate, s, select, stack, Array, DType, Tensor};

fn vals(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>().unwrap_or_else(|e| panic!("{e}"))
}

#[track_caller]
fn close(actual: &[f32], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((*a as f64 - e).abs() <= 1e-6 * (1.0 + e.abs()), "{actual:?} vs {expected:?}");
    }
}

fn m23() -> Tensor {
    Tensor::from([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]])
}

#[test]
fn arithmetic_operators_broadcast_like_numpy() {
    let row = Tensor::from(vec![10.0f32, 20.0, 30.0]);
    let col = Tensor::from([[100.0f32], [200.0]]);
    let sum = m23() + &row;
    assert_eq!(sum.shape(), &[2, 3]);
    assert_eq!(vals(&sum), vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    assert_eq!(vals(&(&col - m23())), vec![99.0, 98.0, 97.0, 196.0, 195.0, 194.0]);
    assert_eq!(vals(&(&col * &row)), vec![1000.0, 2000.0, 3000.0, 2000.0, 4000.0, 6000.0]);
    assert_eq!(vals(&(m23() / Tensor::from(2.0f32))), vec![0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
    assert_eq!(vals(&(m23() % 4.0)), vec![1.0, 2.0, 3.0, 0.0, 1.0, 2.0]);
    assert_eq!(vals(&-m23()), vec![-1.0, -2.0, -3.0, -4.0, -5.0, -6.0]);
    let mut acc = m23();
    acc += 1.0;
    acc *= &row;
    assert_eq!(vals(&acc), vec![20.0, 60.0, 120.0, 50.0, 120.0, 210.0]);
    // Arrays mix with tensors on either side.
    let arr = Array::from(vec![1.0f32, 1.0, 1.0]);
    assert_eq!(vals(&(&arr + m23())), vals(&(m23() + &arr)));
}

#[test]
fn scalars_take_the_tensors_dtype() {
    let x = Tensor::from(vec![1.0f32, 2.0, 4.0]);
    assert_eq!(vals(&(2.0 * &x)), vec![2.0, 4.0, 8.0]);
    assert_eq!(vals(&(&x + 1)), vec![2.0, 3.0, 5.0]);
    assert_eq!(vals(&(1.0 / &x)), vec![1.0, 0.5, 0.25]);
    assert_eq!(vals(&(1.0 - &x).abs()), vec![0.0, 1.0, 3.0]);
    assert_eq!(vals(&(&x - 0.5f32)), vec![0.5, 1.5, 3.5]);
    assert_eq!((&x * 2.0).dtype(), DType::F32);
    // f64 tensors keep f64 scalars exact.
    let y = Tensor::from(vec![1.0f64]);
    assert_eq!((&y * 1.1).to_vec::<f64>().unwrap(), vec![1.1]);
    // Integer tensors with integer scalars stay integers.
    let i = Tensor::from(vec![1i32, 2, 7]);
    assert_eq!((&i * 3 + 1).to_vec::<i32>().unwrap(), vec![4, 7, 22]);
    assert_eq!((&i / 2).to_vec::<i32>().unwrap(), vec![0, 1, 3]);
}

#[test]
fn unary_functions() {
    let x = Tensor::from(vec![0.5f32, 1.0, 2.0]);
    let f = |g: fn(f64) -> f64| [0.5f64, 1.0, 2.0].map(g).to_vec();
    close(&vals(&x.exp()), &f(f64::exp));
    close(&vals(&x.log()), &f(f64::ln));
    close(&vals(&x.sqrt()), &f(f64::sqrt));
    close(&vals(&x.rsqrt()), &f(|v| 1.0 / v.sqrt()));
    close(&vals(&x.tanh()), &f(f64::tanh));
    close(&vals(&x.sin()), &f(f64::sin));
    close(&vals(&x.cos()), &f(f64::cos));
    close(&vals(&x.sigmoid()), &f(|v| 1.0 / (1.0 + (-v).exp())));
    close(&vals(&x.expm1()), &f(f64::exp_m1));
    close(&vals(&x.log1p()), &f(f64::ln_1p));
    close(&vals(&x.powi(3)), &f(|v| v.powi(3)));
    close(&vals(&x.powf(0.5)), &f(f64::sqrt));
    close(&vals(&x.pow(&x)), &f(|v| v.powf(v)));
    close(&vals(&x.square()), &f(|v| v * v));
    close(&vals(&x.reciprocal()), &f(|v| 1.0 / v));
    close(&vals(&(-&x).abs()), &f(|v| v));
    let r = Tensor::from(vec![-1.5f32, -0.5, 0.5, 2.5]);
    assert_eq!(vals(&r.floor()), vec![-2.0, -1.0, 0.0, 2.0]);
    assert_eq!(vals(&r.ceil()), vec![-1.0, -0.0, 1.0, 3.0]);
    assert_eq!(vals(&r.round()), vec![-2.0, -1.0, 1.0, 3.0]);
    assert_eq!(vals(&r.sign()), vec![-1.0, -1.0, 1.0, 1.0]);
    assert_eq!(r.astype(DType::I32).to_vec::<i32>().unwrap(), vec![-1, 0, 0, 2]);
    assert_eq!(r.stop_gradient().to_vec::<f32>().unwrap(), vals(&r));
}

#[test]
fn binary_functions_comparisons_and_select() {
    let a = Tensor::from(vec![1.0f32, 5.0, 3.0]);
    let b = Tensor::from(vec![2.0f32, 4.0, 3.0]);
    assert_eq!(vals(&a.maximum(&b)), vec![2.0, 5.0, 3.0]);
    assert_eq!(vals(&a.minimum(2.5)), vec![1.0, 2.5, 2.5]);
    assert_eq!(a.lt(&b).to_vec::<bool>().unwrap(), vec![true, false, false]);
    assert_eq!(a.le(&b).to_vec::<bool>().unwrap(), vec![true, false, true]);
    assert_eq!(a.gt(3).to_vec::<bool>().unwrap(), vec![false, true, false]);
    assert_eq!(a.ge(3.0).to_vec::<bool>().unwrap(), vec![false, true, true]);
    assert_eq!(a.equal(&b).to_vec::<bool>().unwrap(), vec![false, false, true]);
    assert_eq!(a.not_equal(&b).to_vec::<bool>().unwrap(), vec![true, true, false]);
    let mask = a.gt(&b);
    assert_eq!((!&mask).to_vec::<bool>().unwrap(), vec![true, false, true]);
    assert_eq!((&mask | a.equal(&b)).to_vec::<bool>().unwrap(), vec![false, true, true]);
    assert_eq!((&mask & a.equal(&b)).to_vec::<bool>().unwrap(), vec![false, false, false]);
    assert_eq!(vals(&mask.select(&a, 0.0)), vec![0.0, 5.0, 0.0]);
    // select broadcasts its three operands.
    // Two scalars take the default dtype of their kind (f32 for floats), as in JAX.
    assert_eq!(mask.select(1.0, 0.0).dtype(), DType::F32);
    assert_eq!(vals(&mask.select(1.0, 0.0)), vec![0.0, 1.0, 0.0]);
    let col = Tensor::from([[true], [false]]);
    assert_eq!(vals(&select(&col, &a, -1.0)), vec![1.0, 5.0, 3.0, -1.0, -1.0, -1.0]);
    let y = Tensor::from(vec![1.0f32, -1.0]);
    let x = Tensor::from(vec![1.0f32, 1.0]);
    close(&vals(&y.atan2(&x)), &[std::f64::consts::FRAC_PI_4, -std::f64::consts::FRAC_PI_4]);
}

#[test]
fn reductions_over_axes_with_keepdims_and_negative_axes() {
    let m = m23();
    assert_eq!(m.sum().item().unwrap(), 21.0);
    assert_eq!(vals(&m.sum_axes(0, false)), vec![5.0, 7.0, 9.0]);
    let kept = m.sum_axes(-1, true);
    assert_eq!(kept.shape(), &[2, 1]);
    assert_eq!(vals(&kept), vec![6.0, 15.0]);
    assert_eq!(m.sum_axes([0, 1], false).item().unwrap(), 21.0);
    assert_eq!(m.mean().item().unwrap(), 3.5);
    assert_eq!(vals(&m.mean_axes(1, false)), vec![2.0, 5.0]);
    assert_eq!(vals(&m.max_axes(1, false)), vec![3.0, 6.0]);
    assert_eq!(m.min().item().unwrap(), 1.0);
    assert_eq!(m.prod().item().unwrap(), 720.0);
    assert_eq!(vals(&m.prod_axes(0, true)), vec![4.0, 10.0, 18.0]);
    let x = Tensor::from([[3.0f32, 9.0, 1.0], [7.0, 2.0, 7.0]]);
    assert_eq!(x.argmax(1).to_vec::<i32>().unwrap(), vec![1, 0]);
    assert_eq!(x.argmin(-1).to_vec::<i32>().unwrap(), vec![2, 1]);
    assert_eq!(x.argmax(0).to_vec::<i32>().unwrap(), vec![1, 0, 1]);
    // Population variance and standard deviation.
    let v = Tensor::from(vec![1.0f32, 2.0, 3.0, 4.0]);
    close(&vals(&v.var()), &[1.25]);
    close(&vals(&v.std()), &[1.25f64.sqrt()]);
    close(&vals(&m.var_axes(1, false)), &[2.0 / 3.0, 2.0 / 3.0]);
    // Integer means are floats; boolean sums count.
    assert_eq!(Tensor::from(vec![1i32, 2]).mean().to_vec::<f32>().unwrap(), vec![1.5]);
    let flags = Tensor::from(vec![true, false, true]);
    assert_eq!(flags.sum().to_vec::<i32>().unwrap(), vec![2]);
    assert_eq!(flags.any().to_vec::<bool>().unwrap(), vec![true]);
    assert_eq!(flags.all().to_vec::<bool>().unwrap(), vec![false]);
}

#[test]
fn matmul_follows_numpy() {
    let a = m23();
    let b = Tensor::from([[1.0f32, 0.0], [0.0, 1.0], [1.0, 1.0]]);
    let ab = a.matmul(&b);
    assert_eq!(ab.shape(), &[2, 2]);
    assert_eq!(vals(&ab), vec![4.0, 5.0, 10.0, 11.0]);
    let v3 = Tensor::from(vec![1.0f32, 1.0, 1.0]);
    let v2 = Tensor::from(vec![1.0f32, -1.0]);
    assert_eq!(vals(&a.matmul(&v3)), vec![6.0, 15.0]);
    assert_eq!(vals(&v2.matmul(&a)), vec![-3.0, -3.0, -3.0]);
    assert_eq!(v3.matmul(&v3).shape(), &[] as &[usize]);
    assert_eq!(v3.matmul(&v3).item().unwrap(), 3.0);
    // A batch of matrices times a matrix, a matrix times a batch, and broadcast batches.
    let batch = stack(&[a.clone(), &a * 2.0], 0);
    assert_eq!(batch.shape(), &[2, 2, 3]);
    let bb = batch.matmul(&b);
    assert_eq!(bb.shape(), &[2, 2, 2]);
    assert_eq!(vals(&bb), vec![4.0, 5.0, 10.0, 11.0, 8.0, 10.0, 20.0, 22.0]);
    let bt = stack(&[b.clone(), &b * -1.0], 0);
    let ab2 = a.matmul(&bt);
    assert_eq!(ab2.shape(), &[2, 2, 2]);
    assert_eq!(vals(&ab2), vec![4.0, 5.0, 10.0, 11.0, -4.0, -5.0, -10.0, -11.0]);
    let b4 = batch.reshape([2, 1, 2, 3]).matmul(&bt);
    assert_eq!(b4.shape(), &[2, 2, 2, 2]);
    assert_eq!(vals(&b4.index(1).index(0)), vec![8.0, 10.0, 20.0, 22.0]);
    assert_eq!(vals(&batch.matmul(&v3)), vec![6.0, 15.0, 12.0, 30.0]);
    // dot, outer, mt.
    assert_eq!(vals(&a.dot(&b)), vals(&ab));
    assert_eq!(v3.dot(&v3).item().unwrap(), 3.0);
    assert_eq!(vals(&a.dot(&Tensor::from(2.0f32))), vals(&(&a * 2.0)));
    assert_eq!(vals(&v2.outer(&v3)), vec![1.0, 1.0, 1.0, -1.0, -1.0, -1.0]);
    assert_eq!(vals(&a.mt()), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
}

#[test]
fn reshaping_transposing_and_broadcasting() {
    let m = m23();
    assert_eq!(m.reshape([3, -1]).shape(), &[3, 2]);
    assert_eq!(m.flatten().shape(), &[6]);
    assert_eq!(vals(&m.transpose()), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    let t3 = Tensor::arange(24, DType::F32).reshape([2, 3, 4]);
    let p = t3.permute([2, 0, 1]);
    assert_eq!(p.shape(), &[4, 2, 3]);
    assert_eq!(vals(&p.index(1).index(1)), vec![13.0, 17.0, 21.0]);
    assert_eq!(t3.swapaxes(0, -1).shape(), &[4, 3, 2]);
    assert_eq!(m.expand_dims(0).shape(), &[1, 2, 3]);
    assert_eq!(m.expand_dims(-1).shape(), &[2, 3, 1]);
    assert_eq!(m.expand_dims(1).expand_dims(0).squeeze().shape(), &[2, 3]);
    assert_eq!(m.reshape([2, 1, 3]).squeeze_axes(-2).shape(), &[2, 3]);
    let b = Tensor::from(vec![1.0f32, 2.0]).reshape([2, 1]).broadcast_to([2, 2, 3]);
    assert_eq!(b.shape(), &[2, 2, 3]);
    assert_eq!(vals(&b.index(0)), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
}

#[test]
fn slicing_and_indexing_follow_python() {
    let x = Tensor::arange(10, DType::I32);
    let get = |t: Tensor| t.to_vec::<i32>().unwrap();
    assert_eq!(get(x.at(s![2..5])), vec![2, 3, 4]);
    assert_eq!(get(x.at(s![-3..])), vec![7, 8, 9]);
    assert_eq!(get(x.at(s![..;3])), vec![0, 3, 6, 9]);
    assert_eq!(get(x.at(s![..;-1])), vec![9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    // (A backward range like python's `7:2:-2` is written with `slice`, as `7..2` is an empty Rust range.)
    assert_eq!(get(x.slice(0, 7, 2, -2)), vec![7, 5, 3]);
    assert_eq!(get(x.at(s![..=2])), vec![0, 1, 2]);
    assert_eq!(get(x.at(s![-2..=-1])), vec![8, 9]);
    assert_eq!(get(x.at(s![5..100])), vec![5, 6, 7, 8, 9]);
    assert_eq!(get(x.slice(0, 8, 3, 1)), Vec::<i32>::new());
    assert_eq!(get(x.slice(0, 1, i64::MAX, 4)), vec![1, 5, 9]);
    assert_eq!(get(x.slice(-1, -1, i64::MIN, -4)), vec![9, 5, 1]);
    assert_eq!(get(x.index(-1)), vec![9]);
    let m = Tensor::arange(12, DType::F32).reshape([3, 4]);
    let col = m.at(s![.., -1]);
    assert_eq!(col.shape(), &[3]);
    assert_eq!(vals(&col), vec![3.0, 7.0, 11.0]);
    let block = m.at(s![1.., 1..3]);
    assert_eq!(block.shape(), &[2, 2]);
    assert_eq!(vals(&block), vec![5.0, 6.0, 9.0, 10.0]);
    let with_axis = m.at([gradjit::SliceArg::NewAxis, gradjit::SliceArg::Index(0)]);
    assert_eq!(with_axis.shape(), &[1, 4]);
    assert_eq!(vals(&m.index(1)), vec![4.0, 5.0, 6.0, 7.0]);
    // take (clamped indices), scatter_add, flip, pad.
    let idx = Tensor::from(vec![2i32, 0, 2]);
    assert_eq!(vals(&m.take(&idx, 0).at(s![.., 0])), vec![8.0, 0.0, 8.0]);
    assert_eq!(vals(&m.take(&idx, -1).index(0)), vec![2.0, 0.0, 2.0]);
    let z = Tensor::zeros(DType::F32, &[3]);
    assert_eq!(vals(&z.scatter_add(&idx, &Tensor::from(vec![1.0f32, 2.0, 3.0]), 0)), vec![2.0, 0.0, 4.0]);
    assert_eq!(vals(&m23().flip(1)), vec![3.0, 2.0, 1.0, 6.0, 5.0, 4.0]);
    let p = Tensor::from(vec![1.0f32, 2.0]).pad(&[(1, 2)], 9.0);
    assert_eq!(vals(&p), vec![9.0, 1.0, 2.0, 9.0, 9.0]);
    let d = Tensor::from(vec![1.0f32, 2.0, 3.0]).pad_interior(&[0], &[0], &[1], 0.0);
    assert_eq!(vals(&d), vec![1.0, 0.0, 2.0, 0.0, 3.0]);
    // dynamic_slice / dynamic_update_slice with tensor start indices (clamped).
    let start = Tensor::from(3i32);
    assert_eq!(vals(&m.index(0).dynamic_slice(&[&start], &[2])), vec![2.0, 3.0]);
    let upd = m.index(0).dynamic_update_slice(&Tensor::from(vec![-1.0f32]), &[Tensor::from(1i32)]);
    assert_eq!(vals(&upd), vec![0.0, -1.0, 2.0, 3.0]);
}

#[test]
fn joining_tensors() {
    let a = Tensor::from(vec![1.0f32, 2.0]);
    let b = Tensor::from(vec![3.0f32]);
    assert_eq!(vals(&concatenate(&[&a, &b, &a], 0)), vec![1.0, 2.0, 3.0, 1.0, 2.0]);
    assert_eq!(vals(&a.concat(&[&b], -1)), vec![1.0, 2.0, 3.0]);
    let s0 = stack(&[a.clone(), &a * 10.0], 0);
    assert_eq!(s0.shape(), &[2, 2]);
    assert_eq!(vals(&s0), vec![1.0, 2.0, 10.0, 20.0]);
    let s1 = stack(&[a.clone(), &a * 10.0], -1);
    assert_eq!(s1.shape(), &[2, 2]);
    assert_eq!(vals(&s1), vec![1.0, 10.0, 2.0, 20.0]);
}

#[test]
fn neural_network_functions() {
    let x = Tensor::from(vec![-2.0f32, -0.5, 0.0, 1.5]);
    assert_eq!(vals(&x.relu()), vec![0.0, 0.0, 0.0, 1.5]);
    assert_eq!(vals(&(&x * 5.0).relu6()), vec![0.0, 0.0, 0.0, 6.0]);
    assert_eq!(vals(&x.leaky_relu(0.1)), vec![-0.2, -0.05, 0.0, 1.5]);
    close(&vals(&x.elu(1.0)), &[(-2f64).exp_m1(), (-0.5f64).exp_m1(), 0.0, 1.5]);
    let xs = [-2.0f64, -0.5, 0.0, 1.5];
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    close(&vals(&x.silu()), &xs.map(|v| v * sig(v)));
    close(&vals(&x.softplus()), &xs.map(|v| (1.0 + v.exp()).ln()));
    close(&vals(&x.log_sigmoid()), &xs.map(|v| sig(v).ln()));
    close(&vals(&x.gelu_exact()), &xs.map(|v| 0.5 * v * (1.0 + erf(v / 2f64.sqrt()))));
    let c = (2.0 / std::f64::consts::PI).sqrt();
    close(&vals(&x.gelu()), &xs.map(|v| 0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh())));
    assert_eq!(vals(&x.clip(-1.0, 1.0)), vec![-1.0, -0.5, 0.0, 1.0]);

    // softmax and friends, stable for large inputs.
    let big = Tensor::from([[1000.0f32, 1001.0, 1002.0], [0.0, 0.0, 0.0]]);
    let sm = big.softmax(-1);
    let e = [1.0f64, 1f64.exp(), 2f64.exp()];
    let z: f64 = e.iter().sum();
    close(&vals(&sm), &[e[0] / z, e[1] / z, e[2] / z, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]);
    close(
        &vals(&big.log_softmax(1)),
        &[(e[0] / z).ln(), (e[1] / z).ln(), (e[2] / z).ln(), -(3f64.ln()), -(3f64.ln()), -(3f64.ln())],
    );
    close(&vals(&big.logsumexp_axes(-1, false)), &[1000.0 + z.ln(), 3f64.ln()]);
    assert_eq!(big.logsumexp_axes(1, true).shape(), &[2, 1]);
    // An all -inf row gives -inf, not NaN.
    let neg = Tensor::from(vec![f32::NEG_INFINITY, f32::NEG_INFINITY]);
    assert_eq!(vals(&neg.logsumexp()), vec![f32::NEG_INFINITY]);
    close(&vals(&Tensor::from(vec![1.0f32, 2.0]).logsumexp()), &[(1f64.exp() + 2f64.exp()).ln()]);
    // one_hot.
    let oh = Tensor::from(vec![2i32, 0, 5]).one_hot(3, DType::F32);
    assert_eq!(oh.shape(), &[3, 3]);
    assert_eq!(vals(&oh), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
}

/// erf by its series (enough terms for |x| <= 2 to 1e-12).
fn erf(x: f64) -> f64 {
    let mut term = x;
    let mut sum = x;
    for n in 1..60 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn constructors_and_conversions() {
    let t = Tensor::full(2.5f32, &[2, 2]);
    assert_eq!(vals(&t), vec![2.5; 4]);
    assert_eq!(vals(&t.zeros_like()), vec![0.0; 4]);
    assert_eq!(t.ones_like().to_vec::<f32>().unwrap(), vec![1.0; 4]);
    assert_eq!(Tensor::ones(DType::I64, &[2]).to_vec::<i64>().unwrap(), vec![1, 1]);
    assert_eq!(Tensor::iota(DType::I32, &[2, 3], 1).to_vec::<i32>().unwrap(), vec![0, 1, 2, 0, 1, 2]);
    assert_eq!(Tensor::scalar(3i64).item().unwrap(), 3.0);
    assert!(t.is_concrete() && !t.is_traced());
    assert_eq!(t.to_array().unwrap().shape(), &[2, 2]);
    assert_eq!(format!("{}", Tensor::from(vec![1.0f32, 2.0])), "[1. 2.]");
    // Reading as the wrong type, or a multi-element tensor as one number, is an error.
    assert!(t.to_vec::<f64>().is_err());
    assert!(t.item().is_err());
    // Random bits are reproducible per key.
    let key = Tensor::from(42i64);
    let r1 = key.random_bits(&[4], DType::I32).to_vec::<i32>().unwrap();
    assert_eq!(r1, key.random_bits(&[4], DType::I32).to_vec::<i32>().unwrap());
    assert_ne!(r1, Tensor::from(43i64).random_bits(&[4], DType::I32).to_vec::<i32>().unwrap());
}
