"""A table of a new user's mistakes at the command line: each ends with the exit code it should,
no traceback, and a message naming the culprit."""
import os

import numpy as np
import pytest

from numpy_transformer.cli import main


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "digits"
    assert main(["train", "digits", "--steps", "3", "--out", str(run), "--no-progress"]) == 0
    return run


@pytest.fixture(scope="module")
def places(tmp_path_factory, digits_run):
    root = tmp_path_factory.mktemp("places")
    (root / "data" / "mnist").mkdir(parents=True)
    (root / "data" / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"not checked here")
    x = np.zeros((6, 4, 4), np.uint8)
    np.savez(root / "tiny.npz", x_train=x[:4], y_train=[0, 1, 0, 1], x_test=x[4:], y_test=[0, 1])
    np.savez(root / "one-class.npz", x_train=x[:4], y_train=[0] * 4, x_test=x[4:], y_test=[0] * 2)
    damaged = root / "damaged"
    damaged.mkdir()
    data = bytearray((digits_run / "checkpoint.safetensors").read_bytes())
    data[len(data) // 2] ^= 0x10
    (damaged / "checkpoint.safetensors").write_bytes(bytes(data))
    return {"RUN": str(digits_run), "ROOT": str(root), "DAMAGED": str(damaged),
            "EMPTY": str(root / "empty"), "MISSING": str(root / "no-such-folder")}


MISTAKES = [  # (argv with placeholders, exit code, what the message must name)
    ("train nope", 2, "unknown recipe 'nope'; the recipes: bert-quotes"),
    ("train digits --lr -1 --out EMPTY", 2, "lr must be a finite number > 0, got -1.0"),
    ("train digits --lr nan --out EMPTY", 2, "lr must be a finite number > 0, got nan"),
    ("train digits --lr abc", 2, "argument --lr: invalid float value: 'abc'"),
    ("train digits --batch-size 0 --out EMPTY", 2, "batch_size must be a whole number >= 1, got 0"),
    ("train digits --epochs -3 --out EMPTY", 2, "epochs must be a finite number > 0, got -3.0"),
    ("train digits --epochs 0 --out EMPTY", 2, "epochs must be a finite number > 0, got 0.0"),
    ("train digits --steps 0 --out EMPTY", 2, "steps must be a whole number >= 1, got 0"),
    ("train digits --set hidden=abc --out EMPTY", 2, "--set hidden=abc: hidden takes a value of type int"),
    ("train digits --set colour=red --out EMPTY", 2, "recipe 'digits' has no option 'colour'"),
    ("train digits --set hidden --out EMPTY", 2, "--set hidden: give KEY=VALUE"),
    ("train digits --kernels turbo", 2, "argument --kernels: invalid choice: 'turbo'"),
    ("train mlp-mnist --data-dir MISSING", 2, "--data-dir MISSING: no such folder"),
    ("train mlp-mnist --data-dir ROOT --out EMPTY", 1, "give ROOT/data as the data folder"),
    ("train mlp-mnist --data-dir ROOT/data/mnist --out EMPTY", 1, "give ROOT/data as the data folder"),
    ("train digits --out RUN", 2, "RUN holds a run (checkpoint.safetensors, log.jsonl, result.json)"),
    ("train digits --resume --out EMPTY", 2, "--resume: there is no run to continue in EMPTY"),
    ("train mlp-mnist --resume --out RUN", 2, "holds a run of 'digits', not of 'mlp-mnist'"),
    ("eval EMPTY", 1, "no checkpoint at EMPTY"),
    ("eval DAMAGED", 1, "checkpoint DAMAGED/checkpoint.safetensors is damaged: "),
    ("generate RUN --prompt hi", 1, "digits"),
    ("results EMPTY", 1, "results: error: cannot read a result"),
    ("frobnicate", 2, "invalid choice: 'frobnicate'"),
    ("train digits --set hidden=0 --out EMPTY", 2, "Linear: out_features must be a positive integer, "
     "got 0 (from the options --set hidden=0)"),
    ("train digits --lr 1e30 --steps 3 --eval-every 1 --out ROOT/nan", 1,
     "training stopped at step 1: evaluating: CrossEntropyLoss: loss is nan"),
    ("generate RUN --temperature -1", 2, "temperature"),
    ("train digits --device cuda --out EMPTY", 1, "numpy-transformer train: error: --device cuda"),
    ("eval RUN --device cuda", 1, "numpy-transformer eval: error: --device cuda"),
    ("benchmark --device cuda", 1, "numpy-transformer benchmark: error: --device cuda"),
    ("train digits --device tpu", 2, "argument --device: invalid choice: 'tpu'"),
    ("train gan-mnist --data ROOT/tiny.npz --steps 2 --out ROOT/gan", 1,
     "the training loader has no batch: 4 examples, batch size 64"),
    ("train cnn-mnist --data ROOT/one-class.npz --force --out RUN", 1,
     "a classifier needs at least 2 classes"),
]


def fill(text: str, places: dict) -> str:
    for key in sorted(places, key=len, reverse=True):
        text = text.replace(key, places[key])
    return text


@pytest.mark.parametrize("argv, code, message", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_mistake_ends_with_its_exit_code_and_a_message_naming_it(argv, code, message, places,
                                                                   capsys):
    try:
        returned = main(fill(argv, places).split())
    except SystemExit as stop:                   # argparse's own usage errors, and messages
        returned = stop.code if isinstance(stop.code, int) else (print(stop.code) or 1)
    captured = capsys.readouterr()
    said = captured.out + captured.err
    assert returned == code, said
    assert "Traceback" not in said
    assert fill(message, places) in " ".join(said.split()), said
    assert not os.path.exists(places["MISSING"])
    assert os.path.exists(os.path.join(places["RUN"], "checkpoint.safetensors"))   # nothing moved
