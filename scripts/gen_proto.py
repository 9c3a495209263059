"""Generate the Python gRPC stubs from proto/ into bridge/_proto (or another directory).

The one command that produces generated Python code: `make proto` runs it, and
tests/test_proto_fresh.py regenerates into a temp dir and fails when the committed
stubs are stale.
"""

from __future__ import annotations

import re
import sys
from importlib.resources import files
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PROTO_FILE = "distillbridge/v1/distiller.proto"


def generate(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = str(files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        PROTO_FILE,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    generated = sorted((out_dir / "distillbridge" / "v1").glob("distiller_pb2*"))
    for path in generated:
        # protoc emits absolute imports of the proto package; make them package-relative
        # to bridge._proto so the stubs import without touching sys.path.
        text = path.read_text()
        text = re.sub(
            r"^from distillbridge\.v1 import",
            "from bridge._proto.distillbridge.v1 import",
            text,
            flags=re.M,
        )
        path.write_text(text)
    for pkg in (out_dir / "distillbridge", out_dir / "distillbridge" / "v1"):
        (pkg / "__init__.py").write_text("")
    return generated


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bridge" / "_proto"
    for p in generate(target):
        print(p.relative_to(target.parent) if target.parent in p.parents else p)
