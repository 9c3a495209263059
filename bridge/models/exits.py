"""Multi-exit students for self-distillation (Be-Your-Own-Teacher, Zhang et al. 2019).

Every hidden layer (MLP), conv block (CNN) or encoder layer (Transformer) gets its own
classifier exit. `forward` is the deepest exit (the full model); `forward_exits` returns every
exit's logits and a feature vector per exit (for the hint loss); `truncated(k)` is a plain
module of the first k layers and exit k, which is what ships when a shallow exit is good
enough: compression without a teacher.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from bridge.data import LoadedDataset
from bridge.models.builders import Normalize
from bridge.models.text import TextClassifier
from bridge.spec import CnnConfig, MlpConfig


class MultiExit(nn.Module):
    """Normalize -> blocks; exit i reads block i's output."""

    def __init__(self, normalize: nn.Module, blocks: list[nn.Module], exits: list[nn.Module]):
        super().__init__()
        self.normalize = normalize
        self.blocks = nn.ModuleList(blocks)
        self.exits = nn.ModuleList(exits)

    @property
    def depth(self) -> int:
        return len(self.blocks)

    @property
    def feature_widths(self) -> list[int]:
        return [_width(b) for b in self.blocks]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.normalize(x)
        for block in self.blocks:
            h = block(h)
        return self.exits[-1](h)

    def forward_exits(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        h = self.normalize(x)
        logits, features = [], []
        for block, exit_ in zip(self.blocks, self.exits, strict=True):
            h = block(h)
            logits.append(exit_(h))
            features.append(h.mean(dim=(2, 3)) if h.ndim == 4 else h)  # conv maps: pooled
        return logits, features

    def truncated(self, k: int) -> nn.Sequential:
        """The first k blocks and exit k, as an ordinary exportable module (shares weights)."""
        return nn.Sequential(self.normalize, *self.blocks[:k], self.exits[k - 1])


def multi_exit_student(config: MlpConfig | CnnConfig, dataset: LoadedDataset) -> MultiExit:
    """The student `config` describes, split into blocks with an exit after each."""
    n = dataset.num_classes
    normalize = Normalize(*dataset.normalization())
    blocks: list[nn.Module] = []
    exits: list[nn.Module] = []
    if isinstance(config, MlpConfig):
        width = math.prod(dataset.input_shape)
        for i, h in enumerate(config.hidden_sizes):
            first = [nn.Flatten()] if i == 0 else []
            blocks.append(nn.Sequential(*first, nn.Linear(width, h), nn.ReLU()))
            exits.append(nn.Linear(h, n))
            width = h
        return MultiExit(normalize, blocks, exits)
    c_in, h, w = dataset.input_shape
    for c_out in config.channels:
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, config.kernel_size, padding=config.kernel_size // 2),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
        ]
        if min(h, w) >= 2:
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        blocks.append(nn.Sequential(*layers))
        exits.append(nn.Sequential(nn.Flatten(), nn.Linear(c_out * h * w, n)))
        c_in = c_out
    return MultiExit(normalize, blocks, exits)


def _width(block: nn.Module) -> int:
    for m in reversed(list(block.modules())):
        if isinstance(m, nn.Linear):
            return m.out_features
        if isinstance(m, nn.Conv2d):
            return m.out_channels
    raise ValueError("block without Linear or Conv2d")


class TextMultiExit(nn.Module):
    """A BERT student with a pooler-style exit (dense, tanh, linear on [CLS]) after each encoder
    layer but the last; the last exit is the model's own pooler and classifier."""

    def __init__(self, student: TextClassifier) -> None:
        super().__init__()
        self.student = student
        cfg = student.config
        self.shallow_exits = nn.ModuleList(
            nn.Sequential(
                nn.Linear(cfg.hidden_size, cfg.hidden_size),
                nn.Tanh(),
                nn.Linear(cfg.hidden_size, cfg.num_labels),
            )
            for _ in range(cfg.num_hidden_layers - 1)
        )

    @property
    def depth(self) -> int:
        return self.student.config.num_hidden_layers

    @property
    def feature_widths(self) -> list[int]:
        return [self.student.config.hidden_size] * self.depth

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.student(input_ids, attention_mask)

    def forward_exits(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        hf = self.student.hf
        out = hf.bert(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        cls = [h[:, 0] for h in out.hidden_states[1:]]
        logits = [e(c) for e, c in zip(self.shallow_exits, cls, strict=False)]
        logits.append(hf.classifier(hf.dropout(out.pooler_output)))
        return logits, cls

    def truncated(self, k: int) -> nn.Module:
        if k == self.depth:
            return self.student
        return TruncatedText(self.student, k, self.shallow_exits[k - 1])


class TruncatedText(nn.Module):
    """Embeddings, the first k encoder layers and exit k (a copy: the full student stays)."""

    def __init__(self, student: TextClassifier, k: int, exit_: nn.Module) -> None:
        super().__init__()
        bert = copy.deepcopy(student.hf.bert)
        bert.encoder.layer = bert.encoder.layer[:k]
        bert.config.num_hidden_layers = k
        bert.pooler = None
        self.bert = bert
        self.exit = copy.deepcopy(exit_)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.exit(hidden[:, 0])
