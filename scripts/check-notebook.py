#!/usr/bin/env python3
"""check-notebook.py: fail when an executed notebook shows a failure.

Usage: check-notebook.py EXECUTED.ipynb...

GoNB v0.11.1 reports only build failures as Jupyter errors. A cell program that panics, calls
os.Exit(N) or log.Fatal, or a failing shell command (!cmd) only leaves text on stderr, and
`jupyter nbconvert --execute` still succeeds. So this script scans each executed notebook and
reports, with the cell that caused it:
  - any output of type "error";
  - any stderr line that is exactly "exit status N" or "signal: ...";
  - any "panic:" in stderr.
It exits 1 if any notebook has a problem, 2 on bad usage or unreadable files, 0 otherwise.
Only the Python standard library is used.
"""

import json
import re
import sys

EXIT_LINE = re.compile(r"^(exit status \d+|signal: .+)$")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def text_of(value):
    """Returns notebook text, stored as a string or as a list of strings, as one string."""
    if isinstance(value, list):
        return "".join(value)
    return value or ""


def describe(index, cell):
    """Names a cell for messages: its position, id and first meaningful source line."""
    lines = [l.strip() for l in text_of(cell.get("source")).split("\n")]
    meaningful = [l for l in lines if l and l not in ("%%", "%main")]
    first = meaningful[0][:60] if meaningful else ""
    cell_id = cell.get("id")
    name = f"cell {index}" + (f" (id {cell_id})" if cell_id else "")
    return f"{name} [{first}]"


def problems(nb):
    """Yields one message for each failure found in the executed notebook nb."""
    for index, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                ename = ANSI.sub("", out.get("ename", ""))
                evalue = ANSI.sub("", out.get("evalue", "")).strip()
                yield f"{describe(index, cell)}: error output: {ename}: {evalue}"
            elif kind == "stream" and out.get("name") == "stderr":
                text = ANSI.sub("", text_of(out.get("text")))
                for line in text.splitlines():
                    line = line.rstrip("\r")
                    if EXIT_LINE.match(line):
                        yield f"{describe(index, cell)}: stderr: {line}"
                    elif "panic:" in line:
                        yield f"{describe(index, cell)}: stderr: {line.strip()}"


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    status = 0
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                nb = json.load(f)
        except (OSError, ValueError) as err:
            print(f"check-notebook: cannot read {path}: {err}", file=sys.stderr)
            return 2
        found = list(problems(nb))
        for message in found:
            print(f"{path}: {message}")
        if found:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
