"""`python -m benchmarks.layers`: forward+backward of each layer, ours against torch."""
from .harness import main

if __name__ == "__main__":
    main()
