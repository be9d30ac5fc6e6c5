"""Reading the original (gzipped) IDX files of MNIST-style datasets."""

import gzip
import struct

import numpy as np

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Returns the array stored in an IDX file (`.gz` or plain)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(data)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code not in _DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * np.dtype(_DTYPES[dtype_code]).itemsize
    if len(data) - offset != expected:
        raise ValueError(
            f"{path}: truncated or corrupted IDX file: header says {shape} "
            f"({expected} bytes) but {len(data) - offset} bytes follow")
    return np.frombuffer(data, dtype=_DTYPES[dtype_code], offset=offset).reshape(shape)
