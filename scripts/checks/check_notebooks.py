#!/usr/bin/env python3
"""Checks the notebooks of notebooks-export/ against a MetaMerge report.

    python scripts/checks/check_notebooks.py REPORT [--keep DIR]

Runs notebooks-export/export.py on REPORT into a temporary directory (or DIR with --keep) and checks that it
exits 0, that every notebook ran without an error output, wrote its HTML, and wrote the PNG figures expected
for this report (each non-empty, a real PNG of a readable size; listed). When REPORT has a /probe group, also
checks that linearity.ipynb on a copy without it prints its message and skips instead of failing; and that
the export refuses a file that is not a report (exit 2). Prints one line per check and a closing
'notebooks: N passed, M failed'; exits 1 when a check failed, 2 when REPORT cannot be read.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "notebooks-export" / "export.py"
NOTEBOOKS = ["orthogonality", "norms", "linearity", "sweep"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def expected_figures(report):
    """The figure names each notebook writes for this report (they skip what the report cannot show)."""
    with h5py.File(report, "r") as f:
        tasks = len(f["tasks"]) if "tasks" in f else 0
        analysis = all(name in f for name in ("global", "layers", "tensors"))
        probe = "probe" in f
        probe_pairs = len(f["probe/pairs"]) if probe else 0
        sweep = "sweep" in f
        # 0: LoRA adapters analysed from their factors only; sign conflicts not computed (docs/hdf5-schema.md).
        coordinates = bool(f["global/coordinate_stats"][()]) if analysis and "coordinate_stats" in f["global"] else True
    expected = {
        "orthogonality": ["cosine-heatmap", "layer-cosines", "furthest"] if analysis and tasks >= 2 else [],
        "norms": (["layer-norms", "metagpt-lambda"] + (["sign-conflicts"] if tasks >= 2 and coordinates else []))
        if analysis else [],
        "linearity": (["alpha-curves", "task-metrics"] + (["additivity"] if probe_pairs else []) + ["merged-gap"])
        if probe else [],
        "sweep": ["exact-match", "nll"] if sweep else [],
    }
    return {name: [f"{name}-{figure}.png" for figure in figures] for name, figures in expected.items()}, probe


def export(report, out, *extra):
    return subprocess.run([sys.executable, str(EXPORT), "--report", str(report), "--out", str(out), *extra],
                          capture_output=True, text=True)


def notebook_outputs(path):
    """(error outputs, all stream text) of an executed notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    errors, text = [], []
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            elif output.get("output_type") == "stream":
                text.append("".join(output["text"]) if isinstance(output["text"], list) else output["text"])
    return errors, "".join(text)


def png_size(path):
    data = path.read_bytes()
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE):
        raise AssertionError(f"{path.name} is not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"), len(data)


def check_notebook(name, out, expected):
    ipynb, page = out / f"{name}.ipynb", out / f"{name}.html"
    assert ipynb.is_file(), f"no executed notebook {ipynb}"
    errors, text = notebook_outputs(ipynb)
    assert not errors, "error output: " + "; ".join(errors)
    assert page.is_file() and page.stat().st_size > 1000, f"{page} missing or empty"
    reported = sorted(Path(line.split("wrote figure ", 1)[1].strip()).name
                      for line in text.splitlines() if line.startswith("wrote figure "))
    assert reported == sorted(expected), f"figures {reported}, expected {sorted(expected)}"
    listed = []
    for figure in expected:
        path = out / "figures" / figure
        assert path.is_file(), f"{figure} not written"
        width, height, size = png_size(path)
        assert size > 2000, f"{figure} is nearly empty ({size} bytes)"
        assert width >= 300 and height >= 200, f"{figure} is {width}×{height} px"
        listed.append(f"{figure} ({width}×{height}, {size // 1024} KiB)")
    if not expected:
        said = [line for line in text.splitlines() if line.startswith("**")] or text.strip().splitlines()[-1:]
        return f"ran, no figure for this report: {said[0] if said else ''}"
    return f"{len(listed)} figures: " + ", ".join(listed)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", help="a MetaMerge HDF5 report (ideally with a /probe group)")
    parser.add_argument("--keep", help="export into this directory and keep it, instead of a temporary one")
    args = parser.parse_args(argv)
    report = Path(args.report).resolve()
    try:
        expected, has_probe = expected_figures(report)
    except Exception as error:
        print(f"check_notebooks: cannot read {report}: {error}", file=sys.stderr)
        print("notebooks: 0 passed, 1 failed")
        return 2

    passed = failed = 0

    def record(label, function):
        nonlocal passed, failed
        try:
            detail = function()
            passed += 1
            print(f"PASS {label}: {detail}", flush=True)
        except Exception as error:
            failed += 1
            message = str(error) if isinstance(error, AssertionError) else traceback.format_exc()
            print(f"FAIL {label}: {message}", flush=True)

    with tempfile.TemporaryDirectory(prefix="metamerge-notebooks-") as tmp:
        out = Path(args.keep).resolve() if args.keep else Path(tmp) / "out"
        result = export(report, out)
        print(result.stdout.rstrip())
        if result.returncode != 0:
            failed += 1
            print(f"FAIL export: exit {result.returncode}\n{result.stderr.rstrip()}")
        lines = [line for line in result.stdout.splitlines() if line.split(":", 1)[0] in NOTEBOOKS]
        if len(lines) != len(NOTEBOOKS):
            failed += 1
            print(f"FAIL export: {len(lines)} notebook lines printed, expected {len(NOTEBOOKS)}")
        for name in NOTEBOOKS:
            record(name, lambda name=name: check_notebook(name, out, expected[name]))

        if has_probe:
            def without_probe():
                copy = Path(tmp) / "no-probe.h5"
                with h5py.File(report, "r") as source, h5py.File(copy, "w") as target:
                    for key, value in source.attrs.items():
                        target.attrs[key] = value
                    for key in source:
                        if key != "probe":
                            source.copy(source[key], target, name=key)
                run = export(copy, Path(tmp) / "no-probe", "--notebook", "linearity")
                assert run.returncode == 0, f"exit {run.returncode}: {run.stdout}{run.stderr}"
                errors, text = notebook_outputs(Path(tmp) / "no-probe" / "linearity.ipynb")
                assert not errors, "; ".join(errors)
                assert "No linearity probe" in text, "the skip message is missing"
                assert "wrote figure" not in text, "figures written without a probe"
                return "prints 'No linearity probe in this report' and skips, no error"
            record("linearity without /probe", without_probe)

        def refuses_non_report():
            bogus = Path(tmp) / "not-a-report.h5"
            bogus.write_text("not HDF5")
            run = export(bogus, Path(tmp) / "bogus")
            assert run.returncode == 2, f"exit {run.returncode}, expected 2"
            assert "not an HDF5 file" in run.stderr, f"unclear message: {run.stderr!r}"
            return f"exit 2: {run.stderr.strip()}"
        record("export refuses a non-report", refuses_non_report)

    print(f"notebooks: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
