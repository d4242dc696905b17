"""`mlp-mnist` and `cnn-mnist`: the week-2 models on real MNIST (60k train, 10k test)."""
from dataclasses import dataclass

from .. import nn, optim
from ..data import MNIST, DataLoader, transforms
from ..models import CNN, MLP
from ..train import ClassificationTask
from ..train.twin import classification_twin, register_twin
from .registry import Recipe, Setup, TrainingConfig, register


@dataclass
class MnistConfig(TrainingConfig):
    epochs: float = 10
    batch_size: int = 128
    log_every: int = 50
    weight_decay: float = 0.0
    max_shift: int = 0           # random image shifts (augmentation), in pixels
    dropout: float = 0.0


@dataclass
class CnnMnistConfig(MnistConfig):
    epochs: float = 5


def _loaders(config, data_dir, flatten: bool):
    normalize = [transforms.ToFloat(), transforms.Normalize(MNIST.mean, MNIST.std)]
    shape = [transforms.Flatten()] if flatten else [lambda x, rng=None: x[:, None]]
    augment = [transforms.RandomShift(config.max_shift)] if config.max_shift else []
    train = DataLoader(MNIST(data_dir, train=True), config.batch_size, shuffle=True,
                       transform=transforms.Compose(augment + normalize + shape), seed=config.seed)
    test = DataLoader(MNIST(data_dir, train=False), 1000,
                      transform=transforms.Compose(normalize + shape))
    return train, test


def _setup(model, config, data_dir, flatten):
    optimizer = optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = config.steps
    train, test = _loaders(config, data_dir, flatten)
    total = steps or int(config.epochs * len(train))
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    task = ClassificationTask(model, nn.CrossEntropyLoss(), optimizer, scheduler)
    return Setup(task, train, test, test)


def build_mlp(config: MnistConfig, data_dir=None) -> Setup:
    return _setup(MLP((784, 256, 128, 10), dropout=config.dropout), config, data_dir, flatten=True)


def build_cnn(config: CnnMnistConfig, data_dir=None) -> Setup:
    return _setup(CNN(dropout=config.dropout), config, data_dir, flatten=False)


register(Recipe("mlp-mnist", "MLP 784-256-128-10 on MNIST (target >= 98.0% test accuracy)",
                MnistConfig, build_mlp))
register(Recipe("cnn-mnist", "two conv+pool blocks and a linear head on MNIST (target >= 99.0%)",
                CnnMnistConfig, build_cnn))
for _name in ("mlp-mnist", "cnn-mnist"):
    register_twin(_name, classification_twin())
