//! The optimisers against optax: every configuration of `tests/reference/optim/optax.json`
//! (written by `scripts/gen_optim_reference.py`) is replayed over its six steps, eagerly and
//! inside a jitted function, and the parameters and moments after each step are compared with
//! optax's; so are the schedules and `clip_by_global_norm`.

use gradjit::optim::{Adam, Grads, Optimizer, RmsProp, Rule, Schedule, Sgd};
use gradjit::{jit, Array, Tensor, TrainVar};
use serde_json::Value;
use std::collections::BTreeMap;

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/optim/optax.json");
    let text = std::fs::read_to_string(path).expect("the optax reference file (scripts/gen_optim_reference.py)");
    serde_json::from_str(&text).expect("valid JSON")
}

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

fn array(v: &Value) -> Array {
    let shape: Vec<usize> = v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let data: Vec<f32> = v["data"].as_array().unwrap().iter().map(|x| f64_of(x) as f32).collect();
    Array::from_vec(shape, data).unwrap()
}

fn arrays(v: &Value) -> BTreeMap<String, Array> {
    v.as_object().unwrap().iter().map(|(k, a)| (k.clone(), array(a))).collect()
}

fn schedule(v: &Value) -> Schedule {
    let n = |k: &str| f64_of(&v[k]);
    let steps = || v["steps"].as_u64().unwrap();
    match v["kind"].as_str().unwrap() {
        "constant" => Schedule::constant(n("value")),
        "linear" => Schedule::linear(n("init"), n("end"), steps()),
        "exponential" => Schedule::ExponentialDecay {
            init: n("init"),
            steps: steps(),
            rate: n("rate"),
            begin: v["begin"].as_u64().unwrap(),
            staircase: v["staircase"].as_bool().unwrap(),
            end: v["end"].as_f64(),
        },
        "cosine" => Schedule::cosine_decay(n("init"), steps(), n("alpha")),
        "warmup" => schedule(&v["then"]).with_warmup(n("start"), steps()),
        kind => panic!("unknown schedule {kind}"),
    }
}

/// Distance in units in the last place between two f32 values (of the same sign, or both tiny).
fn ulps(a: f32, b: f32) -> u64 {
    let key = |x: f32| {
        let bits = x.to_bits() as i64;
        if bits < 0 {
            i64::from(i32::MIN) - bits
        } else {
            bits
        }
    };
    let key = |x: f32| if x < 0.0 { -(key(-x)) } else { key(x) };
    (key(a) - key(b)).unsigned_abs()
}

/// `actual` within `max_ulps` of `expected` element by element, or within `atol` (for values
/// near zero, where ulps are meaningless after cancellation).
fn check(what: &str, actual: &Array, expected: &Array, max_ulps: u64, atol: f32) -> u64 {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shape");
    let (a, e) = (actual.to_vec::<f32>().unwrap(), expected.to_vec::<f32>().unwrap());
    let mut worst = 0;
    for (i, (&x, &y)) in a.iter().zip(&e).enumerate() {
        let d = ulps(x, y);
        assert!(
            d <= max_ulps || (x - y).abs() <= atol,
            "{what}[{i}]: {x:e} vs optax's {y:e} ({d} ulps apart)\n actual {a:?}\n optax  {e:?}"
        );
        worst = worst.max(d);
    }
    worst
}

/// Ulps the parameters may differ from optax's after six steps: the updates round the same way
/// but for `pow` (bias corrections), `rsqrt` and the schedules (computed in f64 here, in f32 by
/// optax), whose last-place differences reach the parameters scaled down by the learning rate.
const PARAM_ULPS: u64 = 8;
/// The moments compound those differences over the steps.
const STATE_ULPS: u64 = 64;

fn replay<R: Rule>(rule: R, case: &Value, jitted: bool) -> u64 {
    let name = format!("{}{}", case["name"].as_str().unwrap(), if jitted { " (jit)" } else { "" });
    let init = arrays(&case["init"]);
    let vars: BTreeMap<String, TrainVar> =
        init.iter().map(|(k, a)| (k.clone(), TrainVar::new(a.clone()).with_name(k.as_str()))).collect();
    let opt = rule.clone_build(&vars);
    let step = jit(|a: Tensor, b: Tensor| opt.update(Grads::from_iter([("a", a), ("b", b)])));
    let mut worst = 0;
    let steps = case["grads"].as_array().unwrap();
    for (t, g) in steps.iter().enumerate() {
        let g = arrays(g);
        if jitted {
            step.call((&g["a"], &g["b"])).unwrap();
        } else {
            opt.update(&g).unwrap();
        }
        for (k, expected) in arrays(&case["params"][t]) {
            worst = worst.max(check(
                &format!("{name}: {k} after step {}", t + 1),
                &vars[&k].get(),
                &expected,
                PARAM_ULPS,
                1e-7,
            ));
        }
        let state = opt.state();
        let expected_state = arrays(&case["state"][t]);
        assert_eq!(state.len(), expected_state.len() + 1, "{name}: the state is `count` and optax's moments");
        for (k, expected) in expected_state {
            let var = state.get(&k).unwrap_or_else(|| panic!("{name}: no state variable {k}"));
            check(&format!("{name}: {k} after step {}", t + 1), &var.get(), &expected, STATE_ULPS, 1e-7);
        }
        assert_eq!(opt.step_count().unwrap(), t as i64 + 1);
    }
    if jitted {
        assert_eq!(step.num_compiles(), 1, "{name}: one compilation for every step");
    }
    worst
}

/// Builds an optimiser of `self` over the named variables.
trait CloneBuild: Rule {
    fn clone_build(&self, vars: &BTreeMap<String, TrainVar>) -> Optimizer<Self> {
        Optimizer::new(self.clone(), vars.iter().map(|(k, v)| (k.as_str(), v))).unwrap()
    }
}
impl<R: Rule> CloneBuild for R {}

fn run_case(case: &Value, jitted: bool) -> u64 {
    let o = &case["optimizer"];
    let lr = schedule(&o["lr"]);
    let opt_f = |k: &str| o.get(k).map(f64_of);
    let flag = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
    let clip = o.get("clip").map(f64_of);
    match o["rule"].as_str().unwrap() {
        "sgd" => {
            let mut s = Sgd::new(lr).nesterov(flag("nesterov"));
            if let Some(m) = opt_f("momentum") {
                s = s.momentum(m);
            }
            assert!(clip.is_none());
            replay(s, case, jitted)
        }
        "adam" => {
            let mut a = Adam::new(lr).nesterov(flag("nesterov"));
            for (k, set) in [
                ("b1", Adam::b1 as fn(Adam, f64) -> Adam),
                ("b2", Adam::b2),
                ("eps", Adam::eps),
                ("eps_root", Adam::eps_root),
                ("weight_decay", Adam::weight_decay),
            ] {
                if let Some(v) = opt_f(k) {
                    a = set(a, v);
                }
            }
            if let Some(c) = clip {
                a = a.clip_by_global_norm(c);
            }
            if let Some(decayed) = o.get("decayed") {
                assert_eq!(decayed, &serde_json::json!(["a"]), "the test's mask decays `a` only");
                a = a.weight_decay_mask(|name| name == "a");
            }
            replay(a, case, jitted)
        }
        "rmsprop" => {
            let mut r = RmsProp::new(lr)
                .centered(flag("centered"))
                .nesterov(flag("nesterov"))
                .bias_correction(flag("bias_correction"));
            for (k, set) in [
                ("decay", RmsProp::decay as fn(RmsProp, f64) -> RmsProp),
                ("eps", RmsProp::eps),
                ("initial_scale", RmsProp::initial_scale),
                ("momentum", RmsProp::momentum),
            ] {
                if let Some(v) = opt_f(k) {
                    r = set(r, v);
                }
            }
            if o.get("eps_in_sqrt").is_some() {
                r = r.eps_in_sqrt(flag("eps_in_sqrt"));
            }
            assert!(clip.is_none());
            replay(r, case, jitted)
        }
        rule => panic!("unknown rule {rule}"),
    }
}

#[test]
fn every_optimiser_matches_optax_over_six_steps() {
    let doc = reference();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 11);
    for case in cases {
        let worst = run_case(case, false);
        eprintln!("{}: parameters within {worst} ulps of optax", case["name"]);
    }
}

#[test]
fn every_optimiser_matches_optax_when_jitted() {
    for case in reference()["cases"].as_array().unwrap() {
        let worst = run_case(case, true);
        eprintln!("{} (jit): parameters within {worst} ulps of optax", case["name"]);
    }
}

#[test]
fn schedules_match_optax() {
    for s in reference()["schedules"].as_array().unwrap() {
        let schedule = schedule(&s["schedule"]);
        let values: Vec<f64> = s["values"].as_array().unwrap().iter().map(f64_of).collect();
        // optax computes in f32, with intermediate terms as large as the schedule's peak (`1 +
        // cos` cancels near the end of a cosine), so its values are ours within a few f32 ulps of
        // the peak.
        let peak = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let tol = 8.0 * f32::EPSILON as f64 * peak;
        for (t, &want) in values.iter().enumerate() {
            let host = schedule.value_at(t as u64);
            let traced = schedule.eval(&Tensor::scalar(t as i32)).item().unwrap();
            assert!((host - want).abs() <= tol, "{schedule} at {t}: {host} vs optax's {want}");
            assert_eq!(host, traced, "{schedule} at {t}: host and tensor evaluations differ");
        }
    }
}

#[test]
fn clip_by_global_norm_matches_optax() {
    for c in reference()["clipping"].as_array().unwrap() {
        let grads: Grads = arrays(&c["grads"]).into_iter().collect();
        let clipped = grads.clip_by_global_norm(f64_of(&c["max_norm"])).to_arrays().unwrap();
        for (k, expected) in arrays(&c["clipped"]) {
            check(&format!("clip to {}: {k}", c["max_norm"]), &clipped[&k], &expected, 2, 0.0);
        }
    }
}
