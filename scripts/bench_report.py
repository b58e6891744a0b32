#!/usr/bin/env python3
"""gradjit against JAX, side by side: runs both, checks gradients, writes docs/benchmarks.md.

Run through scripts/bench_vs_jax.sh, which builds the gradjit runner and the pinned JAX
environment first. Steps:

1. Gradient agreement: each workload's gradients from gradjit (and from the hand-written loops
   of W1 and W5) are compared with JAX's on the same inputs before anything is timed; a
   disagreement is flagged in the table (and in the summary) beside the timings.
2. Memory bandwidth: STREAM triad at the DRAM scale and at each memory-bound workload's
   footprint (benches/workloads/bandwidth.rs), for the floor column.
3. Timings, pinned to one core (`taskset -c 0`, XLA's Eigen pool off, one rayon thread) and then
   on all cores: one process per workload and side, so peak memory is per workload.
4. docs/benchmarks.md (one table, the targets of issue 5 met or missed) and docs/benchmarks.svg.

Usage:
    bench_report.py run --runner PATH [--engine jit|codegen|interp] [--only ID,...] [--budget S]
    bench_report.py render [RESULTS.json]     # re-renders the docs from saved measurements

Text between `<!-- notes -->` and `<!-- /notes -->` in docs/benchmarks.md is kept when the
file is regenerated: it is where the measured numbers are explained by hand.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
JAX_SCRIPT = ROOT / "scripts" / "bench_jax.py"
OUT_DIR = ROOT / "target" / "bench-vs-jax"
DOC = ROOT / "docs" / "benchmarks.md"
CHART = ROOT / "docs" / "benchmarks.svg"

XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

# name -> (command prefix, environment changes: None removes the variable, threads).
CONFIGS = {
    "1 core": (["taskset", "-c", "0"], {"XLA_FLAGS": XLA_ONE_THREAD, "RAYON_NUM_THREADS": "1"}, 1),
    "all cores": ([], {"XLA_FLAGS": None, "RAYON_NUM_THREADS": None}, os.cpu_count() or 1),
}

# Gradient agreement: max |a - b| / max |b| at most this (looser for tiny arrays, which are sums
# over up to 1e7 terms in f32, where summation order alone moves the last digits).
GRAD_TOL = 2e-4
GRAD_TOL_REDUCED = 2e-3

# What the gradjit columns measure, by engine of the runner (benches/workloads/engine.rs).
ENGINE_NOTES = {
    "interp": "**gradjit ran on its reference interpreter** (`--engine interp`): `gradjit::grad(f)` as users call "
    "it, whose first call traces, differentiates and simplifies, and whose calls run the gradient IR on the "
    "interpreter (a plain loop per primitive, no fusion). These ratios are not the compiled engine's.",
    "codegen": "**gradjit ran the compiled engine directly** (`--engine codegen`): the IR of `grad(f)`, traced "
    "through the user API, compiled by gradjit-codegen and called as an executable, without `gradjit::jit`'s "
    "own argument handling and cache lookup, which did not exist yet.",
    "jit": "gradjit ran `gradjit::jit(gradjit::grad(f))` (`--engine jit`).",
}

# The footprint of the DRAM bandwidth figure: far beyond the last-level cache.
DRAM_FOOTPRINT = 3 << 28


# ---------------------------------------------------------------------------------------------
# Running the two sides.
# ---------------------------------------------------------------------------------------------


def environment(changes):
    env = dict(os.environ)
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_json(cmd, env=None, timeout=600):
    """Runs cmd and returns its JSON stdout lines, or raises with its stderr."""
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stderr.strip()[-2000:]}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def jax_cmd(*args):
    return [sys.executable, str(JAX_SCRIPT), *args]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def grad_error(a, b):
    """max |a - b| / max |b| (inf on NaN or a shape mismatch)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or not np.all(np.isfinite(a)):
        return math.inf
    scale = max(float(np.max(np.abs(b))), 1e-30) if b.size else 1.0
    return float(np.max(np.abs(a - b))) / scale if b.size else 0.0


def check_gradients(runner, engines, outdir):
    """Compares each engine's gradients with JAX's, for engines = {id: [engine, ...]}.

    Returns {id: {engine: {"errors": [one per gradient], "ok": bool} or {"error": str}}}."""
    outdir.mkdir(parents=True, exist_ok=True)
    for f in outdir.glob("*.npy"):
        f.unlink()
    checks = {}
    for wid, wanted in engines.items():
        try:
            run_json(jax_cmd("grads", wid, str(outdir)))
        except Exception as e:  # the JAX side failing is reported, not fatal
            checks[wid] = {e_: {"error": f"jax: {e}"} for e_ in wanted}
            continue
        reference = sorted(outdir.glob(f"{wid}.jax.*.npy"), key=lambda p: int(p.suffixes[-2][1:]))
        checks[wid] = {}
        for engine in wanted:
            try:
                run_json([runner, "grads", wid, str(outdir), "--engine", engine])
                errors, ok = [], True
                for k, ref in enumerate(reference):
                    mine = outdir / f"{wid}.{engine}.{k}.npy"
                    b = np.load(ref)
                    err = grad_error(np.load(mine), b) if mine.exists() else math.inf
                    tol = GRAD_TOL if b.size > 16 else GRAD_TOL_REDUCED
                    errors.append(err)
                    ok &= err <= tol
                checks[wid][engine] = {"errors": errors, "ok": ok}
            except Exception as e:
                checks[wid][engine] = {"error": str(e)}
            status = checks[wid][engine]
            log(f"  grads {wid:18} {engine:7} " + (f"max err {max(status['errors']):.1e} {'ok' if status['ok'] else 'DISAGREE'}" if "errors" in status else status["error"]))
    return checks


def measure_bandwidth(runner, footprints, config):
    """Triad bandwidth at each footprint on one thread and, if the configuration has more, on all."""
    prefix, changes, threads = CONFIGS[config]
    rows = []
    for t in sorted({1, threads}):
        cmd = [*prefix, runner, "bandwidth", *map(str, footprints), "--threads", str(t), "--budget", "0.5"]
        rows += run_json(cmd, environment(changes))
    return rows


def time_one(cmd, config):
    prefix, changes, _ = CONFIGS[config]
    try:
        return run_json([*prefix, *cmd], environment(changes))[-1]
    except Exception as e:
        return {"error": str(e)}


def summarize(samples_ms):
    ms = sorted(samples_ms)
    return {"median": float(np.median(ms)), "min": ms[0], "max": ms[-1], "n": len(ms)}


def more_compile_samples(run, cmd, config, wanted):
    """Completes the compile samples of an engine that has one cold first call per process (`jit`)
    with `--compile-only` processes, and summarises them again."""
    samples = run.get("compile_samples_ms")
    if samples is None or len(samples) >= wanted:
        return run
    phases = run.get("phase_samples_ms", {})
    for _ in range(wanted - len(samples)):
        extra = time_one([*cmd, "--compile-only"], config)
        if "error" in extra:
            break
        samples += extra["compile_samples_ms"]
        for name, values in extra["phase_samples_ms"].items():
            phases.setdefault(name, []).extend(values)
    run["compile_ms"] = summarize(samples)
    run["compile_phases_ms"] = {name: summarize(values) for name, values in phases.items()}
    return run


def cmd_run(args):
    t_start = time.time()
    runner = str(Path(args.runner).resolve())
    meta = {w["id"]: w for w in run_json([runner, "list", "--engine", args.engine])}
    hand = {w["id"]: w for w in run_json([runner, "list", "--engine", "hand"])}
    jax_ids = subprocess.run(jax_cmd("list"), capture_output=True, text=True, check=True).stdout.split()
    if list(meta) != jax_ids:
        sys.exit(f"the workload tables differ: gradjit {list(meta)}, JAX {jax_ids}")
    selected = args.only.split(",") if args.only else list(meta)
    engines = {
        wid: [e for e, table in ((args.engine, meta), ("hand", hand)) if table[wid]["skip"] is None] for wid in selected
    }
    results = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "engine": args.engine,
        "workloads": meta,
        "selected": selected,
        "skips": {wid: meta[wid]["skip"] for wid in selected},
        "runs": {},
        "bandwidth": {},
    }

    log("checking gradients against JAX")
    results["checks"] = check_gradients(runner, {w: e for w, e in engines.items() if e}, OUT_DIR / "grads")

    footprints = sorted({DRAM_FOOTPRINT} | {meta[w]["min_bytes"] for w in selected if meta[w]["min_bytes"]})
    for config in CONFIGS if not args.one_core_only else ["1 core"]:
        log(f"bandwidth, {config}")
        results["bandwidth"][config] = measure_bandwidth(runner, footprints, config)
        runs = results["runs"][config] = {"jax": {}, args.engine: {}, "hand": {}}
        for wid in selected:
            log(f"timing {wid}, {config}")
            budget = ["--budget", str(args.budget)]
            repeats = ["--compile-repeats", str(args.compile_repeats)]
            runs["jax"][wid] = time_one(jax_cmd("time", wid, *budget, *repeats), config)
            for engine in engines[wid]:
                # A disagreement is timed and flagged in the table; a failure is not timed.
                if "errors" not in results["checks"].get(wid, {}).get(engine, {}):
                    runs[engine][wid] = {"error": "not timed: computing its gradients failed"}
                    continue
                cmd = [runner, "time", wid, "--engine", engine, *budget, *repeats]
                runs[engine][wid] = more_compile_samples(time_one(cmd, config), cmd, config, args.compile_repeats)
    results["machine"]["load_after"] = os.getloadavg()
    results["seconds"] = time.time() - t_start

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "results.json").write_text(json.dumps(results, indent=1))
    render(results)
    log(f"done in {results['seconds']:.0f} s; raw results in {(OUT_DIR / 'results.json').relative_to(ROOT)}")


def machine_info():
    cpu = "unknown"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"

    import jax

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "rustc": out(["rustc", "--version"]),
        "jax": jax.__version__,
        "commit": out(["git", "rev-parse", "--short", "HEAD"]),
        "load_before": os.getloadavg(),
    }


# ---------------------------------------------------------------------------------------------
# Rendering.
# ---------------------------------------------------------------------------------------------


def fmt_ms(ms):
    if ms is None or not math.isfinite(ms):
        return "–"
    if ms < 1e-2:
        return f"{ms * 1e3:.2g} µs" if ms * 1e3 < 10 else f"{ms * 1e3:.0f} µs"
    if ms < 1:
        return f"{ms * 1e3:.0f} µs"
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1e3:.2f} s"


def fmt_range(s):
    """`median (min–max)`."""
    if not s:
        return "–"
    return f"{fmt_ms(s['median'])} <sub>{fmt_ms(s['min'])}–{fmt_ms(s['max'])}</sub>"


def fmt_ratio(r):
    if r is None or not math.isfinite(r):
        return "–"
    return f"**{r:.2g}**" if r < 0.1 else f"**{r:.2f}**" if r < 10 else f"**{r:.0f}**"


def ratio(a, b, key):
    try:
        return a[key]["median"] / b[key]["median"]
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def floor_ms(results, config, wid):
    """Bytes moved / the best triad bandwidth measured at the workload's footprint, in ms."""
    need = results["workloads"][wid]["min_bytes"]
    rows = results["bandwidth"].get(config, [])
    if not need or not rows:
        return None
    nearest = min(abs(math.log(b["footprint"] / need)) for b in rows)
    best = max(b["best_gb_s"] for b in rows if abs(math.log(b["footprint"] / need)) == nearest)
    return need / (best * 1e9) * 1e3


def dram_bandwidth(rows):
    """(GB/s, threads) of the best triad at the largest footprint."""
    top = max((b["footprint"] for b in rows), default=None)
    return max(((b["best_gb_s"], b["threads"]) for b in rows if b["footprint"] == top), default=None)


def memory(run):
    if not run or "peak_rss_mb" not in run:
        return "–"
    return f"{run['peak_rss_mb']:.0f} <sub>+{max(run['peak_rss_mb'] - run['base_rss_mb'], 0):.0f}</sub>"


def table(results):
    engine = results["engine"]
    head = (
        "| workload | size | cores | steady: JAX | steady: gradjit | ratio | compile: JAX | compile: gradjit "
        "| ratio | hand loop | floor | peak MB: JAX | peak MB: gradjit | grads |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for wid in results["selected"]:
        w = results["workloads"][wid]
        for config, runs in results["runs"].items():
            j, g, h = runs["jax"].get(wid, {}), runs[engine].get(wid, {}), runs["hand"].get(wid, {})
            check = results["checks"].get(wid, {}).get(engine)
            if results["skips"].get(wid):
                grads = results["skips"][wid]
            elif not check:
                grads = "–"
            elif "error" in check:
                grads = "error"
            else:
                grads = f"{'ok' if check['ok'] else 'DISAGREE'} {max(check['errors'], default=0):.0e}"
            lines.append(
                "| "
                + " | ".join(
                    [
                        w["name"],
                        w["size"],
                        config,
                        fmt_range(j.get("steady_ms")),
                        fmt_range(g.get("steady_ms")),
                        fmt_ratio(ratio(g, j, "steady_ms")),
                        fmt_range(j.get("compile_ms")),
                        fmt_range(g.get("compile_ms")),
                        fmt_ratio(ratio(g, j, "compile_ms")),
                        fmt_range(h.get("steady_ms")),
                        fmt_ms(floor_ms(results, config, wid)),
                        memory(j),
                        memory(g),
                        grads,
                    ]
                )
                + " |"
            )
    return "\n".join(lines)


def phase_table(results):
    """The gradjit first call split into its phases (where the engine reports them), per configuration."""
    engine = results["engine"]
    names = []
    for runs in results["runs"].values():
        for run in runs[engine].values():
            for name in run.get("compile_phases_ms", {}):
                if name not in names:
                    names.append(name)
    if not names:
        return ""
    lines = [
        "| workload | size | cores | JAX first call | gradjit first call | " + " | ".join(names) + " |",
        "|" + "---|" * (5 + len(names)),
    ]
    for wid in results["selected"]:
        w = results["workloads"][wid]
        for config, runs in results["runs"].items():
            g = runs[engine].get(wid, {})
            if "compile_phases_ms" not in g:
                continue
            cells = [fmt_ms(median(runs["jax"].get(wid), "compile_ms")), fmt_ms(median(g, "compile_ms"))]
            cells += [fmt_ms(g["compile_phases_ms"].get(n, {}).get("median")) for n in names]
            lines.append(f"| {w['name']} | {w['size']} | {config} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def median(run, key):
    try:
        return run[key]["median"]
    except (KeyError, TypeError):
        return None


def targets(results):
    """(target, config, measured text, met: True/False/None) for each target of issue 5."""
    engine = results["engine"]
    rows = []
    for config, runs in results["runs"].items():
        j, g = runs["jax"], runs[engine]

        def rel(wid, key):
            return ratio(g.get(wid, {}), j.get(wid, {}), key) if wid in g else None

        def add(name, wid, value, limit, unit=""):
            measured = "not measured" if value is None else f"{value:.3g}{unit}"
            rows.append((name, config, wid, measured, None if value is None else value <= limit))

        for wid in results["selected"]:
            if not wid.startswith("dispatch"):
                add("compile ≤ 1/20 of JAX's", wid, rel(wid, "compile_ms"), 0.05)
        for wid in ("w1_n1e6", "w3", "w4_n1e6", "w5_n1e6"):
            if wid in results["selected"]:
                add("compile ≤ 5 ms", wid, median(g.get(wid), "compile_ms"), 5.0, " ms")
        for wid in ("dispatch_identity", "dispatch_w1"):
            if wid in results["selected"]:
                us = median(g.get(wid), "steady_ms")
                add("dispatch ≤ 1 µs", wid, None if us is None else us * 1e3, 1.0, " µs")
        for limit, prefixes in ((1.0, ("w1_", "w3", "w4_", "w6")), (1.1, ("w2",)), (0.5, ("w5_", "w7"))):
            for wid in results["selected"]:
                if wid.startswith(prefixes) and not wid.endswith("1e7"):
                    add(f"steady ≤ {limit} of JAX's", wid, rel(wid, "steady_ms"), limit)
        for wid in results["selected"]:
            if wid.endswith("1e7"):
                add("steady at n=1e7 ≤ 0.5 of JAX's", wid, rel(wid, "steady_ms"), 0.5)
        if "w1_n1e6" in results["selected"]:
            t, f = median(g.get("w1_n1e6"), "steady_ms"), floor_ms(results, config, "w1_n1e6")
            add("W1 1e6 ≤ 1.3x the memory floor", "w1_n1e6", None if t is None or not f else t / f, 1.3, "x")
    return rows


def target_ratio(wid, key):
    """The ratio issue 5 asks of a workload's steady state or compile time (None: no ratio target)."""
    if wid.startswith("dispatch"):
        return None  # dispatch targets an absolute time (1 µs)
    if key == "compile_ms":
        return 0.05
    if wid.endswith("1e7") or wid.startswith(("w5_", "w7")):
        return 0.5
    return 1.1 if wid == "w2" else 1.0


def render(results):
    engine = results["engine"]
    m = results["machine"]
    notes = ""
    if DOC.exists():
        found = re.search(r"<!-- notes -->.*?<!-- /notes -->", DOC.read_text(), re.S)
        notes = found.group(0) if found else ""
    if not notes:
        notes = "<!-- notes -->\n<!-- /notes -->"

    bw = []
    for config, rows in results["bandwidth"].items():
        dram = dram_bandwidth(rows)
        if dram:
            bw.append(f"{dram[0]:.1f} GB/s ({config}, {dram[1]} thread(s))")

    engine_note = ENGINE_NOTES.get(engine, f"gradjit engine: `{engine}`.")
    disagree = sorted(
        f"{wid} ({engine})"
        for wid, by_engine in results["checks"].items()
        for engine, c in by_engine.items()
        if not c.get("ok")
    )
    target_rows = targets(results)
    met = sum(1 for r in target_rows if r[4])
    missed = sum(1 for r in target_rows if r[4] is False)
    not_measured = sum(1 for r in target_rows if r[4] is None)

    out = [
        "# Benchmarks: gradjit against JAX",
        "",
        "Generated by `scripts/bench_vs_jax.sh` (do not edit by hand, except between the notes markers).",
        "Ratios are gradjit time / JAX time from one run on this machine; lower is better. Each time is the",
        "median with <sub>min–max</sub> over repeated runs.",
        "",
        engine_note,
        "",
        "## Setup",
        "",
        f"- run: {results['started']}, {results.get('seconds', 0):.0f} s, commit `{m['commit']}`",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['os']}; load average before "
        f"{m['load_before'][0]:.1f}, after {m.get('load_after', [float('nan')])[0]:.1f} (the machine is shared)",
        f"- JAX {m['jax']} (`jax.jit(jax.grad(f))`, `block_until_ready()`); {m['rustc']}",
        f"- memory bandwidth (STREAM triad, {DRAM_FOOTPRINT >> 20} MiB): " + "; ".join(bw),
        "- **1 core**: `taskset -c 0`, `XLA_FLAGS=" + XLA_ONE_THREAD + "`, `RAYON_NUM_THREADS=1`;"
        " **all cores**: no pinning.",
        "- **steady**: one call on cached inputs until the results are ready; a sample averages a batch of calls"
        " lasting about 10 ms. **compile**: the first call of a fresh `jit(grad(f))` (trace, differentiate,"
        " simplify, lower, compile, run), 5 repeats. Dispatch rows are the steady time of a call on size-1 inputs.",
        "- **hand loop**: a plain scalar f32 Rust loop computing the same gradient (W1, W5; benches/workloads/hand.rs)."
        " **floor**: bytes the gradient must move (inputs read once, gradients written once) / triad bandwidth"
        " (the better of one thread and all) measured at the same footprint.",
        "- **peak MB**: peak resident memory of the process running the workload, with <sub>+ the growth over the"
        " runtime's baseline</sub> (JAX's runtime alone holds about 200 MB).",
        "- **grads**: the largest gradient difference from JAX's, max |a−b| / max |b|, checked before timing.",
        "",
        "## Results",
        "",
        "Gradients agree with JAX's on every timed workload."
        if not disagree
        else "**Gradients disagree with JAX's (or failed) on: " + ", ".join(disagree) + "** (see the grads column).",
        "",
        table(results),
        "",
        "![gradjit / JAX time ratios](benchmarks.svg)",
        "",
        "### Where the first call's time goes",
        "",
        "Medians of the phases of gradjit's first call: **prepare** (tracing `grad(f)`, differentiating,"
        " simplifying and compiling: `Jit::compile` for `jit`; for `codegen` split into **trace_grad**, the"
        " gradient IR through the user API, and **codegen**, planning, lowering and compiling it) and"
        " **first_run** (the first execution, page faults of fresh buffers included).",
        "",
        phase_table(results) or "(this engine does not report phases)",
        "",
        "## Targets (issue 5)",
        "",
        f"{met} met, {missed} missed, {not_measured} not measured.",
        "",
        "| target | cores | workload | measured | |",
        "|---|---|---|---|---|",
    ]
    for name, config, wid, measured, ok in target_rows:
        mark = "met" if ok else ("missed" if ok is False else "–")
        out.append(f"| {name} | {config} | {wid} | {measured} | {mark} |")
    out += ["", "## Notes", "", notes, ""]
    DOC.write_text("\n".join(out))
    CHART.write_text(chart(results))
    print(table(results))
    log(f"wrote {DOC.relative_to(ROOT)} and {CHART.relative_to(ROOT)}")


def chart(results):
    """A log-scale bar chart of the steady and compile ratios (SVG, no plotting library)."""
    engine = results["engine"]
    configs = list(results["runs"])
    rows = [w for w in results["selected"] if any(results["runs"][c][engine].get(w, {}).get("steady_ms") for c in configs)]
    panels = [("steady state", "steady_ms"), ("compile (first call)", "compile_ms")]
    colours = ["#3b6fb6", "#e08a2c", "#5aa05a"]
    label_w, panel_w, bar_h, gap, top = 190, 330, 9, 8, 62
    row_h = bar_h * len(configs) + gap
    height = top + row_h * max(len(rows), 1) + 40
    width = label_w + panel_w * len(panels) + 40
    lo, hi = -3, 3  # log10 of the ratio axis

    def x_of(panel, r):
        v = min(max(math.log10(r), lo), hi)
        return label_w + panel * panel_w + 15 + (v - lo) / (hi - lo) * (panel_w - 50)

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="16" font-size="13" font-weight="bold">gradjit time / JAX time (log scale; left of 1 is faster)'
        + (" — gradjit on its interpreter" if engine == "interp" else "")
        + "</text>",
    ]
    for i, c in enumerate(configs):
        svg.append(f'<rect x="{10 + i * 90}" y="26" width="10" height="10" fill="{colours[i]}"/>')
        svg.append(f'<text x="{24 + i * 90}" y="35">{c}</text>')
    x = 10 + len(configs) * 90
    svg.append(f'<line x1="{x + 4}" y1="25" x2="{x + 4}" y2="37" stroke="#c00" stroke-width="2"/>')
    svg.append(f'<text x="{x + 10}" y="35">target</text>')
    for p, (title, key) in enumerate(panels):
        svg.append(f'<text x="{label_w + p * panel_w + 10}" y="{top - 4}" font-weight="bold">{title}</text>')
        for e in range(lo, hi + 1):
            x = x_of(p, 10.0**e)
            svg.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 30}" stroke="{"#000" if e == 0 else "#ddd"}"/>')
            svg.append(f'<text x="{x:.1f}" y="{height - 16}" text-anchor="middle">{10.0**e:g}</text>')
        for r, wid in enumerate(rows):
            y0 = top + r * row_h
            goal = target_ratio(wid, key)
            if goal:
                x = x_of(p, goal)
                svg.append(f'<line x1="{x:.1f}" y1="{y0 - 2}" x2="{x:.1f}" y2="{y0 + row_h - gap + 1}" stroke="#c00" stroke-width="2"/>')
            for i, c in enumerate(configs):
                runs = results["runs"][c]
                q = ratio(runs[engine].get(wid, {}), runs["jax"].get(wid, {}), key)
                if q is None:
                    continue
                x0, x1 = x_of(p, 1.0), x_of(p, q)
                svg.append(
                    f'<rect x="{min(x0, x1):.1f}" y="{y0 + i * bar_h}" width="{max(abs(x1 - x0), 1):.1f}" height="{bar_h - 1}" fill="{colours[i]}"><title>{wid} {c} {title}: {q:.3g}</title></rect>'
                )
    for r, wid in enumerate(rows):
        w = results["workloads"][wid]
        y = top + r * row_h + row_h / 2
        svg.append(f'<text x="{label_w - 6}" y="{y:.1f}" text-anchor="end">{w["name"]} {w["size"]}</text>')
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--runner", required=True, help="the built examples/bench_workloads binary")
    r.add_argument("--engine", default="jit", help="gradjit engine of the runner: " + ", ".join(ENGINE_NOTES))
    r.add_argument("--only", help="comma-separated workload ids")
    r.add_argument("--budget", type=float, default=1.5, help="seconds of steady-state sampling per workload")
    r.add_argument("--compile-repeats", type=int, default=5, help="first calls timed per workload and side")
    r.add_argument("--one-core-only", action="store_true")
    d = sub.add_parser("render")
    d.add_argument("results", nargs="?", default=str(OUT_DIR / "results.json"))
    args = ap.parse_args()
    if args.cmd == "run":
        cmd_run(args)
    else:
        render(json.loads(Path(args.results).read_text()))


if __name__ == "__main__":
    main()
