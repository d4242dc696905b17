"""Training steps on a GPU: ours on CuPy (the "cuda" kernel set) against PyTorch CUDA eager, the
same model and batch, each step ended by a device synchronisation; medians and their ratio.

    python -m benchmarks.gpu_steps                 # GPT, BERT and ViT; prints a table
    python -m benchmarks.gpu_steps --json FILE

Needs CuPy, PyTorch's CUDA build and an NVIDIA GPU (benchmarks/gpu_check.sh installs the first
two). Goal: each ratio (ours / torch) at most 1.5.
"""
import argparse
import json
import statistics
import time

import numpy as np

STEPS, WARMUP = 30, 5


def gpt_models():
    from numpy_transformer.interop.torch_gpt import TorchGPT
    from numpy_transformer.models import GPT, GPTConfig
    config = GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384,
                       dropout=0.0, bias=False)                # nanoGPT's shakespeare-char on GPU
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 65, (64, 257))
    return GPT(config), TorchGPT(config), (tokens[:, :-1], tokens[:, 1:])


def bert_models():
    from numpy_transformer.interop.bert_twin import BertTwin
    from numpy_transformer.models.bert import BERT, BERTConfig
    config = BERTConfig(vocab_size=8000, max_len=128, dim=256, depth=6, heads=4, ff_dim=1024,
                        dropout=0.0)
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 8000, (64, 128))
    return BERT(config), BertTwin(config), (ids, ids.copy())


def vit_models():
    from numpy_transformer.models import ViT, ViTConfig
    from tests.models.vit_twin import TorchViT
    options = dict(image_size=28, patch_size=4, num_classes=10, dim=96, depth=6, heads=4,
                   mlp_dim=192)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 1, 28, 28)).astype(np.float32)
    return ViT(**options), TorchViT(ViTConfig(**options)), (x, rng.integers(0, 10, 256))


MODELS = {"GPT 6x384 B64 T256": gpt_models, "BERT 6x256 B64 T128": bert_models,
          "ViT 6x96 B256 28x28/4": vit_models}


def ours_step(model, batch, device="cuda"):
    import numpy_transformer as nt
    from numpy_transformer.device import to_device
    nt.kernels.use("cuda" if device == "cuda" else "reference")
    model.to(device)
    x, y = (to_device(a, device) for a in batch)
    criterion = nt.nn.CrossEntropyLoss()
    synchronize = _cupy_synchronize if device == "cuda" else (lambda: None)

    def step():
        model.zero_grad()
        logits = model(x)
        criterion(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        model.backward(criterion.backward().reshape(logits.shape))
        synchronize()
    return step


def torch_step(model, batch, device="cuda"):
    import torch
    model = model.to(device)
    x, y = (torch.from_numpy(a).to(device) for a in batch)
    synchronize = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step():
        model.zero_grad()
        logits = model(x)
        torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                          y.reshape(-1)).backward()
        synchronize()
    return step


def _cupy_synchronize():
    import cupy
    cupy.cuda.Device().synchronize()


def dry_run() -> None:
    """One step of each case on the CPU, both libraries: the script works before a GPU is lent."""
    for name, build in MODELS.items():
        ours, theirs, batch = build()
        ours_step(ours, batch, "cpu")()
        torch_step(theirs, batch, "cpu")()
        print(f"{name}: one step on the CPU, ours and torch")


def median_ms(step) -> float:
    for _ in range(WARMUP):
        step()
    times = []
    for _ in range(STEPS):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--dry-run", action="store_true",
                        help="one step of each case on the CPU: a check of this script")
    args = parser.parse_args(argv)
    if args.dry_run:
        return dry_run()
    import cupy
    import torch
    card = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    rows = []
    for name, build in MODELS.items():
        ours, theirs, batch = build()
        ours_ms = median_ms(ours_step(ours, batch))
        torch_ms = median_ms(torch_step(theirs, batch))
        rows.append({"case": name, "ours_ms": ours_ms, "torch_ms": torch_ms,
                     "ratio": ours_ms / torch_ms})
    print(f"GPU: {card}; CuPy {cupy.__version__}, PyTorch {torch.__version__}")
    print("| training step | ours (ms) | torch CUDA eager (ms) | ratio (goal <= 1.5) |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['case']} | {row['ours_ms']:.2f} | {row['torch_ms']:.2f} | "
              f"{row['ratio']:.2f}x |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"card": card, "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
