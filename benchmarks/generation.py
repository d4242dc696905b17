"""Generation speed of GPT: tokens per second with and without the KV cache.

    python -m benchmarks.generation                      # every size below, 1 thread
    python -m benchmarks.generation --size medium --threads 2

Without the cache each new token runs the whole context again (cost grows with its length);
with it, only the new position runs against the cached keys and values. Random weights (the
speed does not depend on them); the same seed must give the same tokens both ways, and does.
"""
import argparse
import os
import time

SIZES = {   # name: (GPTConfig options, prompt length, new tokens)
    "nanogpt-cpu": (dict(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, bias=False),
                    1, 63),
    "medium": (dict(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384, bias=False),
               1, 255),
    "gpt2-124M": (dict(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768),
                  16, 112),
}


def tokens_per_second(model, prompt, new_tokens, use_cache):
    """(tokens per second, generated ids) of one seeded generation."""
    import numpy as np
    started = time.perf_counter()
    out = model.generate(prompt, new_tokens, temperature=1.0, top_k=50,
                         generator=np.random.default_rng(0), use_cache=use_cache)
    return prompt.shape[0] * new_tokens / (time.perf_counter() - started), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), action="append",
                        help="model size (repeatable; default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1, help="sequences generated at once")
    args = parser.parse_args(argv)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)         # before NumPy starts its BLAS threads
    import numpy as np

    import numpy_transformer as nt
    from numpy_transformer.models import GPT, GPTConfig
    print("| model | prompt + new tokens | batch | no cache (tokens/s) | KV cache (tokens/s) "
          "| speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    for size in args.size or list(SIZES):
        options, prompt_length, new_tokens = SIZES[size]
        nt.manual_seed(0)
        model = GPT(GPTConfig(**options))
        prompt = np.random.default_rng(0).integers(0, options["vocab_size"],
                                                   (args.batch, prompt_length))
        model.generate(prompt, 2)                                    # warm up
        plain, plain_ids = tokens_per_second(model, prompt, new_tokens, use_cache=False)
        cached, cached_ids = tokens_per_second(model, prompt, new_tokens, use_cache=True)
        if not np.array_equal(plain_ids, cached_ids):
            raise AssertionError(f"{size}: the cache changed the generated tokens")
        print(f"| {size} | {prompt_length} + {new_tokens} | {args.batch} | {plain:.1f} | "
              f"{cached:.1f} | {cached / plain:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
