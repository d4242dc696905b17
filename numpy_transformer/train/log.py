"""One JSON line per logged step or evaluation, in `log.jsonl` next to the checkpoint."""
import json
import os

from ..io.jsonl import read_jsonl


class JsonLog:
    """Appends records; on resume, drops the lines a killed run wrote after its last checkpoint."""

    def __init__(self, path, resume_step: int = None):
        self.path = os.fspath(path)
        if resume_step is None:
            open(self.path, "w").close()
        elif os.path.exists(self.path):
            kept = [line for line in self.read() if line.get("step", 0) <= resume_step]
            with open(self.path, "w") as handle:
                handle.writelines(json.dumps(r) + "\n" for r in kept)

    def write(self, record: dict) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")

    def read(self) -> list:
        return read_jsonl(self.path)


read_log = read_jsonl          # every record of a log.jsonl file
