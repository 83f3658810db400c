"""The documentation: README.md stays the front door, and the mkdocs site builds strictly with real generated pages.

The site's reference pages are generated from the code at build time (``docs/gen_reference.py``, run by
mkdocs-gen-files); these tests build it the way ``make docs`` does and read the HTML.
"""

from __future__ import annotations

import html
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from conftest import BIN, ROOT, child_environment

from yolo_workbook.cli import build_parser
from yolo_workbook.config.params import NOTEBOOKS, ROUND_KEYS, SECTION_KEYS

README = ROOT / "README.md"
DOCS = ROOT / "docs"
# The banners some mkdocs plugins print about MkDocs 2.0 (not warnings of this build: they do not fail it).
QUIET = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _links(text: str) -> list[str]:
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def _build(config: Path, site: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # Never --quiet: it drops the warnings before strict mode counts them, and a broken link would build.
    command = [str(BIN / "mkdocs"), "build", "-f", str(config), "-d", str(site), *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=child_environment(QUIET))


def _text(page: Path) -> str:
    """The visible text of a built page's article (tags dropped, entities decoded, spaces collapsed)."""
    body = page.read_text(encoding="utf-8")
    article = body[body.find("<article") : body.find("</article>")]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", article)).split())


def _generator() -> ModuleType:
    """``docs/gen_reference.py`` as a module (imported, it writes nothing)."""
    if "gen_reference" not in sys.modules:
        spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["gen_reference"] = module  # its dataclass looks its module up there
        spec.loader.exec_module(module)
    return sys.modules["gen_reference"]


# --- README: the front door ---------------------------------------------------------------------------------


def test_readme_is_short_and_its_links_resolve_to_files_in_docs():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 160, "README.md is the front door: move the details into docs/"
    links = _links(text)
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        path = (ROOT / link.split("#")[0]).resolve()
        assert path.is_relative_to(DOCS.resolve()), f"README links outside docs/: {link}"
        assert path.is_file(), f"README links to a missing file: {link}"


def test_readme_names_the_setup_the_notebooks_and_no_test_count():
    text = README.read_text(encoding="utf-8")
    for words in ("make demo", "make test", "make help", *NOTEBOOKS):
        assert words in text, words
    assert "not precise enough to be used for school attendance" in text
    assert not re.search(r"\b\d+ (tests|passed)\b", text), "a test count drifts: `make test-count` prints it"
    assert "parent" not in text.lower(), "say base (extends) or weights_from (model.from)"


def test_readmes_round_file_is_the_file_as_it_is():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"`params/(r\d\d_\w+\.yaml)`, as it is:\s+```yaml\n(.*?)```", text, re.S)
    assert block, "README shows one round file, introduced as 'params/<file>, as it is:'"
    assert block[2] == (ROOT / "params" / block[1]).read_text(encoding="utf-8")


# --- the site -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built as ``make docs`` builds it (strict: any warning, such as a broken link, fails)."""
    folder = tmp_path_factory.mktemp("site")
    done = _build(ROOT / "mkdocs.yml", folder, "--strict")
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def test_nothing_generated_is_committed_and_the_site_is_ignored():
    for page in _generator().pages():
        assert not (DOCS / page).exists(), f"docs/{page} is generated at build time: do not commit it"
    assert subprocess.run(["git", "check-ignore", "-q", "site/index.html"], cwd=ROOT).returncode == 0


def test_the_cli_reference_lists_every_verb_and_option(site: Path):
    text = _text(site / "reference" / "cli" / "index.html")
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for choice in subparsers._choices_actions:  # each verb's help, verbatim (``<profile>`` included)
        assert choice.help in text, choice.help
    for name, sub in subparsers.choices.items():
        assert f"yolo-workbook {name}" in text, name
        for action in sub._actions:
            for option in set(action.option_strings) - {"-h", "--help"}:
                assert option in text, f"{name} {option}"
    assert "yolo-workbook data merge" in text and "--vid-stride" in text


def test_the_round_file_reference_lists_every_key(site: Path):
    text = _text(site / "reference" / "round-file" / "index.html")
    for key in (*ROUND_KEYS, *(f"{section}.{key}" for section, keys in SECTION_KEYS.items() for key in keys)):
        assert key in text, key
    assert "cos_lr: true" in text  # the example round file, read from params/
    assert "epochs" in text and "close_mosaic" in text  # ultralytics' arguments


@pytest.mark.parametrize(
    ("page", "schema"),
    [
        ("metrics-json", "metrics.schema.json"),
        ("detections-json", "detections.schema.json"),
        ("trials-json", "trials.schema.json"),
    ],
)
def test_the_record_references_list_every_field(site: Path, page: str, schema: str):
    text = _text(site / "reference" / page / "index.html")
    declared = json.loads((ROOT / "lib" / "yolo_workbook" / "schemas" / schema).read_text(encoding="utf-8"))
    fields = declared.get("properties") or declared["$defs"]["frame"]["properties"]
    for field in fields:
        assert field in text, field
    if "detections" in page:
        assert "detections[].confidence" in text


def test_the_api_and_package_pages_cover_every_layer(site: Path):
    layers = [name for layer in _generator().layers() for name in layer]
    assert {"core", "config", "training", "cli"} <= set(layers)
    package = _text(site / "reference" / "package" / "index.html")
    for name in layers:
        assert (site / "reference" / "api" / name / "index.html").is_file(), name
        assert name in package
    assert "load_round" in _text(site / "reference" / "api" / "config" / "index.html")  # rendered by mkdocstrings


def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path):
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "page.md").write_text("# Page\n\n## A section\n", encoding="utf-8")
    # The project's own settings (strict, validation, theme, Markdown), on two pages of which one links badly.
    config.update(docs_dir=str(docs), plugins=["search"], nav=["index.md", "page.md"], exclude_docs="")
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    for link in ("missing.md", "page.md#no-such-section"):
        (docs / "index.md").write_text(f"# Home\n\n[a link]({link})\n", encoding="utf-8")
        done = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
        assert done.returncode != 0, f"a link to {link} built"
        assert link.split("#")[-1] in done.stdout + done.stderr
    (docs / "index.md").write_text("# Home\n\n[a link](page.md#a-section)\n", encoding="utf-8")
    assert _build(tmp_path / "mkdocs.yml", tmp_path / "site").returncode == 0


# --- the generator ------------------------------------------------------------------------------------------


def test_the_round_file_page_lists_every_key_the_code_knows_and_whether_it_is_inherited():
    generator = _generator()
    known = [*ROUND_KEYS, *(f"{section}.{key}" for section, keys in SECTION_KEYS.items() for key in keys)]
    rows = {row.key: row for row in generator.round_key_rows(generator.load_schema(generator.ROUND_SCHEMA))}
    assert set(known) <= set(rows) and [key for key in rows if "." not in key] == list(ROUND_KEYS)
    assert rows["round_id"].own and rows["round_id"].description
    assert not rows["train"].own and not rows["train"].inherited  # inherited: "yes"
    assert rows["repeat"].inherited.startswith("no") and rows["sweep.trials"].inherited.startswith("no")
    page = generator.round_file_page()
    assert all(f"`{key}`" in page for key in known) and "Not described in the schema yet" not in page


def test_schema_rows_follow_refs_branches_and_named_entries():
    generator = _generator()
    schema = {
        "$defs": {"share": {"type": "number", "minimum": 0, "maximum": 1}},
        "properties": {
            "overall": {
                "oneOf": [{"type": "null"}, {"type": "object", "properties": {"AP": {"$ref": "#/$defs/share"}}}]
            },
            "per_class": {"type": "object", "additionalProperties": {"type": "object", "properties": {"id": {}}}},
            "items": {"type": "array", "items": {"type": "object", "properties": {"bbox": {"type": "array"}}}},
        },
    }
    rows = {row.key: row.kind for row in generator.schema_rows(schema, schema)}
    assert rows["overall.AP"] == "number in [0, 1]"
    assert {"per_class.<name>", "per_class.<name>.id", "items[].bbox"} <= set(rows)


def test_make_test_lints_then_builds_the_docs_then_runs_pytest():
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert recipe
    lines = recipe[1].splitlines()
    order = [
        next(i for i, line in enumerate(lines) if word in line)
        for word in ("ruff", "lint-imports", "mkdocs build --strict", "pytest")
    ]
    assert order == sorted(order)
    docs = re.search(r"^docs:.*## .*\n\t(.*)\n", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert docs and "mkdocs build --strict" in docs[1]
