"""The course in a real browser: JupyterLab driven by headless Chromium through Playwright.

For every notebook with a slider or a quiz (found by reading ``notebooks/*.ipynb``, so new
notebooks are covered without editing this file) the test opens it in JupyterLab at a
projector-sized 1280x800 window, runs all cells from the Run menu, waits for the kernel,
checks that no cell shows an error and that every widget rendered and fits, moves each
slider with the keyboard and checks the numbers and the figure follow, answers a quiz
question wrongly (mouse) and then rightly (keyboard) and checks feedback and score, then
closes the notebook, stops its kernel, reopens it and checks the saved answer is back.
A separate test checks that the course opens on the start notebook as `make lab` does.

Needs Debian's Chromium (``apt-get install chromium``): without it the tests skip, or fail
when ``BN_COURSE_REQUIRE_BROWSER=1`` (set by ``.ci/run``). Select or deselect them with
``-m browser`` / ``-m "not browser"``. Screenshots go to a temporary folder printed at the
end of the run (or to ``$BN_COURSE_SCREENSHOTS``).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import pytest

from browser_support import (
    CHROMIUM_ARGS, INSTALL_HINT, LAYOUT_PROBLEMS_JS, NOTEBOOK_DIR, NOTEBOOK_STATE_JS, REPO,
    SHOWN_ERRORS_JS, SLIDER_PROBE_JS, UNRENDERED_WIDGETS_JS, VIEWPORT, JupyterLab, find_chromium,
    first_single_question, interactive_notebooks, numbers_in, parse_score,
    start_notebook_from_makefile,
)

pytestmark = pytest.mark.browser

REQUIRED = os.environ.get("BN_COURSE_REQUIRE_BROWSER", "").strip() not in ("", "0")
RUN_TIMEOUT = 600  # s for "Run All Cells"; TensorFlow notebooks take 20-40 s alone on 2 busy cores
UI_TIMEOUT = 60_000  # ms for the page to react (generous: the CPU is shared with kernels)
START_NOTEBOOK = start_notebook_from_makefile()
NOTEBOOKS = interactive_notebooks()

# What particular sliders must show, beyond "the numbers and the figure change": after the
# key is pressed on slider bn-slider-<name>, the explorer's readout must match the pattern.
# Notebooks not listed still get the generic checks.
SLIDER_EXPECTATIONS: dict[str, list[tuple[str, str, str]]] = {
    # BN's output has mean beta and std |gamma|*sigma/sqrt(sigma^2+eps), whatever the input.
    "02_numpy_formula": [
        ("gamma", "End", r"std = (\S+) \(= γ·σ/√\(σ²\+ε\) = \1\)"),
        ("beta", "End", r"mean = 6\.0+ \(= β\)"),
    ],
    # The moving average has covered 1 - m^k of the way: 1 - 0.999**1000 = 63.2 %.
    "05_training_vs_inference": [("step", "End", r"1 − m\s*k = 63\.2\s*%")],
    # The batch mean's spread is sigma/sqrt(B): 1/16 = 0.0625 at B = 256, measured and in theory.
    "06_beyond_batchnorm": [("batch_size", "End", r"std of the batch mean = 0\.06\d σ \(theory σ/√B = 0\.06\d σ\)")],
}


def _missing_browser(reason: str):
    message = f"{reason}; {INSTALL_HINT}"
    if REQUIRED:
        pytest.fail(f"BN_COURSE_REQUIRE_BROWSER=1 but {message}", pytrace=False)
    pytest.skip(f"{message}; BN_COURSE_REQUIRE_BROWSER=1 makes this an error")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        _missing_browser("Chromium was not found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("the playwright Python package is not installed (pip install -r requirements.txt)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        except Exception as error:  # found but broken (missing libraries, ...): say so, never skip
            pytest.fail(f"Chromium at {executable} did not start: {error}", pytrace=False)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    # Started like `make lab` (the start notebook on the command line), on a copy of notebooks/.
    server = JupyterLab(tmp_path_factory.mktemp("jupyterlab"), open_file=START_NOTEBOOK)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def screenshots(request):
    folder = os.environ.get("BN_COURSE_SCREENSHOTS") or tempfile.mkdtemp(prefix="bn-course-screenshots-")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and any(folder.iterdir()):
        reporter.write_line(f"browser test screenshots: {folder}")


@pytest.fixture
def context(request, browser, lab, screenshots):
    """``context()`` opens a page in a fresh browser profile; all are closed and their kernels
    stopped afterwards. If the test failed, the pages still open are saved as screenshots."""
    contexts = []
    failed_before = request.session.testsfailed

    def new_page():
        ctx = browser.new_context(viewport=VIEWPORT)
        ctx.set_default_timeout(UI_TIMEOUT)
        contexts.append(ctx)
        return ctx.new_page()

    yield new_page
    if request.session.testsfailed > failed_before:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for i, page in enumerate(p for ctx in contexts for p in ctx.pages):
            try:
                page.screenshot(path=str(screenshots / f"FAILED-{name}-{i}.png"))
            except Exception:  # the page may be the reason for the failure
                pass
        print(f"JupyterLab log: {lab.log_path}\n{lab.log_tail(15)}")
    for ctx in contexts:
        ctx.close()
    lab.shutdown_kernels()


# --------------------------------------------------------------------------- page actions


def notebook_state(page):
    return page.evaluate(NOTEBOOK_STATE_JS)


def open_notebook(page, lab, relative_path):
    """Open a notebook in a fresh workspace and wait until its kernel is idle."""
    page.goto(lab.lab_url(relative_path))
    wait_for_kernel(page, relative_path)


def wait_for_kernel(page, relative_path, timeout=180):
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = notebook_state(page)
        if state.get("dialog"):
            pytest.fail(f"JupyterLab shows a dialog while opening {relative_path}: {state['dialog']}")
        if state.get("ready") and state["path"] == relative_path and state["kernel"] == "idle":
            return state
        time.sleep(0.25)
    pytest.fail(f"{relative_path}: no idle kernel after {timeout} s (last state {state})")


def menu(page, top, item):
    """Click a main-menu entry, as a learner would (e.g. Run > Run All Cells)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def run_all(page, relative_path):
    """Clear the committed outputs (so completion is visible), then Run > Run All Cells."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    for _ in range(100):
        state = notebook_state(page)
        if state["done"] == 0:
            break
        time.sleep(0.1)
    assert state["done"] == 0, f"clearing outputs left execution counts: {state}"
    started = time.monotonic()
    menu(page, "Run", "Run All Cells")
    deadline = started + RUN_TIMEOUT
    while time.monotonic() < deadline:
        state = notebook_state(page)
        if state["problems"]:
            pytest.fail(f"{relative_path} failed while running in JupyterLab:\n" + "\n".join(state["problems"]))
        if state.get("dialog"):
            pytest.fail(f"JupyterLab shows a dialog while running {relative_path}: {state['dialog']}")
        if state["done"] == state["total"] and state["queued"] == 0 and state["kernel"] == "idle":
            return time.monotonic() - started
        time.sleep(0.5)
    pytest.fail(f"{relative_path}: not finished after {RUN_TIMEOUT} s ({state['done']} of {state['total']} "
                f"code cells ran, kernel {state['kernel']})")


def notebook_node(page):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first


def check_nothing_broken(page, relative_path):
    node = notebook_node(page)
    shown = node.evaluate(SHOWN_ERRORS_JS)
    assert not shown, f"{relative_path} shows errors in the browser:\n" + "\n".join(shown)
    unrendered = node.evaluate(UNRENDERED_WIDGETS_JS)
    assert not unrendered, f"{relative_path}: widgets did not render in cells {unrendered}"


def layout_problems(page, selector):
    problems = []
    for element in notebook_node(page).locator(selector).all():
        element.scroll_into_view_if_needed()
        problems += element.evaluate(LAYOUT_PROBLEMS_JS)
    return problems


def settle(slider, before, timeout=30.0, quiet=0.6):
    """Wait until the explorer's readout/figure changed and then stayed put for ``quiet`` s with
    the kernel idle (the readout and the figure arrive in separate messages).

    Returns (state, seconds from the key press to the first visible change, or None)."""
    started = time.monotonic()
    first_change = None
    shown = lambda state: (state["readout"], state["src"], state["value"])  # noqa: E731
    now = slider.evaluate(SLIDER_PROBE_JS)
    last_shown, last_change = shown(now), time.monotonic()
    while time.monotonic() - started < timeout:
        time.sleep(0.05)
        now = slider.evaluate(SLIDER_PROBE_JS)
        if shown(now) != last_shown:
            last_shown, last_change = shown(now), time.monotonic()
        changed = (now["readout"], now["src"]) != (before["readout"], before["src"])
        if changed and first_change is None:
            first_change = time.monotonic() - started
        if changed and now["loaded"] is not False and now["kernel"] == "idle" \
                and time.monotonic() - last_change >= quiet:
            break
    return now, first_change


def press(page, slider, key):
    handle = slider.locator(".noUi-handle")
    handle.focus()
    before = slider.evaluate(SLIDER_PROBE_JS)
    page.keyboard.press(key)
    return before, *settle(slider, before)


def exercise_slider(page, slider, stem):
    """One step with an arrow key, then to the end of the range; returns what changed."""
    start = slider.evaluate(SLIDER_PROBE_JS)
    name = start["name"]
    assert start["handle"] and start["now"] is not None, f"slider {name}: no keyboard handle (.noUi-handle)"
    # Does the value box show the position itself (a number slider) or a label (a SelectionSlider)?
    numeric = value_matches(start["value"], start["now"])
    up = start["now"] < start["max"]
    before, step, step_latency = press(page, slider, "ArrowRight" if up else "ArrowLeft")
    assert (step["now"] > before["now"]) if up else (step["now"] < before["now"]), \
        f"slider {name}: an arrow key did not move it ({before['now']} -> {step['now']})"
    target = "End" if step["now"] < step["max"] else "Home"
    _, end, end_latency = press(page, slider, target)
    expected = end["max"] if target == "End" else end["min"]
    assert end["now"] == pytest.approx(expected), f"slider {name}: {target} did not reach {expected}: {end}"
    assert len({start["value"], step["value"], end["value"]}) == 3, \
        f"slider {name}: its value box did not follow the moves ({start['value']}, {step['value']}, {end['value']})"
    if numeric:
        assert value_matches(end["value"], expected), \
            f"slider {name}: its value box shows {end['value']!r} at {expected}"
    readout_changed = len({start["readout"], step["readout"], end["readout"]}) > 1
    figure_changed = len({start["src"], step["src"], end["src"]}) > 1
    assert readout_changed or figure_changed, \
        f"slider {name} moved from {start['value']} to {end['value']} but neither the numbers nor the figure changed"
    if figure_changed:
        assert end["loaded"], f"slider {name}: the new figure did not load"
    checked = []
    for slider_name, key, pattern in SLIDER_EXPECTATIONS.get(stem, []):
        if slider_name == name and key == target:
            assert re.search(pattern, end["readout"] or ""), \
                f"slider {name} at {target}: the readout should match {pattern!r}, it shows {end['readout']!r}"
            checked.append((slider_name, key, pattern))
    latencies = [x for x in (step_latency, end_latency) if x is not None]
    return {"explorer": end["explorer"], "readout": readout_changed, "figure": figure_changed,
            "has_readout": bool(start["readout"]), "has_figure": start["src"] is not None,
            "latencies": latencies, "checked": checked}


def value_matches(text, position):
    """True if a slider's value box shows its position (to the precision it prints)."""
    shown = numbers_in(text)
    if not shown:
        return False
    decimals = len(re.search(r"\.(\d*)", text).group(1)) if "." in text else 0
    return abs(shown[0] - position) <= 0.51 * 10 ** -decimals + 1e-9


def quiz_box(page, bank_index):
    return notebook_node(page).locator(".bn-quiz").nth(bank_index)


def answer_quiz(page, bank, bank_index):
    """Answer the bank's first single-choice question wrongly by mouse, then rightly by keyboard."""
    position, spec, wrong, right = first_single_question(bank)
    quiz = quiz_box(page, bank_index)
    question = quiz.locator(".bn-quiz-question").nth(position)
    question.scroll_into_view_if_needed()
    score = quiz.locator(".bn-quiz-score")
    feedback = question.locator(".bn-quiz-feedback")
    radios = question.locator(".bn-quiz-option input[type=radio]")
    assert radios.count() == len(spec["options"]), \
        f"{bank} question {spec['id']}: {radios.count()} radio buttons for {len(spec['options'])} options"
    assert not feedback.text_content().strip(), f"{bank} question {spec['id']} already has feedback before answering"
    correct0, answered0 = parse_score(score.text_content())

    radios.nth(wrong).click()
    wait_until_idle(page)  # a person takes a moment between choosing and pressing Check
    question.locator(".bn-quiz-check").click()
    page.wait_for_function("(el) => el.textContent.trim().length > 0", arg=feedback.element_handle())
    text = feedback.inner_text()
    assert "Not quite" in text and "Correct" not in text.split("Explanation")[0], \
        f"{bank} {spec['id']}: wrong option ({chr(97 + wrong)}) got feedback {text!r}"
    assert "Explanation" in text, f"{bank} {spec['id']}: no explanation after a wrong answer: {text!r}"
    wait_for_score(page, score, (correct0, answered0 + 1))

    # Keyboard only: select the right option with Space, press Check with Enter.
    radios.nth(right).focus()
    page.keyboard.press("Space")
    assert radios.nth(right).is_checked(), "Space did not select the focused radio button"
    wait_until_idle(page)
    check = question.locator(".bn-quiz-check")
    check.focus()
    assert check.evaluate("(el) => el === document.activeElement"), "the Check button cannot take the focus"
    page.keyboard.press("Enter")
    try:
        page.wait_for_function("(el) => el.textContent.includes('Correct')", arg=feedback.element_handle())
    except Exception:
        focused = page.evaluate("() => document.activeElement.outerHTML.slice(0, 200)")
        raise AssertionError(f"{bank} {spec['id']}: Enter on Check after choosing ({chr(97 + right)}) with Space "
                             f"did not give 'Correct': feedback {feedback.inner_text()!r}, focus on {focused}")
    assert "Not quite" not in feedback.inner_text()
    wait_for_score(page, score, (correct0 + 1, answered0 + 1))
    return position, spec, right, score.text_content()


def wait_until_idle(page, quiet=0.3, timeout=60):
    """Wait until the notebook's kernel has been idle for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        if notebook_state(page).get("kernel") == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= quiet:
                return
        else:
            idle_since = None
        time.sleep(0.05)
    raise AssertionError(f"the kernel stayed busy for {timeout} s")


def wait_for_score(page, score, expected, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if parse_score(score.text_content()) == expected:
            return
        time.sleep(0.1)
    raise AssertionError(f"quiz score should read {expected[0]} correct, {expected[1]} answered: "
                         f"{score.text_content()!r}")


def run_cell_containing(page, text):
    """Click into the code cell whose source contains ``text`` and run it with Shift+Enter."""
    cell = notebook_node(page).locator(".jp-CodeCell").filter(
        has=page.locator(".jp-InputArea", has_text=text)).first
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    return cell


# --------------------------------------------------------------------------- tests


def test_course_opens_on_the_start_notebook(lab, context, screenshots):
    """`make lab` passes the start notebook; the URL Jupyter opens for it shows that notebook."""
    assert START_NOTEBOOK, "the Makefile's `lab` recipe names no notebooks/*.ipynb to open"
    path = REPO / START_NOTEBOOK
    assert path.exists(), f"`make lab` opens {START_NOTEBOOK}, which does not exist"
    assert path.name == sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))[0].name, \
        "the course should open on its first notebook"
    first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
    heading = "".join(first["source"]).splitlines()[0].lstrip("#").strip()

    page = context()
    # The file Jupyter writes for the browser (what `make lab` opens): it redirects to the lab.
    page.goto(lab.browser_open_file().as_uri())
    page.wait_for_url(re.compile(rf"^{re.escape(lab.base)}/lab"), timeout=UI_TIMEOUT)
    wait_for_kernel(page, START_NOTEBOOK)
    tab = page.locator(".jp-mod-current .lm-TabBar-tabLabel, .lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel")
    assert path.name in tab.first.inner_text()
    h1 = notebook_node(page).locator(".jp-RenderedMarkdown h1").first
    h1.wait_for()
    shown = h1.inner_text().replace("¶", "").strip()
    assert shown == heading, f"the start notebook's title renders as {shown!r}, expected {heading!r}"
    # Before anything runs, the committed outputs must not show errors either.
    errors = notebook_node(page).evaluate(SHOWN_ERRORS_JS)
    assert not errors, f"{START_NOTEBOOK} shows errors as soon as it opens:\n" + "\n".join(errors)
    page.screenshot(path=str(screenshots / "start-notebook.png"))


@pytest.mark.parametrize("info", NOTEBOOKS, ids=[info.stem for info in NOTEBOOKS])
def test_notebook_in_browser(info, lab, context, screenshots):
    relative = f"notebooks/{info.path.name}"
    page = context()
    open_notebook(page, lab, relative)
    seconds = run_all(page, relative)
    print(f"{info.stem}: Run All Cells took {seconds:.1f} s in the browser")
    check_nothing_broken(page, relative)
    page.screenshot(path=str(screenshots / f"{info.stem}-0-top.png"))

    node = notebook_node(page)
    sliders = node.locator(".bn-slider")
    quizzes = node.locator(".bn-quiz")
    if info.mentions_slider:
        assert sliders.count() > 0, f"{relative} builds an explorer but no .bn-slider rendered"
    assert quizzes.count() == len(info.quiz_banks), \
        f"{relative} calls quiz.show for {info.quiz_banks} but {quizzes.count()} quizzes rendered"
    assert sliders.count() or quizzes.count(), f"{relative} has widget outputs but no slider or quiz rendered"

    problems = layout_problems(page, ".bn-explorer, .bn-quiz")
    assert not problems, f"{relative} at {VIEWPORT['width']}x{VIEWPORT['height']}:\n" + "\n".join(problems)

    # Sliders: every one, with the keyboard.
    results = []
    for i in range(sliders.count()):
        result = exercise_slider(page, sliders.nth(i), info.stem)
        result["slider"] = i
        results.append(result)
    groups = {}  # an explorer's sliders together; a lone slider on its own
    for r in results:
        groups.setdefault(r["explorer"] if r["explorer"] >= 0 else f"slider-{r['slider']}", []).append(r)
    for key, moved in groups.items():
        if moved[0]["has_figure"]:
            assert any(r["figure"] for r in moved), f"explorer {key}: no slider changed the figure"
        if moved[0]["has_readout"]:
            assert any(r["readout"] for r in moved), f"explorer {key}: no slider changed the numbers"
        target = node.locator(".bn-explorer").nth(key) if isinstance(key, int) else sliders.nth(moved[0]["slider"])
        target.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshots / f"{info.stem}-1-explorer-{key}.png"))
    checked = [c for r in results for c in r["checked"]]
    missed = [e for e in SLIDER_EXPECTATIONS.get(info.stem, []) if e not in checked]
    assert not missed, f"{relative}: these slider expectations were never reached (slider renamed or moved?): {missed}"
    latencies = [x for r in results for x in r["latencies"]]
    if latencies:  # reported, never asserted (see benchmarks/ for the timed figures)
        print(f"{info.stem}: {len(results)} sliders; key press to first visible change: median "
              f"{1000 * statistics.median(latencies):.0f} ms, max {1000 * max(latencies):.0f} ms")
    check_nothing_broken(page, relative)

    # Quizzes: answer, then close everything, reopen and find the saved answer again.
    answered = []
    for index, bank in enumerate(info.quiz_banks):
        answered.append((bank, *answer_quiz(page, bank, index)))
        page.screenshot(path=str(screenshots / f"{info.stem}-2-quiz-{bank}.png"))
    if not answered:
        return
    menu(page, "File", "Save Notebook")
    page.close()
    lab.shutdown_kernels()  # as if JupyterLab had been closed

    page = context()
    open_notebook(page, lab, relative)
    for bank, position, spec, right, score_text in answered:
        cell = run_cell_containing(page, f'quiz.show("{bank}")')
        quiz = cell.locator(".bn-quiz")
        quiz.wait_for(timeout=UI_TIMEOUT)
        question = quiz.locator(".bn-quiz-question").nth(position)
        question.scroll_into_view_if_needed()
        page.wait_for_function("(el) => el.textContent.includes('Correct')",
                               arg=question.locator(".bn-quiz-feedback").element_handle())
        assert question.locator(".bn-quiz-option input[type=radio]").nth(right).is_checked(), \
            f"{bank} {spec['id']}: the saved answer is not selected after reopening"
        assert parse_score(quiz.locator(".bn-quiz-score").text_content()) == parse_score(score_text)
        page.screenshot(path=str(screenshots / f"{info.stem}-3-reopened-{bank}.png"))
