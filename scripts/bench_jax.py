#!/usr/bin/env python3
"""The JAX side of the gradjit benchmarks (docs/benchmarks.md, driven by scripts/bench_vs_jax.sh).

Each workload is `jax.jit(jax.grad(f))` of a float32 function `f(params, rest)`, differentiated
with respect to every array of `params` (`rest` holds inputs that are not differentiated). The
same workloads, inputs and seeds are defined for gradjit in benches/workloads/; the inputs come
from a counter-based generator (splitmix64) implemented identically in both languages, so both
sides see bit-identical arrays without exchanging files.

Usage (inside the pinned virtual environment; the shell script sets it up):

    bench_jax.py list                      # workload ids, one per line
    bench_jax.py grads ID OUTDIR           # writes OUTDIR/ID.jax.K.npy for each gradient K
    bench_jax.py time ID [--budget S]      # one JSON line of timings and memory

One process runs one workload, so its peak resident memory is that workload's.

Timing: `compile` is the first call of a fresh `jax.jit(jax.grad(f))` (trace, lower, compile
and one execution), after the backend was warmed on an unrelated function, repeated with
`jax.clear_caches()` between repeats. `steady` is one cached call followed by
`block_until_ready()`; samples average a batch of calls sized to last about 10 ms, and the
median, min and max over the samples are reported.
"""

import argparse
import json
import sys
import time

import numpy as np

# ---------------------------------------------------------------------------------------------
# Inputs: splitmix64 over a counter, identical to benches/workloads/inputs.rs.
# ---------------------------------------------------------------------------------------------

GAMMA = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


def splitmix64(seed, n):
    """Element i is splitmix64's output for the state seed + (i + 1) * GAMMA (wrapping)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) * GAMMA + (np.arange(1, n + 1, dtype=np.uint64) * GAMMA)
        z = (z ^ (z >> np.uint64(30))) * MIX1
        z = (z ^ (z >> np.uint64(27))) * MIX2
        return z ^ (z >> np.uint64(31))


def uniform(seed, shape, lo, hi):
    """f32 uniform in [lo, hi): the top 24 bits scaled exactly to [0, 1), then lo + (hi-lo)*u in f32."""
    n = int(np.prod(shape))
    u = (splitmix64(seed, n) >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)
    return (np.float32(lo) + np.float32(hi - lo) * u).reshape(shape)


def one_hot(seed, rows, classes):
    """Rows of one-hot f32 labels, the class of row i being (bits_i >> 32) mod classes."""
    labels = (splitmix64(seed, rows) >> np.uint64(32)) % np.uint64(classes)
    out = np.zeros((rows, classes), np.float32)
    out[np.arange(rows), labels.astype(np.int64)] = 1.0
    return out


# ---------------------------------------------------------------------------------------------
# Workloads: the table of issue 5. Seeds are 16 * workload number + input number.
# ---------------------------------------------------------------------------------------------


def w1_inputs(n):
    return [uniform(16, (1,), -1, 1), uniform(18, (n,), -1, 1), uniform(19, (n,), -1, 1)], []


W1_Y = uniform(17, (10,), -0.1, 0.1)


def w1(params, rest):
    import jax.numpy as jnp

    x, z, v = params
    return jnp.mean(jnp.tanh(z * v + x * jnp.sum(W1_Y)))


def w2_inputs():
    params = [
        uniform(34, (784, 256), -0.06, 0.06),
        uniform(35, (256,), -0.1, 0.1),
        uniform(36, (256, 10), -0.1, 0.1),
        uniform(37, (10,), -0.1, 0.1),
    ]
    return params, [uniform(32, (256, 784), -1, 1), uniform(33, (256, 10), 0, 1)]


def w2(params, rest):
    import jax.numpy as jnp

    w1_, b1, w2_, b2 = params
    x, y = rest
    return jnp.mean((jnp.tanh(x @ w1_ + b1) @ w2_ + b2 - y) ** 2)


def w3_inputs():
    return [uniform(48, (1024, 1000), -4, 4)], [one_hot(49, 1024, 1000)]


def w3(params, rest):
    import jax
    import jax.numpy as jnp

    (logits,) = params
    (labels,) = rest
    return -jnp.mean(jnp.sum(labels * jax.nn.log_softmax(logits, axis=-1), axis=-1))


def w4_inputs(n):
    return [uniform(64, (n,), -2, 2)], []


def w4(params, rest):
    import jax.numpy as jnp

    (x,) = params
    return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def w5_inputs(n):
    return [uniform(80, (n,), -3, 3)], []


def w5_f(x):
    import jax.numpy as jnp

    return jnp.sum(jnp.sin(x) * jnp.exp(-x * x) + jnp.log1p(x * x))


def w5(params, rest):
    return w5_f(params[0])


W6_N, W6_T = 256, 100


def w6_inputs():
    return [uniform(96, (W6_N, W6_N), -0.1, 0.1)], [uniform(97, (W6_T, W6_N), 0, 2.5)]


def w6(params, rest):
    import jax
    import jax.numpy as jnp

    (w,) = params
    (current,) = rest

    def step(carry, i_t):
        v, s = carry
        v = v + 0.1 * (-v + i_t + s @ w)
        s = jax.nn.sigmoid(5 * (v - 1))
        v = v * (1 - s)
        return (v, s), s

    zeros = jnp.zeros((W6_N,), jnp.float32)
    _, spikes = jax.lax.scan(step, (zeros, zeros), current)
    return jnp.mean(spikes)


def w7_inputs():
    return [uniform(80, (10**6,), -3, 3)], [uniform(112, (10**6,), -1, 1)]


def w7(params, rest):
    import jax
    import jax.numpy as jnp

    return jnp.dot(jax.grad(w5_f)(params[0]), rest[0])


def identity_inputs():
    return [uniform(128, (1,), -1, 1)], []


# id -> (builder of (params, rest), function, transform). "grad" is jit(grad(f)) with
# respect to params; "identity" is jit of the identity on params[0] (pure dispatch cost).
WORKLOADS = {
    "w1_n1e3": (lambda: w1_inputs(10**3), w1, "grad"),
    "w1_n1e5": (lambda: w1_inputs(10**5), w1, "grad"),
    "w1_n1e6": (lambda: w1_inputs(10**6), w1, "grad"),
    "w1_n1e7": (lambda: w1_inputs(10**7), w1, "grad"),
    "w2": (w2_inputs, w2, "grad"),
    "w3": (w3_inputs, w3, "grad"),
    "w4_n1e5": (lambda: w4_inputs(10**5), w4, "grad"),
    "w4_n1e6": (lambda: w4_inputs(10**6), w4, "grad"),
    "w5_n1e6": (lambda: w5_inputs(10**6), w5, "grad"),
    "w5_n1e7": (lambda: w5_inputs(10**7), w5, "grad"),
    "w6": (w6_inputs, w6, "grad"),
    "w7": (w7_inputs, w7, "grad"),
    "dispatch_w1": (lambda: w1_inputs(1), w1, "grad"),
    "dispatch_identity": (identity_inputs, None, "identity"),
}


# ---------------------------------------------------------------------------------------------
# Measurement.
# ---------------------------------------------------------------------------------------------


def rss_mb(field="VmRSS"):
    """A memory field of /proc/self/status in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def summary(samples_s):
    """Median, min and max in milliseconds, and the sample count."""
    ms = sorted(s * 1e3 for s in samples_s)
    return {"median": float(np.median(ms)), "min": ms[0], "max": ms[-1], "n": len(ms)}


def make_jitted(wid):
    import jax

    _, f, transform = WORKLOADS[wid]
    if transform == "identity":
        return jax.jit(lambda params, rest: params[0])
    return jax.jit(jax.grad(f))


def device_inputs(wid):
    import jax

    params, rest = WORKLOADS[wid][0]()
    params = [jax.device_put(a) for a in params]
    rest = [jax.device_put(a) for a in rest]
    jax.block_until_ready((params, rest))
    return params, rest


def warm_backend():
    """Initialises the CPU client so that compile times exclude it."""
    import jax
    import jax.numpy as jnp

    jax.jit(lambda a: a * 2 + 1)(jnp.ones(4, jnp.float32)).block_until_ready()


def time_steady(call, budget_s, batch_target_s=0.01, min_samples=7, max_samples=51):
    """Samples of the mean time of one call, each over a batch lasting about batch_target_s."""
    call()
    call()
    t0 = time.perf_counter()
    call()
    estimate = max(time.perf_counter() - t0, 1e-7)
    batch = max(1, int(batch_target_s / estimate))
    count = int(min(max(budget_s / (batch * estimate), min_samples), max_samples))
    samples = []
    for _ in range(count):
        t0 = time.perf_counter()
        for _ in range(batch):
            call()
        samples.append((time.perf_counter() - t0) / batch)
    return samples, batch


def cmd_time(wid, budget_s, compile_repeats):
    import jax

    warm_backend()
    base = rss_mb()
    params, rest = device_inputs(wid)

    compiles = []
    for _ in range(compile_repeats):
        jax.clear_caches()
        g = make_jitted(wid)
        t0 = time.perf_counter()
        jax.block_until_ready(g(params, rest))
        compiles.append(time.perf_counter() - t0)

    samples, batch = time_steady(lambda: jax.block_until_ready(g(params, rest)), budget_s)
    # VmHWM, not getrusage's ru_maxrss: the latter keeps the parent's high-water mark across exec.
    peak = rss_mb("VmHWM")
    print(
        json.dumps(
            {
                "id": wid,
                "side": "jax",
                "engine": f"jax {jax.__version__}",
                "compile_ms": summary(compiles),
                "steady_ms": summary(samples),
                "batch": batch,
                "base_rss_mb": base,
                "peak_rss_mb": peak,
            }
        )
    )


def cmd_grads(wid, outdir):
    import jax

    params, rest = device_inputs(wid)
    out = make_jitted(wid)(params, rest)
    grads = [out] if WORKLOADS[wid][2] == "identity" else out
    for k, g in enumerate(grads):
        np.save(f"{outdir}/{wid}.jax.{k}.npy", np.asarray(g))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    g = sub.add_parser("grads")
    g.add_argument("id", choices=WORKLOADS)
    g.add_argument("outdir")
    t = sub.add_parser("time")
    t.add_argument("id", choices=WORKLOADS)
    t.add_argument("--budget", type=float, default=1.5, help="seconds of steady-state sampling")
    t.add_argument("--compile-repeats", type=int, default=5)
    args = ap.parse_args()
    if args.cmd == "list":
        print("\n".join(WORKLOADS))
    elif args.cmd == "grads":
        cmd_grads(args.id, args.outdir)
    else:
        cmd_time(args.id, args.budget, args.compile_repeats)


if __name__ == "__main__":
    sys.exit(main())
