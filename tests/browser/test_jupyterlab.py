"""The notebooks in a real JupyterLab, driven by headless Chromium: run all, widgets render and talk to the kernel.

A JupyterLab server (127.0.0.1, free port, no token, news and update checks off, a private Jupyter
home) serves copies of notebooks 01, 04 and 05 whose ``profile`` is set to ``ci`` by hand, as a user
would. Its kernels see the outputs root of the ``ci_pipeline`` fixture (every round already trained,
so nothing trains here) and a copy of ``params/`` (the round editor writes there, never into the
repo). Each notebook runs with Run > Run All Cells; the test then uses the widgets like a user and
checks that the kernel answered. A screenshot of each notebook is kept under
``$YWB_TEST_ARTIFACTS/jupyterlab/`` (default: ``test-artifacts/`` in the repository, gitignored, never
``outputs/``); every process started here is stopped and checked gone.

Needs the system Chromium (Debian ``chromium``; ``make test`` installs it) and the ``playwright``
package (the ``browser`` extra); no browser is downloaded. Without them the tests skip, except in CI
(``CI`` set), where they fail.

Developer shortcut: ``YWB_BROWSER_OUTPUTS=/some/outputs`` uses an outputs root prepared once with
``yolo-workbook demo-data --size ci`` and ``YOLO_WORKBOOK_OUTPUTS=/some/outputs yolo-workbook
pipeline --profile ci`` instead of the ``ci_pipeline`` fixture (3-4 minutes), e.g.
``YWB_BROWSER_OUTPUTS=/tmp/ci-out .venv/bin/python -m pytest tests/browser/test_jupyterlab.py -s``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from conftest import ROOT
from jupyterlab_session import JupyterLab, chromium_browser, descendants, pid_alive, require_chromium, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(os.environ.get("YWB_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "jupyterlab"
NOTEBOOKS = ["01_env_setup", "04_tune_round", "05_predict_json"]
RUN_ALL_TIMEOUT_S = 180
WIDGET_TIMEOUT_MS = 30_000
EDITOR_ROUND = "r09_browser_test"

# Done when every code cell has left the queue ([*]) and at least one ran; the kernel is idle.
_RUN_FINISHED_JS = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  const indicator = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
  return prompts.length > 0 && !prompts.some(p => p.includes('*')) && prompts.some(p => /\\d/.test(p))
    && (!indicator || indicator.dataset.status === 'idle');
}"""
# The source of every image inside an element: changes when the kernel sends a new figure.
_IMAGE_SOURCES_JS = "el => [...el.querySelectorAll('img')].map(img => img.src)"
_IMAGE_SOURCE_JS = "el => (el.tagName === 'IMG' ? el : el.querySelector('img')).src"


@pytest.fixture(scope="module")
def chromium() -> str:
    """The system Chromium and Playwright; skipped (outside CI) when either is missing."""
    return require_chromium()


@pytest.fixture(scope="module")
def lab_outputs(chromium: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of an outputs root where every ci round is finished (the browser test writes the journal)."""
    prepared = os.environ.get("YWB_BROWSER_OUTPUTS")
    source = Path(prepared) if prepared else request.getfixturevalue("ci_pipeline")
    assert (source / "ci" / "r04_lr_cos" / "metrics.json").is_file(), f"{source}: the ci rounds did not run"
    return Path(shutil.copytree(source, tmp_path_factory.mktemp("lab") / "outputs", symlinks=True))


@pytest.fixture(scope="module")
def lab_params(tmp_path_factory: pytest.TempPathFactory, session_params: Path) -> Path:
    """A copy of the params the outputs were made with: the round editor writes its new round files here.

    The tests' own params (``session_params``: the ci profile on this session's data), or with
    ``YWB_BROWSER_OUTPUTS`` the repository's, with which that outputs root was prepared: a round whose
    data paths differ from its record's would not be up to date.
    """
    source = ROOT / "params" if os.environ.get("YWB_BROWSER_OUTPUTS") else session_params
    return Path(shutil.copytree(source, tmp_path_factory.mktemp("lab") / "params"))


def _copy_with_profile(name: str, folder: Path, profile: str) -> Path:
    """Copy a notebook and set ``profile`` in its parameters cell by hand (no papermill cell)."""
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    before = 'profile: str = ""'
    assert before in cell.source, f"{name}: the parameters cell has no `{before}` line"
    cell.source = cell.source.replace(before, f'profile: str = "{profile}"', 1)
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def lab(
    chromium: str, lab_outputs: Path, lab_params: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterLab]:
    """A JupyterLab server over copies of the notebooks; stopped with its kernels, none left behind."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "notebooks"
    root.mkdir()
    for name in NOTEBOOKS:
        _copy_with_profile(name, root, "ci")
    # All cells in the DOM (no windowing): prompts and outputs of every cell can be read.
    settings = base / "home" / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    server = JupyterLab(
        root,
        base / "home",
        env={"YOLO_WORKBOOK_OUTPUTS": str(lab_outputs), "YOLO_WORKBOOK_PARAMS": str(lab_params)},
    )
    server.start()
    try:
        yield server
    finally:
        leftovers = server.stop()
        print(f"\nJupyterLab log: {server.log_path}")
    assert not leftovers, f"processes still running after the server stopped: {leftovers}"


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    """Headless system Chromium; afterwards none of its processes (nor Playwright's driver) is left."""
    before = set(descendants(os.getpid()))
    with chromium_browser(chromium) as launched:
        started = set(descendants(os.getpid())) - before  # the driver and Chromium, nothing else yet
        assert started, "no browser process seen"
        yield launched
        for pid in list(started):  # Chromium's renderers, started since
            started.update(descendants(pid))
    with suppress(TimeoutError):
        wait_for(lambda: not any(pid_alive(pid) for pid in started), timeout=10, what="the browser to exit")
    leftovers = sorted(pid for pid in started if pid_alive(pid))
    assert not leftovers, f"browser processes left behind: {leftovers}"


@pytest.fixture(scope="module")
def notebook(lab: JupyterLab, browser: Any) -> Iterator[Callable[[str], Any]]:
    """Open a notebook in JupyterLab and run all its cells (once per module); a screenshot of each at the end."""
    pages: dict[str, Any] = {}

    def open_and_run(name: str) -> Any:
        if name not in pages:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            pages[name] = page
            # One workspace per notebook: a page does not restore the tabs and layout of another.
            page.goto(f"{lab.url}/lab/workspaces/{name}/tree/{name}.ipynb")
            run_all_cells(page, name, lab.root_dir / f"{name}.ipynb")
            assert lab.remember_kernel_pids(), "no kernel process under the server"
        return pages[name]

    yield open_and_run
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, page in pages.items():
        path = ARTIFACTS / f"{name}.png"
        try:
            full_screenshot(page, path)
            print(f"\nscreenshot: {path}")
        except Exception as exc:  # an artifact only: a failed screenshot must not hide the test's result
            print(f"\nno screenshot of {name}: {exc}")
        finally:
            page.context.close()


def run_all_cells(page: Any, name: str, path: Path) -> None:
    """Wait for the kernel, Run > Run All Cells, wait until it is done, save, and fail on an error output."""
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=60_000)
    # Fold the file browser away: the screenshot shows the notebook.
    sidebar = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if sidebar.count():
        sidebar.click()
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()  # the notebook is the current widget
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']:not(.lm-mod-disabled)").click()
    page.wait_for_function(_RUN_FINISHED_JS, timeout=RUN_ALL_TIMEOUT_S * 1000, polling=250)
    # Save (outputs go to disk) to read errors from the notebook itself, not from what the DOM shows.
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    page.wait_for_selector(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty", state="detached", timeout=30_000)
    saved = nbformat.read(path, as_version=4)
    errors = [
        f"{out.get('ename')}: {out.get('evalue')}\n" + _plain("\n".join(out.get("traceback", [])))[-3000:]
        for cell in saved.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, f"{name}: a cell failed in JupyterLab:\n" + "\n".join(errors)
    not_run = [i for i, c in enumerate(saved.cells) if c.cell_type == "code" and c.execution_count is None]
    assert not not_run, f"{name}: cells {not_run} did not run"
    widget_errors = page.locator(".jp-NotebookPanel :text('Error displaying widget')")
    assert widget_errors.count() == 0, f"{name}: {widget_errors.first.inner_text()}"


def full_screenshot(page: Any, path: Path) -> None:
    """A screenshot of the whole notebook: the window is made as tall as its cells (the page itself never scrolls)."""
    # [height the cells need, height the notebook has now]; the space below the last cell is left out.
    measure = """() => {
      const outer = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
      const cells = document.querySelectorAll('.jp-NotebookPanel .jp-Cell');
      if (!outer || !cells.length) return [0, 0];
      const top = cells[0].getBoundingClientRect().top + outer.scrollTop - outer.getBoundingClientRect().top;
      const bottom = cells[cells.length - 1].getBoundingClientRect().bottom + outer.scrollTop
        - outer.getBoundingClientRect().top;
      return [Math.ceil(bottom + top), outer.clientHeight];
    }"""
    for _ in range(3):
        needed, shown = page.evaluate(measure)
        if shown >= needed:
            break
        height = min(page.viewport_size["height"] + needed - shown + 24, 16_000)
        page.set_viewport_size({"width": 1400, "height": height})
        with suppress(Exception):  # the notebook relayouts on the next frames: wait for its new height
            page.wait_for_function(f"() => ({measure})()[1] !== {shown}", timeout=5_000)
    page.evaluate("() => document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')?.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _image_digests(sources: list[str]) -> list[str]:
    """Short digests of data: URLs (figures), the URL itself otherwise."""
    digests = []
    for src in sources:
        if src.startswith("data:") and "," in src:
            digests.append(hashlib.sha1(base64.b64decode(src.split(",", 1)[1])).hexdigest()[:12])
        else:
            digests.append(src)
    return digests


def _text(page: Any, selector: str) -> str:
    return page.locator(selector).first.inner_text()


def test_jupyterlab_is_local_tokenless_and_offline(lab: JupyterLab) -> None:
    assert lab.url.startswith("http://127.0.0.1:")
    assert lab.api("GET", "/api/status") is not None  # no token asked
    config = lab.page_config()
    assert config["token"] == ""
    assert config["news"] == {"disabled": True}
    assert "@jupyterlab/apputils-extension:announcements" in config["disabledExtensions"]
    assert config["extensionManager"]["can_install"] is False  # no PyPI look-ups from the extension manager
    assert lab.api("GET", "/lab/api/news") == {"news": []}
    assert lab.api("GET", "/lab/api/update") == {"notification": None}


def test_env_setup_runs_in_jupyterlab(notebook: Callable[[str], Any]) -> None:
    page = notebook("01_env_setup")
    outputs = page.locator(".jp-NotebookPanel .jp-OutputArea-output").all_inner_texts()
    assert any("e00_env_setup" in text and "profile ci" in text for text in outputs), outputs[:3]
    figures = page.locator(".jp-NotebookPanel .jp-OutputArea-output[data-mime-type='image/png'] img")
    assert figures.count() >= 2  # class balance and box sizes


def test_compare_widget_redraws_when_the_rounds_change(notebook: Callable[[str], Any]) -> None:
    page = notebook("04_tune_round")
    outputs = "\n".join(page.locator(".jp-NotebookPanel .jp-OutputArea-output").all_inner_texts())
    assert "r04_lr_cos is up to date" in outputs  # the ci pipeline trained it: nothing trains here
    compare = page.locator(".ywb-compare, .widget-vbox:has(> .widget-select-multiple)").first
    compare.wait_for(timeout=WIDGET_TIMEOUT_MS)
    options = compare.locator("select option")
    ids = options.all_inner_texts()
    assert "r04_lr_cos" in ids and "r01_base" in ids, ids
    before = _image_digests(compare.evaluate(_IMAGE_SOURCES_JS))
    assert before, "the comparison widget shows no figure"

    compare.locator("select option", has_text=re.compile(r"^r01_base$")).click()

    wait_for(
        lambda: (now := _image_digests(compare.evaluate(_IMAGE_SOURCES_JS))) and now != before,
        timeout=WIDGET_TIMEOUT_MS / 1000,
        what="the kernel to redraw the comparison for r01_base alone",
    )
    selected = compare.evaluate("el => [...el.querySelector('select').selectedOptions].map(o => o.value)")
    assert selected == ["r01_base"]
    shown = compare.locator(".ywb-compare-shown")  # the kernel's own account of what it drew
    assert shown.count() == 1, "the comparison widget has no .ywb-compare-shown line"
    assert "r01_base" in shown.inner_text() and "r04_lr_cos" not in shown.inner_text()


def _errors(lint_text: str) -> list[str]:
    """The lint's error lines (``params/r09_x.yaml:7: error: train.lr0: ...``); warnings are allowed."""
    return [line for line in lint_text.splitlines() if ": error:" in line]


def test_round_editor_lints_live_and_writes_a_round_file(notebook: Callable[[str], Any], lab_params: Path) -> None:
    page = notebook("04_tune_round")
    editor = page.locator(".ywb-editor").first
    editor.wait_for(timeout=WIDGET_TIMEOUT_MS)
    round_id = editor.locator(".ywb-editor-id input")
    assert re.fullmatch(r"r10_\w+", round_id.input_value()), round_id.input_value()  # r09 is taken
    lint = editor.locator(".ywb-editor-lint")
    lr0 = editor.locator(".ywb-arg-lr0 input")

    why = "a lower lr0 from the browser test"
    editor.locator(".ywb-editor-why textarea").fill(why)
    lr0.fill("abc")
    lr0.press("Enter")  # the argument fields send their value on Enter or blur
    wait_for(
        lambda: any("lr0" in line for line in _errors(lint.inner_text())),
        timeout=WIDGET_TIMEOUT_MS / 1000,
        what="the live lint to report an error for train.lr0 = 'abc'",
    )
    assert editor.locator("button.ywb-editor-write, .ywb-editor-write button").first.is_disabled()

    lr0.fill("0.005")
    lr0.press("Enter")
    wait_for(
        lambda: not _errors(lint.inner_text()),
        timeout=WIDGET_TIMEOUT_MS / 1000,
        what="the live lint to clear once lr0 is a number",
    )
    round_id.fill(EDITOR_ROUND)
    round_id.press("Enter")
    wait_for(
        lambda: f"round_id: {EDITOR_ROUND}" in editor.locator(".ywb-editor-preview").inner_text(),
        timeout=WIDGET_TIMEOUT_MS / 1000,
        what="the preview to take the new round id",
    )
    assert not _errors(lint.inner_text()), lint.inner_text()

    editor.locator("button.ywb-editor-write, .ywb-editor-write button").first.click()

    written = lab_params / f"{EDITOR_ROUND}.yaml"
    status = editor.locator(".ywb-editor-status")
    wait_for(
        lambda: written.is_file() and "wrote" in status.inner_text(),
        timeout=WIDGET_TIMEOUT_MS / 1000,
        what=f"the editor to write {written}",
    )
    assert f"{EDITOR_ROUND}.yaml" in status.inner_text()
    data = yaml.safe_load(written.read_text(encoding="utf-8"))
    assert data["extends"] == "r04_lr_cos"
    assert data["round_id"] == EDITOR_ROUND
    assert float(data["train"]["lr0"]) == pytest.approx(0.005)
    assert data["why"].strip() == why
    assert not (ROOT / "params" / f"{EDITOR_ROUND}.yaml").exists(), "the editor wrote into the repo's params/"
    wait_for(
        lambda: round_id.input_value().startswith("r10_") and not _errors(lint.inner_text()),
        timeout=WIDGET_TIMEOUT_MS / 1000,
        what="the editor to move on to the next free round id (r09 is taken now)",
    )


def test_frame_browser_follows_the_slider(notebook: Callable[[str], Any]) -> None:
    page = notebook("05_predict_json")
    frames = page.locator(".ywb-frames").first
    frames.wait_for(timeout=WIDGET_TIMEOUT_MS)
    counts = frames.locator(".ywb-frames-counts")
    image = frames.locator(".ywb-frames-image").first

    def state() -> tuple[str, str]:
        return counts.inner_text().strip(), image.evaluate(_IMAGE_SOURCE_JS)

    first_text, first_image = state()
    match = re.search(r"frame (\d+)", first_text)
    assert match, first_text
    handle = frames.locator(".ywb-frames-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    text, src = wait_for(
        lambda: (now := state())[0] != first_text and now,
        timeout=WIDGET_TIMEOUT_MS / 1000,
        what="the counts to follow the slider (ArrowRight)",
    )
    assert int(re.search(r"frame (\d+)", text).group(1)) > int(match.group(1)), text
    assert src != first_image, "the frame image did not change"
    handle.press("End")
    last_text, last_image = wait_for(
        lambda: (now := state())[0] != text and now,
        timeout=WIDGET_TIMEOUT_MS / 1000,
        what="the counts to follow the slider (End)",
    )
    assert int(re.search(r"frame (\d+)", last_text).group(1)) > int(re.search(r"frame (\d+)", text).group(1))
    assert last_image != src
