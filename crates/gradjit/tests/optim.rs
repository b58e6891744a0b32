//! The optimisers' API: steps checked by hand, a compiled train step against the same step run
//! eagerly, gradient maps, the finite check, errors naming the variable, and a small MLP trained
//! with Adam on a generated regression task. (The values of every rule against optax are in
//! `optim_reference.rs`.)

use gradjit::optim::{adamw, Adam, Grads, RmsProp, Schedule, Sgd};
use gradjit::{jit, value_and_grad, Array, Error, Module, ModuleName, Tensor, TrainVar, Var, VarCollection};
use std::collections::BTreeMap;

fn vec_of(v: &Var) -> Vec<f32> {
    v.get().to_vec::<f32>().unwrap()
}

fn grads(entries: &[(&str, Vec<f32>)]) -> Grads {
    entries.iter().map(|(n, g)| (*n, Array::from(g.clone()))).collect()
}

/// `actual` within f32 rounding (2e-7, relative above 1) of `expected`.
fn close(actual: &[f32], expected: &[f64], what: &str) {
    close_within(actual, expected, 2e-7, what)
}

fn close_within(actual: &[f32], expected: &[f64], tol: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!((a as f64 - e).abs() <= tol * e.abs().max(1.0), "{what}[{i}]: {a} vs {e} by hand\n{actual:?}");
    }
}

#[test]
fn adam_steps_by_hand() {
    let (lr, b1, b2, eps) = (0.1, 0.9, 0.999, 1e-8);
    let p0 = [0.5f64, -1.0];
    let w = TrainVar::new(Array::from(p0.map(|x| x as f32).to_vec()));
    let opt = Adam::new(lr).build([("w", &w)]).unwrap();
    let gs = [[0.2f64, -3.0], [-0.4, 1.0]];
    // Adam by hand, in f64: m ← b1·m + (1-b1)·g, v ← b2·v + (1-b2)·g², p ← p - lr·m̂/(√v̂ + eps),
    // with the bias corrections 1 - b^t of b rounded to f32, as optax computes them for f32
    // parameters (1 - 0.999 is 1.3e-5 larger than 1 - 0.999f32).
    let (b1_f32, b2_f32) = (b1 as f32 as f64, b2 as f32 as f64);
    let (mut p, mut m, mut v) = (p0.to_vec(), vec![0.0; 2], vec![0.0; 2]);
    for (t, g) in gs.iter().enumerate() {
        let t = t as i32 + 1;
        for i in 0..2 {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let (mh, vh) = (m[i] / (1.0 - b1_f32.powi(t)), v[i] / (1.0 - b2_f32.powi(t)));
            p[i] -= lr * mh / (vh.sqrt() + eps);
        }
        opt.update(grads(&[("w", g.map(|x| x as f32).to_vec())])).unwrap();
        close(&vec_of(&w), &p, &format!("w after step {t}"));
        if t == 1 {
            // The first step of Adam moves each parameter by about lr against its gradient's sign.
            close_within(&vec_of(&w), &[p0[0] - lr, p0[1] + lr], 1e-5, "first step");
        }
        close(&vec_of(&opt.state()["mu-w"]), &m, "mu");
        close(&vec_of(&opt.state()["nu-w"]), &v, "nu");
    }
    assert_eq!(opt.step_count().unwrap(), 2);
}

#[test]
fn sgd_momentum_nesterov_adamw_and_rmsprop_by_hand() {
    // SGD with Nesterov momentum 0.5, lr 0.1, gradient 1 twice: t = 1, then 1.5; the directions
    // are g + 0.5·t = 1.5, then 1.75.
    let p = TrainVar::new(Array::from(vec![1.0f32]));
    let sgd = Sgd::new(0.1).momentum(0.5).nesterov(true).build([("p", &p)]).unwrap();
    sgd.update(grads(&[("p", vec![1.0])])).unwrap();
    close(&vec_of(&p), &[1.0 - 0.15], "sgd step 1");
    sgd.update(grads(&[("p", vec![1.0])])).unwrap();
    close(&vec_of(&p), &[1.0 - 0.15 - 0.175], "sgd step 2");
    close(&vec_of(&sgd.state()["trace-p"]), &[1.5], "trace");

    // AdamW: the first step is lr·(sign(g) + wd·p).
    let q = TrainVar::new(Array::from(vec![2.0f32, -4.0]));
    let opt = adamw(0.01).weight_decay(0.5).build([("q", &q)]).unwrap();
    opt.update(grads(&[("q", vec![3.0, 0.5])])).unwrap();
    close(&vec_of(&q), &[2.0 - 0.01 * (1.0 + 1.0), -4.0 - 0.01 * (1.0 - 2.0)], "adamw");

    // RMSProp: ν = (1-0.9)·g², p ← p - lr·g/√(ν + eps).
    let r = TrainVar::new(Array::from(vec![0.0f32]));
    let rms = RmsProp::new(0.01).build([("r", &r)]).unwrap();
    rms.update(grads(&[("r", vec![2.0])])).unwrap();
    close(&vec_of(&r), &[-0.01 * 2.0 / (0.4f64 + 1e-8).sqrt()], "rmsprop");
}

#[test]
fn schedules_drive_the_learning_rate_and_clipping_bounds_the_step() {
    let p = TrainVar::new(Array::from(vec![0.0f32, 0.0]));
    let lr = Schedule::exponential_decay(1.0, 1, 0.5).with_warmup(0.0, 2);
    let opt = Sgd::new(lr).clip_by_global_norm(1.0).build([("p", &p)]).unwrap();
    // Gradient (3, 4) has norm 5: clipped to (0.6, 0.8). Learning rates: 0, 0.5, 1, 0.5, 0.25.
    let mut expected = [0.0f64, 0.0];
    for (t, lr) in [0.0, 0.5, 1.0, 0.5, 0.25].into_iter().enumerate() {
        assert_eq!(opt.learning_rate().unwrap(), lr, "learning rate at step {t}");
        opt.update(grads(&[("p", vec![3.0, 4.0])])).unwrap();
        expected = [expected[0] - lr * 0.6, expected[1] - lr * 0.8];
        close(&vec_of(&p), &expected, &format!("p after step {}", t + 1));
    }
}

#[test]
fn gradient_maps_add_scale_and_average() {
    let a = grads(&[("w", vec![1.0, 2.0]), ("b", vec![0.5])]);
    let b = grads(&[("w", vec![3.0, -2.0]), ("b", vec![1.5])]);
    let sum = a.add(&b).unwrap().to_arrays().unwrap();
    assert_eq!(sum["w"].to_vec::<f32>().unwrap(), [4.0, 0.0]);
    assert_eq!(a.scale(2.0).get("b").unwrap().to_vec::<f32>().unwrap(), [1.0]);
    let mean = Grads::mean(&[a.clone(), b.clone(), b]).unwrap().to_arrays().unwrap();
    close(&mean["w"].to_vec::<f32>().unwrap(), &[7.0 / 3.0, -2.0 / 3.0], "mean w");
    close(&mean["b"].to_vec::<f32>().unwrap(), &[3.5 / 3.0], "mean b");
    assert_eq!(a.names().collect::<Vec<_>>(), ["b", "w"], "sorted by name");
    assert!((a.global_norm().item().unwrap() - 5.25f64.sqrt()).abs() < 1e-6);

    let e = a.add(&grads(&[("w", vec![1.0, 2.0])])).unwrap_err();
    assert_eq!(e.to_string(), "cannot add gradient maps: `b` has no gradient in the second map");
    let e = a.add(&grads(&[("w", vec![1.0, 2.0, 3.0]), ("b", vec![0.5])])).unwrap_err();
    assert_eq!(e.to_string(), "cannot add gradient maps: the gradients of `w` are f32[2] and f32[3]");
    let e = Grads::mean(&[]).unwrap_err();
    assert_eq!(e.to_string(), "the mean of no gradient maps is undefined");
}

/// Mean-squared error of a linear model over a batch.
fn linear_loss(w: &TrainVar, x: &Tensor, y: &Tensor) -> Tensor {
    (x.matmul(&w.value()) - y).square().mean()
}

#[test]
fn micro_batch_accumulation_equals_the_full_batch_gradient() {
    let w = TrainVar::new(Array::from_vec([3, 1], vec![0.3f32, -0.2, 0.1]).unwrap()).with_name("w");
    let params = BTreeMap::from([("w".to_string(), w.clone())]);
    let xs: Vec<f32> = (0..24).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
    let ys: Vec<f32> = (0..8).map(|i| (i as f32 * 0.9).sin()).collect();
    let x = Array::from_vec([8, 3], xs.clone()).unwrap();
    let y = Array::from_vec([8, 1], ys.clone()).unwrap();
    let g = value_and_grad(|x: Tensor, y: Tensor| linear_loss(&w, &x, &y)).grad_vars(&w);
    let vars: VarCollection = {
        let mut c = VarCollection::new();
        c.insert("w", &w).unwrap();
        c
    };
    let full = Grads::from_result(&g.call((&x, &y)).unwrap(), &vars).unwrap();
    let micro: Vec<Grads> = (0..4)
        .map(|k| {
            let xk = Array::from_vec([2, 3], xs[k * 6..k * 6 + 6].to_vec()).unwrap();
            let yk = Array::from_vec([2, 1], ys[k * 2..k * 2 + 2].to_vec()).unwrap();
            Grads::from_result(&g.call((&xk, &yk)).unwrap(), &vars).unwrap()
        })
        .collect();
    let mean = Grads::mean(&micro).unwrap();
    let (a, b) = (mean.to_arrays().unwrap(), full.to_arrays().unwrap());
    assert!(a["w"].allclose(&b["w"], 1e-6, 1e-7), "{} vs {}", a["w"], b["w"]);
    // The averaged map feeds the optimiser like a gradient result.
    let opt = Sgd::new(0.1).build(&params).unwrap();
    opt.update(&mean).unwrap();
}

#[test]
fn mismatched_gradients_are_errors_naming_the_variable_and_change_nothing() {
    let (w, b) = (TrainVar::new(Array::ones([2])).with_name("w"), TrainVar::new(Array::zeros([3])).with_name("b"));
    let opt = Adam::new(0.1).build([("w", &w), ("b", &b)]).unwrap();
    let ok_w = ("w", vec![1.0, 1.0]);
    let cases: [(Grads, String); 4] = [
        (
            grads(std::slice::from_ref(&ok_w)),
            "no gradient for `b` (f32[3]) in the 1 gradients given to optimiser".into(),
        ),
        (
            grads(&[ok_w.clone(), ("b", vec![0.0; 3]), ("c", vec![1.0])]),
            "the gradients hold `c`, which is not a variable of optimiser".into(),
        ),
        (
            grads(&[ok_w.clone(), ("b", vec![0.0; 4])]),
            "the gradient of `b` is f32[4], but the variable is f32[3]".into(),
        ),
        (
            [("w", Array::from(vec![1.0f64, 1.0])), ("b", Array::zeros([3]))].into_iter().collect(),
            "the gradient of `w` is f64[2], but the variable is f32[2]".into(),
        ),
    ];
    for (g, message) in cases {
        let e = opt.update(&g).unwrap_err();
        assert!(matches!(e, Error::Argument(_)), "{e:?}");
        assert!(e.to_string().contains(&message), "{e}\nwanted: {message}");
    }
    assert_eq!(vec_of(&w), [1.0, 1.0]);
    assert_eq!(opt.step_count().unwrap(), 0, "nothing was applied");

    // A grad result over other variables.
    let other = TrainVar::new(1.0f32).with_name("other");
    let r = value_and_grad(|x: Tensor| x * other.value()).grad_vars(&other).call(2.0f32).unwrap();
    let e = opt.update(&r).unwrap_err().to_string();
    assert!(e.starts_with(&format!("the gradients hold variable {}", other.id())), "{e}");
}

#[test]
fn building_checks_the_variables() {
    let state = Var::new(Array::zeros([2])).with_name("v");
    let e = Adam::new(0.1).build([("v", &state)]).unwrap_err().to_string();
    assert_eq!(e, "`v` is a Var, not a TrainVar: optimisers train TrainVars (pass a module's `train_vars()`)");
    let count = TrainVar::new(3i32);
    let e = Sgd::new(0.1).build([("n", &count)]).unwrap_err().to_string();
    assert_eq!(e, "`n` has dtype i32: optimisers train floating-point variables");
    let w = TrainVar::new(Array::zeros([2]));
    let e = Adam::new(0.1).build([("w", &w), ("alias", &w)]).unwrap_err().to_string();
    assert_eq!(e, "`w` and `alias` are the same variable: an optimiser updates each variable once");
    let e = RmsProp::new(0.1).build(Vec::<(&str, &TrainVar)>::new()).unwrap_err().to_string();
    assert_eq!(e, "RmsProp was given no variables to train");
}

#[test]
fn non_finite_gradients_are_refused_eagerly_and_skipped_when_compiled() {
    let (a, b) = (TrainVar::new(Array::ones([2])), TrainVar::new(Array::ones([2])));
    let opt = Adam::new(0.1).check_finite(true).build([("a", &a), ("b", &b)]).unwrap();
    let bad = grads(&[("a", vec![1.0, 1.0]), ("b", vec![0.5, f32::NAN])]);
    let e = opt.update(&bad).unwrap_err();
    assert_eq!(e.to_string(), "the gradient of `b` (f32[2]) is not finite: element 1 is NaN");
    assert_eq!((vec_of(&a), opt.step_count().unwrap()), (vec![1.0, 1.0], 0), "nothing was written");

    // Compiled, the data is not known while tracing: a non-finite step leaves every variable as
    // it was, a finite one applies.
    let step = jit(|ga: Tensor, gb: Tensor| opt.update(Grads::from_iter([("a", ga), ("b", gb)])));
    let inf = Array::from(vec![f32::INFINITY, 0.0]);
    step.call((&Array::ones([2]), &inf)).unwrap();
    assert_eq!((vec_of(&a), opt.step_count().unwrap()), (vec![1.0, 1.0], 0));
    assert!(vec_of(&opt.state()["mu-a"]).iter().all(|&m| m == 0.0));
    step.call((&Array::ones([2]), &Array::ones([2]))).unwrap();
    assert_eq!(opt.step_count().unwrap(), 1);
    close_within(&vec_of(&a), &[0.9, 0.9], 1e-5, "a after a finite step (Adam's first step: lr·sign(g))");
    // Without the check, the NaN goes through.
    let c = TrainVar::new(Array::ones([1]));
    let unchecked = Sgd::new(0.1).build([("c", &c)]).unwrap();
    unchecked.update(grads(&[("c", vec![f32::NAN])])).unwrap();
    assert!(vec_of(&c)[0].is_nan());
}

#[test]
fn the_optimiser_is_a_module_of_its_state() {
    let w = TrainVar::new(Array::ones([2]));
    let opt = Sgd::new(0.1).momentum(0.9).build([("layer.w", &w)]).unwrap();
    let name = opt.name().as_str().to_string();
    assert!(name.starts_with("Sgd"));
    let vars = opt.vars().unwrap();
    assert_eq!(vars.names().collect::<Vec<_>>(), [format!("{name}.count"), format!("{name}.trace-layer.w")]);
    assert_eq!(opt.state().names().collect::<Vec<_>>(), ["count", "trace-layer.w"]);
    assert!(opt.vars().unwrap().trainable().is_empty(), "its state is not trained");
    opt.update(grads(&[("layer.w", vec![1.0, 1.0])])).unwrap();
    opt.reset().unwrap();
    assert_eq!((opt.step_count().unwrap(), vec_of(&opt.state()["trace-layer.w"])), (0, vec![0.0, 0.0]));
    close(&vec_of(&w), &[0.9, 0.9], "reset keeps the parameters");
}

// ---- An MLP ----

#[derive(Module)]
struct Dense {
    name: ModuleName,
    w: TrainVar,
    b: TrainVar,
}

#[derive(Module)]
struct Mlp {
    name: ModuleName,
    layers: Vec<Dense>,
}

/// Deterministic values in [-1, 1) (a hash of the index), so the test needs no RNG.
fn noise(i: usize, salt: usize) -> f32 {
    let h = (i.wrapping_mul(2654435761) ^ salt.wrapping_mul(40503)).wrapping_mul(2246822519) % 1_000_003;
    h as f32 / 500_001.5 - 1.0
}

impl Mlp {
    fn new(sizes: &[usize], salt: usize) -> Mlp {
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(l, io)| {
                let (n_in, n_out) = (io[0], io[1]);
                let scale = (3.0 / n_in as f32).sqrt();
                let w = (0..n_in * n_out).map(|i| noise(i, salt + l) * scale).collect();
                Dense {
                    name: ModuleName::new("Dense"),
                    w: TrainVar::new(Array::from_vec([n_in, n_out], w).unwrap()),
                    b: TrainVar::new(Array::zeros([n_out])),
                }
            })
            .collect();
        Mlp { name: ModuleName::new("Mlp"), layers }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x.clone(), |h, (i, d)| {
            let z = h.matmul(&d.w.value()) + d.b.value();
            if i == last {
                z
            } else {
                z.tanh()
            }
        })
    }

    fn loss(&self, x: &Tensor, y: &Tensor) -> Tensor {
        (self.forward(x) - y).square().mean()
    }
}

/// `y = sin(2·x0) + 0.5·x0·x1` on 256 points of [-1.5, 1.5]².
fn regression_task() -> (Array, Array) {
    let n = 256;
    let x: Vec<f32> = (0..2 * n).map(|i| 1.5 * noise(i, 99)).collect();
    let y: Vec<f32> = (0..n).map(|i| (2.0 * x[2 * i]).sin() + 0.5 * x[2 * i] * x[2 * i + 1]).collect();
    (Array::from_vec([n, 2], x).unwrap(), Array::from_vec([n, 1], y).unwrap())
}

#[test]
fn an_mlp_trained_with_adam_fits_a_regression_task() {
    let started = std::time::Instant::now();
    let (x, y) = regression_task();
    let net = Mlp::new(&[2, 32, 32, 1], 1);
    let params = net.train_vars().unwrap();
    let opt = Adam::new(Schedule::cosine_decay(0.02, 400, 0.05).with_warmup(0.002, 20)).build(&params).unwrap();
    let train_step = jit(|x: Tensor, y: Tensor| {
        let r = value_and_grad(|x: Tensor, y: Tensor| net.loss(&x, &y)).grad_vars(&params).apply((x, y))?;
        opt.update(&r)?;
        Ok::<_, Error>(r.value().clone())
    });
    let mut losses = Vec::new();
    for _ in 0..400 {
        losses.push(train_step.call((&x, &y)).unwrap().item::<f32>().unwrap());
    }
    let (first, last) = (losses[0], *losses.last().unwrap());
    eprintln!("MLP: loss {first:.4} -> {last:.5} in 400 Adam steps, {:.2} s", started.elapsed().as_secs_f64());
    assert!(first > 0.3, "the task is not trivial at the start: {first}");
    assert!(last < 0.002, "the loss must fall below 0.002: {first} -> {last}");
    assert_eq!(train_step.num_compiles(), 1);
    assert_eq!(opt.step_count().unwrap(), 400);
}

#[test]
fn a_compiled_train_step_matches_the_same_step_run_eagerly() {
    let (x, y) = regression_task();
    let run = |compiled: bool| -> Vec<Array> {
        let net = Mlp::new(&[2, 16, 1], 7);
        let params = net.vars_relative().unwrap().trainable();
        let opt = Adam::new(0.01).clip_by_global_norm(0.5).build(&params).unwrap();
        let loss = |x: Tensor, y: Tensor| net.loss(&x, &y);
        if compiled {
            let step = jit(|x: Tensor, y: Tensor| {
                let r = value_and_grad(loss).grad_vars(&params).apply((x, y))?;
                opt.update(&r)
            });
            for _ in 0..5 {
                step.call((&x, &y)).unwrap();
            }
        } else {
            // The gradients with the interpreter, and the update eagerly, one operation at a time.
            let g = value_and_grad(loss).grad_vars(&params);
            for _ in 0..5 {
                opt.update(g.call((&x, &y)).unwrap()).unwrap();
            }
        }
        let mut all: Vec<Array> = params.vars().map(Var::get).collect();
        all.extend(opt.state().vars().map(Var::get));
        all
    };
    let (compiled, eager) = (run(true), run(false));
    assert_eq!(compiled.len(), 4 + 1 + 8, "w and b of two layers, then count, mu and nu of each");
    assert_eq!(compiled[4], eager[4], "the step counters");
    // Differences in units of the last place of each array's largest element: the gradients'
    // sums run in SIMD order when compiled and in sequence when interpreted, and those
    // last-place differences pass through five steps of Adam into every variable. The
    // parameters stay within a few ulps; the second moments square gradients that are sums
    // with heavy cancellation (the output bias's gradient is a mean of residuals), so they keep
    // more of the difference.
    let scaled_ulps = |c: &Array, e: &Array| {
        let (c, e) = (c.to_vec::<f32>().unwrap(), e.to_vec::<f32>().unwrap());
        let scale = e.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        c.iter().zip(&e).map(|(a, b)| (a - b).abs() / (scale * f32::EPSILON)).fold(0.0f32, f32::max)
    };
    let params: Vec<f32> = (0..4).map(|i| scaled_ulps(&compiled[i], &eager[i])).collect();
    let state: Vec<f32> = (5..13).map(|i| scaled_ulps(&compiled[i], &eager[i])).collect();
    eprintln!("compiled vs eager after 5 steps, in ulps of each array's largest element: parameters {params:?}, moments {state:?}");
    assert!(params.iter().all(|&u| u <= 32.0), "parameters {params:?} ulps apart");
    assert!(state.iter().all(|&u| u <= 2048.0), "moments {state:?} ulps apart");
}

#[test]
fn the_update_alone_compiles_to_the_same_values_as_run_eagerly() {
    // Same gradients both ways: what differs is only the update's arithmetic (bias corrections
    // through `pow`, the cosine of the schedule, rsqrt), compiled to native code or interpreted.
    let grads_at = |t: usize| -> Grads {
        let g =
            |n: usize, salt: usize| Array::from((0..n).map(|i| 2.0 * noise(i + 10 * t, salt)).collect::<Vec<f32>>());
        [("a", g(5, 1)), ("b", g(3, 2))].into_iter().collect()
    };
    let run = |compiled: bool| -> Vec<Vec<f32>> {
        let a = TrainVar::new(Array::from((0..5).map(|i| noise(i, 3)).collect::<Vec<f32>>()));
        let b = TrainVar::new(Array::from((0..3).map(|i| noise(i, 4)).collect::<Vec<f32>>()));
        let lr = Schedule::cosine_decay(0.05, 6, 0.1).with_warmup(0.01, 2);
        let adam = Adam::new(lr.clone()).clip_by_global_norm(1.5).build([("a", &a)]).unwrap();
        let rms = RmsProp::new(lr).centered(true).momentum(0.9).build([("b", &b)]).unwrap();
        let step = jit(|ga: Tensor, gb: Tensor| {
            adam.update(Grads::from_iter([("a", ga)]))?;
            rms.update(Grads::from_iter([("b", gb)]))
        });
        for t in 0..8 {
            let g = grads_at(t);
            if compiled {
                step.call((&g.to_arrays().unwrap()["a"], &g.to_arrays().unwrap()["b"])).unwrap();
            } else {
                adam.update(Grads::from_iter([("a", g.get("a").unwrap().clone())])).unwrap();
                rms.update(Grads::from_iter([("b", g.get("b").unwrap().clone())])).unwrap();
            }
        }
        let mut all = vec![vec_of(&a), vec_of(&b)];
        all.extend(adam.state().vars().chain(rms.state().vars()).filter(|v| v.dtype().is_float()).map(vec_of));
        all
    };
    let (compiled, eager) = (run(true), run(false));
    for (i, (c, e)) in compiled.iter().zip(&eager).enumerate() {
        for (&x, &y) in c.iter().zip(e) {
            let ulps = (x.to_bits() as i64 - y.to_bits() as i64).unsigned_abs();
            assert!(ulps <= 4, "variable {i}: compiled {c:?}\n eager {e:?}");
        }
    }
}

#[test]
fn f64_and_mixed_precision_parameters() {
    // Adam's first step on an f64 parameter, by hand in f64: p - lr·g/(|g| + eps).
    let p = TrainVar::new(Array::from(vec![1.0f64, -2.0]));
    let q = TrainVar::new(Array::from(vec![0.5f32]));
    let opt = Adam::new(0.1).clip_by_global_norm(10.0).build([("p", &p), ("q", &q)]).unwrap();
    let g: Grads = [("p", Array::from(vec![0.25f64, -4.0])), ("q", Array::from(vec![3.0f32]))].into_iter().collect();
    opt.update(&g).unwrap();
    let got = p.get().to_vec::<f64>().unwrap();
    let want = [1.0 - 0.1 * 0.25 / (0.25 + 1e-8), -2.0 + 0.1 * 4.0 / (4.0 + 1e-8)];
    for (a, b) in got.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{got:?} vs {want:?}");
    }
    close_within(&vec_of(&q), &[0.4], 1e-5, "the f32 parameter beside it");
    // Clipping mixes the dtypes: the norm sqrt(0.25² + 4² + 3²) = 5.0062 is over 1.
    let clipped = g.clip_by_global_norm(1.0).to_arrays().unwrap();
    let norm = (0.0625f64 + 16.0 + 9.0).sqrt();
    assert!((clipped["p"].to_vec::<f64>().unwrap()[1] + 4.0 / norm).abs() < 1e-7);
    assert!((clipped["q"].to_vec::<f32>().unwrap()[0] as f64 - 3.0 / norm).abs() < 1e-6);
}

#[test]
fn micro_batches_accumulate_inside_a_jitted_step() {
    // Two micro-batches' gradients, averaged and applied, all in one compiled function: `Grads`
    // holds traced tensors inside the trace.
    let w = TrainVar::new(Array::from_vec([2, 1], vec![0.5f32, -0.5]).unwrap());
    let mut params = VarCollection::new();
    params.insert("w", &w).unwrap();
    let opt = Sgd::new(0.5).build(&params).unwrap();
    let loss = |x: Tensor, y: Tensor| linear_loss(&w, &x, &y);
    let step = jit(|x1: Tensor, y1: Tensor, x2: Tensor, y2: Tensor| {
        let g = value_and_grad(loss).grad_vars(&params);
        let g1 = Grads::from_result(&g.apply((x1, y1))?, &params)?;
        let g2 = Grads::from_result(&g.apply((x2, y2))?, &params)?;
        opt.update(Grads::mean(&[g1, g2])?)
    });
    let x1 = Array::from([[1.0f32, 0.0]]);
    let x2 = Array::from([[0.0f32, 2.0]]);
    let (y1, y2) = (Array::from([[1.0f32]]), Array::from([[1.0f32]]));
    step.call((&x1, &y1, &x2, &y2)).unwrap();
    // d/dw (x·w - y)²: (2·(0.5 - 1)·1, 0) and (0, 2·(-1 - 1)·2); their mean (-0.5, -4); w - 0.5·mean.
    assert_eq!(vec_of(&w), [0.75, 1.5]);
    assert_eq!(step.num_compiles(), 1);
}
