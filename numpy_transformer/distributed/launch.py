"""`--nproc N`: the same command again under mpiexec, N processes sharing the cores; a rank that
dies is named by its rank."""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from .comm import launched_by_mpi

__all__ = ["launched_by_mpi", "mpiexec", "relaunch", "share_pids"]

PID_TABLE = "NT_PID_TABLE"              # where rank 0 writes the ranks' process ids for relaunch
INTERRUPTED = 130                       # the exit code of a command stopped by Ctrl-C
EXIT_STRING = re.compile(r"EXIT STRING: (.*)")      # MPICH's word for how the job ended


def mpiexec() -> str:
    """The mpiexec beside this Python (the mpich wheel's) or on the PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    if found is None:
        raise OSError("--nproc needs MPI: pip install -e \".[mpi]\" (mpi4py and the mpich wheel), "
                      "or a system MPI's mpiexec on the PATH")
    return found


def share_pids(world) -> list:
    """Every rank's process id, in rank order (rank 0 also leaves them where relaunch reads)."""
    pids = world.all_gather(os.getpid())
    if world.is_main and os.environ.get(PID_TABLE):
        with open(os.environ[PID_TABLE], "w") as table:
            json.dump(pids, table)
    return pids


def relaunch(nproc: int, argv: list) -> int:
    """Run `numpy-transformer ARGV` (without --nproc) on `nproc` ranks, the cores shared out;
    their exit code. A rank that dies (killed, out of memory) ends them all, and is named."""
    args = [a for k, a in enumerate(argv) if a != "--nproc" and (k == 0 or argv[k - 1] != "--nproc")]
    args = [a for a in args if not a.startswith("--nproc=")]
    threads = str(max(1, (os.cpu_count() or 1) // nproc))
    with tempfile.TemporaryDirectory() as folder:
        table = os.path.join(folder, "pids.json")
        env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
                   MKL_NUM_THREADS=threads, **{PID_TABLE: table})
        command = [mpiexec(), "-n", str(nproc), sys.executable, "-m", "numpy_transformer", *args]
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, bufsize=1)
        report = {}
        threads = [threading.Thread(target=_pass_on, args=(source, sink, report), daemon=True)
                   for source, sink in ((process.stdout, sys.stdout), (process.stderr, sys.stderr))]
        threads.append(threading.Thread(target=_watch, args=(process, table, report), daemon=True))
        for thread in threads:
            thread.start()
        code = _wait(process)
        for thread in threads:
            thread.join(timeout=5)
        if code == INTERRUPTED:
            print("numpy-transformer: interrupted: every rank has stopped", file=sys.stderr)
        elif code and report.get("first"):
            rank, pid = report["first"]
            print(f"numpy-transformer: rank {rank} of {nproc} (pid {pid}) ended first"
                  f"{' (' + report['exit'] + ')' if 'exit' in report else ''}: every rank has "
                  "stopped", file=sys.stderr)
    return code


def _watch(process, table: str, report: dict) -> None:
    """Note in report["first"] (rank, pid) of the first rank to end: a rank killed (out of
    memory, by hand) ends without a word, and mpiexec then ends the others."""
    pids = None
    while pids is None and process.poll() is None:
        try:
            with open(table) as handle:
                pids = json.load(handle)
        except (OSError, ValueError):         # not written yet (or being written)
            time.sleep(0.1)
    if pids is None or not hasattr(os, "pidfd_open"):
        return
    try:
        handles = {os.pidfd_open(pid): (rank, pid) for rank, pid in enumerate(pids)}
    except OSError:                           # one ended already: no order to tell
        return
    watch = select.poll()
    for fd in handles:
        watch.register(fd, select.POLLIN)
    ready = watch.poll()                       # returns when the first rank ends
    if process.poll() is None or len(ready) == 1:
        report["first"] = handles[ready[0][0]]
    for fd in handles:
        os.close(fd)


def _wait(process) -> int:
    """mpiexec's exit code; Ctrl-C (which mpiexec passes on to the ranks) waits for them."""
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
            except KeyboardInterrupt:
                continue
            return INTERRUPTED


def _pass_on(stream, sink, report: dict) -> None:
    """Copy one of mpiexec's outputs to ours, noting how mpiexec says a rank ended."""
    for line in stream:
        sink.write(line)
        sink.flush()
        ended = EXIT_STRING.search(line)
        if ended:
            report["exit"] = ended.group(1).strip().lower()

