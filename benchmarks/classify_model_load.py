"""Reading a classifier's arrays for ``predict``: ``np.load`` member by member (what ``load_model`` does)
against reading each stored member's bytes straight into its final array (``readinto`` at the member's
offset), with and without zip's CRC check; CPU milliseconds in one process, alternating, medians.

Only the arrays ``predict`` reads are timed (the trainer's ``resume.``/``optim.`` state is left out, as
``load_model(..., arrays=...)`` leaves it); the three readers' arrays are checked equal first.

    cd /tmp && PYTHONPATH=<checkout> nice -n 19 python3 <checkout>/benchmarks/classify_model_load.py g.npz --reps 9
"""

from __future__ import annotations

import argparse
import statistics
import struct
import time
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

SKIP = ("resume.", "optim.")


def wanted(name: str) -> bool:
    return name != "meta" and not name.startswith(SKIP)


def via_np_load(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files if wanted(name)}


def via_readinto(path: str, crc: bool) -> dict[str, np.ndarray]:
    out = {}
    with open(path, "rb") as f:
        for info in zipfile.ZipFile(f).infolist():
            name = info.filename.removesuffix(".npy")
            if not wanted(name) or info.compress_type != zipfile.ZIP_STORED:
                continue
            f.seek(info.header_offset)
            name_len, extra_len = struct.unpack("<HH", f.read(30)[26:30])
            start = info.header_offset + 30 + name_len + extra_len
            f.seek(start)
            version = npy_format.read_magic(f)
            read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
            header_len = f.tell() - start
            data = memoryview(array).cast("B") if array.size else memoryview(b"")
            if f.readinto(data) != array.nbytes:
                raise ValueError(f"{name}: short read")
            if crc:
                f.seek(start)
                if zlib.crc32(data, zlib.crc32(f.read(header_len))) != info.CRC:
                    raise ValueError(f"{name}: CRC mismatch")
            out[name] = array
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args()
    readers = {"np.load": lambda: via_np_load(args.model),
               "readinto + CRC": lambda: via_readinto(args.model, True),
               "readinto": lambda: via_readinto(args.model, False)}
    first = {name: read() for name, read in readers.items()}
    base = first["np.load"]
    for name, arrays in first.items():
        same = arrays.keys() == base.keys() and all(
            np.array_equal(arrays[k], base[k]) and arrays[k].dtype == base[k].dtype for k in base)
        if not same:
            raise SystemExit(f"{name} read other arrays than np.load")
    print(f"{len(base)} arrays, {sum(a.nbytes for a in base.values()) / 1e6:.1f} MB")
    times: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(args.reps):
        for name, read in readers.items():
            cpu = time.process_time()
            read()
            times[name].append(1000 * (time.process_time() - cpu))
    for name, ms in times.items():
        print(f"  {name:16s} {statistics.median(ms):6.1f} CPU ms (median of {args.reps}; {min(ms):.1f}-{max(ms):.1f})")


if __name__ == "__main__":
    main()
