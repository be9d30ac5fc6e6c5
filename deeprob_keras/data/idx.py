"""Reading the original (gzipped) IDX files of MNIST-style datasets."""

import gzip
import struct
import zlib

import numpy as np

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class CorruptDataFile(ValueError):
    """A data file is truncated or corrupted; the message names the file and what is wrong."""

    deeprob_user_error = True  # the CLI prints it as one line


def read_idx(path):
    """Returns the array stored in an IDX file (`.gz` or plain).

    Args:
        path: an IDX file, gzipped when its name ends in `.gz`.

    Returns:
        A NumPy array of the header's shape and type.

    Raises:
        CorruptDataFile: the file is truncated (e.g. an interrupted download),
            not gzip data, or not an IDX file; the message names the file.

    Example:
        >>> labels = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except EOFError:
        raise CorruptDataFile(
            f"{path}: truncated gzip file (it ends before the end of its compressed data); "
            "download or install it again") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise CorruptDataFile(f"{path}: corrupted gzip file ({e}); download or install it again") from None
    if len(data) < 4:
        raise CorruptDataFile(f"{path}: not an IDX file (only {len(data)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code not in _DTYPES:
        raise CorruptDataFile(f"{path}: not an IDX file (bad magic number)")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * np.dtype(_DTYPES[dtype_code]).itemsize
    if len(data) - offset != expected:
        raise CorruptDataFile(
            f"{path}: truncated or corrupted IDX file: header says {shape} "
            f"({expected} bytes) but {len(data) - offset} bytes follow")
    return np.frombuffer(data, dtype=_DTYPES[dtype_code], offset=offset).reshape(shape)
