"""The six-week curriculum: each week's checks (the grader), reference solutions and experiment.

The learner-facing files (lesson.md, exercise.py, exercise.ipynb) are in the repository's
`curriculum/week_N/` folders. `numpy-transformer check week-N [FILE]` grades an exercise file;
in a notebook, `check("week-N", globals())` grades the functions defined there."""
from .grader import check, grade_namespace, week_checks, week_number

__all__ = ["check", "grade_namespace", "week_checks", "week_number"]
