"""First-call time of the compiled kernels (Numba), cold (an empty cache) and warm (cached on
disk by the cold run), each in a fresh process:

    python -m benchmarks.compile_time
"""
import json
import os
import subprocess
import sys
import tempfile

FIRST_CALL = """
import json, time
import numpy as np
from numpy_transformer.kernels import compiled
x = np.ones((64, 128), np.float32)
started = time.perf_counter()
table = compiled.kernels()
y, cache = table["layer_norm_forward"](x, np.ones(128, np.float32), np.zeros(128, np.float32))
table["layer_norm_backward"](y, cache)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def first_call(cache_dir: str) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", FIRST_CALL], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["seconds"]


def main() -> None:
    with tempfile.TemporaryDirectory() as cache_dir:
        cold, warm = first_call(cache_dir), first_call(cache_dir)
    print(f"LayerNorm forward + backward, float32, first call in a fresh process: "
          f"{cold:.2f} s compiling (empty cache), {warm:.2f} s from the cache")


if __name__ == "__main__":
    main()
