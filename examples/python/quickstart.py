"""The Python mirror of the Java quickstart: the same fluent API, in-process or on a server.

.venv/bin/python examples/python/quickstart.py                                  # in this process
.venv/bin/python examples/python/quickstart.py models.internal:50051            # TLS, default roots
.venv/bin/python examples/python/quickstart.py localhost:50051 plaintext=true   # no --tls-cert
.venv/bin/python examples/python/quickstart.py host:50051 ca=ca.pem             # a private CA

As the Java quickstart: TLS unless plaintext=true, and the bearer token (if the server has
--auth-token-file) from $DISTILL_BRIDGE_TOKEN.
"""

import os
import sys

from bridge import Dataset, Distiller, MlpConfig, QuantType, TrainingParams, ValidationEvent


def connect(target: str, options: list[str]) -> Distiller:
    opts = dict(option.split("=", 1) for option in options)
    return Distiller.remote(
        target,
        plaintext=opts.get("plaintext", "false").lower() == "true",
        trust_certificate=opts.get("ca"),
        bearer_token=os.environ.get("DISTILL_BRIDGE_TOKEN") or None,
    )


def main() -> None:
    distiller = connect(sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else Distiller()
    with distiller:
        result = (
            distiller.set_teacher("german-credit-mlp")
            .set_student_config(MlpConfig(hidden_sizes=(16,)))
            .enable_quantization(QuantType.INT8)
            .on_event(
                lambda e: (
                    isinstance(e, ValidationEvent)
                    and print(f"epoch {e.epoch}: val accuracy {e.accuracy:.3f}")
                )
            )
            .distill(
                Dataset.builtin("german-credit"),
                TrainingParams(epochs=60, learning_rate=1e-3, seed=42),
            )
        )
        artifact = result.download("quickstart-artifact")
    for key in ("teacher_accuracy", "student_int8_accuracy", "retention_pct", "compression_ratio"):
        print(f"{key:<24}{result.metrics[key]:.4f}")
    print(f"artifact: {artifact}")


if __name__ == "__main__":
    main()
