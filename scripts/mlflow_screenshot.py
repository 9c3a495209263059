"""The README's screenshot of MLflow's run comparison page (docs/mlflow-runs.png): a throwaway
MLflow server on 127.0.0.1 fed by three real digits jobs (local Distiller runs with
`mlflow_tracking_uri`), photographed with headless Chromium. Run by hand, not by `make test`:
`make mlflow-screenshot` does the three steps:

    apt-get install -y chromium
    pip install --no-deps --target /tmp/mlflow-ui 'mlflow==3.17.2' 'graphene<4' \\
        'graphql-core>=3.1,<3.3' 'graphql-relay>=3.1,<3.3' 'python-dateutil<3'
    python scripts/mlflow_screenshot.py --mlflow-ui /tmp/mlflow-ui

The project's `mlflow` extra is mlflow-skinny, which serves the API but no UI; `--mlflow-ui` is
a directory holding the full `mlflow` wheel (same version as mlflow-skinny here) and its UI's
GraphQL packages, put first on the MLflow server's PYTHONPATH only. Its pins (pyarrow,
python-dateutil) never reach the project's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge import Dataset, Distiller, MlpConfig, QuantType, TrainingParams  # noqa: E402

# (temperature, alpha): three schedules worth comparing
RUNS = ((2.0, 0.3), (4.0, 0.5), (8.0, 0.9))


def main() -> int:
    args = _parse()
    browser = shutil.which(args.chromium)
    if browser is None:
        sys.exit(f"--chromium: {args.chromium} not found (apt-get install -y chromium)")
    if not (args.mlflow_ui / "mlflow" / "server" / "js" / "build" / "index.html").is_file():
        sys.exit(f"--mlflow-ui: {args.mlflow_ui} holds no mlflow UI build (see this file's doc)")
    with tempfile.TemporaryDirectory(prefix="mlflow-shot-") as tmp:
        work = Path(tmp)
        server, uri = _start_mlflow(work, args.mlflow_ui)
        try:
            run_ids = [_job(uri, work / "home", t, a) for t, a in RUNS]
            _shoot(browser, _compare_url(uri, run_ids), args.out)
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mlflow-ui", type=Path, required=True, help="full mlflow wheel, --target dir")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "mlflow-runs.png")
    p.add_argument("--chromium", default="chromium")
    return p.parse_args()


def _start_mlflow(work: Path, ui: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = work / "artifacts"
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", "1", "--serve-artifacts", "--backend-store-uri"]
    cmd += [f"sqlite:///{work / 'mlflow.db'}", "--default-artifact-root", str(store)]
    cmd += ["--artifacts-destination", str(store)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ui), str(ROOT)])}
    log = (work / "mlflow.log").open("ab")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2):
                return server, uri
        except OSError:
            time.sleep(0.5)
    tail = (work / "mlflow.log").read_text()[-2000:]
    raise SystemExit(f"the MLflow server did not start: {tail}")


def _job(uri: str, home: Path, temperature: float, alpha: float) -> str:
    result = (
        Distiller(home=home, mlflow_tracking_uri=uri, mlflow_alias="champion")
        .set_teacher("digits-mlp")
        .set_student_config(MlpConfig(hidden_sizes=(32,)))
        .enable_quantization(QuantType.INT8)
        .set_name(f"digits T={temperature:g} alpha={alpha:g}")
        .set_registered_model_name("digits-kd")
        .distill(
            Dataset.builtin("digits"),
            TrainingParams(
                epochs=12,
                batch_size=64,
                learning_rate=5e-3,
                temperature=temperature,
                alpha=alpha,
                schedule="constant",
                seed=3,
            ),
        )
    )
    assert result.mlflow_run is not None, "the job was not tracked (see its warning events)"
    print(f"{result.job_id}: {result.mlflow_run.run_url}")
    return result.mlflow_run.run_id


def _compare_url(uri: str, run_ids: list[str]) -> str:
    from mlflow import MlflowClient

    experiment = MlflowClient(uri).get_run(run_ids[0]).info.experiment_id
    query = urllib.parse.urlencode(
        {"runs": json.dumps(run_ids), "experiments": json.dumps([experiment])}
    )
    return f"{uri}/#/compare-runs?{query}"


def _shoot(browser: str, url: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            browser,
            "--headless=new",
            "--no-sandbox",  # root in a container
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1440,1300",
            "--virtual-time-budget=20000",  # the page's scripts and API calls finish first
            f"--screenshot={out}",
            url,
        ],
        check=True,
        timeout=180,
        capture_output=True,
    )
    if not out.is_file() or out.stat().st_size < 10_000:
        raise SystemExit(f"no usable screenshot at {out}")


if __name__ == "__main__":
    sys.exit(main())
