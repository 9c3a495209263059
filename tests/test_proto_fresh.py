"""The committed Python stubs must be what `make proto` generates from the proto today."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_stubs_match_the_proto(tmp_path):
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "scripts" / "gen_proto.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    fresh = gen.generate(tmp_path)
    committed = ROOT / "bridge" / "_proto" / "distillbridge" / "v1"
    assert [p.name for p in fresh] == [
        "distiller_pb2.py",
        "distiller_pb2.pyi",
        "distiller_pb2_grpc.py",
    ]
    for path in fresh:
        assert path.read_text() == (committed / path.name).read_text(), (
            f"{path.name} is stale: run `make proto`"
        )
