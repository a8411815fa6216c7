#!/usr/bin/env python3
"""publish-notebook.py: turn an executed notebook into the copy readers see in docs/notebooks/.

Usage: publish-notebook.py [--note TEXT] EXECUTED.ipynb OUTDIR

Writes OUTDIR/<name>.ipynb: the executed notebook with its outputs (figures, printed numbers), so that GitHub and
nbviewer show it with results, less what only the run needed:

  - the script GoNB sends to connect widgets to the browser (in a headless run nothing answers it, and it would
    add about 20 kB per interactive control to the copy);
  - the per-cell "execution" timestamps, and the kernel's language_info details (Go version) down to its name.

A first Markdown cell says what the copy is: the source notebook it was run from and TEXT (--note), e.g. how,
where and when it was run. The copy must not reveal the machine it was made on: when an output contains the
repository's absolute path, the home folder or a GoNB temporary folder, nothing is written and the script exits
with status 1 naming the cell. The copy is written to a temporary file in OUTDIR and renamed into place.
Only the Python standard library is used.
"""

import argparse
import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GONB_CONNECTION = "gonb_comm"  # the global the connection script defines


def text(value):
    return "".join(value) if isinstance(value, list) else (value or "")


def is_connection_script(out):
    """True for GoNB's widget connection script: an HTML output that is a single <script> defining gonb_comm."""
    data = out.get("data") or {}
    html = text(data.get("text/html")).strip()
    return (out.get("output_type") == "display_data" and set(data) <= {"text/html", "text/plain"}
            and html.startswith("<script") and html.endswith("</script>") and GONB_CONNECTION in html)


def machine_paths():
    """Paths of this machine that must not appear in a published copy."""
    paths = {ROOT, os.path.realpath(ROOT), "/tmp/gonb_"}
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        paths.add(home.rstrip("/") + "/")
    return sorted(paths)


def publish(nb, source_name, note):
    """Returns the published form of the executed notebook nb, or raises ValueError naming a leaking cell."""
    leaks = machine_paths()
    cells = []
    for i, cell in enumerate(nb.get("cells", [])):
        cell = dict(cell)
        cell["metadata"] = {k: v for k, v in (cell.get("metadata") or {}).items() if k != "execution"}
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", []) if not is_connection_script(o)]
            dump = json.dumps(cell["outputs"], ensure_ascii=False)
            for p in leaks:
                if p in dump:
                    raise ValueError(f"cell {i} (id {cell.get('id', '?')}): an output contains the machine path {p!r}")
        cells.append(cell)
    header = (f"*Executed copy of [`notebooks/{source_name}`](../../notebooks/{source_name}), outputs included"
              + (f": {note}" if note else "") + ". To run it yourself, open the source notebook in Jupyter (see the"
              " README's notebooks section).*")
    header_cell = {"cell_type": "markdown", "id": "published-copy", "metadata": {}, "source": [header]}
    meta = dict(nb.get("metadata") or {})
    if "language_info" in meta:
        meta["language_info"] = {"name": (meta["language_info"] or {}).get("name", "go")}
    meta = {k: v for k, v in meta.items() if k in ("kernelspec", "language_info")}
    out = dict(nb)
    out["metadata"], out["cells"] = meta, [header_cell] + cells
    return out


def write_atomic(path, content):
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ipynb", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--note", default="", help="how, where and when the copy was made (shown in its first cell)")
    ap.add_argument("executed")
    ap.add_argument("outdir")
    args = ap.parse_args()
    with open(args.executed, encoding="utf-8") as f:
        nb = json.load(f)
    name = os.path.basename(args.executed)
    try:
        pub = publish(nb, name, args.note)
    except ValueError as e:
        print(f"publish-notebook: {name}: {e}; not published", file=sys.stderr)
        sys.exit(1)
    os.makedirs(args.outdir, exist_ok=True)
    path = os.path.join(args.outdir, name)
    write_atomic(path, json.dumps(pub, indent=1, ensure_ascii=False) + "\n")
    print(f"{path} ({os.path.getsize(path) // 1024} kB)")


if __name__ == "__main__":
    main()
