"""IDX files (MNIST's format): a magic number naming the element type and rank, the sizes, then the data."""
import gzip

import numpy as np

__all__ = ["read_idx", "parse_idx"]

# IDX type byte -> big-endian element dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path, ndim: int | None = None) -> np.ndarray:
    """The array in an IDX file (gzipped if its name ends in .gz), checked against its header."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = bytearray(f.read())  # a bytearray makes the array writable without a second copy
    return parse_idx(raw, ndim, name=str(path))


def parse_idx(raw, ndim: int | None = None, name: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes: magic `00 00 <type> <rank>`, `rank` big-endian uint32 sizes, then the elements."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{name} is not an IDX file: magic bytes {bytes(raw[:4]).hex()}, expected "
                         f"00 00 <type in {[hex(t) for t in _IDX_DTYPES]}> <rank>")
    dtype, rank = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    if ndim is not None and rank != ndim:
        raise ValueError(f"{name} holds a {rank}-D array, expected {ndim}-D")
    header = 4 + 4 * rank
    if len(raw) < header:
        raise ValueError(f"{name} is truncated: {len(raw)} bytes, the header alone needs {header}")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=rank, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{name} has {len(raw)} bytes but its header {shape} of {dtype.name} "
                         f"needs {expected}")
    array = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))
