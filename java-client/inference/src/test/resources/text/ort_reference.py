"""Python ONNX Runtime's predictions for a text artifact, for the Java predict parity test.

    <python> ort_reference.py ARTIFACT_DIR OUT.json [--limit 500] [--batch-size 32]

Takes the first --limit airline tweets (as tokenizer_reference.py selects them), tokenizes them
with the artifact's tokenizer.json the way docs/ARTIFACT.md prescribes (truncation to the
manifest's max_length, each batch of --batch-size padded with pad_id to its longest text), runs
every model the manifest lists (fp32, int8) with ONNX Runtime on CPU and writes
{"batch_size", "texts", "labels", "probabilities": {model file: [[p, ...], ...]}}: softmax of the
logits, row per text. Java predicts the same batches, so dynamic INT8 quantization (whose
activation ranges span a batch) sees the same inputs on both sides.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tokenizer_reference import airline_tweets  # noqa: E402


def encode(tokenizer: Tokenizer, texts: list[str], pad_id: int) -> dict[str, np.ndarray]:
    encodings = tokenizer.encode_batch(texts)
    longest = max(len(e.ids) for e in encodings)
    ids = np.full((len(texts), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(texts), longest), dtype=np.int64)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    manifest = json.loads((args.artifact / "manifest.json").read_text(encoding="utf-8"))
    spec = manifest["tokenizer"]
    tokenizer = Tokenizer.from_file(str(args.artifact / spec["file"]))
    tokenizer.no_padding()
    tokenizer.enable_truncation(spec["max_length"])
    texts = airline_tweets(args.limit)
    batches = [
        encode(tokenizer, texts[i : i + args.batch_size], spec["pad_id"])
        for i in range(0, len(texts), args.batch_size)
    ]
    output = manifest["output"]["name"]
    probabilities = {}
    for file in filter(None, manifest["models"].values()):
        session = ort.InferenceSession(str(args.artifact / file), providers=["CPUExecutionProvider"])
        rows = [softmax(session.run([output], feed)[0]) for feed in batches]
        probabilities[file] = np.concatenate(rows).tolist()
    out = {"batch_size": args.batch_size, "texts": texts, "labels": manifest["labels"],
           "probabilities": probabilities}
    args.out.write_text(json.dumps(out, ensure_ascii=True), encoding="utf-8")


if __name__ == "__main__":
    main()
