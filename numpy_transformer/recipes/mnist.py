"""`mlp-mnist` and `cnn-mnist`: the week-2 models on real MNIST (60k train, 10k test), or on the
user's own images (`--data PATH`: input size, channels and classes come from the data)."""
from dataclasses import dataclass

from .. import nn, optim
from ..data import DataLoader, transforms
from ..models import CNN, MLP
from ..train import ClassificationTask
from ..train.twin import classification_twin, register_twin
from .images import Images, load_images
from .registry import Recipe, Setup, Target, TrainingConfig, register


@dataclass
class MnistConfig(TrainingConfig):
    epochs: float = 10
    batch_size: int = 128
    log_every: int = 50
    weight_decay: float = 0.0
    max_shift: int = 0           # random image shifts (augmentation), in pixels
    dropout: float = 0.0
    data: str = None             # your images instead of MNIST: IDX folder, .npz or ImageFolder


@dataclass
class CnnMnistConfig(MnistConfig):
    epochs: float = 5


def _loaders(config, images: Images, flatten: bool):
    normalize = [transforms.ToFloat(), transforms.Normalize(images.mean, images.std)]
    shape = [transforms.Flatten()] if flatten else []
    augment = [transforms.RandomShift(config.max_shift)] if config.max_shift else []
    train = DataLoader(images.train, config.batch_size, shuffle=True,
                       transform=transforms.Compose(augment + normalize + shape), seed=config.seed)
    test = DataLoader(images.test, 1000, transform=transforms.Compose(normalize + shape))
    return train, test


def _setup(model, config, images: Images, flatten):
    optimizer = optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    train, test = _loaders(config, images, flatten)
    total = config.steps or int(config.epochs * len(train))
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    task = ClassificationTask(model, nn.CrossEntropyLoss(), optimizer, scheduler)
    return Setup(task, train, test, test, notes=images.notes)


def build_mlp(config: MnistConfig, data_dir=None) -> Setup:
    images = load_images(config, data_dir)
    c, h, w = images.shape
    model = MLP((c * h * w, 256, 128, len(images.classes)), dropout=config.dropout)
    return _setup(model, config, images, flatten=True)


def build_cnn(config: CnnMnistConfig, data_dir=None) -> Setup:
    images = load_images(config, data_dir)
    c, h, w = images.shape
    model = CNN(in_channels=c, num_classes=len(images.classes), image_size=(h, w),
                dropout=config.dropout)
    return _setup(model, config, images, flatten=False)


register(Recipe("mlp-mnist", "MLP 784-256-128-10 on MNIST (target >= 98.0% test accuracy)",
                MnistConfig, build_mlp, data_field="data", target=Target("accuracy", 0.98)))
register(Recipe("cnn-mnist", "two conv+pool blocks and a linear head on MNIST (target >= 99.0%)",
                CnnMnistConfig, build_cnn, data_field="data", target=Target("accuracy", 0.99)))
for _name in ("mlp-mnist", "cnn-mnist"):
    register_twin(_name, classification_twin())
