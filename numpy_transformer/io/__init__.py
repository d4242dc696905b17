"""Files: safetensors read/write (no pickle, no code execution) and atomic writes."""
from .atomic import atomic_write
from .jsonl import read_jsonl
from .safetensors import SafetensorsError, load_file, read_metadata, save_file
