"""Students built from a `StudentConfig` for a given dataset."""

from __future__ import annotations

from torch import nn

from bridge.data import LoadedDataset
from bridge.models.builders import cnn, mlp, with_normalization
from bridge.spec import CnnConfig, MlpConfig, SpecError, StudentConfig


def build_student(config: StudentConfig, dataset: LoadedDataset) -> nn.Sequential:
    shape, n = dataset.input_shape, dataset.num_classes
    if isinstance(config, MlpConfig):
        core = mlp(shape, config.hidden_sizes, n)
    elif isinstance(config, CnnConfig):
        if dataset.modality != "image":
            raise SpecError(
                "student.cnn",
                f"CNN students need image data; dataset {dataset.name!r} is {dataset.modality}",
            )
        core = cnn(shape, config.channels, config.kernel_size, n)
    else:
        raise SpecError("student", f"{config.architecture} students are not supported here yet")
    return with_normalization(core, *dataset.normalization())
