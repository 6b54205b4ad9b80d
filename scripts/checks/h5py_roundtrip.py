#!/usr/bin/env python3
"""Checks with h5py that an HDF5 file written by the Swift HDF5 module holds exactly what EXPECTED.json says.

    python scripts/checks/h5py_roundtrip.py FILE.h5 EXPECTED.json

EXPECTED.json (written by the Swift test that wrote FILE.h5):

    {
      "groups":     {"/": ["a", "b"], "/a": ["x"]},            # the exact member names of each group
      "datasets":   {"/a/x": {"dtype": "float64", "shape": [2, 3], "values": [...row-major...],
                              "compression": "gzip"}},        # compression optional
      "attributes": {"/a": {"eps": {"dtype": "float64", "shape": [], "value": 1e-06}}}
    }

dtype is one of float64, float32, int64, int32, uint8 (little-endian, as NumPy's "<f8", …) or string (variable-length
UTF-8, h5py.string_dtype("utf-8")). Numbers are compared exactly. Exits 0 when everything matches, 1 listing every
mismatch, 2 on bad usage. Needs h5py and numpy (pins in scripts/requirements-check.txt).
"""
import json
import sys

import h5py
import numpy as np

NUMERIC = {"float64": "<f8", "float32": "<f4", "int64": "<i8", "int32": "<i4", "uint8": "u1"}


def is_utf8_vlen(dtype) -> bool:
    info = h5py.check_string_dtype(dtype)
    return info is not None and info.encoding == "utf-8" and info.length is None


def check_dataset(f, path, spec, problems):
    if path not in f or not isinstance(f[path], h5py.Dataset):
        problems.append(f"{path}: not a dataset")
        return
    ds = f[path]
    shape = tuple(spec["shape"])
    if ds.shape != shape:
        problems.append(f"{path}: shape {ds.shape}, expected {shape}")
        return
    if spec["dtype"] == "string":
        if not is_utf8_vlen(ds.dtype):
            problems.append(f"{path}: dtype {ds.dtype} ({h5py.check_string_dtype(ds.dtype)}), expected vlen UTF-8 str")
            return
        as_str = [str(s) for s in np.asarray(ds.asstr()[()], dtype=object).ravel()]
        raw = [bytes(b).decode("utf-8") for b in np.asarray(ds[()], dtype=object).ravel()]
        if as_str != spec["values"] or raw != spec["values"]:
            problems.append(f"{path}: strings {as_str!r} (raw {raw!r}), expected {spec['values']!r}")
    else:
        want = np.dtype(NUMERIC[spec["dtype"]])
        if ds.dtype != want:
            problems.append(f"{path}: dtype {ds.dtype.str}, expected {want.str}")
            return
        values = np.asarray(ds[()]).ravel()
        expected = np.array(spec["values"], dtype=want).ravel()
        if not np.array_equal(values, expected):
            problems.append(f"{path}: values {values.tolist()}, expected {expected.tolist()}")
    compression = spec.get("compression")
    if ds.compression != compression:
        problems.append(f"{path}: compression {ds.compression!r}, expected {compression!r}")


def check_attribute(obj, path, name, spec, problems):
    if name not in obj.attrs:
        problems.append(f"{path}@{name}: missing")
        return
    value = obj.attrs[name]
    stored = obj.attrs.get_id(name)
    shape = tuple(spec["shape"])
    if stored.shape != shape:
        problems.append(f"{path}@{name}: shape {stored.shape}, expected {shape}")
        return
    if spec["dtype"] == "string":
        if not is_utf8_vlen(stored.dtype):
            problems.append(f"{path}@{name}: dtype {stored.dtype}, expected vlen UTF-8 str")
            return
        got = value if shape == () else [v for v in np.asarray(value, dtype=object).ravel()]
        if shape == () and not isinstance(got, str):
            problems.append(f"{path}@{name}: read as {type(got).__name__}, expected str")
        if got != spec["value"]:
            problems.append(f"{path}@{name}: {got!r}, expected {spec['value']!r}")
    else:
        want = np.dtype(NUMERIC[spec["dtype"]])
        if stored.dtype != want:
            problems.append(f"{path}@{name}: dtype {stored.dtype.str}, expected {want.str}")
            return
        if not np.array_equal(np.asarray(value), np.array(spec["value"], dtype=want)):
            problems.append(f"{path}@{name}: {np.asarray(value).tolist()!r}, expected {spec['value']!r}")


def main(argv) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    with open(argv[2], encoding="utf-8") as handle:
        expected = json.load(handle)
    problems = []
    with h5py.File(argv[1], "r") as f:
        for path, members in expected.get("groups", {}).items():
            if path not in f or not isinstance(f[path], h5py.Group):
                problems.append(f"{path}: not a group")
            elif sorted(f[path].keys()) != sorted(members):
                problems.append(f"{path}: members {sorted(f[path].keys())}, expected {sorted(members)}")
        for path, spec in expected.get("datasets", {}).items():
            check_dataset(f, path, spec, problems)
        attribute_count = 0
        for path, attributes in expected.get("attributes", {}).items():
            if path not in f:
                problems.append(f"{path}: missing (attributes expected)")
                continue
            for name, spec in attributes.items():
                attribute_count += 1
                check_attribute(f[path], path, name, spec, problems)
    for problem in problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    if problems:
        return 1
    print(
        f"ok: h5py {h5py.__version__} read {len(expected.get('groups', {}))} groups, "
        f"{len(expected.get('datasets', {}))} datasets and {attribute_count} attributes as expected from {argv[1]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
