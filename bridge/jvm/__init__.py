"""Verification of an artifact inside a JVM (JPype), with the Java client's own code.

After export, the pipeline calls `verify_in_jvm(artifact_dir)`: it starts a JVM in this process
(once; JPype cannot restart one) with the Java client's jars (distill-bridge-client and
distill-bridge-inference, ONNX Runtime Java, gson, gRPC) on the classpath, and for every model of
the artifact calls
`DistilledModel.load(dir, precision)` -- hash checks and golden-vector replay, the exact code
path a Java service runs -- then `selfCheck()`. No JVM or no classpath means `skipped` with the
reason, never `passed`.

Classpath, first match wins:
1. `$DISTILL_BRIDGE_JAVA_CLASSPATH` (entries joined with ':'; empty = the check is disabled);
2. auto-detection when running from the repository: `java-client/client/target/classpath.txt`
   (written by `make setup`: the client module's runtime dependencies, the inference module's
   jar among them) plus the client jar; a module's `target/classes` stands in for its jar when
   a later `mvn compile` made them newer (a developer's loop).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bridge.export import manifest as mf

ENV_CLASSPATH = "DISTILL_BRIDGE_JAVA_CLASSPATH"
REPO_JAVA = Path(__file__).resolve().parents[2] / "java-client"
REPO_CLIENT = REPO_JAVA / "client"
MODEL_CLASS = "dev.distillbridge.inference.DistilledModel"
PRECISION_CLASS = "dev.distillbridge.inference.Precision"

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


class JvmUnavailable(Exception):
    """No JVM can run the check here; the message is the reason reported as `skipped`."""


@dataclass(frozen=True)
class JavaClasspath:
    entries: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class JvmCheck:
    """What the JVM said about the artifact. `max_abs_diff` is the largest difference between
    the JVM's outputs and the golden outputs over every model; `models` has it per file."""

    status: str
    reason: str = ""
    max_abs_diff: float | None = None
    models: dict[str, dict] = field(default_factory=dict)
    java_version: str = ""
    java_vm: str = ""
    onnxruntime_java_version: str = ""
    client_version: str = ""
    classpath_source: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def find_classpath(env: dict[str, str] | None = None) -> JavaClasspath:
    """The configured or auto-detected classpath; raises `JvmUnavailable` with the reason."""
    env = os.environ if env is None else env
    if ENV_CLASSPATH in env:
        entries = tuple(e for e in env[ENV_CLASSPATH].split(os.pathsep) if e)
        if not entries:
            raise JvmUnavailable(f"disabled: {ENV_CLASSPATH} is set but empty")
        missing = [e for e in entries if not Path(e).exists()]
        if missing:
            raise JvmUnavailable(f"{ENV_CLASSPATH} names missing paths: {', '.join(missing[:3])}")
        return JavaClasspath(entries, f"${ENV_CLASSPATH}")
    return _repo_classpath(REPO_CLIENT)


def _repo_classpath(client: Path) -> JavaClasspath:
    deps = client / "target" / "classpath.txt"
    if not deps.is_file():
        raise JvmUnavailable(
            f"no Java classpath configured: set {ENV_CLASSPATH}, or run `make setup` "
            f"to build {deps}"
        )
    own = _newest_build(client / "target", "distill-bridge-client")
    if own is None:
        raise JvmUnavailable(f"the Java client is not built: no jar or classes in {deps.parent}")
    listed = (e for e in deps.read_text().strip().split(os.pathsep) if e)
    entries = (str(own), *(_fresh(Path(e)) for e in listed))
    return JavaClasspath(entries, f"auto-detected {client}/target")


def _newest_build(target: Path, artifact_id: str) -> Path | None:
    """A module's jar, or its target/classes when a later `mvn compile`/`mvn test` made them
    newer than the jar (a developer's loop); None when neither exists."""
    jars = sorted(target.glob(f"{artifact_id}-*.jar"), key=lambda p: p.stat().st_mtime)
    classes = target / "classes"
    newest = max((p.stat().st_mtime for p in classes.rglob("*.class")), default=None)
    if newest is not None and (not jars or newest > jars[-1].stat().st_mtime):
        return classes
    return jars[-1] if jars else None


def _fresh(entry: Path) -> str:
    """A classpath entry; a sibling module's jar (distill-bridge-inference) becomes its
    target/classes when those are newer, as for the client itself."""
    in_repo = entry.parent.name == "target" and entry.parent.parent.parent == REPO_JAVA
    if entry.suffix == ".jar" and in_repo:
        artifact_id = re.sub(r"-\d.*$", "", entry.stem)  # distill-bridge-inference-0.2.0-SNAPSHOT
        return str(_newest_build(entry.parent, artifact_id) or entry)
    return str(entry)


_jvm_lock = threading.Lock()


def _start_jvm(classpath: JavaClasspath) -> None:
    """Starts the process's JVM once with `classpath`; a JVM started earlier must already see
    the client (JPype cannot restart or re-classpath a JVM)."""
    try:
        import jpype
    except ImportError as e:
        raise JvmUnavailable(f"JPype is not installed ({e})") from e
    with _jvm_lock:
        if not jpype.isJVMStarted():
            try:
                jvm = jpype.getDefaultJVMPath()
            except Exception as e:  # JVMNotFoundException and friends
                raise JvmUnavailable(f"no JVM found: {e}") from e
            # convertStrings=False: java.lang.String stays a Java object (JPype's advice).
            jpype.startJVM(
                jvm,
                "-Xmx512m",
                # the JVM ignores $TMPDIR: a server's worker points both at the job's scratch
                f"-Djava.io.tmpdir={tempfile.gettempdir()}",
                classpath=list(classpath.entries),
                convertStrings=False,
            )
    try:
        model = jpype.JClass(MODEL_CLASS)
    except Exception as e:
        raise JvmUnavailable(f"the JVM in this process cannot load {MODEL_CLASS}: {e}") from e
    if not hasattr(model, "selfCheck"):
        raise JvmUnavailable(
            "the Java client on the classpath predates DistilledModel.selfCheck(); rebuild it "
            "(`make setup`)"
        )


def verify_in_jvm(artifact_dir: Path, classpath: JavaClasspath | None = None) -> JvmCheck:
    """Loads every model of the artifact with the Java client's `DistilledModel` and reports.
    Never raises for an unavailable JVM (-> skipped) or a bad artifact (-> failed)."""
    t0 = time.perf_counter()
    try:
        classpath = classpath or find_classpath()
        _start_jvm(classpath)
        check = _check_models(artifact_dir, classpath)
    except JvmUnavailable as e:
        check = JvmCheck(SKIPPED, reason=str(e))
    finally:
        _detach_worker_thread()
    return JvmCheck(**{**asdict(check), "seconds": time.perf_counter() - t0})


def _detach_worker_thread() -> None:
    """A thread other than the main one stays attached to the JVM (as a non-daemon thread)
    after a JPype call, and the JVM's shutdown at interpreter exit then waits for it forever
    -- e.g. jobs on the debug server's threads. Detaching when done avoids that hang."""
    if threading.current_thread() is threading.main_thread():
        return
    try:
        import jpype
    except ImportError:
        return
    if jpype.isJVMStarted():
        jpype.JClass("java.lang.Thread").detach()


def _check_models(artifact_dir: Path, classpath: JavaClasspath) -> JvmCheck:
    import jpype

    DistilledModel = jpype.JClass(MODEL_CLASS)  # noqa: N806
    Precision = jpype.JClass(PRECISION_CLASS)  # noqa: N806
    JPath = jpype.JClass("java.nio.file.Path")  # noqa: N806
    models = mf.read_manifest(artifact_dir)["models"]
    directory = JPath.of(str(artifact_dir.resolve()), [])
    per_model: dict[str, dict] = {}
    for key, file in models.items():
        if not file:
            continue
        try:
            with DistilledModel.load(directory, Precision.valueOf(key.upper())) as model:
                report = model.selfCheck()
                if not report.healthy():
                    raise _JavaProblem(str(report.problem()))
                per_model[file] = {
                    "max_abs_diff": float(model.maxGoldenDiff()),
                    "atol": float(report.atol()),
                    "golden_rows": int(report.goldenRows()),
                }
        except (jpype.JException, _JavaProblem) as e:
            reason = f"{file}: {_java_message(e)}"
            return JvmCheck(FAILED, reason=reason, models=per_model, **_versions(classpath))
    worst = max((m["max_abs_diff"] for m in per_model.values()), default=None)
    return JvmCheck(PASSED, max_abs_diff=worst, models=per_model, **_versions(classpath))


class _JavaProblem(Exception):
    pass


def _java_message(e: Exception) -> str:
    getter = getattr(e, "getMessage", None)
    return str(getter()) if getter else str(e)


def _versions(classpath: JavaClasspath) -> dict[str, str]:
    import jpype

    system = jpype.JClass("java.lang.System")
    runtime = jpype.JClass("ai.onnxruntime.OrtEnvironment").getEnvironment()
    client = jpype.JClass(MODEL_CLASS).clientVersion()
    return {
        "java_version": str(system.getProperty("java.version")),
        "java_vm": f"{system.getProperty('java.vm.name')} {system.getProperty('java.vm.version')}",
        "onnxruntime_java_version": str(runtime.getVersion()),
        "client_version": str(client),
        "classpath_source": classpath.source,
    }


__all__ = [
    "ENV_CLASSPATH",
    "FAILED",
    "PASSED",
    "SKIPPED",
    "JavaClasspath",
    "JvmCheck",
    "JvmUnavailable",
    "find_classpath",
    "verify_in_jvm",
]
