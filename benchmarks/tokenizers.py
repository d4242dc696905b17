"""`python -m benchmarks.tokenizers`: byte-level BPE training and GPT-2 encoding, ours against
Hugging Face `tokenizers` and `tiktoken` (each measured when installed).

    python -m benchmarks.tokenizers                          # tiny-shakespeare, vocab 1000 and 4096
    python -m benchmarks.tokenizers --vocab-sizes 8192 --threads 2 --data-dir ../shared/data

Training: best of --repeats runs on the whole corpus, same vocab size, same special token, same
pre-tokenisation (GPT-2's pattern) for both; Hugging Face runs on --threads threads (Rayon).
Encoding: GPT-2's tokenizer from the same local files in every library, whole corpus, the first
(cold: empty piece cache) and the best later run.
"""
import argparse
import json
import os
import time


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def train_ours(text, vocab_size):
    from numpy_transformer.tokenizers import ByteLevelBPE
    return ByteLevelBPE.train(text, vocab_size, special_tokens=["<|endoftext|>"])


def train_hf(text, vocab_size):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tokenizer.train_from_iterator([text], trainer)
    return tokenizer


def hf_merges(tokenizer) -> list:
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges]


def gpt2_encoders(folder):
    """name -> encode(text) for GPT-2's tokenizer in each library, built from the same files."""
    from numpy_transformer.tokenizers import ByteLevelBPE
    encoders = {}
    ours = ByteLevelBPE.from_gpt2_files(folder / "encoder.json", folder / "vocab.bpe")
    encoders["numpy_transformer"] = lambda text: ours.encode(text)
    try:
        import tiktoken
        from tiktoken.load import data_gym_to_mergeable_bpe_ranks
        os.environ["TIKTOKEN_CACHE_DIR"] = ""
        ranks = data_gym_to_mergeable_bpe_ranks(str(folder / "vocab.bpe"), str(folder / "encoder.json"))
        pattern = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
        enc = tiktoken.Encoding("gpt2-local", pat_str=pattern, mergeable_ranks=ranks,
                                special_tokens={"<|endoftext|>": 50256})
        encoders["tiktoken"] = enc.encode_ordinary
    except ImportError:
        pass
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers
        hf = Tokenizer(models.BPE.from_file(str(folder / "encoder.json"), str(folder / "vocab.bpe")))
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        encoders["tokenizers (HF)"] = lambda text: hf.encode(text).ids
    except ImportError:
        pass
    return encoders


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="tinyshakespeare", help="a name for nt.data.load_text or a file")
    parser.add_argument("--vocab-sizes", type=int, nargs="+", default=[1000, 4096])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="Hugging Face's and tiktoken's threads")
    parser.add_argument("--data-dir", help="folder with the data files (default: $NT_DATA_DIR or the cache)")
    args = parser.parse_args(argv)
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)   # before tokenizers starts its pool
    import numpy_transformer as nt
    text = nt.data.load_text(args.corpus, args.data_dir)
    print(f"corpus {args.corpus}: {len(text):,} characters; best of {args.repeats}; "
          f"HF on {args.threads} thread(s)\n")

    print("| BPE training | numpy_transformer | tokenizers (HF) | ratio | same merges |")
    print("|---|---|---|---|---|")
    for vocab_size in args.vocab_sizes:
        ours = best_time(lambda: train_ours(text, vocab_size), args.repeats)
        try:
            hf = best_time(lambda: train_hf(text, vocab_size), args.repeats)
            same = hf_merges(train_hf(text, vocab_size)) == train_ours(text, vocab_size).merges
            print(f"| vocab {vocab_size} | {ours:.2f} s | {hf:.2f} s | {ours / hf:.2f} | {same} |")
        except ImportError:
            print(f"| vocab {vocab_size} | {ours:.2f} s | (not installed) | | |")

    folder = nt.data.fetch("gpt2-tokenizer/vocab.bpe", args.data_dir).parent
    nt.data.fetch("gpt2-tokenizer/encoder.json", args.data_dir)
    print("\n| GPT-2 encoding | first run | best later run | tokens |")
    print("|---|---|---|---|")
    for name, encode in gpt2_encoders(folder).items():
        start = time.perf_counter()
        ids = encode(text)
        first = time.perf_counter() - start
        later = best_time(lambda: encode(text), args.repeats)
        print(f"| {name} | {first:.2f} s | {later:.2f} s | {len(ids):,} |")


if __name__ == "__main__":
    main()
