"""Run a week's checks on a learner's functions and write the report: per check, PASS, or the input
that failed, expected against got, and a hint.

`run_check` grades one check in this process; `runner.grade_file` runs a file's checks in a
separate process with a time limit; `check` is the notebook's way (in the kernel itself).
"""
import sys
import textwrap

from .grading import CheckFailure, where_raised

LABELS = {"pass": "PASS", "fail": "FAIL", "todo": "TODO", "error": "ERROR", "timeout": "TIME",
          "crash": "CRASH", "missing": "MISSING"}


def week_number(week) -> int:
    """1..6 from 1, '1', 'week-1', 'week_1' or 'week1'."""
    text = str(week).lower().replace("week", "").strip("-_ ")
    if not text.isdigit() or not 1 <= int(text) <= 6:
        raise ValueError(f"unknown week {week!r}: the weeks are week-1 .. week-6")
    return int(text)


def week_checks(week) -> list:
    """The checks of a week, in the order the report lists them."""
    import importlib
    return importlib.import_module(f"{__package__}.checks.week_{week_number(week)}").CHECKS


def run_check(check, ns) -> dict:
    """Grade one check against the namespace `ns` (the learner's module, as a dict)."""
    result = {"check": check.name, "functions": list(check.needs)}
    missing = [name for name in check.needs if name not in ns]
    if missing:
        return {**result, "status": "missing",
                "detail": f"{', '.join(missing)} not found in your file (keep the stub's names)"}
    check.current_case = None
    try:
        summary = check.run(ns)
        return {**result, "status": "pass", "summary": summary}
    except CheckFailure as failure:
        return {**result, "status": "fail", **failure.to_dict()}
    except NotImplementedError as e:
        where = where_raised(e)
        return {**result, "status": "todo", "detail": str(e) or "not implemented yet", "where": where}
    except RecursionError as e:
        return {**result, "status": "error", "detail": f"RecursionError: {e}", "where": where_raised(e),
                "case": check.current_case, "hint": "a function that calls itself without end?"}
    except Exception as e:  # the learner's code raised: say what and where
        return {**result, "status": "error", "detail": f"{type(e).__name__}: {e}",
                "where": where_raised(e), "case": check.current_case, "hint": _error_hint(e)}


def _error_hint(exc) -> str:
    text = str(exc)
    if isinstance(exc, ValueError) and ("shapes" in text and "not aligned" in text or
                                        "broadcast" in text or "matmul" in text):
        return ("shapes do not fit together: write the shape of every array next to each line "
                "(the docstring gives them) and check which axis is summed")
    if isinstance(exc, (TypeError, ValueError)) and "unpack" in text:
        return "the cache you return from forward is not what backward unpacks"
    if isinstance(exc, IndexError):
        return "an index out of range: check the shapes and the axis you index"
    return None


def grade_namespace(week, ns, on_result=None) -> list:
    """Every check of `week` against `ns`, in this process (no time limit)."""
    ns = dict(ns)
    results = []
    for check in week_checks(week):
        result = run_check(check, ns)
        results.append(result)
        if on_result:
            on_result(result)
    return results


# ---------------------------------------------------------------- the report

def _indent(text, prefix="      ") -> str:
    return textwrap.indent(str(text), prefix)


def format_result(result) -> str:
    """One check: 'PASS  relu  relu_forward, relu_backward (4 inputs)' or the failure in detail."""
    label = LABELS[result["status"]]
    head = f"{label:<5} {result['check']}"
    status = result["status"]
    if status == "pass":
        return f"{head}  ({result.get('summary') or 'ok'})"
    lines = [head]
    if status == "fail":
        lines.append(_indent(f"wrong:    {result['what']}"))
        if result.get("case"):
            lines.append(_indent(f"input:    {result['case']}"))
        lines.append(_indent(f"problem:  {result['detail']}"))
        for key in ("got", "expected"):
            if result.get(key):
                lines.append(_indent(f"{key + ':':<10}{result[key]}"))
    elif status == "todo":
        where = f" ({result['where'].split(' in ')[0]})" if result.get("where") else ""
        lines.append(_indent(f"not written yet: {result['detail']}{where}"))
    elif status == "error":
        if result.get("case"):
            lines.append(_indent(f"input:    {result['case']}"))
        lines.append(_indent(f"raised:   {result['detail']}"))
        if result.get("where"):
            lines.append(_indent(f"at:       {result['where']}"))
    else:  # missing, timeout, crash
        lines.append(_indent(result.get("detail", "")))
    if result.get("hint"):
        hint = str(result["hint"]).strip().replace("\n", "\n" + " " * 10)
        lines.append(_indent(f"hint:     {hint}"))
    return "\n".join(lines)


def format_summary(results) -> str:
    passed = sum(r["status"] == "pass" for r in results)
    text = f"{passed} of {len(results)} checks pass."
    todo = [r for r in results if r["status"] != "pass"]
    if todo:
        text += f" Next: {todo[0]['check']}."
    else:
        text += " Well done: every function of the week matches PyTorch."
    return text


def check(week, namespace=None, out=None) -> list:
    """Grade the functions defined in a notebook (pass `globals()`) and print the report.

    Runs in this process: an endless loop needs the kernel's interrupt. The command
    `numpy-transformer check week-N FILE` runs a file with a time limit instead."""
    out = out or sys.stdout
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    print(f"week {week_number(week)}: checking the functions defined here", file=out)
    results = grade_namespace(week, namespace,
                              on_result=lambda r: print(format_result(r), file=out, flush=True))
    print(format_summary(results), file=out)
    return results
