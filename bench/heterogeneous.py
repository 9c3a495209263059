"""Heterogeneous pairs: what distillation buys when teacher and student do not share an
architecture. Test accuracy of the fp32 ONNX student, trained the same way with and without the
teacher (and, for text, with and without the sentence-embedding alignment):

- text: MiniLM-L6, fine-tuned by the bridge on the subset (the default TeacherPreparation: head
  and encoder, 2 epochs) -> a 1-D CNN and an embedding MLP over the teacher's PCA-reduced token
  embeddings, 3,000 airline tweets (bench/_tasks.py). A head-only teacher (frozen encoder)
  reached only 0.50 on this subset, below the students trained alone, and taught nothing;
- image: the zoo CNN teacher -> an MLP, 12k Fashion-MNIST subset.

    PYTHONPATH=. .venv/bin/python bench/heterogeneous.py

~15 min on 2 cores; writes bench/results/heterogeneous.json.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402
from _tasks import TASKS  # noqa: E402

from bridge.pipeline import RunContext, run  # noqa: E402
from bridge.spec import (  # noqa: E402
    CnnConfig,
    DistillSpec,
    MlpConfig,
    StudentConfig,
    TeacherPreparation,
)

PAIRS: dict[str, tuple[str, StudentConfig, int, float]] = {
    # name: (task in bench/_tasks.py, student, epochs, learning rate)
    "minilm -> text cnn": ("text", CnnConfig((128,), kernel_size=3), 8, 2e-3),
    "minilm -> text mlp": ("text", MlpConfig((128,)), 8, 2e-3),
    "cnn -> mlp (fashion)": ("fashion", MlpConfig((256, 128)), 4, 2e-3),
}
VARIANTS = {
    "no_distillation": dict(alpha=0.0, hidden_weight=0.0),
    "logits": dict(alpha=0.5, hidden_weight=0.0),
    "logits_and_features": dict(alpha=0.5, hidden_weight=1.0),
}
LABELS = {
    "no_distillation": "no teacher (alpha 0)",
    "logits": "KD on logits",
    "logits_and_features": "KD + sentence-embedding alignment",
}


def spec_for(pair: str, variant: str) -> DistillSpec:
    task_name, student, epochs, lr = PAIRS[pair]
    base = TASKS[task_name].spec(epochs)
    if task_name == "text":  # a teacher worth distilling: the encoder fine-tuned too
        base = replace(base, teacher_preparation=TeacherPreparation())
    training = replace(base.training, learning_rate=lr, **VARIANTS[variant])
    return replace(base, student=student, training=training)


def main() -> None:
    home = c.bench_home()
    results: dict = {}
    for pair, (task_name, _, _, _) in PAIRS.items():
        variants = [v for v in VARIANTS if task_name == "text" or v != "logits_and_features"]
        row: dict = {}
        for variant in variants:
            with tempfile.TemporaryDirectory() as tmp:
                m = run(spec_for(pair, variant), Path(tmp) / "a", RunContext(home=home)).metrics
            row[variant] = m["student_accuracy"]
            row["teacher_accuracy"] = m["teacher_accuracy"]
            row["student_parameters"] = m["student_parameters"]
            row["teacher_parameters"] = m["teacher_parameters"]
            print(pair, variant, m["student_accuracy"], flush=True)
        results[pair] = row
    c.finish("heterogeneous", {"results": results}, report)


def report(result: dict, plots: Path) -> str:
    lines = [
        "Test accuracy of the fp32 ONNX student, one seed, constant schedule (T 4); the text",
        "teacher is MiniLM fine-tuned on the subset by the bridge. The same",
        "student trained without the teacher, with logit KD, and (text) with the projection of",
        "its sentence feature onto the teacher's sentence embedding. No goal was set for these",
        "pairs; the table shows what the teacher adds. With one seed, differences under about",
        "1 point are noise.",
        "",
        "| pair | teacher | student params (teacher) | " + " | ".join(LABELS.values()) + " |",
        "|---|---|---|" + "---|" * len(LABELS),
    ]
    for pair, r in result["results"].items():
        cells = [f"{r[v]:.4f}" if v in r else "—" for v in VARIANTS]
        lines.append(
            f"| {pair} | {r['teacher_accuracy']:.4f} | {r['student_parameters']:,} "
            f"({r['teacher_parameters']:,}) | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
