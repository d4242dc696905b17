"""A user's images in any of the three layouts load as uint8 [N, C, H, W] with their class names."""
import numpy as np
import pytest

from numpy_transformer.data.image_files import load_image_data
from numpy_transformer.testing.image_folders import write_image_folder, write_idx_folder


@pytest.mark.parametrize("gz", [True, False])
def test_a_folder_of_mnist_named_idx_files(tmp_path, gz):
    data = load_image_data(write_idx_folder(tmp_path / "idx", gz))
    assert data.shape == (1, 12, 12) and data.classes == ["0", "1", "2"]
    assert data.train.arrays[0].shape == (30, 1, 12, 12) and data.train.arrays[0].dtype == np.uint8
    assert len(data.test) == 10


def test_a_keras_npz_channel_last_with_named_labels(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 8, 10, 3), dtype=np.uint8)
    names = np.array(["cat", "dog"])[np.arange(20) % 2]
    np.savez(tmp_path / "mine.npz", x_train=x[:15], y_train=names[:15], x_test=x[15:],
             y_test=names[15:])
    data = load_image_data(tmp_path / "mine.npz")
    assert data.shape == (3, 8, 10) and data.classes == ["cat", "dog"]
    np.testing.assert_array_equal(data.train.arrays[0][4], x[4].transpose(2, 0, 1))
    np.testing.assert_array_equal(data.train.arrays[1][:4], [0, 1, 0, 1])


def test_float_images_on_0_to_1_become_pixels(tmp_path):
    x = np.linspace(0, 1, 6 * 4 * 4).reshape(6, 4, 4)
    np.savez(tmp_path / "f.npz", x_train=x[:4], y_train=[0, 1, 0, 1], x_test=x[4:], y_test=[0, 1])
    data = load_image_data(tmp_path / "f.npz")
    assert data.train.arrays[0].max() == round(255 * x[:4].max())


def test_an_image_folder_of_png_and_jpeg_any_size_grayscale_or_rgb(tmp_path):
    data = load_image_data(write_image_folder(tmp_path / "images"))
    assert data.classes == ["apple", "pear"] and data.shape == (3, 16, 16)
    assert len(data.train) == 12 and len(data.test) == 4
    gray = load_image_data(write_image_folder(tmp_path / "gray", colour_one=False))
    assert gray.shape == (1, 16, 16)


def test_one_hot_labels_and_whole_float_labels_become_classes(tmp_path):
    x = np.zeros((6, 4, 4), np.uint8)
    np.savez(tmp_path / "o.npz", x_train=x[:4], y_train=np.eye(3)[[0, 1, 2, 1]], x_test=x[4:],
             y_test=np.eye(3)[[2, 0]])
    data = load_image_data(tmp_path / "o.npz")
    assert data.classes == ["0", "1", "2"] and data.test.arrays[1].tolist() == [2, 0]
    np.savez(tmp_path / "f.npz", x_train=x[:4], y_train=[0.0, 1.0, 0.0, 1.0], x_test=x[4:],
             y_test=[1.0, 0.0])
    assert load_image_data(tmp_path / "f.npz").classes == ["0", "1"]


def test_sixteen_bit_grayscale_pngs_are_scaled_not_clipped(tmp_path):
    from PIL import Image
    for split in ("train", "test"):
        for name, level in (("dark", 1000), ("light", 60000)):
            folder = tmp_path / "deep" / split / name
            folder.mkdir(parents=True)
            Image.fromarray(np.full((8, 8), level, np.uint16)).save(folder / "a.png")
    data = load_image_data(tmp_path / "deep")
    assert data.shape == (1, 8, 8)
    assert sorted(data.train.arrays[0][:, 0, 0, 0].tolist()) == [round(1000 / 257), round(60000 / 257)]


def damaged_npz(p):
    np.savez(p / "x.npz", x_train=np.zeros((2, 4, 4)), y_train=[0, 1], x_test=np.zeros((2, 4, 4)),
             y_test=[0, 1])
    data = (p / "x.npz").read_bytes()
    (p / "x.npz").write_bytes(data[:len(data) // 2])
    return p / "x.npz"


def truncated_idx(p):
    folder = write_idx_folder(p / "idx", gz=True)
    first = folder / "train-images-idx3-ubyte.gz"
    first.write_bytes(first.read_bytes()[:40])
    return folder


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "gone.npz", "no such file or folder .*has the data moved"),
    (damaged_npz, "x.npz is damaged"),
    (truncated_idx, "idx is damaged"),
    (lambda p: np.savez(p / "x.npz", x_train=np.zeros((2, 4, 4)), y_train=[0, 0],
                        x_test=np.zeros((1, 4, 4)), y_test=[0]) or p / "x.npz",
     "needs at least 2 classes"),
    (lambda p: np.savez(p / "x.npz", x_train=np.full((2, 4, 4), np.nan), y_train=[0, 1],
                        x_test=np.zeros((1, 4, 4)), y_test=[0]) or p / "x.npz", "NaN or infinite"),
    (lambda p: np.savez(p / "x.npz", x_train=np.zeros((2, 4, 4)), y_train=[0, 1],
                        x_test=np.zeros((0, 4, 4)), y_test=np.zeros(0)) or p / "x.npz",
     "the test labels must be a non-empty 1-D array"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "expected a .npz file"),
    (lambda p: np.savez(p / "x.npz", x_train=np.zeros((2, 4, 4))) or p / "x.npz",
     r"the .npz lacks \['y_train', 'x_test', 'y_test'\]"),
    (lambda p: np.savez(p / "x.npz", x_train=np.zeros((2, 4, 4)), y_train=[0], x_test=np.zeros((1, 4, 4)),
                        y_test=[0]) or p / "x.npz", "x_train has 2 images but y_train 1 labels"),
    (lambda p: np.savez(p / "x.npz", x_train=np.zeros((2, 4)), y_train=[0, 1], x_test=np.zeros((1, 4)),
                        y_test=[0]) or p / "x.npz", r"images must be \[N, H, W\]"),
    (lambda p: np.savez(p / "x.npz", x_train=np.zeros((2, 4, 4)), y_train=[0, 1],
                        x_test=np.zeros((1, 4, 4)), y_test=[7]) or p / "x.npz",
     "the test split has classes the training split lacks: \\[7\\]"),
])
def test_a_wrong_layout_names_what_was_expected(tmp_path, make, message):
    with pytest.raises(ValueError, match=message):
        load_image_data(make(tmp_path))
