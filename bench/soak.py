"""Hot-swap soak of the Java client: 16 threads x 1,000,000 single-row predictions of the
german-credit INT8 student through the Spring starter's `LiveModel`, while a swapper loads the
artifact's other precision (FP32 and INT8 alternate) and swaps it in every 3 seconds
(bench/java HotSwapSoak). Every answer is checked against the serving model's own (computed
beforehand), so a failed request or an answer no complete model gives is counted. VmRSS is
sampled every second; the JVM's heap is fixed and pre-touched (-Xms256m -Xmx256m
-XX:+AlwaysPreTouch, as a service would size it), so RSS moves only with native memory.

    PYTHONPATH=. .venv/bin/python bench/soak.py [--predictions N] [--threads T] [--swap-seconds S]

Goals: no failed request, no wrong answer, and RSS flat within 5% after warm-up (the first 10%
of the predictions and at least two swaps): the median of the last five samples against the
median of the first five after warm-up; the highest sample is reported beside it. Artifacts as
bench/java_inference.py. Writes bench/results/soak.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import java_inference as ji  # noqa: E402  (bench scripts import each other from bench/)

NAME = "soak"
THREADS = 16
PREDICTIONS = 1_000_000
SWAP_SECONDS = 3.0
WARMUP_FRACTION = 0.1
WARMUP_SWAPS = 2
WINDOW = 5  # samples averaged (median) at each end
FLAT = 0.05


def run_soak(classpath: str, threads: int, predictions: int, swap_seconds: float) -> dict:
    art = ji.artifact(ji.TABULAR)
    work = ji.home() / "bench-work" / NAME
    inputs = ji.write_inputs(ji.TABULAR, art, work)
    out = work / "soak.json"
    cmd = [*ji.jvm(), "-Xms256m", "-XX:+AlwaysPreTouch", "-cp", classpath]
    cmd += ["dev.distillbridge.bench.HotSwapSoak", "--artifact", str(art), "--inputs", str(inputs)]
    cmd += ["--threads", str(threads), "--predictions", str(predictions)]
    cmd += ["--swap-seconds", str(swap_seconds), "--sample-seconds", "1", "--out", str(out)]
    subprocess.run(cmd, check=True)
    raw = json.loads(out.read_text())
    raw["artifact"] = str(art)
    raw["origin"] = ji._origin(art)
    return raw


def rss_summary(raw: dict) -> dict:
    """RSS after warm-up: start and end (medians of WINDOW samples), peak, growth."""
    total = raw["threads"] * raw["predictions_per_thread"]
    samples = raw["samples"]
    warm = [
        s
        for s in samples
        if s["answered"] >= WARMUP_FRACTION * total and s["swaps"] >= WARMUP_SWAPS
    ]
    if len(warm) < 2 * WINDOW:
        return {"samples_after_warmup": len(warm), "flat": None}
    start = float(np.median([s["rss_kib"] for s in warm[:WINDOW]])) / 1024
    end = float(np.median([s["rss_kib"] for s in warm[-WINDOW:]])) / 1024
    peak = max(s["rss_kib"] for s in warm) / 1024
    return {
        "samples_after_warmup": len(warm),
        "warmup_s": warm[0]["t_s"],
        "start_mib": start,
        "end_mib": end,
        "peak_mib": peak,
        "growth": end / start - 1,
        "peak_over_start": peak / start - 1,
        "flat": abs(end / start - 1) <= FLAT,
    }


def main(
    threads: int = THREADS, predictions: int = PREDICTIONS, swap_seconds: float = SWAP_SECONDS
) -> dict:
    from _common import write_result

    classpath = ji.build_java()
    ji.prepare_native_cache(classpath)
    raw = run_soak(classpath, threads, predictions, swap_seconds)
    loads = np.asarray(raw.pop("swap_load_ns"), dtype=np.float64) / 1e6
    result = {
        **{k: v for k, v in raw.items() if k != "samples"},
        "swap_seconds": swap_seconds,
        "swap_load_ms": {
            "p50": float(np.median(loads)) if len(loads) else None,
            "max": float(loads.max()) if len(loads) else None,
        },
        "rss": rss_summary(raw),
        "samples": raw["samples"],
    }
    result["goals"] = goals(result)
    full = threads == THREADS and predictions == PREDICTIONS
    if full:
        print(f"wrote {write_result(NAME, result)}")
    else:  # a smaller trial's figures are not the result
        trial = ji.home() / "bench-work" / NAME / "trial.json"
        trial.write_text(json.dumps(result, indent=2))
        print(report(result, trial.parent))
    for g in result["goals"]:
        print(f"  {'met   ' if g['met'] else 'MISSED'} {g['figure']}  {g['goal']}")
    return result


def goals(result: dict) -> list[dict]:
    rss = result["rss"]
    n = f"{result['threads']} threads x {result['predictions_per_thread']:,}"
    flat = rss.get("flat")
    figure = (
        f"{rss['growth'] * 100:+.1f}% ({rss['start_mib']:.0f} -> {rss['end_mib']:.0f} MiB; "
        f"peak {rss['peak_over_start'] * 100:+.1f}%)"
        if flat is not None
        else f"too few samples after warm-up ({rss['samples_after_warmup']})"
    )
    return [
        {
            "goal": f"hot-swap soak, {n} predictions, a swap every {result['swap_seconds']:g} s: "
            "no failed request and no answer that the serving model does not give",
            "figure": f"{result['failures']} failed, {result['mismatches']} wrong of "
            f"{result['answered']:,} ({result['swaps']} swaps)",
            "met": result["failures"] == 0 and result["mismatches"] == 0,
        },
        {
            "goal": "hot-swap soak: RSS flat within 5% after warm-up",
            "figure": figure,
            "met": bool(flat),
        },
    ]


def report(result: dict, plots: Path) -> str:
    lines = ["## Hot-swap soak", ""]
    origin = result.get("origin", "origin not recorded")
    lines += [
        f"{result['threads']} threads each made {result['predictions_per_thread']:,} single-row "
        f"predictions of the german-credit INT8 student ({origin}) "
        "through one `LiveModel` (the Spring "
        "starter's hot-swap holder) while a swapper loaded the artifact's other precision "
        f"(FP32 and INT8 alternating) and swapped it in every {result['swap_seconds']:g} s. "
        "Every answer was compared with the serving model's own answer for that row. Heap fixed "
        "and pre-touched (-Xms256m -Xmx256m), so RSS follows native memory; VmRSS sampled "
        f"every second; warm-up: the first {WARMUP_FRACTION:.0%} of the predictions and "
        f"{WARMUP_SWAPS} swaps.",
        "",
        "| goal | figure | verdict |",
        "|---|---|---|",
    ]
    lines += [
        f"| {g['goal']} | {g['figure']} | {'met' if g['met'] else 'MISSED'} |"
        for g in result["goals"]
    ]
    seconds = result["elapsed_ns"] / 1e9
    loads = result["swap_load_ms"]
    lines += [
        "",
        f"{result['answered']:,} predictions in {seconds:.0f} s "
        f"({result['answered'] / seconds:,.0f}/s); answered by FP32 "
        f"{result['by_precision']['FP32']:,}, by INT8 {result['by_precision']['INT8']:,}; "
        f"{result['swaps']} swaps, each load (verified, golden vectors replayed) "
        f"{loads['p50'] or 0:.0f} ms median, {loads['max'] or 0:.0f} ms at most.",
    ]
    if result.get("examples"):
        lines += ["", "First problems: " + "; ".join(result["examples"])]
    chart = _plot(result, plots)
    if chart:
        lines += ["", f"![RSS during the soak](plots/{chart})"]
    return "\n".join(lines) + "\n"


def _plot(result: dict, plots: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    samples = result["samples"]
    fig, ax = plt.subplots(figsize=(6, 2.6))
    ax.plot([s["t_s"] for s in samples], [s["rss_kib"] / 1024 for s in samples], label="VmRSS")
    ax.set_xlabel("seconds")
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    warm = result["rss"].get("warmup_s")
    if warm is not None:
        ax.axvline(warm, color="grey", linestyle=":", label="end of warm-up")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    plots.mkdir(parents=True, exist_ok=True)
    file = "soak_rss.png"
    fig.savefig(plots / file, dpi=110)
    plt.close(fig)
    return file


def _arg(name: str, default: float) -> float:
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


if __name__ == "__main__":
    main(
        int(_arg("--threads", THREADS)),
        int(_arg("--predictions", PREDICTIONS)),
        _arg("--swap-seconds", SWAP_SECONDS),
    )
