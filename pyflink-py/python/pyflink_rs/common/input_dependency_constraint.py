"""PyFlink's ``InputDependencyConstraint`` (deprecated in Flink): when a task of a batch job
may be scheduled, given its inputs. Every task of a job here starts together, so the value is
kept for programs that set it."""

from enum import Enum


class InputDependencyConstraint(Enum):
    """``ANY``: once any input can be consumed; ``ALL``: once every input can."""

    ANY = 0
    ALL = 1
