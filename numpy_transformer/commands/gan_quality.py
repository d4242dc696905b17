"""`numpy-transformer gan-quality CHECKPOINT --classifier CNN_CHECKPOINT`: how good a GAN's digits are.

A classifier trained on the same kind of images (e.g. the `cnn-mnist` recipe's, on MNIST or on
the `--data` the GAN had; its class names and pixel statistics come from its run) judges
generated samples:
    confidence     mean top-class probability (sharp, recognisable digits: target >= 0.9)
    class shares   the fraction of samples assigned to each digit (no mode collapse: each >= 5%)
"""
import json

import numpy as np

from ._options import UsageError, add_data_dir, checkpoint_path, load_run

CONFIDENCE_TARGET, SHARE_TARGET = 0.9, 0.05
MNIST_SHAPE = (1, 28, 28)


def softmax(logits) -> np.ndarray:
    """Row-wise softmax, stable (max subtracted)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=-1, keepdims=True)
    return shifted


def classify(model, images, batch_size: int = 500, shape=MNIST_SHAPE, mean=None,
             std=None) -> np.ndarray:
    """Class probabilities [N, K] of images in [0, 1] [N, C, H, W], normalised as the
    classifier's training images were (MNIST's statistics by default)."""
    from ..data import MNIST
    from ..grad_mode import no_grad
    mean = MNIST.mean if mean is None else mean
    std = MNIST.std if std is None else std
    if tuple(images.shape[1:]) != tuple(shape):
        raise ValueError(f"gan-quality: the classifier judges images [N, {', '.join(map(str, shape))}]"
                         f", but the generator made images of shape {tuple(images.shape)}")
    model.eval()
    with no_grad():
        logits = [model((images[i:i + batch_size] - mean) / std)
                  for i in range(0, len(images), batch_size)]
    return softmax(np.concatenate(logits))


def quality(probabilities) -> dict:
    """Mean top-class probability and each class's share of the samples (argmax)."""
    n, classes = probabilities.shape
    shares = np.bincount(probabilities.argmax(-1), minlength=classes) / n
    confidence = float(probabilities.max(-1).mean())
    return {"samples": int(n), "mean_top_probability": round(confidence, 4),
            "class_shares": [round(float(s), 4) for s in shares],
            "min_class_share": round(float(shares.min()), 4),
            "confident": confidence >= CONFIDENCE_TARGET,
            "every_class": bool(shares.min() >= SHARE_TARGET)}


def _load_generator(path, data_dir):
    recipe, _, setup, checkpoint = load_run(path, data_dir)
    sample = recipe.hooks.get("sample_images")
    if sample is None:
        raise SystemExit(f"gan-quality: {checkpoint_path(path)} is a '{recipe.name}' run, which "
                         f"generates no images; give a gan-mnist checkpoint")
    return recipe, setup.task, sample, checkpoint


def _load_classifier(path, data_dir):
    from ..train import ClassificationTask
    recipe, _, setup, _ = load_run(path, data_dir)
    if not isinstance(setup.task, ClassificationTask):
        raise SystemExit(f"gan-quality: --classifier {checkpoint_path(path)} is a '{recipe.name}' "
                         f"run, not a classifier; give a cnn-mnist checkpoint")
    return recipe, setup.task.model, setup.notes


def run(args) -> int:
    if args.samples < 1:
        raise UsageError(f"--samples must be positive, got {args.samples}")
    gan_recipe, task, sample, checkpoint = _load_generator(args.checkpoint, args.data_dir)
    judge_recipe, classifier, notes = _load_classifier(args.classifier, args.data_dir)
    images = sample(task, args.samples, np.random.default_rng(args.seed))
    probabilities = classify(classifier, images, shape=notes.get("image_shape", MNIST_SHAPE),
                             mean=notes.get("pixel_mean"), std=notes.get("pixel_std"))
    classes = notes.get("classes") or [str(k) for k in range(probabilities.shape[1])]
    result = {"checkpoint": checkpoint_path(args.checkpoint), "recipe": gan_recipe.name,
              "step": checkpoint.state["step"], "classifier": checkpoint_path(args.classifier),
              "classes": classes, **quality(probabilities)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['recipe']} at step {result['step']}: {result['samples']} samples judged by "
          f"{judge_recipe.name} ({result['classifier']})")
    print(f"mean top-class probability {result['mean_top_probability']:.4f} "
          f"(target >= {CONFIDENCE_TARGET}: {'met' if result['confident'] else 'NOT met'})")
    shares = "  ".join(f"{name}: {share:.1%}" for name, share in zip(classes, result["class_shares"]))
    print(f"class shares  {shares}")
    print(f"smallest class share {result['min_class_share']:.1%} "
          f"(target >= {SHARE_TARGET:.0%}: {'met' if result['every_class'] else 'NOT met'})")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("gan-quality", help="judge a GAN's samples with a trained classifier")
    parser.add_argument("checkpoint", help="a gan-mnist checkpoint or its run folder")
    parser.add_argument("--classifier", required=True, help="a cnn-mnist checkpoint or its run folder")
    parser.add_argument("--samples", type=int, default=1000, help="how many samples to judge (1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples' noise")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_data_dir(parser)
    parser.set_defaults(run=run)
