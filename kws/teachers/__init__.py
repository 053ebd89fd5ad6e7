"""Teachers that exist only in training: they label audio, the int8 student learns from them.

A 12-class run names its teacher in ``TrainConfig.teacher``: trained DS-CNN run directories
(comma-separated; :func:`kws.training.load_teacher`), or :data:`EMBEDDING`, Google's speech
embedding with a head trained on the run's own training clips (:mod:`kws.teachers.embedding`).
This module holds only the names, so that the CLI and the exporter need no TensorFlow.
"""

from __future__ import annotations

#: ``--teacher embedding``: the speech-embedding teacher rather than a run directory (a run
#: directory of that name is still reachable as ``./embedding``).
EMBEDDING = "embedding"
#: ``kws wakeword train --distill TEACHER``: the larger DS-CNN, trained first on the same windows,
#: or the speech embedding with a head (:class:`kws.wakeword.train.WakewordConfig`).
WAKEWORD_TEACHERS = ("dscnn", EMBEDDING)


def describe_teacher(teacher: str) -> str | None:
    """What taught a student, as the run's metrics and the model file record it."""
    if not teacher:
        return None
    if teacher == EMBEDDING:
        from .embedding import DESCRIPTION

        return DESCRIPTION
    return teacher
