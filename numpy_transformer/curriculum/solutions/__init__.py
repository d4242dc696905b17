"""Reference solutions of each week's exercise: mostly the library's own functions and classes,
which the grader must pass (and which the tests use to plant classic mistakes)."""
