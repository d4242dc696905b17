"""Where data lives: an explicit folder, else $NT_DATA_DIR, else ~/.cache/numpy_transformer."""
import os
from pathlib import Path

__all__ = ["data_dir", "DATA_DIR_ENV", "PACKAGE_FILES"]

DATA_DIR_ENV = "NT_DATA_DIR"
PACKAGE_FILES = Path(__file__).parent / "files"  # data carried inside the package (the 8x8 digits)


def data_dir(explicit=None) -> Path:
    """The data folder: `explicit` if given, else $NT_DATA_DIR, else ~/.cache/numpy_transformer.

    A folder laid out like the cache (mnist/*.gz, text/..., gpt2-tokenizer/...) that already holds
    the files is used as it is, read-only; nothing is downloaded for files it has.
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    return Path.home() / ".cache" / "numpy_transformer"
