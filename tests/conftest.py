"""Shared fixtures: one bridge home per test session (zoo teachers on `digits` train once, in
seconds) and a real gRPC server on 127.0.0.1 with its own data dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.data import load_dataset
from bridge.spec import Dataset, DistillSpec, MlpConfig, QuantType, TrainingParams

FAST = TrainingParams(epochs=4, batch_size=64, learning_rate=5e-3, seed=3)


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The session's bridge home. Under pytest-xdist its `teachers/` (zoo teachers, prepared
    text teachers) is one directory for all workers of the run: each is trained once, under
    the file lock concurrent jobs already use, instead of once per worker."""
    home = tmp_path_factory.mktemp("bridge-home")
    if worker_id != "master":  # basetemp is <run>/popen-gwN: <run> is shared by the workers
        shared = tmp_path_factory.getbasetemp().parent / "shared-teachers"
        shared.mkdir(exist_ok=True)
        (home / "teachers").symlink_to(shared, target_is_directory=True)
    return home


@pytest.fixture(scope="session")
def digits():
    return load_dataset(Dataset.builtin("digits"), None)


def digits_spec(**overrides) -> DistillSpec:
    fields = dict(
        teacher="digits-mlp",
        student=MlpConfig((32,)),
        dataset=Dataset.builtin("digits"),
        training=FAST,
        quantization=QuantType.INT8,
    )
    fields.update(overrides)
    return DistillSpec(**fields)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, home: Path) -> Iterator:
    """A real DistillServer on a free loopback port. Shares the session's zoo cache by using
    `home` as its data dir, so teachers are not retrained per test module."""
    from bridge.server import DistillServer, ServerConfig

    srv = DistillServer(
        ServerConfig(
            host="127.0.0.1",
            port=0,
            data_dir=home,
            data_root=tmp_path_factory.mktemp("data-root"),
            max_concurrent_jobs=1,
        )
    ).start()
    yield srv
    srv.stop(grace=1)


@pytest.fixture(scope="session")
def stub(server) -> Iterator[pb_grpc.DistillerServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.DistillerServiceStub(channel)
