"""Network builders shared by zoo teachers and students. Every model the bridge trains is
`Normalize -> core`, so normalisation travels inside the exported graph."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


class Normalize(nn.Module):
    """(x - mean) / std with constants from the training split (exported as Sub/Div)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def with_normalization(core: nn.Module, mean: np.ndarray, std: np.ndarray) -> nn.Sequential:
    return nn.Sequential(Normalize(mean, std), core)


def mlp(
    input_shape: tuple[int, ...], hidden: tuple[int, ...], num_classes: int, dropout: float = 0.0
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(input_shape)
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def cnn(
    input_shape: tuple[int, ...],
    channels: tuple[int, ...],
    kernel_size: int,
    num_classes: int,
    head_hidden: tuple[int, ...] = (),
    dropout: float = 0.0,
) -> nn.Sequential:
    """conv -> batch-norm -> ReLU -> 2x2 max-pool blocks (pooling stops at 2x2), then an MLP
    head. Batch-norm folds into the conv at export, so it costs nothing at inference."""
    if len(input_shape) != 3:
        raise ValueError(f"a CNN needs image input [C, H, W], got shape {list(input_shape)}")
    c_in, h, w = input_shape
    layers: list[nn.Module] = []
    for c_out in channels:
        layers += [
            nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
        ]
        if min(h, w) >= 2:
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        c_in = c_out
    layers.append(mlp((c_in, h, w), head_hidden, num_classes, dropout))
    return nn.Sequential(*layers)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
