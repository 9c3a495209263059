"""Students built from a `StudentConfig` for a given dataset."""

from __future__ import annotations

from torch import nn

from bridge.data import LoadedDataset
from bridge.models.builders import cnn, mlp, with_normalization
from bridge.spec import CnnConfig, MlpConfig, SpecError, StudentConfig, check_student_modality


def build_student(config: StudentConfig, dataset: LoadedDataset) -> nn.Sequential:
    check_student_modality(config, dataset.name, dataset.modality)
    shape, n = dataset.input_shape, dataset.num_classes
    if isinstance(config, MlpConfig):
        core = mlp(shape, config.hidden_sizes, n)
    elif isinstance(config, CnnConfig):
        core = cnn(shape, config.channels, config.kernel_size, n)
    else:
        raise SpecError("student", f"{config.architecture} students are not supported here yet")
    return with_normalization(core, *dataset.normalization())
