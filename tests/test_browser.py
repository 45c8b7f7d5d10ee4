"""The committed notebooks as a student sees them: JupyterLab in headless Chromium, untrusted.

A JupyterLab server (fresh config and data folders, so nothing is trusted) serves a
temporary copy of ``notebooks/``; each committed chapter notebook is opened in
Chromium without running anything, and the test checks what the student would see
before pressing a key:

- every figure of the outputs is loaded (``img.complete`` and ``naturalWidth > 0``);
- every audio player has a playable source (``readyState >= HAVE_METADATA``,
  ``duration > 0``, no media error) and plays;
- no output is an error or a traceback, and every output in the file is rendered.

A screenshot of each whole notebook goes to a temporary folder whose path is printed.
Needs Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``),
``selenium`` and ``jupyterlab`` (the ``dev`` extra); where one is missing the tests are
skipped and the reason is printed. Runs in 1-2 minutes on 2 busy cores.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SERVER_START_S = 90     # JupyterLab's first start on a busy 2-core machine
NOTEBOOK_RENDER_S = 60  # opening and rendering one notebook
MAX_SCREENSHOT_PX = 16000


def _say(config, line: str) -> None:
    """Print a line in pytest's output even when output is captured."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:  # pragma: no cover - pytest without its terminal
        print(line, file=sys.stderr)
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        reporter.write_line(line)


def _missing() -> str | None:
    """Why the browser check cannot run here, or None when it can."""
    chromium = os.environ.get("COURSEKIT_CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if not chromium:
        return ("no Chromium (looked for " + ", ".join(CHROMIUM_NAMES) + " and $COURSEKIT_CHROMIUM); "
                "Debian: apt-get install -y chromium chromium-driver")
    if not (os.environ.get("COURSEKIT_CHROMEDRIVER") or shutil.which("chromedriver")):
        return "no chromedriver (or $COURSEKIT_CHROMEDRIVER); Debian: apt-get install -y chromium-driver"
    for module in ("selenium", "jupyterlab"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed: pip install -e '.[dev]'"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_lab(root: Path, port: int, token: str) -> subprocess.Popen:
    """JupyterLab on ``root`` with fresh Jupyter folders: no trusted notebooks, no saved workspace."""
    home = root / "jupyter"
    settings = home / "lab-settings" / "@jupyterlab"
    # every cell in the page (no windowing), and nothing written back to the copies
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    (settings / "docmanager-extension").mkdir(parents=True)
    (settings / "docmanager-extension" / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    log = open(root / "jupyterlab.log", "w")
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],  # CI runs as root
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer {url} within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(request, tmp_path_factory):
    """(driver, base URL, screenshot folder): Chromium on a JupyterLab serving a copy of notebooks/."""
    reason = _missing()
    if reason:
        _say(request.config, f"tests/test_browser.py skipped: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shots = tmp_path_factory.mktemp("screenshots")
    port, token = _free_port(), secrets.token_hex(16)
    proc = _start_lab(root, port, token)
    driver = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_server(f"{base}/api/status?token={token}", proc, root / "jupyterlab.log")
        options = webdriver.ChromeOptions()
        options.binary_location = (os.environ.get("COURSEKIT_CHROMIUM")
                                   or next(filter(None, map(shutil.which, CHROMIUM_NAMES))))
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1280,1000", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                    "--no-first-run", "--disable-extensions"):
            options.add_argument(arg)
        service = Service(os.environ.get("COURSEKIT_CHROMEDRIVER") or shutil.which("chromedriver"))
        driver = webdriver.Chrome(options=options, service=service)
        driver.set_script_timeout(NOTEBOOK_RENDER_S)
        driver.get(f"{base}/lab?token={token}")
        _wait_js(driver, "return !!(window.jupyterapp && window.jupyterapp.shell"
                         " && document.querySelector('#jp-main-dock-panel'));",
                 "JupyterLab's page did not start", SERVER_START_S)
        driver.execute_script("window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight();")
        _say(request.config, f"tests/test_browser.py: screenshots of the notebooks in {shots}")
        yield driver, base, shots
    finally:
        if driver is not None:
            driver.quit()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_js(driver, script: str, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"{what} within {timeout:.0f} s")


# Opens a notebook with JupyterLab's own command, then waits until every cell and
# output is in the page and every image and audio element has settled.
_OPEN = """
const [path, expectedCells, done] = arguments;
(async () => {
  const app = window.jupyterapp;
  await app.commands.execute('application:close-all');
  const widget = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await widget.context.ready;
  await widget.revealed;
  const node = widget.node;
  const deadline = Date.now() + 45000;
  while (Date.now() < deadline) {
    const cells = node.querySelectorAll('.jp-Cell').length;
    const images = [...node.querySelectorAll('.jp-OutputArea-output img')];
    const audios = [...node.querySelectorAll('.jp-OutputArea-output audio')];
    if (cells === expectedCells && images.every(i => i.complete)
        && audios.every(a => a.readyState >= 1 || a.error || a.networkState === 3)) break;
    await new Promise(r => setTimeout(r, 250));
  }
  done(widget.id);
})().catch(e => done('ERROR ' + e));
"""

# What the student sees, as plain data.
_INSPECT = """
const node = document.getElementById(arguments[0]);
const done = arguments[1];
const images = [...node.querySelectorAll('.jp-OutputArea-output img')].map(i => ({
  src: i.src.slice(0, 40), complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}));
const audios = [...node.querySelectorAll('.jp-OutputArea-output audio')];
const outputs = [...node.querySelectorAll('.jp-OutputArea-output')];
const errors = outputs.filter(o => o.querySelector('[data-mime-type="application/vnd.jupyter.stderr"]')
                                   || /Traceback \\(most recent call last\\)/.test(o.textContent))
                      .map(o => o.textContent.slice(0, 300));
(async () => {
  const players = [];
  for (const a of audios) {
    let played = 0, playError = null;
    try {
      a.muted = true;
      await Promise.race([a.play(), new Promise((_, no) => setTimeout(() => no('play() did not start in 5 s'), 5000))]);
      for (let waited = 0; a.currentTime === 0 && waited < 10000; waited += 100) {
        await new Promise(r => setTimeout(r, 100));  // a busy machine may take a while to start playing
      }
      played = a.currentTime;
      a.pause();
      a.currentTime = 0;
      a.muted = false;  // as the student finds it, in the screenshots
    } catch (e) { playError = String(e); }
    players.push({currentSrc: a.currentSrc, readyState: a.readyState, duration: a.duration,
                  error: a.error ? a.error.code : null, handler: a.hasAttribute('onerror'),
                  played, playError});
  }
  done({cells: node.querySelectorAll('.jp-Cell').length, outputs: outputs.length, images, players, errors,
        height: (node.querySelector('.jp-WindowedPanel-outer') || node.querySelector('.jp-Notebook')).scrollHeight});
})().catch(e => done({fatal: String(e)}));
"""


def _screenshots(driver, widget: str, height: int, stem: Path) -> None:
    """The whole notebook, in pictures up to MAX_SCREENSHOT_PX tall, and each audio player's cell."""
    from selenium.webdriver.common.by import By

    parts = range(0, height, MAX_SCREENSHOT_PX - 400)  # the parts overlap by the page's bars and a little more
    try:
        for number, top in enumerate(parts, 1):
            tall = min(height - top + 150, MAX_SCREENSHOT_PX)
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": 1280, "height": tall, "deviceScaleFactor": 1, "mobile": False})
            time.sleep(1.0)  # JupyterLab lays itself out again for the new size
            driver.execute_script("document.querySelector(`#${arguments[0]} .jp-WindowedPanel-outer`).scrollTop = "
                                  "arguments[1];", widget, top)
            time.sleep(0.3)
            driver.save_screenshot(f"{stem}.png" if len(parts) == 1 else f"{stem}-part{number}.png")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    players = driver.find_elements(By.CSS_SELECTOR, f"#{widget} .jp-OutputArea-output audio")
    for number, player in enumerate(players, 1):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", player)
        time.sleep(0.3)
        cell = player.find_element(By.XPATH, "./ancestor::div[contains(@class, 'jp-Cell')][1]")
        cell.screenshot(f"{stem}-player-{number}.png")


def _outputs(nb: dict) -> list[dict]:
    """A notebook's outputs as JupyterLab shows them: consecutive stream outputs of one name
    (e.g. several warnings on stderr) are merged into one output area."""
    shown = []
    for cell in nb["cells"]:
        previous = None
        for output in cell.get("outputs", []):
            stream = output.get("name") if output.get("output_type") == "stream" else None
            if stream is None or stream != previous:
                shown.append(output)
            previous = stream
    return shown


def _html(output: dict) -> str:
    html = output.get("data", {}).get("text/html", "")
    return "".join(html) if isinstance(html, list) else html


def _players(nb: dict) -> int:
    """Audio players in a notebook's HTML outputs."""
    return sum(_html(output).count("<audio") for output in _outputs(nb))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_as_committed_in_jupyterlab(lab, path):
    driver, base, shots = lab
    nb = json.loads(path.read_text(encoding="utf-8"))
    widget = driver.execute_async_script(_OPEN, f"notebooks/{path.name}", len(nb["cells"]))
    assert not str(widget).startswith("ERROR"), f"{path.name}: JupyterLab could not open it: {widget}"
    seen = driver.execute_async_script(_INSPECT, widget)
    assert "fatal" not in seen, f"{path.name}: {seen}"

    _screenshots(driver, widget, seen["height"], shots / path.stem)

    assert seen["cells"] == len(nb["cells"]), f"{path.name}: {seen['cells']} of {len(nb['cells'])} cells in the page"
    assert seen["outputs"] == len(_outputs(nb)), \
        f"{path.name}: {seen['outputs']} outputs in the page, {len(_outputs(nb))} in the file"
    assert not seen["errors"], f"{path.name}: outputs show errors: {seen['errors']}"
    for image in seen["images"]:
        assert image["complete"] and image["width"] > 0, f"{path.name}: a figure did not load: {image}"
    assert len(seen["players"]) == _players(nb), f"{path.name}: players in the page: {seen['players']}"
    for player in seen["players"]:
        assert not player["handler"], \
            f"{path.name}: the notebook was trusted (a player's onerror survived), so this did not test untrusted: {player}"
        assert player["error"] is None and player["readyState"] >= 1 and player["duration"] > 0, \
            f"{path.name}: an audio player has no playable source: {player}"
        assert player["currentSrc"].startswith(f"{base}/files/notebooks/audio/"), \
            f"{path.name}: the player did not play the file beside the notebook: {player}"
        assert player["playError"] is None and player["played"] > 0, f"{path.name}: the player did not play: {player}"


def test_player_without_its_file_plays_the_embedded_clip(lab, tmp_path):
    """Colab (outputs in a frame of its own) or a notebook without its audio/ folder: the player falls back."""
    driver, _, _ = lab
    nb = json.loads((ROOT / "notebooks" / "04_raw_audio.ipynb").read_text(encoding="utf-8"))
    players = [h for h in map(_html, _outputs(nb)) if "<audio" in h]
    assert players, "notebook 04 has no audio player"
    page = tmp_path / "outputs.html"  # an unsanitised page, like Colab's output frame; no audio/ beside it
    page.write_text("<!doctype html><html><body>" + "".join(players) + "</body></html>", encoding="utf-8")
    driver.get(page.as_uri())
    states = _wait_js(driver, """
        const audios = [...document.querySelectorAll('audio')];
        if (!audios.every(a => a.readyState >= 1)) return null;
        return audios.map(a => ({src: a.currentSrc.slice(0, 30), duration: a.duration}));""",
                      "the players did not fall back to their embedded clips", 20)
    for state in states:
        assert state["src"].startswith("data:audio/wav;base64,") and state["duration"] > 0, state
