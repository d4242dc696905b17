"""Grade a learner's file in a separate process, with a time limit per check.

The parent (`grade_file`) starts a worker (`python -m numpy_transformer.curriculum.runner`), which
imports the file and runs the checks one by one, writing one protocol line per event to its
stdout (the learner's own prints are sent to stderr). When a check runs past its time limit or
the process dies (an endless loop, a crash, `sys.exit`), the parent stops the worker, records
that check, and starts a new worker from the next check.
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time

MARK = "\x1e@nt-grader@ "          # protocol lines start with this; anything else is output
LOAD_LIMIT = 180.0                 # seconds for the worker to import numpy, torch and the checks


def _send(stream, **event) -> None:
    stream.write(MARK + json.dumps(event) + "\n")
    stream.flush()


# ---------------------------------------------------------------- the worker (child process)

def load_learner_file(path) -> dict:
    """The learner's file run as a module: a .py file, or the code cells of a .ipynb notebook."""
    import importlib.util
    import types
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    if path.endswith(".ipynb"):
        module = types.ModuleType("exercise")
        module.__file__ = path
        sys.modules["exercise"] = module
        for name, source in notebook_cells(path):
            exec(compile(source, name, "exec"), module.__dict__)
        return module.__dict__
    spec = importlib.util.spec_from_file_location("exercise", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["exercise"] = module
    spec.loader.exec_module(module)
    return module.__dict__


def notebook_cells(path):
    """(name, source) of each code cell to run: shell (!) and magic (%) lines are left out, and
    so are cells marked `# grader: skip` (the cell that runs the grader itself)."""
    import linecache
    with open(path, encoding="utf-8") as f:
        notebook = json.load(f)
    cells = []
    for k, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if "# grader: skip" in source:
            continue
        lines = [("pass  # " + line) if line.lstrip().startswith(("!", "%")) else line
                 for line in source.split("\n")]
        source = "\n".join(lines) + "\n"
        name = f"{os.path.basename(path)}, cell {k}"
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        cells.append((name, source))
    return cells


def worker_main(week: str, path: str, start: int) -> int:
    protocol = sys.stdout
    sys.stdout = sys.stderr                          # the learner's prints go to stderr
    from .grader import run_check, week_checks
    checks = week_checks(week)
    import torch  # noqa: F401  (imported before the clock of the first check starts)
    _send(protocol, event="loading")
    try:
        ns = load_learner_file(path)
    except BaseException as e:                       # SyntaxError, ImportError, SystemExit...
        from .grading import where_raised
        import traceback
        where = where_raised(e)
        if isinstance(e, SyntaxError):
            where = f"{os.path.basename(e.filename or path)} line {e.lineno}: {(e.text or '').strip()}"
        _send(protocol, event="import_error", detail=f"{type(e).__name__}: {e}", where=where,
              traceback=traceback.format_exc(limit=-3))
        return 0
    _send(protocol, event="ready")
    for index in range(start, len(checks)):
        _send(protocol, event="start", index=index)
        result = run_check(checks[index], ns)
        _send(protocol, event="result", index=index, result=_jsonable(result))
    return 0


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


# ---------------------------------------------------------------- the parent

def _reader(stream, kind, events):
    for line in stream:
        if kind == "stdout" and line.startswith(MARK):
            events.put(("event", json.loads(line[len(MARK):])))
        else:
            events.put(("output", line.rstrip("\n")))
    events.put(("closed", kind))


def _start_worker(week, path, start):
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")           # tiny inputs: threads only cost here
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["NT_KERNELS"] = "reference"                 # the library's layers run the lessons' math
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    command = [sys.executable, "-m", __name__, "--worker", str(week), path, str(start)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", errors="replace", env=env)
    events = queue.Queue()
    for stream, kind in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
        threading.Thread(target=_reader, args=(stream, kind, events), daemon=True).start()
    return proc, events


def _stop(proc) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def grade_file(week, path, time_limit: float = 30.0, on_result=None, on_output=None) -> list:
    """Results of every check of `week` on the file at `path` (a .py file or a notebook).

    `on_result(result)` is called as each result arrives, `on_output(line)` for each line the
    learner's code prints."""
    from .grader import week_checks
    checks = week_checks(week)
    results = [None] * len(checks)
    start = 0
    while start < len(checks):
        proc, events = _start_worker(week, path, start)
        current, tail = None, []
        deadline = time.monotonic() + LOAD_LIMIT
        closed = 0
        try:
            while True:
                try:
                    kind, payload = events.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    kind, payload = "timeout", None
                if kind == "output":
                    tail = (tail + [payload])[-15:]
                    if on_output:
                        on_output(payload)
                    continue
                if kind == "closed":
                    closed += 1
                    if closed < 2:
                        continue
                    proc.wait()
                    if start >= len(checks):
                        return results                # finished normally
                    kind = "died"
                if kind == "event":
                    event = payload["event"]
                    if event == "loading":
                        deadline = time.monotonic() + time_limit
                    elif event == "ready":
                        deadline = time.monotonic() + time_limit
                    elif event == "start":
                        current = payload["index"]
                        deadline = time.monotonic() + time_limit
                    elif event == "result":
                        results[payload["index"]] = payload["result"]
                        if on_result:
                            on_result(payload["result"])
                        start, current = payload["index"] + 1, None
                        if start >= len(checks):
                            return results            # every check has its result
                    elif event == "import_error":
                        for i in range(start, len(checks)):
                            results[i] = _import_failure(checks[i], payload)
                            if on_result:
                                on_result(results[i])
                        return results
                    continue
                # the worker is stuck or gone
                if start >= len(checks):
                    return results
                index = current if current is not None else start
                if kind == "timeout":
                    what = ("importing your file" if current is None else "this check")
                    results[index] = {"check": checks[index].name, "status": "timeout",
                                      "functions": list(checks[index].needs),
                                      "detail": f"no result after {time_limit:g} s of {what}; "
                                                "it was stopped",
                                      "hint": "an endless loop (a while loop whose condition never "
                                              "changes?), or a very slow loop over elements"}
                    if current is None:          # stuck while importing: the same for every check
                        for i in range(start, len(checks)):
                            results[i] = {**results[index], "check": checks[i].name,
                                          "functions": list(checks[i].needs)}
                            if on_result:
                                on_result(results[i])
                        return results
                else:
                    code = proc.returncode
                    during = "this check" if current is not None else "the loading of your file"
                    shown = "" if on_output or not tail else "\n" + "\n".join(tail[-6:])
                    results[index] = {"check": checks[index].name, "status": "crash",
                                      "functions": list(checks[index].needs),
                                      "detail": f"the process running your code ended (exit code "
                                                f"{code}) during {during}{shown}",
                                      "hint": "sys.exit/exit() in your code, or a crash (out of memory?)"}
                if on_result:
                    on_result(results[index])
                start = index + 1
                break
        finally:
            _stop(proc)
    return results


def _import_failure(check, payload) -> dict:
    return {"check": check.name, "status": "error", "functions": list(check.needs),
            "detail": f"your file could not be loaded: {payload['detail']}",
            "where": payload.get("where"),
            "hint": "fix this first: nothing can be checked until the file runs"}


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        sys.exit(worker_main(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    sys.exit("usage: python -m numpy_transformer.curriculum.runner --worker WEEK PATH START")
