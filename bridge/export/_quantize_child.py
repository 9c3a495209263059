"""`python -m bridge.export._quantize_child SOURCE TARGET OPS`: onnxruntime's pre-processing
and dynamic quantization, run as a child process inside a scratch directory, because they write
temporary files (external-data `*.data`, `sym_shape_infer_temp.onnx`) into the current working
directory and leave them there."""

from __future__ import annotations

import contextlib
import io
import sys

from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process


def main(source: str, target: str, op_types: list[str]) -> None:
    pre = "pre.onnx"
    # Symbolic shape inference prints to stdout and fails on some graphs (HF BERT); it is
    # optional, so retry without it.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            quant_pre_process(source, pre, skip_symbolic_shape=False)
        except Exception:
            quant_pre_process(source, pre, skip_symbolic_shape=True)
        quantize_dynamic(
            pre,
            target,
            op_types_to_quantize=op_types,
            weight_type=QuantType.QInt8,
            per_channel=False,
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3].split(","))
