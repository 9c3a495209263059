"""Builds bench/REPORT.md from bench/results/*.json, and runs the benchmarks (`make bench`).

    PYTHONPATH=. .venv/bin/python bench/report.py               # rebuild (make bench-report)
    PYTHONPATH=. .venv/bin/python bench/report.py --run         # run all, rebuild (make bench)
    PYTHONPATH=. .venv/bin/python bench/report.py --run memory  # make bench BENCH=memory

A benchmark is a `bench/<name>.py` that defines `main()` (writes `results/<name>.json` through
`_common.write_result`) and `report(result, plots) -> str` (its markdown section; PNGs go into
`plots` = `results/plots/`, linked as `plots/<file>.png`). Each runs as its own process; a
failing one does not stop the others, but `--run` then exits non-zero.

REPORT.md: a header with this machine's facts, then one section per results file, each with
the command, machine and date the result recorded ("not recorded" for results written before
`write_result`) and what the script's `report()` returns. A result whose script has no
`report()` (or whose `report()` fails) is shown as JSON, so the report always builds.
"""

from __future__ import annotations

import ast
import datetime
import importlib.util
import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NOT_BENCHMARKS = {"_common", "report"}
NOT_RECORDED = "not recorded"
Report = Callable[[dict, Path], str]


# ---------------------------------------------------------------- running


def discover(scripts: Path = BENCH) -> tuple[list[str], list[str]]:
    """(benchmarks, skipped): the scripts that define both `main` and `report` at top level
    (read from their source, without importing them), and those that lack one."""
    found, skipped = [], []
    for path in sorted(scripts.glob("*.py")):
        if path.stem in NOT_BENCHMARKS:
            continue
        tree = ast.parse(path.read_text(), str(path))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        (found if {"main", "report"} <= defined else skipped).append(path.stem)
    return found, skipped


def run_benchmarks(names: list[str]) -> list[str]:
    """Runs each `bench/<name>.py` in its own process from the repository root; returns the
    names that failed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), _pythonpath()]))}
    failed = []
    for name in names:
        print(f"== bench/{name}.py", flush=True)
        code = subprocess.run([sys.executable, f"bench/{name}.py"], cwd=ROOT, env=env).returncode
        if code != 0:
            print(f"== bench/{name}.py failed (exit {code}); going on", flush=True)
            failed.append(name)
    return failed


def _pythonpath() -> str:
    return os.environ.get("PYTHONPATH", "")


# ---------------------------------------------------------------- REPORT.md


def build(
    results: Path = BENCH / "results",
    out: Path = BENCH / "REPORT.md",
    scripts: Path = BENCH,
    machine: dict | None = None,
) -> str:
    """Writes `out` from every `results/*.json` and returns its text."""
    plots = results / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    # report() links plots as "plots/<file>.png"; REPORT.md may sit elsewhere (bench/).
    link = Path(os.path.relpath(plots, out.parent)).as_posix()
    names = sorted(p.stem for p in results.glob("*.json"))
    parts = [_header(machine if machine is not None else _machine_facts(), names)]
    for name in names:
        section = _section(name, json.loads((results / f"{name}.json").read_text()), scripts, plots)
        parts.append(section.replace("](plots/", f"]({link}/"))
    text = "\n".join(parts).rstrip() + "\n"
    out.write_text(text)
    return text


def _header(machine: dict, names: list[str]) -> str:
    today = datetime.date.today().isoformat()
    return "\n".join(
        [
            "# Benchmark report",
            "",
            f"Built {today} by `bench/report.py` (`make bench-report`) on: {_machine(machine)}.",
            "Each section below gives the command, machine and date of its own result, which",
            "may be older and from another machine. Ratios measured in one run are the",
            "headline; absolute times are context (the machines are shared and noisy).",
            "",
            *[f"- [{n}](#{n})" for n in names],
            "",
        ]
    )


def _section(name: str, result: dict | list, scripts: Path, plots: Path) -> str:
    facts = result if isinstance(result, dict) else {}
    machine = facts.get("machine") if isinstance(facts.get("machine"), dict) else {}
    lines = [
        f"## {name}",
        "",
        f"- command: {_code(facts.get('command'))}",
        f"- date: {machine.get('date') or NOT_RECORDED}",
        f"- machine: {_machine(machine)}",
        "",
    ]
    report, why = _report_function(name, scripts)
    body = None
    if report is not None:
        try:
            body = report(result, plots)
        except Exception as e:  # one script's bug must not cost the whole report
            why = f"`report()` failed ({type(e).__name__}: {e})"
            traceback.print_exc()
    if body is None:
        lines += [f"_{why}; the raw result:_", "", "```json", _raw(result), "```", ""]
    else:
        lines += [body.strip(), ""]
    return "\n".join(lines)


def _report_function(name: str, scripts: Path) -> tuple[Report | None, str]:
    path = scripts / f"{name}.py"
    if not path.is_file():
        return None, f"no bench/{name}.py"
    for p in (str(scripts), str(ROOT)):  # scripts import `_common` and `bridge`
        if p not in sys.path:
            sys.path.insert(0, p)
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while defined
        spec.loader.exec_module(module)
    except Exception as e:  # an import error is reported in its section
        traceback.print_exc()
        return None, f"bench/{name}.py does not import ({type(e).__name__}: {e})"
    report = getattr(module, "report", None)
    if not callable(report):
        return None, f"bench/{name}.py has no `report()` yet"
    return report, ""


def _raw(result: dict | list) -> str:
    if isinstance(result, dict):  # the facts are shown above the block already
        result = {k: v for k, v in result.items() if k not in ("command", "machine")}
    return json.dumps(result, indent=2)


def _code(command: object) -> str:
    return f"`{command}`" if command else NOT_RECORDED


def _machine(m: dict) -> str:
    if not m:
        return NOT_RECORDED

    def get(key: str) -> object:
        value = m.get(key)
        return NOT_RECORDED if value in (None, "") else value

    return (
        f"{get('cores')} cores ({get('cpu')}), Python {get('python')}, torch {get('torch')} "
        f"({get('torch_threads')} threads), ONNX Runtime {get('onnxruntime')}"
    )


def _machine_facts() -> dict:
    sys.path.insert(0, str(BENCH))
    import _common

    return _common.machine_facts()


def main(argv: list[str]) -> int:
    failed: list[str] = []
    if argv[:1] == ["--run"]:
        found, skipped = discover()
        names = argv[1:] or found
        unknown = [n for n in names if n not in found]
        if unknown:
            print(f"not benchmarks (need main() and report()): {unknown}; known: {found}")
            return 2
        if skipped and not argv[1:]:
            print(f"not run (no main() and report() yet): {', '.join(skipped)}", flush=True)
        failed = run_benchmarks(names)
    out = BENCH / "REPORT.md"
    build(out=out)
    print(f"wrote {out.relative_to(ROOT)}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
