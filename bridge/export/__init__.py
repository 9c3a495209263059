"""ONNX export, INT8 quantization, verification and the artifact manifest."""
