"""Fonts that draw Hangul (and Latin) offline, for matplotlib, ultralytics and the journal.

The CJK font comes from ``koreanize-matplotlib`` (NanumGothic, bundled in the wheel), which the
project's own install brings in; nothing is downloaded and no system font is needed.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
from pathlib import Path

from yolo_workbook.core.files import atomic_output

FAMILY = "NanumGothic"


def cjk_font_path() -> Path | None:
    """NanumGothic.ttf from the koreanize-matplotlib package (found without importing it)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NanumGothic.ttf"
    return path if path.is_file() else None


@functools.cache
def setup_matplotlib() -> str | None:
    """Register NanumGothic with matplotlib as a fallback after its default sans-serif font.

    Latin text keeps matplotlib's look; Hangul falls back to NanumGothic. Called by every plot.
    Returns the family name, or None when the font is not installed.
    """
    import matplotlib as mpl
    from matplotlib import font_manager

    path = cjk_font_path()
    if path is None:
        return None
    font_manager.fontManager.addfont(str(path))
    # Two explicit families: matplotlib falls back glyph by glyph from the first to the second.
    latin = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    mpl.rcParams["font.family"] = [font_manager.get_font(latin).family_name, FAMILY]
    mpl.rcParams["axes.unicode_minus"] = False
    return FAMILY


def setup_ultralytics(names: list[str]) -> Path | None:
    """Let ultralytics' own plots draw non-ASCII class names offline.

    ultralytics looks for ``Arial.Unicode.ttf`` in its config folder and otherwise tries to
    download it. When a class name is not ASCII, NanumGothic is copied there under that name.
    """
    if all(name.isascii() for name in names):
        return None
    from ultralytics.utils import USER_CONFIG_DIR

    source = cjk_font_path()
    target = Path(USER_CONFIG_DIR) / "Arial.Unicode.ttf"
    if source is None or target.is_file():
        return target if target.is_file() else None
    with atomic_output(target) as partial:  # two kernels may copy it at once: each its own temporary file
        shutil.copyfile(source, partial)
    return target


def subset_font_base64(text: str) -> str:
    """NanumGothic cut down to the characters of ``text``, as base64 TrueType (for @font-face)."""
    import base64
    import io
    import logging

    from fontTools import subset

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "TSI0 NOT subset" is noise here

    path = cjk_font_path()
    if path is None:
        return ""
    options = subset.Options()
    options.layout_features = ["*"]
    font = subset.load_font(str(path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text))))
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def missing_glyphs(text: str, fonts: list[Path]) -> list[str]:
    """Characters of ``text`` that none of ``fonts`` can draw (whitespace ignored), in order of first use."""
    from fontTools.ttLib import TTFont

    covered: set[int] = set()
    for font in fonts:
        with TTFont(str(font), fontNumber=0, lazy=True) as ttf:
            covered |= set(ttf.getBestCmap() or {})
    return list(dict.fromkeys(c for c in text if not c.isspace() and ord(c) not in covered))


def drawing_fonts(names: list[str]) -> dict[str, list[Path]]:
    """The font files that will draw class names, per drawer, as the workbook sets them up (nothing downloaded).

    ``ultralytics``: labels on its plots and annotated predictions (``Arial.Unicode.ttf`` in its
    config folder for non-ASCII names, else ``Arial.ttf``; the workbook puts NanumGothic there).
    ``matplotlib``: the workbook's figures and journal (matplotlib's sans-serif, then NanumGothic).
    """
    from matplotlib import font_manager
    from ultralytics.utils import USER_CONFIG_DIR

    cjk = cjk_font_path()
    wanted = "Arial.ttf" if all(name.isascii() for name in names) else "Arial.Unicode.ttf"
    ultralytics_font = Path(USER_CONFIG_DIR) / wanted
    if not ultralytics_font.is_file():
        known = [Path(f.fname) for f in font_manager.fontManager.ttflist if f.fname.endswith(wanted)]
        ultralytics_font = known[0] if known else (cjk if wanted == "Arial.Unicode.ttf" else None)
    latin = Path(font_manager.findfont(font_manager.FontProperties(family=["sans-serif"])))
    return {
        "ultralytics": [ultralytics_font] if ultralytics_font else [],
        "matplotlib": [latin, *([cjk] if cjk else [])],
    }
