#!/usr/bin/python3
"""notebook-browser.py: check the notebooks as a person meets them in Jupyter Notebook, in headless Chromium.

Usage: /usr/bin/python3 scripts/notebook-browser.py [--screenshots DIR] [--notebooks NAME...] [--markdown-only]

Starts Jupyter Notebook on 127.0.0.1 (a free port, a random token, JUPYTER_PATH = the repository root, so the
repository's kernels/ are used) serving copies of notebooks/*.ipynb in build/browser-test-*/ (the sources are
never opened, so nothing a test does can be saved into them), then drives Chromium through chromedriver:

 1. every notebook: its Markdown renders, every formula is typeset by MathJax without an error, and nothing is
    struck through or left as raw $...$;
 2. 00-quickstart: Kernel > Restart & Run All; every cell before the interactive one runs without an error
    output; the interactive cell shows its labelled controls. Moving the slider and changing the menu re-renders
    the edit (the image changes, its caption shows the new lambda and direction); Done ends the cell cleanly;
 3. run again, the interactive cell ends cleanly on a kernel interrupt (no "signal: interrupt"), keeping its last
    picture and disabling its controls; with the controls live, Cell > Run All is not blocked: the first cell runs
    at once and the notebook runs through to new live controls, which Done ends;
 4. Tab completion in a code cell offers the project's names and Shift+Tab shows a name's signature and
    documentation (GoNB asks gopls), and the server log does not say that gopls is missing.

With --screenshots DIR, saves notebook-in-browser-*.png there. Prints one line per check and a JSON summary on
its last line; exits 0 when every check passed, 1 when one failed, 2 when it could not run (tools missing).
The server, its kernels, the browser and the copies are removed at the end, also on failure.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

try:
    from selenium import webdriver
    from selenium.common.exceptions import JavascriptException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError as e:  # reported as "cannot run", exit status 2
    print(f"notebook-browser: selenium not importable ({e}): install python3-selenium (scripts/setup.sh)")
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
QUICKSTART = "00-quickstart.ipynb"


class CheckFailed(Exception):
    pass


def log(msg):
    print(f"notebook-browser: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def go_bin():
    out = subprocess.run(["go", "env", "GOBIN", "GOPATH"], capture_output=True, text=True, check=True).stdout
    gobin, gopath = (out.split("\n") + ["", ""])[:2]
    return gobin.strip() or os.path.join(gopath.strip().split(os.pathsep)[0], "bin")


class Server:
    """A Jupyter Notebook server serving folder, in its own process group (its kernels included)."""

    def __init__(self, folder, work):
        self.port, self.token = free_port(), os.urandom(16).hex()
        self.log_path = os.path.join(work, "jupyter.log")
        env = dict(os.environ)
        env["PATH"] = env.get("PATH", "") + os.pathsep + go_bin()
        env["JUPYTER_PATH"] = ROOT + (os.pathsep + env["JUPYTER_PATH"] if env.get("JUPYTER_PATH") else "")
        for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
            env[var] = os.path.join(work, sub)  # no user configuration, no stray runtime files
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["jupyter", "notebook", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={self.port}",
             "--port-retries=0", f"--NotebookApp.token={self.token}", "--NotebookApp.password=",
             f"--notebook-dir={folder}", "--MappingKernelManager.cull_idle_timeout=0"],
            env=env, stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter notebook exited with status {self.proc.returncode}:\n{self.log()}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"jupyter notebook did not answer on port {self.port} within 60 s:\n{self.log()}")

    def api(self, method, path):
        req = urllib.request.Request(self.base + path, method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            return json.loads(body) if body else None

    def stop_kernels(self):
        for s in self.api("GET", "/api/sessions") or []:
            self.api("DELETE", f"/api/sessions/{s['id']}")

    def log(self):
        self.logf.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.logf.close()


def browser(work):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1200,1000", f"--user-data-dir={os.path.join(work, 'chromium')}"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER, log_path=os.path.join(work, "chromedriver.log")), options=opts)


class Run:
    def __init__(self, args):
        self.args = args
        self.results = []  # (check, ok, detail)
        self.timings = {}
        self.shots = []

    def record(self, name, ok, detail=""):
        self.results.append((name, bool(ok), detail))
        log(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")

    def check(self, name, ok, detail=""):
        self.record(name, ok, detail)
        if not ok:
            raise CheckFailed(f"{name}: {detail}")

    def shot(self, d, name):
        if not self.args.screenshots:
            return
        os.makedirs(self.args.screenshots, exist_ok=True)
        path = os.path.join(self.args.screenshots, f"notebook-in-browser-{name}.png")
        d.save_screenshot(path)
        shrink_png(path)
        self.shots.append(path)


def shrink_png(path):
    """Quantises a screenshot to 256 colours when Pillow is there (a third of the size); otherwise keeps it."""
    try:
        from PIL import Image
    except ImportError:
        return
    img = Image.open(path).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    img.save(path, optimize=True)


def wait(d, what, fn, timeout):
    try:
        return WebDriverWait(d, timeout, poll_frequency=0.25).until(lambda _: fn())
    except TimeoutException:
        raise CheckFailed(f"timed out after {timeout} s waiting for {what}") from None


def js(d, script, *args):
    return d.execute_script(script, *args)


def open_notebook(d, server, name):
    d.get(f"{server.base}/notebooks/{name}?token={server.token}")
    wait(d, f"{name} to load", lambda: js(d, "return !!(window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded"
                                             " && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected())"), 60)
    js(d, "Jupyter.notebook.set_autosave_interval(0)")


ALL_MARKDOWN = "markdown-of-every-notebook.ipynb"


def write_all_markdown(folder, names):
    """One notebook holding every notebook's Markdown cells (each tagged with its source), so that a single page
    load and MathJax pass checks them all, exactly as Jupyter renders them."""
    cells = []
    for name in names:
        with open(os.path.join(ROOT, "notebooks", name), encoding="utf-8") as f:
            nb = json.load(f)
        for c in nb["cells"]:
            if c["cell_type"] == "markdown":
                cells.append({"cell_type": "markdown", "id": f"md{len(cells)}",
                              "metadata": {"source_notebook": name, "source_cell": c.get("id", "")}, "source": c["source"]})
    nb = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "gonb-cpu", "display_name": "Go (GoNB)", "language": "go"}}}
    with open(os.path.join(folder, ALL_MARKDOWN), "w", encoding="utf-8") as f:
        json.dump(nb, f, ensure_ascii=False)


MARKDOWN_STATE = """
const settled = window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 && MathJax.Hub.queue.running === 0;
const cells = Jupyter.notebook.get_cells().filter(c => c.cell_type === 'markdown').map(c => {
    const el = c.element[0].querySelector('.text_cell_render');
    const copy = el.cloneNode(true);
    copy.querySelectorAll('code, pre, script, .MathJax, .MathJax_Display, .MathJax_Preview').forEach(e => e.remove());
    const text = copy.textContent, at = text.indexOf('$');
    return {notebook: c.metadata.source_notebook, cell: c.metadata.source_cell,
        rendered: c.rendered, math: el.querySelectorAll('script[type^="math/tex"]').length,
        typeset: el.querySelectorAll('.MathJax, .MathJax_Display').length,
        errors: Array.from(el.querySelectorAll('.merror, .noError, .MathJax_Error')).map(e => e.textContent.slice(0, 80)),
        struck: Array.from(el.querySelectorAll('del, s')).map(e => e.textContent.slice(0, 80)),
        dollar: at < 0 ? '' : text.slice(Math.max(0, at - 40), at + 40)};
});
return {settled, cells};
"""


def check_markdown(run, d, server, names):
    """Every notebook's Markdown and math, as Jupyter Notebook renders them."""
    t0 = time.time()
    open_notebook(d, server, ALL_MARKDOWN)
    state = wait(d, "MathJax to typeset every formula", lambda: (lambda s: s if s["settled"] and all(
        c["rendered"] and c["typeset"] >= c["math"] for c in s["cells"]) else None)(js(d, MARKDOWN_STATE)), 90)
    for name in names:
        cs = [c for c in state["cells"] if c["notebook"] == name]
        problems = [f"cell {c['cell']}: " + "; ".join(
            [f"MathJax error {e!r}" for e in c["errors"]] + [f"struck through {t!r}" for t in c["struck"]] +
            ([f"raw $ in {c['dollar']!r}"] if c["dollar"] else [])) for c in cs if c["errors"] or c["struck"] or c["dollar"]]
        run.record(f"{name}: Markdown and math render", cs and not problems,
                   "; ".join(problems) or f"{len(cs)} Markdown cells, {sum(c['math'] for c in cs)} formulas typeset")
    server.stop_kernels()
    run.timings["markdown of every notebook"] = round(time.time() - t0, 1)
    failed = [n for n, ok, _ in run.results if not ok]
    if failed:
        raise CheckFailed(f"{len(failed)} notebook(s) render wrong: {', '.join(failed)}")


CELLS = """
return Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code').map(c => {
    const out = c.output_area.element[0];
    return {id: c.metadata && c.metadata.id || '', count: c.input_prompt_number === undefined ? null : c.input_prompt_number,
        running: c.element[0].classList.contains('running'),
        text: c.get_text().slice(0, 40), interact: c.get_text().includes('.Interact('),
        stderr: Array.from(out.querySelectorAll('.output_stderr')).map(e => e.textContent.slice(0, 300)),
        errors: Array.from(out.querySelectorAll('.output_error')).map(e => e.textContent.slice(0, 300)),
        images: out.querySelectorAll('img').length,
        empty: Array.from(out.querySelectorAll('.output_area')).filter(a => a.offsetHeight > 0 &&
            a.textContent.trim() === '' && !a.querySelector('img, svg, canvas, input, select')).length};
});
"""


OUTLINE = """
if (!window.Jupyter || !Jupyter.notebook) return 'no notebook open';
return Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code').map((c, i) =>
    `cell ${i} [${c.input_prompt_number}] ${c.get_text().slice(0, 30).replace(/\\n/g, ' ')}\n` +
    Array.from(c.output_area.element[0].querySelectorAll('.output_area')).map(a =>
        `   ${a.offsetHeight}px ${a.lastElementChild ? a.lastElementChild.className : ''}: ` +
        JSON.stringify(a.lastElementChild ? a.lastElementChild.innerHTML.slice(0, 160) : '')).join('\n')).join('\n');
"""


def cells(d):
    return js(d, CELLS)


def explorer_index(d):
    i = js(d, "return Jupyter.notebook.get_cells().findIndex(c => c.get_text().includes('.Interact('))")
    if i < 0:
        raise CheckFailed("no cell of 00-quickstart calls Interact")
    return i


PANEL = """
const cell = Jupyter.notebook.get_cell(arguments[0]);
const out = cell.output_area.element[0];
const p = out.querySelector('.loco-explorer');
const f = out.querySelector('.loco-explorer-figure');
const v = p && p.querySelector('output');
const s = p && p.querySelector('[id$="-status"]');
return {running: cell.element[0].classList.contains('running'), count: cell.input_prompt_number,
    state: p ? p.dataset.state : null, status: s ? s.textContent : '', value: v ? v.textContent : '',
    labels: p ? Array.from(p.querySelectorAll('label, span')).map(e => e.textContent) : [],
    disabled: p ? Array.from(p.querySelectorAll('input, select, button')).map(e => e.disabled) : [],
    lambda: f ? f.dataset.lambda : null, choice: f ? f.dataset.choice : null,
    caption: f ? f.querySelector('figcaption').textContent : '', src: f ? f.querySelector('img').src.length + ':' +
        f.querySelector('img').src.slice(-64) : '',
    pngs: out.querySelectorAll('img').length,
    stderr: Array.from(out.querySelectorAll('.output_stderr, .output_error')).map(e => e.textContent.slice(0, 300))};
"""


def panel(d, i):
    return js(d, PANEL, i)


def wait_live(d, i, timeout):
    try:
        return wait(d, "the interactive controls to connect",
                    lambda: (lambda p: p if p["state"] == "live" and p["status"].startswith("Listening") and p["caption"]
                             else None)(panel(d, i)), timeout)
    except CheckFailed as e:
        # Say what the page shows, and leave the cell in view for the failure's screenshot.
        p = panel(d, i)
        p.pop("src", None)
        comm = js(d, "const c = globalThis.gonb_comm; return c ? {kernel: c._kernel_id, opened: c.websocket_is_opened} : null")
        scroll_to_cell(d, i)
        raise CheckFailed(f"{e}; the cell shows {json.dumps(p, ensure_ascii=False)}; gonb_comm: {json.dumps(comm)}") from None


def wait_closed(d, i, timeout):
    return wait(d, "the interactive cell to end",
                lambda: (lambda p: p if p["state"] == "closed" and not p["running"] else None)(panel(d, i)), timeout)


def element(d, i, selector):
    return js(d, "return Jupyter.notebook.get_cell(arguments[0]).output_area.element[0].querySelector(arguments[1])",
              i, selector)


def scroll_to_cell(d, i):
    js(d, "Jupyter.notebook.get_cell(arguments[0]).element[0].scrollIntoView({block: 'start'})", i)
    time.sleep(0.3)


def check_quickstart(run, d, server):
    t0 = time.time()
    open_notebook(d, server, QUICKSTART)
    # Kernel > Restart & Run All, as a person does it, confirmed in the dialog.
    d.find_element(By.ID, "kernellink").click()
    d.find_element(By.ID, "restart_run_all").click()
    wait(d, "the restart dialog", lambda: d.find_elements(By.CSS_SELECTOR, ".modal-footer .btn-danger"), 10)[0].click()
    start = time.time()
    codes = cells(d)
    first = next(j for j, c in enumerate(codes) if c["text"].startswith("import"))
    # The first import cell compiles the project's packages (seconds after the warm-up of scripts/setup.sh).
    wait(d, "the first import cell to finish",
         lambda: (lambda c: c if c[first]["count"] is not None and not c[first]["running"] else None)(cells(d)), 240)
    run.timings["first import cell"] = round(time.time() - start, 1)
    i = explorer_index(d)
    p = wait_live(d, i, 240)
    run.timings["run all to live controls"] = round(time.time() - start, 1)
    codes = cells(d)
    before = [c for c in codes if not c["interact"]]
    run.check("quickstart: every cell before the interactive one ran",
              all(c["count"] is not None and not c["running"] for c in before),
              ", ".join(f"{c['id'] or c['text'][:12]}=[{c['count']}]" for c in codes))
    run.check("quickstart: no error output",
              not any(c["stderr"] or c["errors"] for c in before), json.dumps([c["stderr"] + c["errors"] for c in before]))
    run.check("quickstart: figures shown", sum(c["images"] for c in codes) >= 3,
              f"{sum(c['images'] for c in codes)} images")
    run.check("quickstart: no empty outputs", not any(c["empty"] for c in codes),
              ", ".join(f"{c['text'][:12]!r}: {c['empty']}" for c in codes if c["empty"]))
    run.check("explorer: labelled slider with its range and value",
              "strength λ" in p["labels"] and "−15" in p["labels"] and "15" in p["labels"] and p["value"] == "λ = 8",
              f"labels {p['labels']}, value {p['value']!r}")
    run.check("explorer: initial picture", p["lambda"] == "8" and p["choice"] == "0" and p["caption"].startswith("λ = 8 · pc 0"),
              p["caption"])
    scroll_to_cell(d, 0)
    run.shot(d, "1-intro")
    scroll_to_cell(d, js(d, "return Jupyter.notebook.get_cells().findIndex(c => c.get_text().includes('s.Edit('))"))
    run.shot(d, "2-strip")

    # Move the slider with the keyboard (three steps left: 8 -> 5), then pick the second direction.
    slider = element(d, i, "input[type=range]")
    scroll_to_cell(d, i)
    js(d, "arguments[0].focus()", slider)
    for _ in range(3):
        slider.send_keys(Keys.ARROW_LEFT)
    p = wait(d, "the picture for λ = 5",
             lambda: (lambda q: q if q["lambda"] == "5" else None)(panel(d, i)), 60)
    run.check("explorer: slider re-renders the edit", p["caption"].startswith("λ = 5 · pc 0") and p["value"] == "λ = 5",
              f"caption {p['caption']!r}, value {p['value']!r}")
    src5 = p["src"]
    Select(element(d, i, "select")).select_by_index(1)
    p = wait(d, "the picture for the second direction",
             lambda: (lambda q: q if q["choice"] == "1" else None)(panel(d, i)), 60)
    run.check("explorer: menu re-renders the edit", p["caption"].startswith("λ = 5 · pc 1") and p["src"] != src5,
              p["caption"])
    scroll_to_cell(d, i)
    run.shot(d, "3-explorer")

    element(d, i, "button").click()
    p = wait_closed(d, i, 30)
    run.check("explorer: Done ends the cell cleanly",
              p["count"] is not None and "Closed with Done" in p["status"] and all(p["disabled"]) and not p["stderr"]
              and p["caption"].startswith("λ = 5 · pc 1"), f"[{p['count']}] {p['status']!r}, stderr {p['stderr']}")
    scroll_to_cell(d, i)
    run.shot(d, "4-done")
    run.timings["quickstart"] = round(time.time() - t0, 1)

    # A kernel interrupt (the ■ button) ends it cleanly too, keeping the last picture (λ = 10 here).
    js(d, "Jupyter.notebook.execute_cells([arguments[0]])", i)
    wait_live(d, i, 120)
    slider = element(d, i, "input[type=range]")
    js(d, "arguments[0].focus()", slider)
    for _ in range(2):
        slider.send_keys(Keys.ARROW_RIGHT)
    wait(d, "the picture for λ = 10", lambda: panel(d, i)["lambda"] == "10", 60)
    d.find_element(By.CSS_SELECTOR, "button[data-jupyter-action='jupyter-notebook:interrupt-kernel']").click()
    p = wait_closed(d, i, 30)
    run.check("explorer: a kernel interrupt ends the cell cleanly, with the last picture and the controls disabled",
              "interrupt" in p["status"] and not p["stderr"] and all(p["disabled"]) and p["caption"].startswith("λ = 10 ·")
              and p["value"] == "λ = 10", f"{p['status']!r}, caption {p['caption']!r}, disabled {p['disabled']}, stderr {p['stderr']}")
    scroll_to_cell(d, i)
    run.shot(d, "5-interrupted")

    # Run All while the controls are live (as after changing a setting): running the first cell ends the
    # interactive cell at once, so no cell waits behind it, and the notebook runs through to new live controls.
    js(d, "Jupyter.notebook.execute_cells([arguments[0]])", i)
    wait_live(d, i, 120)
    old = max(c["count"] for c in cells(d) if isinstance(c["count"], int))
    t1 = time.time()
    d.find_element(By.ID, "celllink").click()
    d.find_element(By.ID, "run_all_cells").click()
    # A blocked re-run would wait for the idle end (2 minutes): the first cell must finish well before that.
    wait(d, "the first cell of Run All to run (the live controls must not block it)",
         lambda: (lambda c: isinstance(c[0]["count"], int) and c[0]["count"] > old and not c[0]["running"])(cells(d)), 45)
    run.timings["run all: first cell after the live controls"] = round(time.time() - t1, 1)
    p = wait_live(d, i, 240)
    codes = cells(d)
    run.check("explorer: Run All is not blocked by the live controls",
              all(isinstance(c["count"], int) and c["count"] > old for c in codes if not c["interact"])
              and not any(c["stderr"] or c["errors"] for c in codes if not c["interact"]) and not p["stderr"],
              ", ".join(f"{c['text'][:12]!r}=[{c['count']}]" for c in codes) + f" (before: up to [{old}])")
    run.timings["run all to live controls again"] = round(time.time() - t1, 1)
    element(d, i, "button").click()
    p = wait_closed(d, i, 30)
    run.check("explorer: Done after Run All", "Closed with Done" in p["status"] and not p["stderr"],
              f"{p['status']!r}, stderr {p['stderr']}")


def check_completion(run, d, server):
    """Tab completion goes through GoNB to gopls: in a new cell, Tab after a prefix of a project name completes it
    (one match is inserted at once; several show a list). The server log must show GoNB running gopls."""
    logtext = server.log()
    run.check("gopls: GoNB runs it", "gopls is not installed" not in logtext and "Executing \"" in logtext
              and "gopls -listen" in logtext, "the server log shows GoNB starting gopls" if "gopls -listen" in logtext
              else "the server log lacks GoNB's gopls start, or says gopls is not installed")
    i = js(d, "return Jupyter.notebook.get_cells().findIndex(c => c.get_text().includes('func session()'))")
    js(d, "const c = Jupyter.notebook.insert_cell_below('code', arguments[0]); c.set_text('%%\\nfig := figures.NewFig');"
          "Jupyter.notebook.select(arguments[0] + 1); Jupyter.notebook.edit_mode(); c.code_mirror.focus();"
          "c.code_mirror.setCursor(1, 22);", i)
    t0 = time.time()
    found = ""
    while time.time() < t0 + 90 and not found:
        d.switch_to.active_element.send_keys(Keys.TAB)  # again if gopls was still loading the packages
        try:
            found = WebDriverWait(d, 15, 0.25).until(lambda _: js(d, """
                const text = Jupyter.notebook.get_cell(arguments[0]).get_text();
                if (text.includes('figures.NewFigure')) return text.split('\\n')[1];
                const opts = Array.from(document.querySelectorAll('#complete select option')).map(o => o.textContent);
                return opts.includes('NewFigure') ? 'list: ' + opts.join(', ') : '';""", i + 1))
        except TimeoutException:
            pass
    run.timings["completion"] = round(time.time() - t0, 1)
    run.check("completion: Tab completes the project's names", found, repr(found))

    # Shift+Tab on a name shows its signature and documentation (GoNB asks gopls for the hover text).
    js(d, "const c = Jupyter.notebook.get_cell(arguments[0]); c.set_text('%%\\nfig := figures.NewFigure(\"x\")');"
          "Jupyter.notebook.edit_mode(); c.code_mirror.focus(); c.code_mirror.setCursor(1, 20);", i + 1)
    t0 = time.time()
    hover = ""
    while time.time() < t0 + 60 and "NewFigure" not in hover:
        ActionChains(d).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        try:
            hover = WebDriverWait(d, 10, 0.25).until(lambda _: js(d, """
                const t = document.querySelector('#tooltip');
                return t && t.offsetHeight > 0 ? t.textContent : '';"""))
        except TimeoutException:
            pass
    run.timings["help (Shift+Tab)"] = round(time.time() - t0, 1)
    run.check("help: Shift+Tab shows a name's signature and documentation", "func" in hover and "NewFigure" in hover,
              repr(" ".join(hover.split())[:160]))
    time.sleep(1.5)  # the tooltip fades in
    run.shot(d, "6-help")
    js(d, "Jupyter.notebook.delete_cell(arguments[0])", i + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--screenshots", help="save notebook-in-browser-*.png here")
    ap.add_argument("--notebooks", nargs="*", help="notebooks (names in notebooks/) for the Markdown check; default all")
    ap.add_argument("--markdown-only", action="store_true", help="only check how the notebooks' Markdown renders")
    args = ap.parse_args()
    if args.screenshots:
        args.screenshots = os.path.abspath(args.screenshots)

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if shutil.which("jupyter") is None:
        missing.append("jupyter")
    if missing:
        print(f"notebook-browser: {', '.join(missing)} not found: install chromium, chromium-driver and "
              f"jupyter-notebook (scripts/setup.sh)")
        sys.exit(2)

    # A SIGTERM (the Go test's timeout) unwinds through the finally below, which stops the server and the browser.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    names = args.notebooks or sorted(n for n in os.listdir(os.path.join(ROOT, "notebooks")) if n.endswith(".ipynb"))
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="browser-test-", dir=os.path.join(ROOT, "build"))
    served = os.path.join(work, "notebooks")
    os.makedirs(served)
    shutil.copy(os.path.join(ROOT, "notebooks", QUICKSTART), served)
    write_all_markdown(served, names)
    run = Run(args)
    server = d = None
    t0 = time.time()
    status = 0
    try:
        server = Server(served, work)
        d = browser(work)
        d.set_script_timeout(30)
        check_markdown(run, d, server, names)
        if not args.markdown_only:
            check_quickstart(run, d, server)
            check_completion(run, d, server)
    except CheckFailed as e:
        log(f"FAIL {e}")
        status = 1
    except Exception:  # a broken run is a failure, with the context needed to fix it
        traceback.print_exc()
        status = 1
    finally:
        if status and d is not None and args.screenshots is None:
            try:
                d.save_screenshot(os.path.join(ROOT, "build", "notebook-browser-failure.png"))
                log("screenshot of the failure: build/notebook-browser-failure.png")
            except Exception:
                pass
        if status and d is not None:
            try:
                log("outputs of the open notebook:\n" + js(d, OUTLINE))
                i = js(d, "return Jupyter.notebook.get_cells().findIndex(c => c.get_text().includes('.Interact('))")
                if i >= 0:
                    log("the interactive cell's controls: " + json.dumps(panel(d, i), ensure_ascii=False))
            except Exception:
                pass
        if status and server is not None:
            log("last lines of the Jupyter server log:\n" + "\n".join(server.log().splitlines()[-40:]))
        if d is not None:
            d.quit()
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if any(not ok for _, ok, _ in run.results):
        status = 1
    summary = {"ok": status == 0, "seconds": round(time.time() - t0, 1), "timings": run.timings,
               "checks": [{"check": n, "ok": ok, "detail": det} for n, ok, det in run.results], "screenshots": run.shots}
    print(json.dumps(summary, ensure_ascii=False))
    sys.exit(status)


if __name__ == "__main__":
    main()
