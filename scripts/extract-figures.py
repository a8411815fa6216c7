#!/usr/bin/env python3
"""extract-figures.py: write the PNG outputs of an executed notebook to a folder.

Usage: extract-figures.py EXECUTED.ipynb OUTDIR

Every image/png output, in cell and output order, is written to OUTDIR/<notebook-name>-<n>.png
(n from 1). Each file is written to a temporary file in OUTDIR and renamed into place, so a
reader never sees a partial PNG. Files <notebook-name>-<k>.png left from an earlier run with more
figures are removed. Prints the files written. Only the Python standard library is used.
"""

import base64
import json
import os
import re
import sys
import tempfile


def pngs(nb):
    """Yields the decoded bytes of each image/png output of nb."""
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            value = data.get("image/png")
            if value is None:
                continue
            if isinstance(value, list):
                value = "".join(value)
            yield base64.b64decode(value)


def write_atomic(path, content):
    """Writes content to path through a temporary file in the same folder and a rename."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(args):
    if len(args) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    notebook, outdir = args
    name = os.path.splitext(os.path.basename(notebook))[0]
    try:
        with open(notebook, encoding="utf-8") as f:
            nb = json.load(f)
        os.makedirs(outdir, exist_ok=True)
        count = 0
        for count, content in enumerate(pngs(nb), start=1):
            path = os.path.join(outdir, f"{name}-{count}.png")
            write_atomic(path, content)
            print(path)
        stale = re.compile(re.escape(name) + r"-(\d+)\.png$")
        for entry in os.listdir(outdir):
            m = stale.fullmatch(entry)
            if m and int(m.group(1)) > count:
                os.unlink(os.path.join(outdir, entry))
    except (OSError, ValueError) as err:
        print(f"extract-figures: {notebook}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
