"""Where a measurement came from: the date, the commit, the machine and the library versions."""
import datetime
import os
import platform
import subprocess

import numpy as np

__all__ = ["provenance", "git_commit", "cpu_name"]


def git_commit(path: str = None) -> str | None:
    """The short commit of the checkout holding `path` (this package by default), "+changes" when
    its tracked files differ from it; None outside a git checkout."""
    where = path or os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, check=True,
                              capture_output=True, text=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                 cwd=where, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if changed.strip() else "")


def cpu_name() -> str:
    """The CPU's model name as the OS reports it (Linux: /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(threads: int = None) -> dict:
    """The record every written result carries."""
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": git_commit(),
            "machine": f"{cpu_name()}, {os.cpu_count()} cores",
            "threads": threads,
            "python": platform.python_version(),
            "numpy": np.__version__}
