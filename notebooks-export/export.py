#!/usr/bin/env python3
"""Runs every MetaMerge notebook headlessly against a report and exports it to HTML, with its figures as PNG.

    python notebooks-export/export.py --report demo-out/report.h5 --out out/notebooks

For each notebook (orthogonality, norms, linearity, sweep) it writes OUT/<name>.html, OUT/<name>.ipynb (executed, with
outputs) and OUT/figures/<name>-*.png, plus OUT/index.html linking them; prints one line per notebook; exits 0
when every notebook ran, 1 when one failed (its partial HTML is still written, to show where), 2 on bad
arguments (a missing report, a file that is not a MetaMerge report).

Matplotlib runs on its Agg backend and the kernel is this Python (sys.executable), so no display and no Jupyter
installation beyond the packages in notebooks-export/requirements.txt are needed. The HTML comes from nbconvert
when it is installed, otherwise from a minimal built-in renderer.
"""
import argparse
import base64
import html
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ["orthogonality", "norms", "linearity", "sweep"]
FIGURE_LINE = "wrote figure "


def check_report(path):
    """Returns None when `path` is a MetaMerge report this version reads, else the reason it is not."""
    if not path.is_file():
        return f"no report at {path} (`make demo` writes demo-out/report.h5; `metamerge analyze … -o FILE` writes one)"
    import h5py
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != "metamerge-report":
                return f"{path} is not a MetaMerge report (root attribute format is not 'metamerge-report')"
            if int(f.attrs.get("schema_version", 0)) > 1:
                return f"{path} has schema version {f.attrs['schema_version']}; these notebooks read version 1"
    except OSError as error:
        return f"{path} is not an HDF5 file ({error})"
    return None


def kernel_manager(socket_directory):
    """A kernel manager that starts ipykernel on this very Python, whatever kernelspecs the user has installed.

    The kernel talks over Unix sockets in `socket_directory` (local only; TCP on Windows).
    """
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} (export)",
                              language="python", resource_dir=str(HERE))

    if os.name == "nt":
        return KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())
    return KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython(), transport="ipc",
                         ip=os.path.join(socket_directory, "kernel"))


def figures_of(nb):
    """The PNG paths a notebook reported writing (its `save` prints one 'wrote figure PATH' line each)."""
    paths = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                paths += [Path(line[len(FIGURE_LINE):].strip()) for line in output.get("text", "").splitlines()
                          if line.startswith(FIGURE_LINE)]
    return paths


def first_error(nb):
    """('cell N (its first line)', 'Name: value') of the first error output, or None; N counts from 1."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
                first = lines[0] if lines else ""
                where = f"{index + 1} ({first[:50]}{'…' if len(first) > 50 else ''})"
                return where, f"{output.get('ename')}: {output.get('evalue')}"
    return None


def render_html(nb, title):
    """HTML of an executed notebook: nbconvert's lab template, or a minimal page when nbconvert is missing."""
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        return minimal_html(nb, title), "minimal renderer (nbconvert not installed)"
    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body, "nbconvert"


def minimal_html(nb, title):
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "pre{background:#f6f6f6;padding:.6em;overflow-x:auto}pre.out{background:#fff;border-left:3px solid #ccc}"
             "pre.err{background:#fee}img{max-width:100%}</style>"]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(f"<pre style='background:none;white-space:pre-wrap'>{html.escape(cell.source)}</pre>")
            continue
        if cell.cell_type != "code":
            continue
        parts.append(f"<pre>{html.escape(cell.source)}</pre>")
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                parts.append(f"<pre class='out'>{html.escape(output.get('text', ''))}</pre>")
            elif kind == "error":
                parts.append(f"<pre class='err'>{html.escape(output.get('ename', ''))}: "
                             f"{html.escape(output.get('evalue', ''))}</pre>")
            elif kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                if "image/png" in data:
                    width = output.get("metadata", {}).get("image/png", {}).get("width")
                    size = f" width='{width}'" if width else ""
                    parts.append(f"<img{size} src='data:image/png;base64,{data['image/png'].strip()}'>")
                elif "text/plain" in data:
                    parts.append(f"<pre class='out'>{html.escape(data['text/plain'])}</pre>")
    return "\n".join(parts)


def run_notebook(name, report, out, timeout=600, env_extra=None):
    """Executes notebooks-export/<name>.ipynb against `report`; writes OUT/<name>.ipynb, .html and figures.

    Returns a dict: name, ok, error (None or a message), figures (paths), html, seconds, renderer.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    started = time.monotonic()
    nb = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
    env = dict(os.environ, METAMERGE_REPORT=str(report), METAMERGE_FIGURES=str(out / "figures"), MPLBACKEND="Agg",
               PYTHONHASHSEED="0", **(env_extra or {}))
    error = None
    with tempfile.TemporaryDirectory(prefix="metamerge-kernel-") as sockets:
        km = kernel_manager(sockets)
        client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=False,
                                resources={"metadata": {"path": str(HERE)}})
        try:
            client.execute(env=env)
        except CellExecutionError:
            found = first_error(nb)
            error = f"cell {found[0]}: {found[1]}" if found else "a cell failed"
        except Exception as failure:  # the kernel died, timed out or did not start
            error = f"{type(failure).__name__}: {failure}"
        finally:
            if km.has_kernel:  # a kernel manager handed to nbclient is ours to shut down
                km.shutdown_kernel(now=error is not None)
    if error is None and first_error(nb):
        index, message = first_error(nb)
        error = f"cell {index}: {message}"
    nbformat.write(nb, out / f"{name}.ipynb")
    body, renderer = render_html(nb, name)
    (out / f"{name}.html").write_text(body, encoding="utf-8")
    return {"name": name, "ok": error is None, "error": error, "figures": figures_of(nb),
            "html": out / f"{name}.html", "seconds": time.monotonic() - started, "renderer": renderer}


def write_index(out, report, results):
    rows = []
    for r in results:
        status = "ok" if r["ok"] else f"FAILED — {html.escape(r['error'])}"
        figures = " ".join(f"<a href='figures/{p.name}'>{html.escape(p.name)}</a>" for p in r["figures"])
        rows.append(f"<li><a href='{r['name']}.html'>{r['name']}</a> ({status}) {figures}</li>")
    (out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>MetaMerge notebooks</title>"
        "<body style='font-family:sans-serif;max-width:900px;margin:2em auto'>"
        f"<h1>MetaMerge notebooks</h1><p>Report: <code>{html.escape(str(report))}</code></p>"
        f"<ul>{''.join(rows)}</ul>", encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", required=True, help="the HDF5 report (metamerge analyze/probe)")
    parser.add_argument("--out", required=True, help="output directory (created; existing files are replaced)")
    parser.add_argument("--notebook", action="append", choices=NOTEBOOKS,
                        help="run only this notebook (repeatable); default: all")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    parser.add_argument("--max-cosine", type=float, help="the orthogonality gate threshold drawn "
                        "(default: $METAMERGE_MAX_COSINE or 0.1)")
    args = parser.parse_args(argv)

    report = Path(args.report).expanduser().resolve()
    problem = check_report(report)
    if problem:
        print(f"export: {problem}", file=sys.stderr)
        return 2
    out = Path(args.out).expanduser().resolve()
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"export: cannot create {out}: {error}", file=sys.stderr)
        return 2
    extra = {"METAMERGE_MAX_COSINE": repr(args.max_cosine)} if args.max_cosine is not None else {}

    results = []
    for name in args.notebook or NOTEBOOKS:
        result = run_notebook(name, report, out, args.timeout, extra)
        results.append(result)
        figures = len(result["figures"])
        if result["ok"]:
            print(f"{name}: ok, {figures} figure{'s' if figures != 1 else ''}, {result['seconds']:.1f} s "
                  f"-> {result['html']}", flush=True)
        else:
            print(f"{name}: FAILED at {result['error']} (partial output: {result['html']})", flush=True)
    write_index(out, report, results)
    if any(r["renderer"] != "nbconvert" for r in results):
        print("export: nbconvert is not installed; HTML written by the minimal renderer")
    failed = [r["name"] for r in results if not r["ok"]]
    if failed:
        print(f"export: {len(failed)} of {len(results)} notebooks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
