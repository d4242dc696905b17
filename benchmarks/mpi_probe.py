"""Point-to-point latency and bandwidth, and all-reduce times by size, between the ranks of
`mpiexec -n P python -m benchmarks.mpi_probe`; rank 0 prints one JSON line.

    latency_us:        half a ping-pong of 8 bytes between ranks 0 and 1 (median of 2000)
    bandwidth_gbs:     8 MiB sent one way, 0 -> 1, in GB/s (median of 20)
    allreduce_s:       {bytes: median seconds of a float32 Allreduce over every rank}
"""
import json
import statistics
import sys
import time

import numpy as np
from mpi4py import MPI

SIZES = [8, 1 << 10, 1 << 14, 1 << 17, 1 << 20, 1 << 22, 1 << 24, 1 << 26]   # bytes


def median_seconds(step, repeats: int, comm) -> float:
    """Median over `repeats` of one `step` between barriers (rank 0's clock)."""
    step()
    times = []
    for _ in range(repeats):
        comm.Barrier()
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    small, big = np.zeros(2, np.float32), np.zeros(2 << 20, np.float32)   # 8 B, 8 MiB

    def ping_pong(message):
        def step():
            if rank == 0:
                comm.Send(message, dest=1)
                comm.Recv(message, source=1)
            elif rank == 1:
                comm.Recv(message, source=0)
                comm.Send(message, dest=0)
        return step

    def one_way(message):
        def step():
            if rank == 0:
                comm.Send(message, dest=1)
                comm.Recv(small, source=1)          # the receipt: the data has arrived
            elif rank == 1:
                comm.Recv(message, source=0)
                comm.Send(small, dest=0)
        return step

    latency = median_seconds(ping_pong(small), 2000, comm) / 2
    one_way_s = median_seconds(one_way(big), 20, comm) - 2 * latency
    allreduce = {}
    for size in SIZES:
        array = np.ones(size // 4, np.float32)
        repeats = 200 if size <= 1 << 20 else 10
        allreduce[size] = median_seconds(
            lambda: comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM), repeats, comm)
    if rank == 0:
        json.dump({"ranks": comm.Get_size(), "latency_us": latency * 1e6,
                   "bandwidth_gbs": big.nbytes / one_way_s / 1e9,
                   "allreduce_s": allreduce}, sys.stdout)
        print()


if __name__ == "__main__":
    main()
