"""Java inference, side by side: the bridge's INT8 student in ONNX Runtime Java (through the
client's `DistilledModel` and through raw `OrtSession` calls) against the teacher in PyTorch
eager, the teacher's ONNX file in ONNX Runtime Java and the student in Python ONNX Runtime, on
the same inputs, for the tabular task (german-credit) and the text task (airline-sentiment).

    PYTHONPATH=. .venv/bin/python bench/java_inference.py

Every runtime is measured in its own process (a fresh JVM or Python child), so cold start and
RSS are its own. Artifacts are distilled by the bridge (`Distiller()`, the acceptance.py specs)
once and cached under $DISTILL_BRIDGE_HOME/bench-artifacts (default home /tmp/bhome). Builds
bench/java with Maven (offline first). Writes bench/results/java_inference.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # _common and acceptance, as the other bench scripts do
JAVA_MODULE = BENCH / "java"
NAME = "java_inference"
N_INPUTS = 256  # distinct inputs per task, at most (german-credit has 150 test rows); cycled
BATCHES = (1, 32)
THREADS = (1, 2)
TEXT, TABULAR = "airline-sentiment", "german-credit"
TASKS = (TEXT, TABULAR)
MAX_LENGTH = 64  # the text student's max_seq_len (acceptance.py) and its tokenizer's max_length


@dataclass(frozen=True)
class Budget:
    """Per measured loop: warm-up (at least `warmup` calls and `warmup_seconds`, so the JIT has
    compiled the Java call path), then at least `min_iters` calls and `seconds`, at most
    `max_iters`; throughput runs `seconds` per thread count."""

    seconds: float = 3.0
    min_iters: int = 100
    max_iters: int = 100_000
    warmup: int = 20
    warmup_seconds: float = 1.0
    jmh_iters: int = 5  # JMH: 1 fork, 3 warm-up and jmh_iters measured iterations of jmh_seconds
    jmh_seconds: float = 1.0
    rounds: int = 3  # the student's runtimes (Java wrapper, Java raw, Python ORT) alternate

    def args(self) -> list[str]:
        """As InferenceBench and the Python child take it."""
        fields = ("seconds", "min_iters", "max_iters", "warmup", "warmup_seconds")
        return [x for f in fields for x in (f"--{f.replace('_', '-')}", str(getattr(self, f)))]

    @classmethod
    def parse(cls, args: Sequence[str]) -> Budget:
        given = dict(zip(args[::2], args[1::2], strict=True))
        return cls(
            float(given["--seconds"]),
            int(given["--min-iters"]),
            int(given["--max-iters"]),
            int(given["--warmup"]),
            float(given["--warmup-seconds"]),
        )


FULL = Budget(min_iters=50)
QUICK = Budget(0.2, 10, 200, 2, 0.1, jmh_iters=1, jmh_seconds=0.2, rounds=2)


# ---------------------------------------------------------------- summaries (shared by all sides)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values."""
    if not sorted_values:
        raise ValueError("no samples")
    rank = max(1, int(np.ceil(q / 100 * len(sorted_values))))
    return float(sorted_values[rank - 1])


def latency_summary(samples_ns: Sequence[int]) -> dict:
    ordered = sorted(samples_ns)
    return {
        "n": len(ordered),
        "p50_ms": percentile(ordered, 50) / 1e6,
        "p99_ms": percentile(ordered, 99) / 1e6,
        "mean_ms": float(np.mean(ordered)) / 1e6,
    }


def merge_rounds(rounds: list[dict]) -> dict:
    """One runtime's rounds (each a fresh process) as one raw result: latency samples pooled,
    throughput calls and time summed, cold start, reload and RSS the per-field median round."""

    first = rounds[0]
    merged = {
        **first,
        "rounds": len(rounds),
        "latency_ns": {
            b: [x for r in rounds for x in r["latency_ns"][b]] for b in first["latency_ns"]
        },
        "throughput": {
            t: {
                "calls": sum(r["throughput"][t]["calls"] for r in rounds),
                "elapsed_ns": sum(r["throughput"][t]["elapsed_ns"] for r in rounds),
                "rows_per_call": first["throughput"][t]["rows_per_call"],
            }
            for t in first["throughput"]
        },
    }
    for part in ("cold", "reload"):
        merged[part] = {k: float(np.median([r[part][k] for r in rounds])) for k in first[part]}
    for k in ("rss_baseline_kib", "rss_kib", "rss_peak_kib"):
        merged[k] = float(np.median([r[k] for r in rounds]))
    for k in ("ids_sha256", "x_sha256"):  # rounds that fed different inputs match nothing
        merged[k] = first.get(k) if len({r.get(k) for r in rounds}) == 1 else "differs"
    return merged


def summarise(raw: dict) -> dict:
    """One process's raw figures (Java or Python child) as the result file keeps them."""
    cold, reload = raw["cold"], raw["reload"]
    return {
        "cold_start_ms": sum(cold.values()) / 1e6,
        "cold_ms": {k.removesuffix("_ns"): v / 1e6 for k, v in cold.items()},
        "reload_ms": sum(reload.values()) / 1e6,
        "latency": {b: latency_summary(s) for b, s in raw["latency_ns"].items()},
        "throughput_rows_s": {
            t: v["calls"] * v["rows_per_call"] / (v["elapsed_ns"] / 1e9)
            for t, v in raw["throughput"].items()
        },
        "rss_mib": {
            "baseline": raw["rss_baseline_kib"] / 1024,
            "end": raw["rss_kib"] / 1024,
            "peak": raw["rss_peak_kib"] / 1024,
        },
        "inputs_sha256": raw.get("ids_sha256") or raw.get("x_sha256"),
        "rounds": raw.get("rounds", 1),
        **({"ort_version": raw["ort_version"]} if "ort_version" in raw else {}),
    }


# ---------------------------------------------------------------- Python child processes


def rss_kib(field: str = "VmRSS:") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@dataclass(frozen=True)
class Inputs:
    """What the bench feeds every runtime: float rows (tabular) or token ids padded to
    MAX_LENGTH with each text's length (text; a batch is cut to its longest text, as the
    bridge's TextEncoder and the Java client's tokenizer pad)."""

    x: np.ndarray | None = None
    ids: np.ndarray | None = None
    lengths: np.ndarray | None = None

    @classmethod
    def load(cls, work: Path) -> Inputs:
        spec = json.loads((work / "inputs.json").read_text())
        if "texts" in spec:
            with np.load(work / "ids.npz") as z:
                return cls(ids=z["ids"], lengths=z["lengths"])
        x = np.fromfile(work / spec["x_file"], dtype="<f4").reshape(spec["rows"], spec["width"])
        return cls(x=x)

    def batches(self, size: int) -> list[tuple[np.ndarray, ...]]:
        rows = len(self.x) if self.x is not None else len(self.ids)
        out = []
        for start in range(0, rows - size + 1, size):
            if self.x is not None:
                out.append((self.x[start : start + size],))
                continue
            width = int(self.lengths[start : start + size].max())
            ids = np.ascontiguousarray(self.ids[start : start + size, :width])
            mask = (np.arange(width) < self.lengths[start : start + size, None]).astype(np.int64)
            out.append((ids, mask))
        return out

    def ids_digest(self) -> str | None:
        """The digest InferenceBench.idsDigest computes over the Java tokenizer's ids."""
        if self.ids is None:
            return None
        sha = hashlib.sha256()
        for size in BATCHES:
            for ids, _ in self.batches(size):
                sha.update(np.array(ids.shape, dtype="<i8").tobytes())
                sha.update(ids.astype("<i8").tobytes())
        return sha.hexdigest()


Call = Callable[[tuple[np.ndarray, ...]], float]


def _open_ort(model: str) -> Call:
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def call(batch: tuple[np.ndarray, ...]) -> float:
        return float(session.run(None, dict(zip(names, batch, strict=True)))[0][0, 0])

    return call


def _open_torch(model: str, threads: int | None = None) -> Call:
    """The teacher in PyTorch eager: the prepared Hugging Face directory (default attention, as
    a user would load it) or the zoo MLP rebuilt as an nn.Module with the TorchScript file's
    weights. `threads`: intra-op threads (None: torch's default, one per core)."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)

    path = Path(model)
    if path.is_dir():
        from transformers import AutoModelForSequenceClassification

        net = AutoModelForSequenceClassification.from_pretrained(path).eval()

        def forward(batch: tuple[np.ndarray, ...]) -> torch.Tensor:
            ids, mask = (torch.from_numpy(a) for a in batch)
            return net(input_ids=ids, attention_mask=mask).logits

    else:
        net = _eager_zoo_teacher(path)

        def forward(batch: tuple[np.ndarray, ...]) -> torch.Tensor:
            return net(torch.from_numpy(batch[0]))

    def call(batch: tuple[np.ndarray, ...]) -> float:
        with torch.inference_mode():
            return float(forward(batch)[0, 0])

    return call


def _eager_zoo_teacher(pt: Path):
    import torch

    from bridge.data import load_dataset
    from bridge.models import ZOO
    from bridge.models.builders import with_normalization
    from bridge.spec import Dataset

    name = pt.parent.name
    data = load_dataset(Dataset.builtin(ZOO[name].dataset), None)
    net = with_normalization(ZOO[name].build(data), *data.normalization())
    with warnings.catch_warnings():  # TorchScript is deprecated; it is how the zoo caches it
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(str(pt), map_location="cpu")
    net.load_state_dict(scripted.state_dict())
    return net.eval()


def _latency(call: Call, batches: list, budget: Budget) -> list[int]:
    warm_until = time.perf_counter_ns() + int(budget.warmup_seconds * 1e9)
    i = 0
    while i < budget.warmup or time.perf_counter_ns() < warm_until:
        call(batches[i % len(batches)])
        i += 1
    samples: list[int] = []
    deadline = time.perf_counter_ns() + int(budget.seconds * 1e9)
    while len(samples) < budget.max_iters and (
        len(samples) < budget.min_iters or time.perf_counter_ns() < deadline
    ):
        start = time.perf_counter_ns()
        call(batches[len(samples) % len(batches)])
        samples.append(time.perf_counter_ns() - start)
    return samples


def _throughput(call: Call, batches: list, threads: int, budget: Budget) -> dict:
    """Batch-1 calls from `threads` Python threads sharing one model (ORT and torch release the
    GIL while they compute)."""
    stop = threading.Event()
    counts = [0] * threads

    def work(t: int) -> None:
        i = t * len(batches) // threads
        while not stop.is_set():
            call(batches[i % len(batches)])
            counts[t] += 1
            i += 1

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    start = time.perf_counter_ns()
    for w in workers:
        w.start()
    time.sleep(budget.seconds)
    stop.set()
    for w in workers:
        w.join()
    return {"calls": sum(counts), "elapsed_ns": time.perf_counter_ns() - start, "rows_per_call": 1}


def child(runtime: str, model: str, work: Path, out: Path, budget: Budget) -> None:
    """Measures one Python runtime ("ort" or "torch") in this process; mirrors InferenceBench."""
    inputs = Inputs.load(work)
    batches = {b: inputs.batches(b) for b in BATCHES}
    raw: dict = {"engine": runtime, "model": model, "rss_baseline_kib": rss_kib()}
    t0 = time.perf_counter_ns()
    __import__("onnxruntime" if runtime == "ort" else "torch")  # the runtime's native libraries
    t1 = time.perf_counter_ns()
    opener = {
        "ort": _open_ort,
        "torch": _open_torch,
        "torch1": lambda m: _open_torch(m, threads=1),
    }[runtime]
    call = opener(model)
    t2 = time.perf_counter_ns()
    call(batches[1][0])
    t3 = time.perf_counter_ns()
    raw["cold"] = {"env_ns": t1 - t0, "load_ns": t2 - t1, "first_ns": t3 - t2}
    raw["latency_ns"] = {str(b): _latency(call, batches[b], budget) for b in BATCHES}
    raw["throughput"] = {str(t): _throughput(call, batches[1], t, budget) for t in THREADS}
    raw["rss_kib"], raw["rss_peak_kib"] = rss_kib(), rss_kib("VmHWM:")
    raw["ids_sha256"] = inputs.ids_digest()
    raw["x_sha256"] = None if inputs.x is None else hashlib.sha256(inputs.x.tobytes()).hexdigest()
    del call
    r0 = time.perf_counter_ns()
    again = opener(model)
    r1 = time.perf_counter_ns()
    again(batches[1][0])
    raw["reload"] = {"load_ns": r1 - r0, "first_ns": time.perf_counter_ns() - r1}
    out.write_text(json.dumps(raw))


# ---------------------------------------------------------------- artifacts and inputs


def home() -> Path:
    return Path(os.environ.setdefault("DISTILL_BRIDGE_HOME", "/tmp/bhome"))


def artifact(task: str) -> Path:
    """The INT8 student for `task`, distilled by the bridge with acceptance.py's spec; cached
    under $DISTILL_BRIDGE_HOME/bench-artifacts/<task> so a rerun does not retrain."""
    target = home() / "bench-artifacts" / task
    if (target / "manifest.json").is_file():
        return target
    from acceptance import CASES, _progress

    from bridge import Dataset, Distiller, QuantType

    teacher, student, params, _, _ = CASES[task]
    print(f"distilling {task} (cached afterwards in {target})", flush=True)
    result = (
        Distiller(home=home())
        .set_teacher(teacher)
        .set_student_config(student)
        .enable_quantization(QuantType.INT8)
        .on_event(_progress)
        .distill(Dataset.builtin(task), params)
    )
    partial = target.with_name(task + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    result.download(partial)
    partial.rename(target)
    return target


def _origin(art: Path) -> str:
    """How the cached artifact came to be (a note beside it, else: distilled by this script)."""
    note = art.with_name(art.name + ".origin")
    return note.read_text().strip() if note.is_file() else "distilled by bench/java_inference.py"


@dataclass(frozen=True)
class Teacher:
    """Where the teacher of an artifact lives: its ONNX file (for ORT Java) and what PyTorch
    eager loads (the prepared Hugging Face directory, or the zoo teacher's TorchScript file)."""

    onnx: Path
    eager: Path
    tokenizer: Path | None


def teacher_of(manifest: dict) -> Teacher:
    """Zoo teachers cache teacher.{pt,onnx} in teachers/<name>/<dataset>/ (the manifest's
    teacher.file is <dataset>/teacher.pt); a prepared text teacher lives in
    teachers/<name>/<manifest teacher.file> with the ONNX the pipeline measured."""
    t = manifest["teacher"]
    base = home() / "teachers" / t["reference"]
    if t["architecture"] == "transformer":
        directory = base / t["file"]
        return Teacher(directory / "teacher.onnx", directory, directory / "tokenizer.json")
    directory = (base / t["file"]).parent
    return Teacher(directory / "teacher.onnx", directory / "teacher.pt", None)


def write_inputs(task: str, art: Path, work: Path) -> Path:
    """inputs.json (+ x.f32 or ids.npz) in `work`: the first N_INPUTS test rows / texts."""
    from bridge.data import load_dataset
    from bridge.spec import Dataset

    work.mkdir(parents=True, exist_ok=True)
    test = load_dataset(Dataset.builtin(task), None).test
    if task == TEXT:
        from bridge.data.tokenize import TextEncoder

        texts = [str(t) for t in test.x[:N_INPUTS]]
        ids, mask = TextEncoder(art / "tokenizer.json", MAX_LENGTH).encode(texts).arrays
        padded = np.zeros((len(texts), MAX_LENGTH), dtype=np.int64)  # pad id 0, as the encoder
        padded[:, : ids.shape[1]] = ids
        np.savez(work / "ids.npz", ids=padded, lengths=mask.sum(axis=1))
        spec: dict = {"texts": texts}
    else:
        x = np.ascontiguousarray(test.x[:N_INPUTS], dtype="<f4")
        x.tofile(work / "x.f32")
        spec = {"rows": int(x.shape[0]), "width": int(x.shape[1]), "x_file": "x.f32"}
    (work / "inputs.json").write_text(json.dumps(spec))
    return work / "inputs.json"


# ---------------------------------------------------------------- Java side


def build_java() -> str:
    """mvn -q -o package (online when a dependency is missing); returns the runtime classpath."""
    for offline in (True, False):
        cmd = ["mvn", "-q", "-B", *(["-o"] if offline else []), "package"]
        built = subprocess.run(cmd, cwd=JAVA_MODULE, capture_output=True, text=True)
        if built.returncode == 0:
            target = JAVA_MODULE / "target"
            return f"{target / 'classes'}:{target / 'lib' / '*'}"
        print(built.stdout[-3000:], built.stderr[-3000:], sep="\n")
    raise RuntimeError("bench/java did not build (mvn package failed offline and online)")


# A service would cap its heap; uncapped, the JVM sizes it from the host's RAM and lets garbage
# (and the direct buffers ORT Java copies inputs into) pile up, so RSS would measure GC laziness.
# DistilledModel loads ONNX Runtime's libraries from its verified cache, kept under the bench's
# home (filled once by prepare_native_cache, so every measured start finds it), and keeps its
# records of verified artifact files there too.
def jvm() -> list[str]:
    return [
        "java",
        "-Xmx256m",
        f"-Ddistillbridge.onnxruntime.cache={native_cache()}",
        f"-Ddistillbridge.verification.cache={verification_cache()}",
    ]


def native_cache() -> Path:
    return home() / "bench-work" / "onnxruntime-native"


def verification_cache() -> Path:
    """Records of the artifact files DistilledModel has hashed (a later load of the same,
    unchanged file trusts them)."""
    return home() / "bench-work" / "verified"


def prepare_native_cache(classpath: str) -> None:
    out = home() / "bench-work" / "prepare-runtime.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [*jvm(), "-cp", classpath, "dev.distillbridge.bench.ColdStart", "--mode", "prepare"]
    subprocess.run([*cmd, "--out", str(out)], check=True)


def run_java(classpath: str, args: list[str], out: Path, budget: Budget) -> dict:
    cmd = [*jvm(), "-cp", classpath, "dev.distillbridge.bench.InferenceBench", *args]
    subprocess.run([*cmd, "--out", str(out), *budget.args()], check=True)
    return json.loads(out.read_text())


def run_jmh(
    classpath: str, art: Path, inputs: Path, engines: str, out: Path, budget: Budget
) -> dict:
    """JMH per-call time (µs) by engine and batch: sample-time mode, so besides the mean (with
    JMH's 99.9% error) there is a median, which preemption by other jobs on the shared cores
    moves far less than the mean."""
    cmd = [*jvm(), "-cp", classpath, "org.openjdk.jmh.Main", "WrapperVsRaw", "-f", "1"]
    iteration = f"{int(budget.jmh_seconds * 1000)}ms"
    cmd += ["-wi", "3", "-w", iteration, "-i", str(budget.jmh_iters), "-r", iteration]
    cmd += ["-rf", "json"]
    cmd += ["-rff", str(out), "-p", f"artifact={art}", "-p", f"inputs={inputs}"]
    cmd += ["-p", f"engine={engines}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    table: dict = {}
    for row in json.loads(out.read_text()):
        p, m = row["params"], row["primaryMetric"]
        table.setdefault(p["engine"], {})[p["batch"]] = {
            "p50_us": float(m["scorePercentiles"]["50.0"]),
            "mean_us": float(m["score"]),
            "error_us": float(m["scoreError"]),  # "NaN" with a single iteration
            "samples": sum(c for fork in m["rawDataHistogram"] for it in fork for _, c in it),
        }
    return table


def run_paired(
    classpath: str, art: Path, inputs: Path, baseline: str, out: Path, budget: Budget
) -> dict:
    """DistilledModel vs `baseline`, call pairs interleaved in one JVM (PairedOverhead)."""
    cmd = [*jvm(), "-cp", classpath, "dev.distillbridge.bench.PairedOverhead"]
    cmd += ["--artifact", str(art), "--inputs", str(inputs), "--baseline", baseline]
    subprocess.run([*cmd, "--out", str(out), *budget.args()], check=True)
    raw = json.loads(out.read_text())
    return {"baseline": baseline} | {b: paired_summary(raw[b]) for b in ("1", "32")}


def paired_summary(pairs: dict) -> dict:
    """Overhead as the median of per-pair ratios: each pair ran back to back on one request."""
    wrapper = np.asarray(pairs["wrapper_ns"], dtype=np.float64)
    base = np.asarray(pairs["baseline_ns"], dtype=np.float64)
    return {
        "n": len(wrapper),
        "wrapper_p50_us": float(np.median(wrapper)) / 1e3,
        "baseline_p50_us": float(np.median(base)) / 1e3,
        "overhead": float(np.median(wrapper / base)) - 1,
    }


def run_python(runtime: str, model: Path, work: Path, out: Path, budget: Budget) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", runtime, str(model)]
    env = {**os.environ, "PYTHONPATH": str(BENCH.parent), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    subprocess.run([*cmd, str(work), str(out), *budget.args()], check=True, env=env)
    return json.loads(out.read_text())


# ---------------------------------------------------------------- one task


RUNS = {
    # key: (what, runtime) for the tables
    "student_java_wrapper": ("INT8 student", "ORT Java, DistilledModel"),
    "student_java_raw": ("INT8 student", "ORT Java, raw OrtSession"),
    "student_python_ort": ("INT8 student", "ORT Python"),
    "teacher_java_onnx": ("teacher ONNX", "ORT Java, raw OrtSession"),
    "teacher_python_torch": ("teacher", "PyTorch eager"),
    "teacher_python_torch_1t": ("teacher", "PyTorch eager, 1 intra-op thread"),
}
# PyTorch's default (a thread per core) stalls at every parallel op when other jobs hold the
# cores, so the teacher is also measured with one thread; goals compare against the faster.
EAGER = ("teacher_python_torch", "teacher_python_torch_1t")


def measure_task(task: str, classpath: str, budget: Budget) -> dict:
    art = artifact(task)
    manifest = json.loads((art / "manifest.json").read_text())
    teacher = teacher_of(manifest)
    work = home() / "bench-work" / NAME / task
    inputs = write_inputs(task, art, work)
    student_onnx = art / manifest["models"]["int8"]
    tok = ["--tokenizer", str(art / "tokenizer.json"), "--max-length", str(MAX_LENGTH)]
    tok = tok if task == TEXT else []
    teacher_tok = ["--tokenizer", str(teacher.tokenizer), "--max-length", str(MAX_LENGTH)]
    teacher_tok = teacher_tok if teacher.tokenizer else []

    def java(args: list[str]) -> Callable[[Path], dict]:
        return lambda out: run_java(classpath, [*args, "--inputs", str(inputs)], out, budget)

    def python(runtime: str, model: Path) -> Callable[[Path], dict]:
        return lambda out: run_python(runtime, model, work, out, budget)

    students = {
        "student_java_wrapper": java(["--engine", "wrapper", "--model", str(art)]),
        "student_java_raw": java(["--engine", "raw", "--model", str(student_onnx), *tok]),
        "student_python_ort": python("ort", student_onnx),
    }
    teachers = {
        "teacher_java_onnx": java(["--engine", "raw", "--model", str(teacher.onnx), *teacher_tok]),
        "teacher_python_torch": python("torch", teacher.eager),
        "teacher_python_torch_1t": python("torch1", teacher.eager),
    }
    rounds: dict[str, list[dict]] = {key: [] for key in students}
    for r in range(budget.rounds):  # alternating, so the machine's drift hits each runtime alike
        for key, job in students.items():
            print(f"  {task}: {key}, round {r + 1} of {budget.rounds}", flush=True)
            rounds[key].append(job(work / f"{key}.{r}.json"))
    raw = {key: merge_rounds(runs) for key, runs in rounds.items()}
    for key, job in teachers.items():
        print(f"  {task}: {key}", flush=True)
        raw[key] = job(work / f"{key}.json")
    print(f"  {task}: JMH wrapper vs raw", flush=True)
    engines = "wrapper,raw,raw-tokenize" if task == TEXT else "wrapper,raw"
    jmh = run_jmh(classpath, art, inputs, engines, work / "jmh.json", budget)
    baseline = "raw-tokenize" if task == TEXT else "raw"
    print(f"  {task}: DistilledModel vs {baseline}, interleaved", flush=True)
    paired = run_paired(classpath, art, inputs, baseline, work / "paired.json", budget)
    digests = [summarise(r)["inputs_sha256"] for r in raw.values()]
    return {
        "artifact": {
            "dir": str(art),
            "job_id": manifest["job_id"],
            "created_at": manifest["created_at"],
            "int8_bytes": student_onnx.stat().st_size,
            "artifact_bytes": sum(f.stat().st_size for f in art.iterdir()),
            "teacher_onnx": str(teacher.onnx),
            "teacher_onnx_bytes": teacher.onnx.stat().st_size,
            "teacher_eager": str(teacher.eager),
            "origin": _origin(art),
        },
        "inputs": _count(inputs),
        "runs": {k: summarise(r) for k, r in raw.items()},
        "jmh_us": jmh,
        "paired_overhead": paired,
        # every process hashed what it fed (text: token ids; tabular: the float rows)
        "same_inputs": None not in digests and len(set(digests)) == 1,
    }


# ---------------------------------------------------------------- goals


def _count(inputs: Path) -> int:
    spec = json.loads(inputs.read_text())
    return len(spec["texts"]) if "texts" in spec else int(spec["rows"])


@dataclass(frozen=True)
class Goal:
    goal: str
    figure: str
    met: bool


def _p50(task: dict, key: str, batch: str) -> float:
    return task["runs"][key]["latency"][batch]["p50_ms"]


def goals(result: dict) -> list[Goal]:
    """Each goal against the figures of one result file (ratios within one run)."""
    tasks = result["tasks"]
    out: list[Goal] = []
    if TEXT in tasks:
        t = tasks[TEXT]
        teacher = min(_p50(t, k, "1") for k in EAGER)
        speedup = teacher / _p50(t, "student_java_wrapper", "1")
        out.append(
            Goal(
                "text: INT8 student (Java, DistilledModel) batch-1 p50 >= 10x lower than the "
                "teacher in PyTorch eager (the faster of default threads and 1 thread)",
                f"{speedup:.1f}x lower",
                speedup >= 10,
            )
        )
    # The cold-start goals are judged by bench/cold_start.py (alternating runs per start-up
    # option, phase by phase); the cold starts here are context beside the other runtimes.
    for name, t in tasks.items():
        for b in ("1", "32"):
            ratio = _p50(t, "student_java_raw", b) / _p50(t, "student_python_ort", b)
            wrapped = _p50(t, "student_java_wrapper", b) / _p50(t, "student_python_ort", b)
            out.append(
                Goal(
                    f"{name}, batch {b}: ORT Java (raw OrtSession) p50 <= 1.1x Python ORT p50 "
                    "(same INT8 file, same inputs)",
                    f"{ratio:.2f}x (DistilledModel {wrapped:.2f}x)",
                    ratio <= 1.1,
                )
            )
    for name, t in tasks.items():
        paired, jmh = t["paired_overhead"], t["jmh_us"]
        base = paired["baseline"]
        for b in ("1", "32"):
            over = paired[b]["overhead"]
            sequential = jmh["wrapper"][b]["p50_us"] / jmh[base][b]["p50_us"] - 1
            out.append(
                Goal(
                    f"{name}, batch {b}: DistilledModel overhead over raw ORT Java ({base}; "
                    "median of interleaved call pairs) <= 5%",
                    f"{over * 100:+.1f}% (JMH medians, run one after the other: "
                    f"{sequential * 100:+.1f}%)",
                    over <= 0.05,
                )
            )
    return out


# ---------------------------------------------------------------- report


def report(result: dict, plots: Path) -> str:
    lines = ["## Java inference, side by side", ""]
    lines += [
        f"Each runtime ran in its own process on the same inputs (the first {N_INPUTS} test "
        "rows or tweets, or the whole test split when smaller; batch 1 cycles over them, batch "
        "32 over the full batches they make). Latency is per call; "
        "throughput is batch-1 calls from 1 and 2 threads sharing one model. Cold start: "
        "runtime init + load + first prediction, with the JVM or Python already up. All "
        "runtimes use their default thread pools. The teacher in PyTorch eager is the prepared "
        "Hugging Face directory loaded with its default attention (text) or the zoo MLP rebuilt "
        "as an nn.Module with the cached weights (tabular). For text, DistilledModel tokenizes "
        "in Java on every call, so its overhead is measured against raw ORT plus the same "
        "tokenizer; raw ORT on ids tokenized beforehand shows what tokenizing costs. JVMs ran "
        "with -Xmx256m; their RSS includes heap garbage from per-call allocations (the tabular "
        "runs make over 100,000 calls), not only the model. The machine's 2 cores were "
        "shared with other jobs, so absolute times are noisy; ratios from the same run are the "
        "headline. The student's three runtimes ran in alternating rounds (a fresh process "
        "each: Java DistilledModel, Java raw, Python ORT, then again), latency samples pooled, "
        "cold start and RSS the median round's, so a change in the machine's load hits all "
        "three alike.",
        "",
        "| goal | figure | verdict |",
        "|---|---|---|",
    ]
    lines += [f"| {g.goal} | {g.figure} | {'met' if g.met else 'MISSED'} |" for g in goals(result)]
    lines += ["", *_notes(result)]
    for name, task in result["tasks"].items():
        lines += ["", *_task_table(name, task)]
    chart = _plot(result, plots)
    if chart:
        lines += ["", f"![batch-1 p50 latency by runtime](plots/{chart})"]
    return "\n".join(lines) + "\n"


def _notes(result: dict) -> list[str]:
    """Where the cold start goes, from the figures: ORT Java's one-time native init and the
    wrapper's verification (SHA-256 of every artifact file, golden replay) against raw ORT."""
    lines = []
    for name, t in result["tasks"].items():
        if all(k in t["runs"] for k in EAGER):
            default, one = (_p50(t, k, "1") for k in EAGER)
            lines.append(
                f"- {name} teacher in PyTorch eager, batch-1 p50: {default:.2f} ms with torch's "
                f"default threads, {one:.2f} ms with one thread."
            )
    for name, t in result["tasks"].items():
        w, r = t["runs"]["student_java_wrapper"], t["runs"]["student_java_raw"]
        py = t["runs"]["student_python_ort"]
        if not result.get("overlapped_start"):  # results from before the cache and the overlap
            lines.append(
                f"- {name} cold start: ORT Java's one-time native init took "
                f"{w['cold_ms']['env']:.0f} ms (Python's `import onnxruntime`: "
                f"{py['cold_ms']['env']:.0f} ms). DistilledModel.load took "
                f"{w['cold_ms']['load']:.0f} ms against {r['cold_ms']['load']:.0f} ms for a raw "
                "OrtSession: it parses the manifest, verifies the artifact's files "
                f"({_size(t['artifact'].get('artifact_bytes', 0))} in all; see bench/README for "
                "what is hashed), and replays the golden vectors. A second load in the same JVM "
                f"took {w['reload_ms']:.0f} ms in all. Python ORT loaded in "
                f"{py['cold_ms']['load']:.0f} ms."
            )
            continue
        lines.append(
            f"- {name} cold start: with a raw OrtSession, ORT Java's one-time native init (its "
            f"libraries unpacked from the jar) took {r['cold_ms']['env']:.0f} ms (Python's "
            f"`import onnxruntime`: {py['cold_ms']['env']:.0f} ms). DistilledModel starts ORT "
            "from its verified native-library cache on a thread of its own while it reads and "
            f"hashes the artifact; its load waited {w['cold_ms']['env']:.0f} ms for that start "
            f"and spent {w['cold_ms']['load']:.0f} ms on the rest (manifest, the files the "
            "session reads hashed, the session created from the hashed bytes, golden vectors "
            f"replayed), against {r['cold_ms']['load']:.0f} ms for a raw OrtSession's load. A "
            f"second load in the same JVM took {w['reload_ms']:.0f} ms in all. Python ORT loaded "
            f"in {py['cold_ms']['load']:.0f} ms. bench/cold_start.py has the phases and judges "
            "the cold-start goals (9 alternating runs per start-up option)."
        )
    return lines


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _task_table(name: str, task: dict) -> list[str]:
    a = task["artifact"]
    lines = [
        f"### {name}",
        "",
        f"Measured {task.get('date', 'on the report date above')}. "
        f"INT8 student {_size(a['int8_bytes'])} (artifact {a['job_id']}; "
        f"{a.get('origin', '')}), teacher ONNX {_size(a['teacher_onnx_bytes'])}.",
        "",
        f"Inputs: {task['inputs']} test rows ({task['inputs'] // 32} batches of 32).",
        "",
        "| model | runtime | p50 / p99 ms, batch 1 | p50 / p99 ms, batch 32 | rows/s, 1 / 2 "
        "threads | cold start ms | RSS MiB (baseline -> peak) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, (what, runtime) in RUNS.items():
        r = task["runs"][key]
        lat, tp, rss = r["latency"], r["throughput_rows_s"], r["rss_mib"]
        lines.append(
            f"| {what} | {runtime} | {lat['1']['p50_ms']:.3f} / {lat['1']['p99_ms']:.3f} "
            f"| {lat['32']['p50_ms']:.3f} / {lat['32']['p99_ms']:.3f} "
            f"| {tp['1']:.0f} / {tp['2']:.0f} | {r['cold_start_ms']:.0f} "
            f"| {rss['baseline']:.0f} -> {rss['peak']:.0f} |"
        )
    p = task["paired_overhead"]
    lines += ["", f"DistilledModel vs {ENGINES[p['baseline']]}, interleaved call pairs:", ""]
    lines += ["| batch | pairs | DistilledModel p50 µs | baseline p50 µs | overhead |"]
    lines += ["|---|---|---|---|---|"]
    for b in ("1", "32"):
        x = p[b]
        lines.append(
            f"| {b} | {x['n']} | {x['wrapper_p50_us']:.1f} | {x['baseline_p50_us']:.1f} "
            f"| {x['overhead'] * 100:+.1f}% |"
        )
    lines += ["", "JMH (sample time), µs per call on the INT8 student: median; mean ± 99.9% error:"]
    lines += ["", "| engine | batch 1 | batch 32 |", "|---|---|---|"]
    for engine, by_batch in task["jmh_us"].items():
        cells = [_jmh_cell(by_batch[b]) for b in ("1", "32")]
        lines.append(f"| {ENGINES.get(engine, engine)} | {' | '.join(cells)} |")
    what = "token ids" if name == TEXT else "float rows"
    same = "identical" if task["same_inputs"] else "NOT identical"
    lines += ["", f"The {what} every process fed (SHA-256 over all calls): {same}."]
    return lines


ENGINES = {
    "wrapper": "DistilledModel.predict",
    "raw": "raw OrtSession (text: ids tokenized before the call)",
    "raw-tokenize": "raw OrtSession + the client's WordPieceTokenizer in the call",
}


def _jmh_cell(m: dict) -> str:
    return f"{m['p50_us']:.1f}; {m['mean_us']:.1f} ± {m['error_us']:.1f}"


def _plot(result: dict, plots: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        return None
    names = list(result["tasks"])
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.2))
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        runs = result["tasks"][name]["runs"]
        labels = [f"{w}\n{r}" for k, (w, r) in RUNS.items() if k in runs]
        ax.barh(labels, [runs[k]["latency"]["1"]["p50_ms"] * 1e3 for k in RUNS if k in runs])
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks overlap
        ax.set_xlabel("p50 µs per call, batch 1 (log)")
        ax.set_title(name)
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    plots.mkdir(parents=True, exist_ok=True)
    file = "java_inference_latency.png"
    fig.savefig(plots / file, dpi=110)
    plt.close(fig)
    return file


# ---------------------------------------------------------------- main


def main(tasks: Sequence[str] = TASKS, budget: Budget = FULL) -> dict:
    """Measures `tasks`; a QUICK budget (--quick) is for trying the script, not for figures."""
    import datetime

    from _common import RESULTS, write_result

    classpath = build_java()
    prepare_native_cache(classpath)
    today = datetime.date.today().isoformat()
    measured = {t: {**measure_task(t, classpath, budget), "date": today} for t in tasks}
    saved = RESULTS / f"{NAME}.json"
    earlier = json.loads(saved.read_text()).get("tasks", {}) if saved.is_file() else {}
    result = {
        # DistilledModel starts ORT from its native-library cache, overlapping its load
        "overlapped_start": True,
        "budget": asdict(budget),
        # a task not named this time keeps its earlier figures (with their date)
        "tasks": {t: earlier[t] for t in TASKS if t in earlier and t not in measured} | measured,
    }
    result["goals"] = [asdict(g) for g in goals(result)]
    if budget == FULL:
        print(f"wrote {write_result(NAME, result)}")
    else:  # a trial run's figures are not results
        trial = home() / "bench-work" / NAME
        (trial / "quick.json").write_text(json.dumps(result, indent=2))
        print(report(result, trial / "plots"))
    for g in result["goals"]:
        print(f"  {'met   ' if g['met'] else 'MISSED'} {g['figure']:>12}  {g['goal']}")
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        runtime, model, work, out = sys.argv[2:6]
        child(runtime, model, Path(work), Path(out), Budget.parse(sys.argv[6:]))
    else:
        chosen = [t for t in sys.argv[1:] if t in TASKS] or list(TASKS)
        main(chosen, QUICK if "--quick" in sys.argv else FULL)
