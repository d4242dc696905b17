"""The safetensors format, read and written with NumPy alone.

Layout: 8 bytes (little-endian u64) header length N; N bytes of JSON
`{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`;
then the raw little-endian, C-ordered bytes of every tensor. Loading parses JSON and copies
bytes: nothing in the file can run code.

Files we write carry `__metadata__["numpy_transformer.sha256"]`: the sha256 of the whole file
with that value written as zeros. Loading checks it, so a changed byte anywhere is found.
"""
import hashlib
import json
import os

import numpy as np

from .atomic import atomic_write

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}
MAX_HEADER = 100 << 20
CHECKSUM = "numpy_transformer.sha256"
_UNSET = "0" * 64


class SafetensorsError(ValueError):
    """The file is not a valid safetensors file (truncated, altered, or not one at all)."""


def _checksum_field(value: str) -> bytes:
    return json.dumps({CHECKSUM: value}, separators=(",", ":"))[1:-1].encode()


def _as_bytes(array: np.ndarray):
    return array.tobytes() if array.size == 0 or array.ndim == 0 else memoryview(array).cast("B")


def save_file(tensors: dict, path, metadata: dict = None, checksum: bool = True) -> None:
    """Write `{name: array}` (and string metadata) to `path` atomically, with the file's sha256
    in its metadata unless `checksum=False`."""
    header, offset, arrays = {}, 0, []
    for name, array in tensors.items():
        array = np.asarray(array)
        array = array if array.flags.c_contiguous else array.copy(order="C")
        code = CODES.get(array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype)
        if code is None:
            raise TypeError(f"safetensors cannot store '{name}' of dtype {array.dtype}")
        array = array.astype(DTYPES[code], copy=False)
        header[name] = {"dtype": code, "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        arrays.append(array)
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    if checksum:
        header.setdefault("__metadata__", {})[CHECKSUM] = _UNSET
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # align the data to 8 bytes
    prefix = len(encoded).to_bytes(8, "little")
    if checksum:
        digest = hashlib.sha256(prefix + encoded)
        for array in arrays:
            digest.update(_as_bytes(array))
        encoded = encoded.replace(_checksum_field(_UNSET), _checksum_field(digest.hexdigest()), 1)
    with atomic_write(path) as handle:
        handle.write(prefix)
        handle.write(encoded)
        for array in arrays:
            handle.write(_as_bytes(array))


def _read_header(handle, path, file_size):
    """(header dict, the raw bytes up to the data: length prefix and JSON)."""
    prefix = handle.read(8)
    if len(prefix) < 8:
        raise SafetensorsError(f"{path}: too short to be a safetensors file ({file_size} bytes)")
    size = int.from_bytes(prefix, "little")
    if size > MAX_HEADER or 8 + size > file_size:
        raise SafetensorsError(f"{path}: header length {size} does not fit the file ({file_size} "
                               "bytes): truncated or not a safetensors file")
    raw = handle.read(size)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f"{path}: header is not valid JSON ({error})") from None
    if not isinstance(header, dict) or not isinstance(header.get("__metadata__", {}), dict):
        raise SafetensorsError(f"{path}: header is not a JSON object of tensors and metadata")
    return header, prefix + raw


def _verify(path, metadata: dict, head: bytes, data: bytes, required: bool) -> None:
    """Compare the file's bytes with the sha256 in its metadata (when it has one)."""
    stored = metadata.get(CHECKSUM)
    if stored is None:
        if required:
            raise SafetensorsError(f"{path}: the sha256 it should carry is missing")
        return
    unset = head.replace(_checksum_field(str(stored)), _checksum_field(_UNSET), 1)
    if hashlib.sha256(unset + data).hexdigest() != stored:
        raise SafetensorsError(f"{path}: its bytes do not match the sha256 written with them "
                               "(changed or damaged after it was written)")


def read_metadata(path) -> dict:
    """The `__metadata__` strings of a safetensors file (our checksum left out), without reading
    the tensors."""
    with open(path, "rb") as handle:
        header, _ = _read_header(handle, path, os.fstat(handle.fileno()).st_size)
    return {k: v for k, v in (header.get("__metadata__") or {}).items() if k != CHECKSUM}


def has_checksum(path) -> bool:
    """Whether the file carries our sha256 (files written by other programs do not)."""
    with open(path, "rb") as handle:
        header, _ = _read_header(handle, path, os.fstat(handle.fileno()).st_size)
    return CHECKSUM in (header.get("__metadata__") or {})


def load_file(path, require_checksum: bool = False) -> dict:
    """`{name: array}` from a safetensors file, every offset and size checked, and its bytes
    against our sha256 when it carries one (`require_checksum`: it must)."""
    with open(path, "rb") as handle:
        file_size = os.fstat(handle.fileno()).st_size
        header, head = _read_header(handle, path, file_size)
        data = handle.read()
    _verify(path, header.pop("__metadata__", None) or {}, head, data, require_checksum)
    spans, tensors = [], {}
    for name, info in header.items():
        try:
            dtype = np.dtype(DTYPES[info["dtype"]])
            shape = tuple(int(d) for d in info["shape"])
            begin, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise SafetensorsError(f"{path}: malformed entry for tensor '{name}': {info}") from None
        if not 0 <= begin <= end <= len(data):
            raise SafetensorsError(f"{path}: tensor '{name}' spans bytes {begin}..{end} but the data "
                                   f"section has {len(data)} bytes (truncated file?)")
        if end - begin != int(np.prod(shape)) * dtype.itemsize:
            raise SafetensorsError(f"{path}: tensor '{name}' has {end - begin} bytes, but shape "
                                   f"{shape} of {info['dtype']} needs {int(np.prod(shape)) * dtype.itemsize}")
        spans.append((begin, end, name))
        tensors[name] = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)),
                                      offset=begin).reshape(shape).astype(dtype.newbyteorder("="))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise SafetensorsError(f"{path}: tensor '{name}' starts at byte {begin}, expected "
                                   f"{position} (overlapping or gapped data)")
        position = end
    if position != len(data):
        raise SafetensorsError(f"{path}: {len(data) - position} bytes after the last tensor")
    return tensors
