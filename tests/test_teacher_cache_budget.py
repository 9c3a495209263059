"""The teacher-output cache under a budget (issue 20): compact feature targets within their
error bounds, the budget's parser and flag, and the plan's three paths on a fake Transformer
teacher (no model download, milliseconds)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from bridge.cache_budget import CacheBudget
from bridge.cli import main
from bridge.data.features import TEXT_INPUTS, Features
from bridge.distill.compact import (
    decode_attention,
    decode_hidden,
    encode_attention,
    encode_hidden,
)
from bridge.distill.teacher_cache import (
    RecomputeReader,
    TeacherShape,
    cache_key,
    plan_features,
    remove_unused,
    teacher_outputs,
)
from bridge.models.teachers import OutputRequest
from bridge.paths import tree_bytes

HIDDEN, HEADS, WIDTH, ROWS = 8, 2, 12, 30
REQUEST = OutputRequest(hidden=(0, 2), attention=(1,))
SHAPE = TeacherShape(HIDDEN, HEADS)


def test_int8_hidden_states_stay_within_half_a_step_of_each_tokens_scale():
    x = (np.random.default_rng(0).standard_normal((5, 16, 384)) * 4).astype(np.float16)
    q, scale = encode_hidden(x)
    assert q.dtype == np.int8 and scale.shape == (5, 16) and scale.dtype == np.float16
    error = np.abs(decode_hidden(q, scale) - x.astype(np.float32))
    bound = np.abs(x.astype(np.float32)).max(axis=-1, keepdims=True) / 254
    assert (error <= bound * 1.002 + 1e-7).all()  # 1.002: the scale itself is stored in fp16
    assert np.all(decode_hidden(*encode_hidden(np.zeros((2, 3), np.float32))) == 0)


def test_uint8_attention_stays_within_half_a_step_of_each_rows_max():
    logits = torch.randn(4, 12, 20, 20, generator=torch.Generator().manual_seed(1)) * 3
    p = torch.softmax(logits, dim=-1).numpy().astype(np.float16)
    q, scale = encode_attention(p)
    assert q.dtype == np.uint8 and scale.shape == (4, 12, 20)
    decoded = decode_attention(q, scale)
    bound = p.astype(np.float32).max(axis=-1, keepdims=True) / 510
    assert (np.abs(decoded - p.astype(np.float32)) <= bound * 1.002 + 1e-7).all()
    assert np.abs(decoded.sum(axis=-1) - 1).max() < 20 / 510


@pytest.mark.parametrize(
    ("text", "disk", "resident", "features"),
    [
        ("2GB", 2 * 10**9, 64 * 1024**2, "auto"),
        ("1.5GiB", int(1.5 * 1024**3), 64 * 1024**2, "auto"),
        ("disk=10MB, resident=64KiB, features=recompute", 10**7, 64 * 1024, "recompute"),
        ("4096", 4096, 64 * 1024**2, "auto"),
    ],
)
def test_budget_parses_sizes_and_keys(text, disk, resident, features):
    assert CacheBudget.parse(text) == CacheBudget(disk, resident, features)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "give a size such as 2GB"),
        ("2XB", "disk='2XB': give a size such as 500MB"),
        ("-1GB", "disk='-1GB'"),
        ("disk=2GB,disk=3GB", "disk is given twice"),
        ("ram=1GB", "the key must be one of disk, resident, features"),
        ("features=fp8", "must be one of auto, full, compact, recompute"),
    ],
)
def test_bad_budgets_are_refused_naming_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        CacheBudget.parse(text)


def test_serve_refuses_a_bad_budget_naming_the_flag(tmp_path, capsys):
    code = main(["serve", "--data-dir", str(tmp_path), "--teacher-cache-budget", "lots"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --teacher-cache-budget:") and "'lots'" in err


def test_local_api_refuses_a_bad_budget_naming_the_option(tmp_path):
    from bridge import Distiller

    with pytest.raises(ValueError, match="teacher_cache_budget: features='fp8': must be one of"):
        Distiller(home=tmp_path, teacher_cache_budget="1GB,features=fp8")


# ---------------------------------------------------------------- a fake Transformer teacher


def _splits() -> dict[str, Features]:
    rng = np.random.default_rng(2)
    splits = {}
    for name, rows in (("train", ROWS), ("val", 6)):
        lengths = rng.integers(2, WIDTH + 1, rows)
        mask = (np.arange(WIDTH) < lengths[:, None]).astype(np.int64)
        ids = rng.integers(1, 50, (rows, WIDTH)) * mask
        splits[name] = Features(TEXT_INPUTS, (ids, mask))
    return splits


class _FakeTransformer:
    """Deterministic features of the token ids; attention rows are softmaxes over real keys."""

    loads = 0

    def __init__(self) -> None:
        type(self).loads += 1

    def forward_batch(self, batch: tuple[np.ndarray, ...], request: OutputRequest) -> dict:
        ids, mask = (torch.from_numpy(a) for a in batch)
        base = torch.sin(ids[..., None].float() * torch.arange(1, HIDDEN + 1))  # [B, L, H]
        out = {"logits": base.mean(dim=1)[:, :3].numpy().astype(np.float32)}
        for i in request.hidden:
            out[f"hidden_{i}"] = ((i + 1) * base).half().numpy()
        for i in request.attention:
            scores = torch.einsum("bqh,bkh->bqk", base, base)[:, None].repeat(1, HEADS, 1, 1)
            scores = scores.masked_fill(mask[:, None, None, :] == 0, -1e9) / (i + 1)
            out[f"attention_{i}"] = torch.softmax(scores, dim=-1).half().numpy()
        return out

    def outputs(self, features: Features, request: OutputRequest, batch_size: int):
        for start in range(0, len(features), batch_size):
            rows = slice(start, min(start + batch_size, len(features)))
            yield rows, self.forward_batch(features.batch(rows), request)

    def release(self) -> None:
        pass


def _cached(tmp_path, budget: CacheBudget, key: str):
    splits = _splits()
    plan = plan_features(splits, REQUEST, SHAPE, 3, budget)
    key = cache_key(job=key, layout=plan.layout)  # as teacher_prep keys entries
    result = teacher_outputs(tmp_path, key, splits, REQUEST, _FakeTransformer, 7, plan=plan)
    return splits, plan, result


def _batch(reader, splits, idx):
    width = splits["train"].batch(idx)[0].shape[1]
    return reader.read(idx, width)


def test_the_plan_picks_full_compact_or_recompute_from_the_budget():
    splits = _splits()
    full = plan_features(splits, REQUEST, SHAPE, 3, CacheBudget(10**6, features="full"))
    assert full.path == "full" and full.code == 1
    lengths = splits["train"].arrays[1].sum(axis=1)
    # per row: 2 hidden layers of l x 8 int8 + l fp16 scales; 1 attention of 2 x l x l + 2 x l
    expected = int((2 * (lengths * HIDDEN + 2 * lengths) + HEADS * lengths**2 + 4 * lengths).sum())
    assert full.compact_bytes == expected + 4 * ROWS  # + the lengths themselves
    assert full.full_bytes == ROWS * (2 * WIDTH * HIDDEN * 2 + HEADS * WIDTH * WIDTH * 2)
    assert full.logits_bytes == (ROWS + 6) * 3 * 4
    auto = plan_features(splits, REQUEST, SHAPE, 3, CacheBudget(10**6))
    assert auto.path == "compact" and auto.code == 2
    tight = CacheBudget(full.logits_bytes + full.compact_bytes - 1)
    small = plan_features(splits, REQUEST, SHAPE, 3, tight)
    assert (
        small.path == "recompute" and small.code == 3 and "do not fit even compact" in small.reason
    )
    forced = plan_features(splits, REQUEST, SHAPE, 3, CacheBudget(features="recompute"))
    assert forced.path == "recompute" and "features=recompute" in forced.reason
    none = plan_features(splits, OutputRequest(), None, 3, CacheBudget(0))
    assert none.path == "none" and none.code == 0


def test_compact_entries_decode_like_the_fp16_entry_and_are_smaller(tmp_path):
    splits, full_plan, full = _cached(tmp_path, CacheBudget(10**6, features="full"), "a" * 40)
    _, plan, compact = _cached(tmp_path, CacheBudget(10**6), "a" * 40)
    assert plan.path == "compact" and compact.directory != full.directory  # layout in the key
    assert compact.bytes < full.bytes / 2
    features = compact.outputs["train"].features
    assert features is not None and full.outputs["train"].features is None
    np.testing.assert_array_equal(compact.outputs["train"].logits, full.outputs["train"].logits)
    idx = np.array([0, 3, 4, 17, 29])
    hidden, attention = _batch(features, splits, idx)
    width = hidden[0].shape[1]
    dense = full.outputs["train"]
    real = splits["train"].arrays[1][idx, :width].astype(bool)  # what the losses read
    for t, h in hidden.items():
        want = dense.hidden[t][idx, :width].astype(np.float32)
        assert np.abs(h.numpy() - want)[real].max() <= np.abs(want).max() / 254 * 1.01
        assert not h.numpy()[~real].any()  # padding is not stored: zeros
    for t, a in attention.items():
        want = dense.attention[t][idx, :, :width, :width].astype(np.float32)
        queries = np.broadcast_to(real[:, None, :, None], want.shape)
        assert np.abs(a.numpy() - want)[queries].max() <= 1 / 510 * 1.01
        assert not a.numpy()[~queries].any()
    # pread (over the resident figure) reads exactly what the memory map reads
    assert plan.mapped
    _, _, unmapped = _cached(tmp_path, CacheBudget(10**6, resident_bytes=0), "a" * 40)
    assert unmapped.hit and unmapped.plan is not None and not unmapped.plan.mapped
    again, _ = _batch(unmapped.outputs["train"].features, splits, idx)
    assert all(torch.equal(again[t], hidden[t]) for t in hidden)


def test_over_budget_only_logits_are_cached_and_features_are_recomputed(tmp_path):
    _FakeTransformer.loads = 0
    splits, plan, result = _cached(tmp_path, CacheBudget(2000), "b" * 40)
    assert plan.path == "recompute"
    assert sorted(p.name for p in result.directory.iterdir()) == [
        "complete.json",
        "train.logits.npy",
        "val.logits.npy",
    ]
    assert _FakeTransformer.loads == 1  # the build; released, then loaded again on first read
    reader = result.outputs["train"].features
    assert isinstance(reader, RecomputeReader)
    idx = np.array([1, 2, 9])
    hidden, attention = _batch(reader, splits, idx)
    assert _FakeTransformer.loads == 2
    want = _FakeTransformer().forward_batch(splits["train"].batch(idx), REQUEST)
    assert torch.equal(hidden[2], torch.from_numpy(want["hidden_2"].astype(np.float32)))
    assert attention[1].shape[1] == HEADS
    clone = pickle.loads(pickle.dumps(reader))  # a DDP worker's copy loads its own teacher
    assert clone._teacher is None and torch.equal(_batch(clone, splits, idx)[0][0], hidden[0])
    result.close()
    assert reader._teacher is None


def test_retention_counts_every_file_of_a_compact_entry(tmp_path):
    _, _, result = _cached(tmp_path, CacheBudget(10**6), "c" * 40)
    names = {p.name for p in result.directory.iterdir()}
    assert {"train.lengths.npy", "train.layout.json", "train.hidden_0.q.bin"} <= names
    size = tree_bytes(result.directory)
    assert result.bytes == size
    removed = remove_unused(tmp_path, unused_for=0, now=2e9)
    assert removed == [(result.directory, size)] and not result.directory.exists()


@pytest.mark.parametrize("budget", ["disk=1MB,resident=0", "1KB"])
def test_ddp_workers_read_the_same_feature_targets(tmp_path, budget):
    """A torchrun worker opens the entry by path and gets the job's own reader: compact (read
    with pread here) or recomputing (it loads its own teacher)."""
    from bridge.distill.distributed import read_job, write_job
    from bridge.distill.trainer import TrainData
    from bridge.spec import TrainingParams

    splits, plan, result = _cached(tmp_path / "cache", CacheBudget.parse(budget), budget)
    data = TrainData(splits["train"], np.zeros(ROWS, np.int64), result.outputs["train"])
    val = TrainData(splits["val"], np.zeros(6, np.int64))
    model = torch.nn.Linear(1, 1)
    write_job(tmp_path / "job", model, data, val, TrainingParams(), result.directory)
    worker = read_job(tmp_path / "job")["train"].teacher
    assert type(worker.features) is type(result.outputs["train"].features)
    idx = np.array([2, 5, 11])
    for mine, theirs in zip(
        _batch(result.outputs["train"].features, splits, idx),
        _batch(worker.features, splits, idx),
        strict=True,
    ):
        assert mine.keys() == theirs.keys()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    np.testing.assert_array_equal(worker.logits, result.outputs["train"].logits)


def test_the_servers_budget_reaches_its_jobs_and_the_local_apis_its_runs(tmp_path, home):
    """`serve --teacher-cache-budget` is the server's (ServerConfig -> ServerPaths -> the
    worker's RunContext); `Distiller(teacher_cache_budget=...)` the local run's."""
    from bridge import Distiller
    from bridge.server import DistillServer, ServerConfig
    from tests.conftest import digits_spec

    budget = CacheBudget.parse("disk=12345678,resident=1MB")
    srv = DistillServer(
        ServerConfig(port=0, data_dir=home, data_root=tmp_path, teacher_cache_budget=budget)
    ).start()
    try:
        with Distiller.remote(f"127.0.0.1:{srv.port}", plaintext=True) as remote:
            served = remote.run_spec(digits_spec())
    finally:
        srv.stop(grace=1)
    assert served.metrics["teacher_cache_budget_bytes"] == 12345678
    assert served.metrics["teacher_features_path"] == 0  # an MLP student reads logits only
    local = Distiller(home=home, teacher_cache_budget="7654321").run_spec(digits_spec())
    assert local.metrics["teacher_cache_budget_bytes"] == 7654321
    assert local.metrics["teacher_cache_bytes"] == served.metrics["teacher_cache_bytes"] > 0
