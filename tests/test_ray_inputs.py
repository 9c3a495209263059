"""What a Ray node receives for a job: the files its spec names, packed on the server and
written on the node, with the spec pointed at the copies (no shared filesystem)."""

from __future__ import annotations

import pytest

from bridge import Dataset
from bridge.server.ray_executor import pack_inputs, unpack_inputs
from bridge.spec import SpecError
from tests.conftest import digits_spec


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "root"
    (root / "hf" / "sub").mkdir(parents=True)
    (root / "hf" / "config.json").write_text("{}")
    (root / "hf" / "sub" / "weights.bin").write_bytes(b"\x00\x01")
    (root / "train.csv").write_text("a,label\n1,x\n")
    (root / "val.csv").write_text("a,label\n2,y\n")
    return root


def test_files_and_directories_travel_and_names_stay(root, tmp_path):
    spec = digits_spec(
        teacher="hf",
        dataset=Dataset.from_path("train.csv", validation_path=str(root / "val.csv")),
    )
    packed = pack_inputs(spec, root)
    assert set(packed) == {"teacher", "dataset.path", "dataset.validation_path"}
    node = tmp_path / "node"
    moved = unpack_inputs(spec, packed, node)
    assert moved.teacher == str(node / "teacher" / "hf")
    assert (node / "teacher" / "hf" / "sub" / "weights.bin").read_bytes() == b"\x00\x01"
    assert moved.dataset.path == str(node / "dataset.path" / "train.csv")
    assert (node / "dataset.validation_path" / "val.csv").read_text() == "a,label\n2,y\n"
    assert moved.dataset.test_path is None and moved.student == spec.student


def test_zoo_and_builtin_names_stay_as_they_are(root):
    assert pack_inputs(digits_spec(), root) == {}


def test_a_path_outside_the_data_root_is_refused_naming_the_field(root, tmp_path):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("a,label\n1,x\n")
    spec = digits_spec(dataset=Dataset.from_path(str(outside)))
    with pytest.raises(SpecError, match="dataset.path"):
        pack_inputs(spec, root)
