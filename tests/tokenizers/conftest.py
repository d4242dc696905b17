"""The shared data folder (GPT-2's files, the corpora) for the tokenizer tests."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """$NT_SHARED_DATA, else <repo>/../shared/data; skips when absent."""
    folder = Path(os.environ.get("NT_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (folder / "gpt2-tokenizer" / "vocab.bpe").is_file():
        pytest.skip(f"shared data folder with gpt2-tokenizer/ not found at {folder} "
                    "(set NT_SHARED_DATA to it)")
    return folder
