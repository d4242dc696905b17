"""Helpers for the curriculum tests: reference namespaces, stub files, grading one check."""
import importlib
from pathlib import Path

import pytest

from numpy_transformer.curriculum.grader import run_check, week_checks

REPO = Path(__file__).resolve().parents[2]
CURRICULUM = REPO / "curriculum"


def reference(week: int) -> dict:
    """The reference solutions of a week, as the namespace the grader sees."""
    return dict(vars(importlib.import_module(f"numpy_transformer.curriculum.solutions.week_{week}")))


def grade(week: int, name: str, **replacements) -> dict:
    """The result of the check `name` of `week` on the reference with some names replaced."""
    check = next(c for c in week_checks(week) if c.name == name)
    return run_check(check, {**reference(week), **replacements})


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
