"""Where the image recipes get their images: MNIST, or the user's own with `--data PATH`."""
from dataclasses import dataclass

from ..data import MNIST, ArrayDataset
from ..data.image_files import load_image_data


@dataclass
class Images:
    """Train and test images uint8 [N, C, H, W], their class names and pixel statistics."""
    train: ArrayDataset
    test: ArrayDataset
    classes: list
    shape: tuple          # (C, H, W)
    mean: float           # of the training pixels on 0..1
    std: float

    @property
    def notes(self) -> dict:
        """What a run knows of its data: class names, image shape, pixel statistics."""
        return {"classes": self.classes, "image_shape": list(self.shape), "pixel_mean": self.mean,
                "pixel_std": self.std}


def load_images(config, data_dir=None) -> Images:
    """`config.data` (a folder of IDX files, a .npz or an ImageFolder tree), else MNIST."""
    if getattr(config, "data", None):
        data = load_image_data(config.data)
        return Images(data.train, data.test, data.classes, data.shape, *data.mean_std)
    train, test = MNIST(data_dir, train=True), MNIST(data_dir, train=False)
    return Images(ArrayDataset(train.data[:, None], train.targets),
                  ArrayDataset(test.data[:, None], test.targets), [str(k) for k in range(10)],
                  (1, 28, 28), MNIST.mean, MNIST.std)
