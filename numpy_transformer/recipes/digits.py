"""`digits`: an MLP on the 8x8 handwritten digits the package carries (seconds, no download)."""
from dataclasses import dataclass

from .. import nn, optim
from ..data import DataLoader, Digits, transforms
from ..models import MLP
from ..train import ClassificationTask
from ..train.twin import classification_twin, register_twin
from .registry import Recipe, Setup, Target, TrainingConfig, register


@dataclass
class DigitsConfig(TrainingConfig):
    epochs: float = 20
    lr: float = 3e-3
    hidden: int = 128


def build(config: DigitsConfig, data_dir=None) -> Setup:
    prepare = transforms.Compose([transforms.ToFloat(scale=1 / 16), transforms.Flatten()])
    train, test = Digits(train=True), Digits(train=False)
    model = MLP((64, config.hidden, 10))
    optimizer = optim.Adam(model.parameters(), lr=config.lr)
    task = ClassificationTask(model, nn.CrossEntropyLoss(), optimizer)
    train_loader = DataLoader(train, config.batch_size, shuffle=True, transform=prepare, seed=config.seed)
    test_loader = DataLoader(test, 256, transform=prepare)
    return Setup(task, train_loader, test_loader, test_loader)


register(Recipe("digits", "MLP 64-128-10 on the 8x8 digits carried by the package (~10 s)",
                DigitsConfig, build, target=Target("accuracy", 0.97)))
register_twin("digits", classification_twin())
