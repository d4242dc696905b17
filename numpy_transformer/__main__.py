"""`python -m numpy_transformer` is the `numpy-transformer` command."""
import sys

from .cli import main

sys.exit(main())
