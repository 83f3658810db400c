"""How many tests each tier holds, counted from the code by one ``pytest --collect-only`` (``make test-count``).

A count written into the README would drift. ``tests/integration/test_environment.py`` mostly tests its own MatchSpec
parser and checkers: those are counted apart from the checks of ``environment.yml`` itself.
"""

from __future__ import annotations

import collections
import contextlib
import io

import pytest

TIERS = {
    "unit": "unit tests of the package (no training, no kernel, no browser)",
    "slow": "slow / notebook: training, papermill, nbval, the CLI on the ci profile",
    "browser": "browser: JupyterLab and journal.html in headless Chromium (make test-browser)",
    "env": "environment.yml checks (offline)",
    "env-self": "self-tests of those checks' own MatchSpec parser and checkers (tests/integration/test_environment.py)",
}
SELF_TESTS = ("matchspec_parser", "each_check_catches", "constraints_translate")


def tier(item: pytest.Item) -> str:
    """The tier of one collected test."""
    marks = {mark.name for mark in item.iter_markers()}
    if item.path.name == "test_environment.py":
        return "env-self" if any(word in item.name for word in SELF_TESTS) else "env"
    return "browser" if "browser" in marks else "slow" if marks & {"slow", "notebook"} else "unit"


class _Count:
    tiers: collections.Counter[str] = collections.Counter()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.tiers = collections.Counter(tier(item) for item in session.items)


def main() -> int:
    count = _Count()
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider"], plugins=[count])
    for key, text in TIERS.items():
        print(f"{count.tiers[key]:6}  {text}")
    print(f"{sum(count.tiers.values()):6}  in all: make test runs every tier")
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
