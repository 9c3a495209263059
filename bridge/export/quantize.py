"""INT8 by dynamic quantization of MatMul/Gemm only: Conv would become the slow ConvInteger,
so CNN convolutions stay fp32 and their dense layers are quantized."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process

from bridge.errors import DistillError

QUANTIZED_OPS = ["MatMul", "Gemm"]
# Text students: the token embedding is most of the weights, so its Gather is quantized too.
TEXT_QUANTIZED_OPS = ["MatMul", "Gemm", "Gather"]


def recipe(op_types: list[str]) -> dict:
    return {**RECIPE, "op_types": op_types}


RECIPE = {
    "type": "int8",
    "method": "dynamic",
    "op_types": QUANTIZED_OPS,
    "weight_type": "QInt8",
    "activation_type": "QUInt8 (dynamic, per batch)",
    "per_channel": False,
    "pre_process": "onnxruntime quant_pre_process",
}


def quantize_int8(fp32_path: Path, out_path: Path, op_types: list[str] = QUANTIZED_OPS) -> Path:
    # quant_pre_process leaves temp files in its working area on failure: give it its own.
    with tempfile.TemporaryDirectory(prefix="quant-") as tmp:
        source, pre = Path(tmp) / "source.onnx", Path(tmp) / "pre.onnx"
        onnx.save(_without_initializer_value_info(onnx.load(str(fp32_path))), str(source))
        # Symbolic shape inference prints its complaints to stdout and fails on some graphs
        # (HF BERT); it is optional, so retry without it.
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                quant_pre_process(str(source), str(pre), skip_symbolic_shape=False)
            except Exception:
                quant_pre_process(str(source), str(pre), skip_symbolic_shape=True)
        try:
            quantize_dynamic(
                str(pre),
                str(out_path),
                op_types_to_quantize=op_types,
                weight_type=QuantType.QInt8,
                per_channel=False,
            )
        except Exception as e:
            raise DistillError(f"INT8 quantization failed: {type(e).__name__}: {e}") from e
    return out_path


def _without_initializer_value_info(model: onnx.ModelProto) -> onnx.ModelProto:
    """The dynamo exporter records each weight's shape in value_info; once quantization
    rewrites a weight those entries go stale and shape inference rejects the model."""
    weights = {t.name for t in model.graph.initializer}
    kept = [v for v in model.graph.value_info if v.name not in weights]
    del model.graph.value_info[:]
    model.graph.value_info.extend(kept)
    return model
