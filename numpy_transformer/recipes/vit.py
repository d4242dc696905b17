"""`vit-mnist`: a small hybrid Vision Transformer on MNIST (target >= 99.4% test accuracy).

The patches are cut from the 16-channel feature map of a 3x3 convolution (the paper's hybrid;
docs/recipes.md compares it with pixel patches). Shifted digits (augmentation), AdamW with decay
on the weight matrices only, linear warm-up then cosine decay, label smoothing.
`numpy-transformer attention RUN` draws what the class token looks at. `--data PATH` trains on
your own square images instead (`--set patch_size=` must divide their side)."""
from dataclasses import dataclass

from .. import nn, optim
from ..data import DataLoader, transforms
from ..models import ViT, ViTConfig
from ..train import ClassificationTask
from .images import Images, load_images
from .registry import Recipe, Setup, Target, TrainingConfig, register


@dataclass
class ViTMnistConfig(TrainingConfig):
    epochs: float = 15
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 300
    min_lr: float = 1e-5
    label_smoothing: float = 0.1
    max_shift: int = 2            # random image shifts, in pixels
    rotate: float = 0.0           # random rotations up to this many degrees either way
    zoom: float = 0.0             # random scaling by 1 - zoom .. 1 + zoom
    patch_size: int = 7           # 4x4 patches of 7x7 pixels: 17 tokens with the class token
    stem_channels: int = 16       # patches of a 3x3 convolution's feature map; 0: of the pixels
    dim: int = 96
    depth: int = 4
    heads: int = 4
    mlp_dim: int = 192
    dropout: float = 0.0
    pool: str = "cls"
    grad_clip: float = None
    log_every: int = 50
    data: str = None              # your images instead of MNIST: IDX folder, .npz or ImageFolder


def vit_config(config: ViTMnistConfig, shape=(1, 28, 28), classes: int = 10) -> ViTConfig:
    """The model part of a recipe config, for images of `shape` (C, H, W) in `classes` classes."""
    channels, height, width = shape
    if height != width or height % config.patch_size:
        raise ValueError(f"vit-mnist: images of {height}x{width} cannot be cut into "
                         f"{config.patch_size}x{config.patch_size} patches; the ViT needs square "
                         "images whose side the patch size divides (--set patch_size=...)")
    return ViTConfig(image_size=height, patch_size=config.patch_size, in_channels=channels,
                     num_classes=classes, dim=config.dim, depth=config.depth, heads=config.heads,
                     mlp_dim=config.mlp_dim, dropout=config.dropout, pool=config.pool,
                     stem_channels=config.stem_channels)


def parameter_groups(model, weight_decay: float):
    """Weight decay on the weight matrices only (not biases, norms, class token, positions)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        matrix = param.data.ndim >= 2 and name not in ("cls_token", "pos_embedding")
        (decay if matrix else no_decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def _loaders(config, images: Images):
    """Normalised [N, C, H, W] batches; training images turned, scaled and shifted at random."""
    normalize = [transforms.ToFloat(), transforms.Normalize(images.mean, images.std)]
    augment = [transforms.RandomShift(config.max_shift)] if config.max_shift else []
    if config.rotate < 0 or not 0 <= config.zoom < 1:
        raise ValueError(f"vit-mnist: rotate must be >= 0 degrees and zoom in [0, 1), got "
                         f"rotate={config.rotate}, zoom={config.zoom} (--set rotate=10 --set zoom=0.1)")
    if config.rotate or config.zoom:
        augment.insert(0, transforms.RandomAffine(config.rotate, scale=(1 - config.zoom, 1 + config.zoom)))
    train = DataLoader(images.train, config.batch_size, shuffle=True,
                       transform=transforms.Compose(augment + normalize), seed=config.seed)
    test = DataLoader(images.test, 500, transform=transforms.Compose(normalize))
    return train, test


def build(config: ViTMnistConfig, data_dir=None) -> Setup:
    images = load_images(config, data_dir)
    model = ViT(vit_config(config, images.shape, len(images.classes)))
    model.needs_input_grad = False                  # the images are data: no gradient for them
    train, test = _loaders(config, images)
    optimizer = optim.AdamW(parameter_groups(model, config.weight_decay), lr=config.lr)
    total = config.steps or int(config.epochs * len(train))
    scheduler = optim.lr_scheduler.warmup_cosine(optimizer, min(config.warmup_steps, total - 1),
                                                 total, min_lr=config.min_lr)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    task = ClassificationTask(model, criterion, optimizer, scheduler, grad_clip=config.grad_clip,
                              defer_weight_grads=True)
    return Setup(task, train, test, test, notes=images.notes)


def attention_hook(setup: Setup, out="attention.png", count: int = 6, text=None, data_dir=None):
    """Plot what the class token attends to, per head, for the first `count` test images."""
    from ..viz.image_attention import plot_image_attention
    if text is not None:
        raise ValueError("vit-mnist draws attention over test images; it takes no --text")
    images, labels = next(iter(setup.test_loader))
    return plot_image_attention(setup.task.model, images[:count], labels[:count], out,
                                class_names=setup.notes.get("classes"))


register(Recipe("vit-mnist", "hybrid Vision Transformer (3x3 convolution to 16 channels, 4x4 "
                "patches of 7x7, 4 blocks, dim 96) on MNIST (target >= 99.4%)", ViTMnistConfig,
                build, hooks={"attention": attention_hook}, data_field="data",
                target=Target("accuracy", 0.994), saved_defaults={"stem_channels": 0}))
