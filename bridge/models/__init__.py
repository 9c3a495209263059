"""Teachers (zoo, TorchScript, ONNX) and students."""

from bridge.models.builders import count_parameters
from bridge.models.students import build_student
from bridge.models.teachers import (
    Teacher,
    TeacherSource,
    load_teacher_file,
    resolve_teacher,
)
from bridge.models.zoo import ZOO, ZooTeacher

__all__ = [
    "ZOO",
    "Teacher",
    "TeacherSource",
    "ZooTeacher",
    "build_student",
    "count_parameters",
    "load_teacher_file",
    "resolve_teacher",
]
