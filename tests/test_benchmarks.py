"""The benchmark harness's machine probe (the timings themselves are not tests)."""
import re

from benchmarks.harness import machine_line


def test_the_machine_line_gives_product_speeds_on_one_thread_and_on_all():
    line = machine_line(2)
    one, two = (float(v) for v in re.findall(r"(\d+) (?:GFLOP/s on 1 thread|on 2)", line))
    assert line.startswith("1024^3 float32 product:") and one > 0 and two > 0
