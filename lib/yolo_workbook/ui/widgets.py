"""The notebooks' interactive parts (ipywidgets): compare rounds, draft the next round, browse frames.

Each function shows its widget in JupyterLab and returns it. Run headless (papermill, nbval) a
widget would never be seen: the function then shows what a reader needs statically (figures, or a
line saying what the widget does) and returns ``None``. Every widget carries CSS classes
(``ywb-*``) so that a browser test can find it.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import Round, next_round_id, papermill_parameters_cell
from yolo_workbook.prediction.detections import Detections
from yolo_workbook.reporting import plots


def running_headless() -> bool:
    """True under papermill (or outside a kernel): widgets would not be seen, show static figures."""
    try:
        from IPython import get_ipython
    except ImportError:
        return True
    shell = get_ipython()
    return shell is None or type(shell).__name__ != "ZMQInteractiveShell" or papermill_parameters_cell() is not None


def show_comparison(records: list[dict[str, Any]], *, profile: str) -> Any:
    """In JupyterLab: a widget that picks the rounds to compare; headless: the same figures, static."""
    usable = [r for r in records if r.get("per_class")]
    if running_headless() or not usable:
        plots.per_class_ap(usable)
        plots.training_curves(usable, profile=profile)
        return None
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    ids = [r["round_id"] for r in usable]
    picker = widgets.SelectMultiple(options=ids, value=tuple(ids), rows=min(8, len(ids)), description="rounds")
    shown = widgets.HTML().add_class("ywb-compare-shown")
    output = widgets.Output()

    def draw(change: Any = None) -> None:
        chosen = [r for r in usable if r["round_id"] in picker.value]
        shown.value = f"showing {len(chosen)} round(s): {html.escape(', '.join(r['round_id'] for r in chosen))}"
        with output:
            output.clear_output(wait=True)
            if chosen:
                plots.per_class_ap(chosen)
                plots.training_curves(chosen, profile=profile)
                plt.show()

    picker.observe(draw, names="value")
    draw()
    box = widgets.VBox([picker, shown, output]).add_class("ywb-compare")
    display(box)
    return box


def round_editor(current: Round) -> Any:
    """Draft the next round from ``current``: change a few train arguments and the why, see the lint live, write it.

    The file is ``params/rNN+1_<slug>.yaml`` and ``extends`` the current round. Headless, prints
    what the editor does and returns ``None``.
    """
    from yolo_workbook.core.errors import ParamsError
    from yolo_workbook.core.problems import Problem
    from yolo_workbook.ui import editor

    if running_headless():
        print(f"(round editor: open this notebook in JupyterLab to draft the round after {current.round_id})")
        return None
    import ipywidgets as widgets
    from IPython.display import display

    layout = widgets.Layout(width="420px")
    style = {"description_width": "90px"}
    # Every field sends its value on Enter or when it loses focus: one check per edit, not per keystroke.
    common = {"layout": layout, "style": style, "continuous_update": False}
    round_id = widgets.Text(description="new round", **common).add_class("ywb-editor-id")
    why = widgets.Textarea(description="why", placeholder="what you try, and why", **common)
    why.add_class("ywb-editor-why")
    expect = widgets.Text(description="expect", placeholder="the effect you expect", **common)
    fields = {}
    for key in editor.EDITABLE:
        now = current.train.get(key)
        fields[key] = widgets.Text(
            description=key,
            placeholder=f"{now} (inherited)" if now is not None else "(ultralytics default)",
            continuous_update=False,
            layout=widgets.Layout(width="300px"),
            style=style,
        ).add_class(f"ywb-arg-{key}")
    lint = widgets.HTML().add_class("ywb-editor-lint")
    preview = widgets.HTML().add_class("ywb-editor-preview")
    write = widgets.Button(description="write round file", button_style="primary").add_class("ywb-editor-write")
    status = widgets.HTML().add_class("ywb-editor-status")
    state: dict[str, Any] = {"auto_id": "", "text": ""}

    def changes() -> dict[str, Any]:
        values = {key: editor.parse_value(field.value) for key, field in fields.items()}
        return {key: value for key, value in values.items() if value is not None}

    def refresh(change: Any = None) -> None:
        changed = changes()
        if not round_id.value or round_id.value == state["auto_id"]:
            state["auto_id"] = next_round_id(current.round_id, editor.slug_for(why.value, changed))
            round_id.value = state["auto_id"]
        text = editor.draft_text(current, round_id.value, why=why.value, expect=expect.value, changes=changed)
        state["text"] = text
        problems = editor.check_draft(text, round_id.value, profile=current.profile)
        if not why.value.strip():
            problems.insert(0, Problem("error", "draft", None, "why", "is empty", "say what this round tries"))
        errors = [p for p in problems if p.level == "error"]
        lines = "<br>".join(html.escape(str(p)) for p in problems)
        lint.value = f"<pre>{lines}</pre>" if problems else "<b>lint: ok</b>, no problems"
        preview.value = f"<pre>{html.escape(text)}</pre>"
        write.disabled = bool(errors) or not changed
        write.tooltip = "fix the errors first" if errors else ("change an argument" if not changed else "")

    def on_write(button: Any) -> None:
        try:
            path = editor.write_draft(state["text"], round_id.value)
        except ParamsError as exc:
            status.value = f"<b>not written</b>: {html.escape(exc.message)}"
            return
        profile = f" --profile {current.profile}" if current.profile else ""
        status.value = f"wrote params/{path.name}; run it: <code>yolo-workbook run params/{path.name}{profile}</code>"
        round_id.value = ""  # ready for the round after it: the next free id, the same draft

    for widget in (round_id, why, expect, *fields.values()):
        widget.observe(refresh, names="value")
    write.on_click(on_write)
    refresh()
    header = widgets.HTML(f"<b>next round</b>, extending <code>{html.escape(current.round_id)}</code>")
    grid = widgets.GridBox(list(fields.values()), layout=widgets.Layout(grid_template_columns="repeat(2, 310px)"))
    box = widgets.VBox([header, round_id, why, expect, grid, lint, preview, widgets.HBox([write, status])])
    box.add_class("ywb-editor")
    display(box)
    return box


def draw_detections(image: Any, detections: Detections, names: list[str]) -> bytes:
    """A BGR frame with its boxes and labels drawn (one colour per class, Hangul-capable font), as JPEG."""
    from PIL import Image, ImageDraw, ImageFont

    from yolo_workbook.core.fonts import cjk_font_path

    palette = ["#ff3838", "#2c99a8", "#ffb21d", "#48f90a", "#cf57ff", "#0018ec", "#ff9d97", "#00c2ff"]
    picture = Image.fromarray(image[:, :, ::-1])
    canvas = ImageDraw.Draw(picture)
    font_path = cjk_font_path()
    font = ImageFont.truetype(str(font_path), 13) if font_path else ImageFont.load_default()
    boxes = zip(detections.xyxy, detections.class_name, detections.confidence, detections.track_ids(), strict=True)
    for (x1, y1, x2, y2), name, confidence, track_id in boxes:
        colour = palette[names.index(name) % len(palette)] if name in names else palette[0]
        canvas.rectangle((x1, y1, x2, y2), outline=colour, width=2)
        track = f"#{track_id} " if track_id is not None else ""
        label = f"{track}{name} {confidence:.2f}"
        left, top, right, bottom = canvas.textbbox((x1, y1), label, font=font)
        canvas.rectangle((left, top - (bottom - top), right + 2, top), fill=colour)
        canvas.text((x1 + 1, y1 - (bottom - top)), label, fill="white", font=font)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def frame_browser(frames: list[Detections], source: str) -> Any:
    """A slider over the predicted frames: the frame with its detections drawn, and the counts per class.

    Headless, returns ``None`` (the notebook shows a few annotated frames as a static figure).
    """
    if running_headless() or not frames or not Path(source).is_file():
        return None
    import cv2
    import ipywidgets as widgets
    from IPython.display import display

    names = sorted({name for frame in frames for name in frame.class_name})
    capture = cv2.VideoCapture(source)
    slider = widgets.IntSlider(
        value=0, min=0, max=len(frames) - 1, description="frame", continuous_update=False
    ).add_class("ywb-frames-slider")
    play = widgets.Play(min=0, max=len(frames) - 1, interval=250)
    widgets.jslink((play, "value"), (slider, "value"))
    # At most 800 px wide: a 1280x720 classroom video fits the notebook, a tiny one is not blown up past that.
    image = widgets.Image(format="jpeg", layout=widgets.Layout(max_width="800px")).add_class("ywb-frames-image")
    counts = widgets.HTML().add_class("ywb-frames-counts")

    def show(change: Any = None) -> None:
        frame = frames[slider.value]
        capture.set(cv2.CAP_PROP_POS_FRAMES, frame.frame_id)
        ok, picture = capture.read()
        if ok:
            image.value = draw_detections(picture, frame, names)
        per_class = frame.counts()
        listed = ", ".join(f"{name} {per_class[name]}" for name in names if name in per_class) or "no detections"
        when = f" · {frame.time_s:.2f} s" if frame.time_s is not None else ""
        counts.value = html.escape(f"frame {frame.frame_id}{when} · {listed}")

    slider.observe(show, names="value")
    show()
    box = widgets.VBox([widgets.HBox([play, slider, counts]), image]).add_class("ywb-frames")
    display(box)
    return box
