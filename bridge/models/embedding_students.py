"""MLP and CNN students for text: the heterogeneous half of a Transformer -> MLP/CNN pair.

Both read the teacher's token ids (same tokenizer, shipped with the artifact) through a word
embedding initialised from the teacher's own, reduced to `EMBEDDING_DIM` by PCA (the teacher's
384-wide table alone would be half of MiniLM's parameters). Then:

- `EmbeddingMlp` — the mean of the real tokens' embeddings, then the hidden layers (a
  "bag of embeddings" classifier, order-blind but very fast);
- `TextCnn` — stacked 1-D convolutions over the sequence, then a max over real tokens
  (Kim 2014), which sees local word order.

`forward_features` returns the pooled sentence feature the `SentenceAlignment` loss projects
onto the teacher's sentence embedding. Inputs are (input_ids, attention_mask), like the
Transformer students, so the Java and Python clients run every text artifact the same way.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from bridge.models.text import HF_WEIGHT_FILES, hf_config
from bridge.spec import CnnConfig, MlpConfig, SpecError

EMBEDDING_DIM = 128
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


class TextStudent(nn.Module):
    """Embedding -> encoder (pooled [B, feature_width]) -> linear classifier."""

    def __init__(self, embedding: nn.Embedding, feature_width: int, num_classes: int) -> None:
        super().__init__()
        self.embedding = embedding
        self.feature_width = feature_width
        self.classifier = nn.Linear(feature_width, num_classes)

    def encode(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_features(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        feature = self.encode(self.embedding(input_ids), attention_mask)
        return self.classifier(feature), feature

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.forward_features(input_ids, attention_mask)[0]


class EmbeddingMlp(TextStudent):
    def __init__(self, embedding: nn.Embedding, hidden: tuple[int, ...], num_classes: int):
        super().__init__(embedding, hidden[-1], num_classes)
        layers: list[nn.Module] = []
        width = embedding.embedding_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.layers = nn.Sequential(*layers)

    def encode(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = mask.unsqueeze(-1).to(embedded.dtype)
        mean = (embedded * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return self.layers(mean)


class TextCnn(TextStudent):
    def __init__(
        self, embedding: nn.Embedding, channels: tuple[int, ...], kernel: int, num_classes: int
    ):
        super().__init__(embedding, channels[-1], num_classes)
        layers: list[nn.Module] = []
        width = embedding.embedding_dim
        for c in channels:
            layers += [nn.Conv1d(width, c, kernel, padding=kernel // 2), nn.ReLU()]
            width = c
        self.convs = nn.Sequential(*layers)

    def encode(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        maps = self.convs(embedded.transpose(1, 2))  # [B, C, L]
        padding = (mask == 0).unsqueeze(1)
        return maps.masked_fill(padding, torch.finfo(maps.dtype).min).amax(dim=2)


def build_text_student(
    config: MlpConfig | CnnConfig, teacher_dir: Path, num_classes: int, init: bool = True
) -> TextStudent:
    """The student for a text teacher in `teacher_dir` (its vocabulary; its embeddings when
    `init`, else random ones of the same shape — for the pre-flight export)."""
    vocab = int(hf_config(teacher_dir)["vocab_size"])
    embedding = nn.Embedding(vocab, EMBEDDING_DIM, padding_idx=0)
    if init:
        with torch.no_grad():
            embedding.weight.copy_(reduced_embeddings(teacher_dir, EMBEDDING_DIM))
    if isinstance(config, MlpConfig):
        return EmbeddingMlp(embedding, config.hidden_sizes, num_classes)
    return TextCnn(embedding, config.channels, config.kernel_size, num_classes)


def reduced_embeddings(teacher_dir: Path, dim: int) -> torch.Tensor:
    """The teacher's word-embedding table projected on its top `dim` principal components."""
    table = teacher_word_embeddings(teacher_dir).float()
    if table.shape[1] <= dim:
        return torch.nn.functional.pad(table, (0, dim - table.shape[1]))
    centered = table - table.mean(dim=0)
    _, _, v = torch.pca_lowrank(centered, q=dim, center=False, niter=4)
    reduced = centered @ v[:, :dim]
    return reduced / reduced.std() * table.std()  # keep the teacher's scale


def teacher_word_embeddings(teacher_dir: Path) -> torch.Tensor:
    for name in HF_WEIGHT_FILES:
        path = teacher_dir / name
        if not path.is_file():
            continue
        if name.endswith(".safetensors"):  # read the one tensor, not the whole model
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                names = f.keys()  # noqa: SIM118 - a safetensors handle, not a dict
                key = next((k for k in names if k.endswith(WORD_EMBEDDINGS)), None)
                if key is not None:
                    return f.get_tensor(key)
            continue
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        key = next((k for k in state if k.endswith(WORD_EMBEDDINGS)), None)
        if key is not None:
            return state[key]
    raise SpecError("teacher.reference", f"{teacher_dir.name} has no {WORD_EMBEDDINGS} to reuse")
