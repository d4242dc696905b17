"""`--nproc N`: the same command again under mpiexec, N processes sharing the cores."""
import os
import shutil
import subprocess
import sys

from .comm import launched_by_mpi

__all__ = ["launched_by_mpi", "mpiexec", "relaunch"]


def mpiexec() -> str:
    """The mpiexec beside this Python (the mpich wheel's) or on the PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    if found is None:
        raise OSError("--nproc needs MPI: pip install -e \".[mpi]\" (mpi4py and the mpich wheel), "
                      "or a system MPI's mpiexec on the PATH")
    return found


def relaunch(nproc: int, argv: list) -> int:
    """Run `numpy-transformer ARGV` (without --nproc) on `nproc` ranks; the cores shared out."""
    args = [a for k, a in enumerate(argv) if a != "--nproc" and (k == 0 or argv[k - 1] != "--nproc")]
    args = [a for a in args if not a.startswith("--nproc=")]
    threads = str(max(1, (os.cpu_count() or 1) // nproc))
    env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
               MKL_NUM_THREADS=threads)
    command = [mpiexec(), "-n", str(nproc), sys.executable, "-m", "numpy_transformer", *args]
    return subprocess.call(command, env=env)
