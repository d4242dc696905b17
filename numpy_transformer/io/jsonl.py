"""JSON lines: one record per line (the training log's format)."""
import json

__all__ = ["read_jsonl"]


def read_jsonl(path) -> list:
    """Every record of a JSON-lines file."""
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]
