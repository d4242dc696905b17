"""First-call time of the compiled kernels (Numba), cold (an empty cache) and warm (cached on
disk by the cold run), each in a fresh process, kernel by kernel on small float32 inputs:

    python -m benchmarks.compile_time
"""
import json
import os
import subprocess
import sys
import tempfile

FIRST_CALLS = """
import json, time
import numpy as np
from numpy_transformer.kernels import compiled
ops = compiled.kernels()
x, w, b = np.ones((4, 8), np.float32), np.ones(8, np.float32), np.zeros(8, np.float32)
q = np.ones((2, 2, 4, 8), np.float32)
h = np.zeros((2, 8), np.float32)
img, k = np.ones((2, 3, 7, 7), np.float32), np.ones((3, 3, 3, 3), np.float32)  # [C, H, W, N] inside
CALLS = {
    "import numba": lambda: __import__("numba"),
    "layer_norm": lambda: ops["layer_norm_backward"](x, ops["layer_norm_forward"](x, w, b)[1]),
    "gelu": lambda: [ops["gelu_backward"](x, ops["gelu_forward"](x, a)[1]) for a in ("none", "tanh")],
    "attention": lambda: ops["scaled_dot_product_attention_backward"](
        q, ops["scaled_dot_product_attention_forward"](q, q, q, is_causal=True)[1]),
    "cross_entropy": lambda: ops["cross_entropy_backward"](
        np.float32(1), ops["cross_entropy_forward"](x, np.zeros(4, np.int64))[1]),
    "lstm": lambda: ops["lstm_backward"](np.ones((3, 2, 8), np.float32), ops["lstm_forward"](
        np.ones((3, 2, 8), np.float32), h, h, np.ones((32, 8), np.float32),
        np.ones((32, 8), np.float32), np.zeros(32, np.float32), np.zeros(32, np.float32))[1]),
    "conv": lambda: [ops[name + "_backward"](*(lambda y, cache: (np.ones_like(y), cache))(
        *ops[name + "_forward"](img, k, stride=2))) for name in ("conv2d", "conv_transpose2d")],
    "conv_patches": lambda: [ops["conv_patches_backward"](*(lambda rows, cache: (np.ones_like(rows), cache))(
        *ops["conv_patches_forward"](img, k, b[:3], 7, act))) for act in ("gelu", "relu")],
    "adam": lambda: ops["adam_update"](x, x.copy(), x.copy(), x.copy(), lr=1e-3, beta1=0.9,
                                       beta2=0.999, eps=1e-8, step=1),
}
seconds = {}
for name, call in CALLS.items():
    started = time.perf_counter()
    call()
    seconds[name] = time.perf_counter() - started
print(json.dumps(seconds))
"""


def first_calls(cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", FIRST_CALLS], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as cache_dir:
        cold, warm = first_calls(cache_dir), first_calls(cache_dir)
    print("First call of each compiled kernel (forward + backward, float32) in a fresh process:")
    print("| kernel | compiling (empty cache), s | from the cache, s |")
    print("| --- | ---: | ---: |")
    for name in cold:
        print(f"| {name} | {cold[name]:.2f} | {warm[name]:.2f} |")
    print(f"| all | {sum(cold.values()):.2f} | {sum(warm.values()):.2f} |")


if __name__ == "__main__":
    main()
