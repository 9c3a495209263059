"""`python -m bridge.export._quantize_child SOURCE TARGET OPS`: onnxruntime's pre-processing
and dynamic quantization, run as a child process inside a scratch directory, because they write
temporary files (external-data `*.data`, `sym_shape_infer_temp.onnx`) into the current working
directory and leave them there.

It leaves `outcome.json` there for the parent: {"error": one line or null, "notes": [what went
wrong on the way, e.g. a step that failed and was done another way]}; tracebacks go to stderr.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from pathlib import Path

from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process

from bridge.errors import one_line
from bridge.export.quantize import OUTCOME


def main(source: str, target: str, op_types: list[str], notes: list[str]) -> None:
    """Quantizes `source` into `target`, appending to `notes` what failed on the way."""
    pre = "pre.onnx"
    # Symbolic shape inference prints to stdout and fails on some graphs (HF BERT); it is
    # optional, so retry without it, keeping why it failed.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            quant_pre_process(source, pre, skip_symbolic_shape=False)
        except Exception as e:
            notes.append(
                f"symbolic shape inference failed ({one_line(e)}), so pre-processing ran without it"
            )
            quant_pre_process(source, pre, skip_symbolic_shape=True)
        quantize_dynamic(
            pre,
            target,
            op_types_to_quantize=op_types,
            weight_type=QuantType.QInt8,
            per_channel=False,
        )


def _run(argv: list[str]) -> int:
    notes: list[str] = []
    error = None
    try:
        main(argv[0], argv[1], argv[2].split(","), notes)
    except Exception as e:
        traceback.print_exc()
        error = one_line(e)
    Path(OUTCOME).write_text(json.dumps({"error": error, "notes": notes}))
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(_run(sys.argv[1:]))
