"""Files: safetensors read/write (no pickle, no code execution), atomic writes, JSON lines and the
provenance a written result carries."""
from .atomic import atomic_write
from .jsonl import read_jsonl
from .markdown import markdown_table, replace_block
from .provenance import provenance
from .safetensors import SafetensorsError, load_file, read_metadata, save_file
