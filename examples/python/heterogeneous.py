"""Heterogeneous teacher/student pairs, the two presets the README names.

.venv/bin/python examples/python/heterogeneous.py text    # MiniLM -> 1-D CNN over its embeddings
.venv/bin/python examples/python/heterogeneous.py image   # CNN -> MLP on Fashion-MNIST
"""

import sys

from bridge import (
    CnnConfig,
    Dataset,
    Distiller,
    MlpConfig,
    QuantType,
    StageEvent,
    TrainingParams,
    ValidationEvent,
)

PAIRS = {
    # teacher, student, dataset, training
    "text": (
        "minilm-l6",
        CnnConfig(channels=(128,), kernel_size=3),
        Dataset.builtin("airline-sentiment"),
        TrainingParams(epochs=6, batch_size=32, learning_rate=2e-3, seed=42),
    ),
    "image": (
        "fashion-mnist-cnn",
        MlpConfig(hidden_sizes=(256, 128)),
        Dataset.builtin("fashion-mnist"),
        TrainingParams(epochs=5, batch_size=128, learning_rate=2e-3, seed=42),
    ),
}


def show(event: object) -> None:
    if isinstance(event, StageEvent):
        print(f"[{event.stage}] {event.message}")
    elif isinstance(event, ValidationEvent):
        print(f"  epoch {event.epoch}: val accuracy {event.accuracy:.4f}")


def main() -> None:
    teacher, student, dataset, training = PAIRS[sys.argv[1] if len(sys.argv) > 1 else "text"]
    with Distiller() as distiller:
        result = (
            distiller.set_teacher(teacher)
            .set_student_config(student)
            .enable_quantization(QuantType.INT8)
            .on_event(show)
            .distill(dataset, training)
        )
    for key in ("teacher_accuracy", "student_int8_accuracy", "retention_pct", "compression_ratio"):
        print(f"{key:<24}{result.metrics[key]:.4f}")


if __name__ == "__main__":
    main()
