"""environment.yml: a file that ``conda env create`` accepts and that agrees with pyproject.toml, checked offline.

No conda is needed: the file's shape, every conda spec (a strict MatchSpec parser, itself tested with
one bad example per rule), and the pip section (parsed as pip parses it, resolved against this test
environment, which pip installed from pyproject.toml) are checked in well under a second. Each check
returns its problems as sentences, and has a negative test that breaks a copy of the file.

The design it guards: every compiled package (pytorch, torchvision, numpy, OpenCV) comes from
conda-forge, whose conda lower bounds meet every requirement pip reads from the installed metadata,
so pip never installs a second torch with its own OpenMP runtime ("OMP: Error #15").
"""

from __future__ import annotations

import copy
import functools
import platform
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml
from conftest import ROOT
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ENV_FILE = ROOT / "environment.yml"
TOP_LEVEL_KEYS = {"name", "channels", "dependencies", "variables", "prefix"}  # what `conda env create` reads

# conda-forge names that differ from the PyPI distribution they install (its *.dist-info name).
CONDA_TO_PYPI = {
    "pytorch": "torch",
    "pytorch-gpu": "torch",
    "matplotlib-base": "matplotlib",
    "opencv": "opencv-python",
    "py-opencv": "opencv-python",
}
# conda packages that are not PyPI distributions, and why each may be listed without a pyproject entry.
CONDA_ONLY = {
    "python": "the interpreter: checked against requires-python instead",
    "pip": "the installer that runs the pip section",
    "cuda-version": "CUDA-only: pins the CUDA minor version of conda-forge's GPU packages",
}
# Compiled packages that ultralytics requires but pyproject does not name: conda must provide them
# (one source, one OpenMP runtime), so they are in environment.yml only, and never in its pip section.
COMPILED_STACK = {
    "torch": "pytorch",
    "torchvision": "torchvision",
    "numpy": "numpy",
    "opencv-python": "opencv",
}
# Marker environments the pip section is resolved for: the founding user's Windows, and this machine.
WINDOWS = {
    "sys_platform": "win32",
    "platform_system": "Windows",
    "os_name": "nt",
    "platform_machine": "AMD64",
    "platform_python_implementation": "CPython",
    "implementation_name": "cpython",
}
PLATFORMS: dict[str, dict[str, str]] = {"Windows": WINDOWS, "this machine": {}}


# --- conda MatchSpec: a strict parser ---------------------------------------------------------------


class MatchSpecError(ValueError):
    """A conda dependency that ``conda env create`` would reject (or that this house style forbids)."""


@dataclass(frozen=True)
class MatchSpec:
    """One parsed conda spec, e.g. ``conda-forge::pytorch>=2.5`` or ``pytorch=*=cuda*``.

    Attributes:
        name (str): The package name.
        version (str): The version constraint as written (``>=8.4,<8.5``, ``=3.11``, ``==1.2``), or ``""``.
        build (str): The build string (third ``=`` field or ``[build=...]``), or ``""``.
        channel (str): The ``channel::`` prefix, or ``""``.
        brackets (dict[str, str]): ``[key=value, ...]`` options.
    """

    name: str
    version: str = ""
    build: str = ""
    channel: str = ""
    brackets: dict[str, str] = field(default_factory=dict)


NAME = re.compile(r"[a-z0-9_][a-z0-9_.\-]*")
CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
VERSION = re.compile(r"(?:\d+!)?[0-9A-Za-z_]+(?:\.[0-9A-Za-z_]+)*(?:\+[0-9A-Za-z_]+(?:\.[0-9A-Za-z_]+)*)?")
BUILD = re.compile(r"[A-Za-z0-9_.+*]+")
OPERATORS = ("==", ">=", "<=", "!=", "~=", ">", "<")  # two-character operators first
BRACKET_KEYS = {"build", "build_number", "channel", "subdir", "version", "md5", "sha256", "license", "url", "fn"}


def parse_matchspec(spec: str) -> MatchSpec:
    """Parse a conda MatchSpec strictly: ``[channel::]name[version][=build][[key=value,...]]``.

    Stricter than conda in one way, on purpose: no spaces (conda also reads ``numpy 1.8*``; write
    ``numpy=1.8``).

    Args:
        spec (str): One string of environment.yml's ``dependencies``.

    Returns:
        (MatchSpec): The parts.

    Raises:
        MatchSpecError: Naming the rule that ``spec`` breaks.

    Examples:
        >>> parse_matchspec("pytorch=*=cuda*").build
        'cuda*'
    """
    if not spec or any(ch.isspace() for ch in spec):
        raise MatchSpecError(f"{spec!r}: whitespace in a spec; write it without spaces, e.g. 'numpy>=1.23'")
    text, channel = spec, ""
    if "::" in text:
        channel, text = text.split("::", 1)
        if not CHANNEL.fullmatch(channel):
            raise MatchSpecError(f"{spec!r}: invalid channel {channel!r} before '::'")
    brackets: dict[str, str] = {}
    if "[" in text or "]" in text:
        if not text.endswith("]") or text.count("[") != 1 or text.count("]") != 1:
            raise MatchSpecError(f"{spec!r}: unbalanced bracket; write name[key=value,...] at the end")
        text, inner = text[:-1].split("[", 1)
        brackets = _parse_brackets(inner, spec)
    match = NAME.match(text)
    rest = text[match.end() :] if match else text
    if not match or (rest and rest[0] not in "=<>!~"):
        raise MatchSpecError(f"{spec!r}: invalid package name (lowercase letters, digits, '_', '-', '.')")
    version, build = _parse_version_and_build(rest, spec)
    if build and "build" in brackets:
        raise MatchSpecError(f"{spec!r}: build given twice (third '=' field and [build=...])")
    return MatchSpec(match.group(), version, build or brackets.get("build", ""), channel, brackets)


def _parse_brackets(inner: str, spec: str) -> dict[str, str]:
    options = {}
    for item in inner.split(","):
        key, sep, value = item.partition("=")
        value = value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value
        if key not in BRACKET_KEYS:
            raise MatchSpecError(f"{spec!r}: unknown bracket key {key!r} (known: {', '.join(sorted(BRACKET_KEYS))})")
        if not sep or not value:
            raise MatchSpecError(f"{spec!r}: bracket key {key!r} has an empty value")
        options[key] = value
    return options


def _parse_version_and_build(rest: str, spec: str) -> tuple[str, str]:
    """``=3.11`` (fuzzy), ``==1.2`` (exact), each with an optional ``=build``; or ``>=1,<2|==3`` (no build)."""
    if not rest:
        return "", ""
    if rest.startswith("=") and not rest.startswith("=="):
        fuzzy, sep, build = rest[1:].partition("=")
        core = fuzzy.removesuffix(".*").removesuffix("*")
        if fuzzy != "*" and not VERSION.fullmatch(core):
            raise MatchSpecError(f"{spec!r}: invalid version {fuzzy!r} after '='")
        return "=" + fuzzy, _checked_build(build, sep, spec)
    if rest.startswith("==") and not any(ch in rest for ch in ",|"):
        exact, sep, build = rest[2:].partition("=")
        _check_term("==" + exact, spec)
        return "==" + exact, _checked_build(build, sep, spec)
    for alternative in rest.split("|"):
        for term in alternative.split(","):
            _check_term(term, spec)
    return rest, ""


def _checked_build(build: str, sep: str, spec: str) -> str:
    if sep and not build:
        raise MatchSpecError(f"{spec!r}: empty build string after the last '='")
    if build and not BUILD.fullmatch(build):
        raise MatchSpecError(f"{spec!r}: invalid build string {build!r}")
    return build


def _check_term(term: str, spec: str) -> None:
    if not term:
        raise MatchSpecError(f"{spec!r}: empty term in the version constraint (',,', '||' or a trailing ',' / '|')")
    operator = next((op for op in OPERATORS if term.startswith(op)), "")
    if not operator:
        raise MatchSpecError(f"{spec!r}: term {term!r} needs an operator ({' '.join(OPERATORS)})")
    version = term[len(operator) :]
    if not version:
        raise MatchSpecError(f"{spec!r}: operator {operator!r} without a version")
    core = version.removesuffix(".*")
    if core != version and operator not in ("==", "!="):
        raise MatchSpecError(f"{spec!r}: '.*' only with == or != (found {term!r})")
    if not VERSION.fullmatch(core):
        raise MatchSpecError(f"{spec!r}: invalid version {version!r}")
    if operator == "~=" and "." not in core:
        raise MatchSpecError(f"{spec!r}: ~= needs at least two version parts (e.g. ~=1.11)")


def to_specifier(constraint: str) -> SpecifierSet:
    """The PEP 440 equivalent of a conda version constraint without ``|``: ``=3.11`` is ``==3.11.*``."""
    if "|" in constraint:
        raise ValueError(f"{constraint!r}: an alternative ('|') has no single PEP 440 equivalent")
    if constraint.startswith("=") and not constraint.startswith("=="):
        core = constraint[1:].removesuffix(".*").removesuffix("*")
        return SpecifierSet(f"=={core}.*" if core else "")
    return SpecifierSet(constraint)


def satisfies(constraint: str, version: str) -> bool:
    """Whether an installed ``version`` meets a conda version constraint (any ``|`` alternative)."""
    return any(to_specifier(alt).contains(version, prereleases=True) for alt in constraint.split("|"))


def lower_bound(constraint: str) -> Version | None:
    """The smallest version a constraint admits, when it says so plainly (``>=X``, ``=X``, ``==X``); else None."""
    if not constraint or "|" in constraint:
        return None
    if constraint.startswith("=") and not constraint.startswith("=="):
        core = constraint[1:].removesuffix(".*").removesuffix("*")
        return Version(core) if core else None
    bounds = [Version(term[2:]) for term in constraint.split(",") if term.startswith((">=", "=="))]
    return max(bounds) if bounds else None


GOOD_SPECS = {
    "numpy": MatchSpec("numpy"),
    "_openmp_mutex": MatchSpec("_openmp_mutex"),
    "python=3.11": MatchSpec("python", "=3.11"),
    "python=3.11.*": MatchSpec("python", "=3.11.*"),
    "pytorch=*=cuda*": MatchSpec("pytorch", "=*", "cuda*"),
    "numpy==1.26.4=py311h64a7726_0": MatchSpec("numpy", "==1.26.4", "py311h64a7726_0"),
    "ultralytics>=8.4,<8.5": MatchSpec("ultralytics", ">=8.4,<8.5"),
    "numpy>=1.23|==1.22.4": MatchSpec("numpy", ">=1.23|==1.22.4"),
    "numpy!=1.25.*": MatchSpec("numpy", "!=1.25.*"),
    "scipy~=1.11": MatchSpec("scipy", "~=1.11"),
    "matplotlib-base>=3.8": MatchSpec("matplotlib-base", ">=3.8"),
    "conda-forge::pytorch>=2.5": MatchSpec("pytorch", ">=2.5", channel="conda-forge"),
    "pytorch[build=cuda*]": MatchSpec("pytorch", build="cuda*", brackets={"build": "cuda*"}),
    "pytorch>=2.5[build='cuda*',subdir=win-64]": MatchSpec(
        "pytorch", ">=2.5", "cuda*", brackets={"build": "cuda*", "subdir": "win-64"}
    ),
}
# One bad spec per rule of the parser, with the words its error must contain.
BAD_SPECS = {
    "py thon": "whitespace",
    "Numpy": "invalid package name",
    "numpy$": "invalid package name",
    "::numpy": "invalid channel",
    "conda-forge::": "invalid package name",
    "python==3.11=": "empty build string",
    "pytorch=*=cuda/*": "invalid build string",
    "python=3..11": "invalid version",
    "numpy>=": "without a version",
    "torch>=2.0,,<3": "empty term",
    "numpy>=1.2|": "empty term",
    "numpy>=1.23,1.24": "needs an operator",
    "numpy>=1..2": "invalid version",
    "numpy>=1.2.*": "'.*' only with",
    "scipy~=1": "~= needs at least two",
    "pytorch[build=cuda*": "unbalanced bracket",
    "pytorch[flavor=cuda]": "unknown bracket key",
    "pytorch[build=]": "empty value",
    "pytorch=*=cuda*[build=cpu*]": "build given twice",
}


@pytest.mark.parametrize("spec", GOOD_SPECS)
def test_matchspec_parser_reads_conda_specs(spec: str):
    assert parse_matchspec(spec) == GOOD_SPECS[spec]


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_matchspec_parser_rejects_each_broken_rule(spec: str):
    with pytest.raises(MatchSpecError, match=re.escape(BAD_SPECS[spec])):
        parse_matchspec(spec)


def test_conda_constraints_translate_to_pep440():
    assert satisfies("=3.11", "3.11.7") and not satisfies("=3.11", "3.12.0")
    assert satisfies("=*", "0.1") and satisfies(">=8.4,<8.5", "8.4.190") and not satisfies(">=8.4,<8.5", "8.5.0")
    assert satisfies("<1|>=2", "2.1") and not satisfies("<1|>=2", "1.5")
    assert lower_bound(">=2.5") == Version("2.5") and lower_bound("=3.11.*") == Version("3.11")
    assert lower_bound("<3") is None and lower_bound("=*") is None and lower_bound(">=1|==0.5") is None
    assert to_specifier(">=8.4,<8.5") == SpecifierSet("<8.5,>=8.4")


# --- the file and its checks ------------------------------------------------------------------------


def load_env(path: Path = ENV_FILE) -> dict[str, Any]:
    """environment.yml as data."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@functools.cache
def load_pyproject() -> dict[str, Any]:
    """pyproject.toml as data (read once)."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def conda_specs(env: dict[str, Any]) -> list[MatchSpec]:
    """The conda dependencies that parse (spec_problems reports the others)."""
    return [s for s in (_try_parse(d) for d in env.get("dependencies") or [] if isinstance(d, str)) if s]


def _try_parse(dep: str) -> MatchSpec | None:
    try:
        return parse_matchspec(dep)
    except MatchSpecError:
        return None


def pip_lines(env: dict[str, Any]) -> list[str]:
    """The lines of the ``pip:`` subsection (empty when there is none)."""
    sections = [dep["pip"] for dep in env.get("dependencies") or [] if isinstance(dep, dict) and "pip" in dep]
    return list(sections[0]) if sections else []


def shape_problems(env: Any) -> list[str]:
    """What ``conda env create -f`` would refuse or misread, and what would bring in ``defaults``."""
    if not isinstance(env, dict):
        return [f"the file must be a mapping with {sorted(TOP_LEVEL_KEYS)}, found {type(env).__name__}"]
    problems = [f"unknown top-level key {key!r}" for key in env if key not in TOP_LEVEL_KEYS]
    problems += [f"missing top-level key {key!r}" for key in ("name", "channels", "dependencies") if key not in env]
    if not isinstance(env.get("name"), str) or not NAME.fullmatch(env.get("name") or ""):
        problems.append(f"name {env.get('name')!r} is not a valid environment name")
    channels = env.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        problems.append("channels must be a list of channel names")
    else:
        if not channels or channels[0] != "conda-forge":
            problems.append("channels must start with conda-forge")
        if "nodefaults" not in channels:
            problems.append("channels lack 'nodefaults': conda would add the defaults channel (MKL builds)")
        others = [c for c in channels if c not in ("conda-forge", "nodefaults")]
        problems += [f"channel {c!r}: only conda-forge (one package source for compiled packages)" for c in others]
    dependencies = env.get("dependencies")
    if not isinstance(dependencies, list):
        return [*problems, "dependencies must be a list"]
    mappings = [dep for dep in dependencies if isinstance(dep, dict)]
    problems += [f"dependency {dep!r} is neither a spec nor a pip: section" for dep in dependencies if not _dep(dep)]
    if len(mappings) > 1:
        problems.append("more than one mapping in dependencies (conda reads one pip: section)")
    if mappings:
        if not all(isinstance(line, str) for line in mappings[0].get("pip") or []):
            problems.append("the pip: section must be a list of requirement lines")
        if "pip" not in {_name_of(dep) for dep in dependencies if isinstance(dep, str)}:
            problems.append("a pip: section needs 'pip' among the conda dependencies")
    variables = env.get("variables") or {}
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        problems.append('variables must map names to strings (quote numbers: "1")')
    return problems


def _dep(dep: Any) -> bool:
    return isinstance(dep, str) or (isinstance(dep, dict) and set(dep) == {"pip"} and isinstance(dep["pip"], list))


def _name_of(spec: str) -> str:
    parsed = _try_parse(spec)
    return parsed.name if parsed else ""


def spec_problems(env: dict[str, Any]) -> list[str]:
    """Every conda spec parses; no duplicates; nothing from another channel; python meets requires-python."""
    problems, names = [], []
    for dep in (d for d in env["dependencies"] if isinstance(d, str)):
        try:
            spec = parse_matchspec(dep)
        except MatchSpecError as error:
            problems.append(str(error))
            continue
        names.append(spec.name)
        if spec.channel not in ("", "conda-forge") or spec.brackets.get("channel", "conda-forge") != "conda-forge":
            problems.append(f"{dep!r}: from another channel than conda-forge (a second package source)")
    problems += [f"{name!r} listed twice" for name in sorted({n for n in names if names.count(n) > 1})]
    python = [s for s in conda_specs(env) if s.name == "python"]
    requires = SpecifierSet(load_pyproject()["project"]["requires-python"])
    if not python or not (bound := lower_bound(python[0].version)) or not requires.contains(bound):
        problems.append(f"python must be pinned (e.g. python=3.11) to a version within requires-python {requires}")
    return problems


@dataclass(frozen=True)
class Editable:
    """An ``-e path[extras]`` line of the pip section."""

    path: Path
    extras: tuple[str, ...]


EDITABLE = re.compile(r"(?:-e|--editable)\s+(?P<path>[^\s\[\]]+)(?:\[(?P<extras>[A-Za-z0-9_.,\-]+)\])?")


def parse_pip_line(line: str, env_dir: Path) -> Requirement | Editable:
    """One pip line: ``-e path[extras]`` (relative to environment.yml, where conda runs pip) or a requirement.

    Raises:
        ValueError: Any other option (``--no-deps`` is not valid in a requirements file; an index URL would
            let pip bring its own torch), or a line that is not a PEP 508 requirement.
    """
    if line.startswith("-"):
        match = EDITABLE.fullmatch(line.strip())
        if not match:
            raise ValueError(f"pip line {line!r}: only '-e path[extras]' is allowed as an option here")
        extras = tuple(x.strip() for x in (match["extras"] or "").split(",") if x.strip())
        return Editable((env_dir / match["path"]).resolve(), extras)
    try:
        return Requirement(line)
    except InvalidRequirement as error:
        raise ValueError(f"pip line {line!r}: {error}") from error


def pip_problems(env: dict[str, Any], env_dir: Path = ROOT) -> list[str]:
    """The pip section installs this project from its own folder, and no compiled package of the stack."""
    problems, editables = [], []
    project = load_pyproject()["project"]
    for line in pip_lines(env):
        try:
            parsed = parse_pip_line(line, env_dir)
        except ValueError as error:
            problems.append(str(error))
            continue
        if isinstance(parsed, Editable):
            editables.append(parsed)
            if parsed.path != ROOT.resolve() or not (parsed.path / "pyproject.toml").is_file():
                problems.append(f"{line!r}: {parsed.path} is not the project root (the folder of pyproject.toml)")
            unknown = set(parsed.extras) - set(project.get("optional-dependencies", {}))
            problems += [f"{line!r}: pyproject.toml has no extra {x!r}" for x in sorted(unknown)]
        elif canonicalize_name(parsed.name) in COMPILED_STACK:
            problems.append(
                f"{line!r}: compiled packages come from conda-forge only; a pip copy brings a second OpenMP runtime"
            )
    if not any(e.path == ROOT.resolve() for e in editables):
        problems.append("the pip section must install this project: '-e .[dev]'")
    return problems


def project_requirements(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject's dependencies plus the requested extras, self-references (``name[extra]``) expanded."""
    project = load_pyproject()["project"]
    own = canonicalize_name(project["name"])
    requirements = [Requirement(r) for r in project["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in map(Requirement, project.get("optional-dependencies", {}).get(extra, [])):
            if canonicalize_name(requirement.name) == own:
                todo.extend(requirement.extras)
            else:
                requirements.append(requirement)
    return requirements


def environment_requirements(env: dict[str, Any]) -> dict[str, tuple[str, SpecifierSet]]:
    """PyPI name -> (where environment.yml lists it, its specifier), for conda specs and pip requirements."""
    listed: dict[str, tuple[str, SpecifierSet]] = {}
    for spec in conda_specs(env):
        if spec.name not in CONDA_ONLY:
            pypi = canonicalize_name(CONDA_TO_PYPI.get(spec.name, spec.name))
            listed[pypi] = (f"conda {spec.name}", to_specifier(spec.version) if spec.version else SpecifierSet())
    for line in pip_lines(env):
        parsed = _try_pip(line)
        if isinstance(parsed, Requirement):
            listed[canonicalize_name(parsed.name)] = (f"pip {parsed.name}", parsed.specifier)
    return listed


def _try_pip(line: str) -> Requirement | Editable | None:
    try:
        return parse_pip_line(line, ROOT)
    except ValueError:
        return None


def _extras_installed(env: dict[str, Any]) -> tuple[str, ...]:
    return next((p.extras for p in map(_try_pip, pip_lines(env)) if isinstance(p, Editable)), ())


def agreement_problems(env: dict[str, Any]) -> list[str]:
    """The same packages, with the same bounds, in environment.yml and pyproject.toml."""
    listed = environment_requirements(env)
    problems = []
    for requirement in project_requirements(_extras_installed(env)):
        name = canonicalize_name(requirement.name)
        if name not in listed:
            problems.append(f"pyproject.toml requires {requirement} but environment.yml does not list {name}")
        elif listed[name][1] != requirement.specifier:
            problems.append(
                f"{name}: environment.yml has {listed[name][0]}{listed[name][1] or ' (any)'}, pyproject.toml has"
                f" {requirement.specifier or 'any'}"
            )
    wanted = {canonicalize_name(r.name) for r in project_requirements(_extras_installed(env))}
    problems += [
        f"environment.yml lists {where} that pyproject.toml does not require (and it is not in COMPILED_STACK)"
        for name, (where, _) in sorted(listed.items())
        if name not in wanted and name not in COMPILED_STACK
    ]
    return problems


@functools.cache
def installed() -> dict[str, metadata.Distribution]:
    """This test environment's distributions by canonical name (the first on sys.path wins, as for imports)."""
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        found.setdefault(canonicalize_name(dist.metadata["Name"] or ""), dist)
    return found


def installed_problems(env: dict[str, Any]) -> list[str]:
    """Every listed requirement is met by this environment, which pip installed from pyproject.toml."""
    problems = []
    python = next((s for s in conda_specs(env) if s.name == "python"), None)
    if python and not satisfies(python.version or "=*", platform.python_version()):
        problems.append(f"python{python.version} excludes this Python {platform.python_version()}")
    for name, (where, specifier) in sorted(environment_requirements(env).items()):
        dist = installed().get(name)
        if dist is None:
            problems.append(f"{where}: {name} is not installed in this environment")
        elif not specifier.contains(dist.version, prereleases=True):
            problems.append(f"{where}{specifier}: this environment has {name} {dist.version}")
    if "yolo-workbook" not in installed():
        problems.append("this project is not installed (pip install -e .[dev])")
    return problems


@functools.cache
def requirements_on_compiled_stack(extras: tuple[str, ...]) -> tuple[tuple[str, str, Requirement], ...]:
    """(requirer, platform, requirement) for each requirement on the compiled stack met while walking the
    installed dependency tree of this project (with ``extras``), for Windows and for this machine."""
    found = []
    for label, environment in PLATFORMS.items():
        todo, seen = [("yolo-workbook", frozenset(extras))], set()
        while todo:
            name, wanted_extras = todo.pop()
            if (name, wanted_extras) in seen or name not in installed():
                continue
            seen.add((name, wanted_extras))
            for line in installed()[name].requires or []:
                requirement = Requirement(line)
                if requirement.marker and not any(
                    requirement.marker.evaluate({**environment, "extra": extra}) for extra in {"", *wanted_extras}
                ):
                    continue
                target = canonicalize_name(requirement.name)
                if target in COMPILED_STACK:
                    found.append((name, label, requirement))  # conda provides it: its own tree is conda's
                else:  # including this project's own extras, e.g. yolo-workbook[loggers] in dev
                    todo.append((target, frozenset(requirement.extras)))
    return tuple(found)


def compiled_stack_problems(env: dict[str, Any]) -> list[str]:
    """pip keeps conda's torch, torchvision, numpy and OpenCV: each conda lower bound meets every requirement
    on them in the installed tree, on Windows too (e.g. ultralytics excludes torch 2.4.0 there)."""
    specs = {s.name: s for s in conda_specs(env)}
    requirements = requirements_on_compiled_stack(_extras_installed(env))
    problems = []
    for pypi, conda in COMPILED_STACK.items():
        spec = specs.get(conda)
        needed_by = [(who, label, r) for who, label, r in requirements if canonicalize_name(r.name) == pypi]
        if not needed_by:
            problems.append(f"{conda}: in COMPILED_STACK but nothing in the installed tree requires {pypi}")
        if spec is None:
            problems.append(f"{conda} is not a conda dependency: pip would install {pypi} from PyPI")
            continue
        bound = lower_bound(spec.version)
        if bound is None:
            problems.append(f"{conda}{spec.version}: give a lower bound (>=) so every conda choice suits pip")
            continue
        problems += [
            f"{conda}>={bound}: {who} requires {r} on {label}: pip would replace conda's {pypi}"
            for who, label, r in needed_by
            if not r.specifier.contains(bound, prereleases=True)
        ]
    return problems


# --- the real file --------------------------------------------------------------------------------------


def test_environment_yml_has_condas_shape():
    assert shape_problems(load_env()) == []


def test_every_conda_spec_is_a_valid_matchspec_and_python_meets_requires_python():
    env = load_env()
    assert spec_problems(env) == []
    assert {s.name for s in conda_specs(env)} >= {"python", "pip", *COMPILED_STACK.values()}


def test_pip_section_installs_the_project_and_no_compiled_package():
    assert pip_problems(load_env()) == []


def test_environment_yml_agrees_with_pyproject():
    assert agreement_problems(load_env()) == []


def test_every_requirement_is_met_by_this_environment():
    assert installed_problems(load_env()) == []


def test_pip_keeps_condas_compiled_stack_on_windows_too():
    assert compiled_stack_problems(load_env()) == []


def test_readme_activates_the_environment_by_its_name():
    assert f"conda activate {load_env()['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")


# --- each check catches what it is for (a broken copy of the file) --------------------------------------


def _swap(deps: list[Any], name: str, new: str | None) -> None:
    """Replace (or with None, remove) the conda spec of package ``name``."""
    index = next(i for i, dep in enumerate(deps) if isinstance(dep, str) and _name_of(dep) == name)
    if new is None:
        del deps[index]
    else:
        deps[index] = new


def _broken(change: str) -> dict[str, Any]:
    """A copy of environment.yml with one thing broken."""
    env = copy.deepcopy(load_env())
    deps = env["dependencies"]
    pip = next(d for d in deps if isinstance(d, dict))["pip"]
    if change == "defaults channel":
        env["channels"].append("defaults")
    elif change == "no nodefaults":
        env["channels"].remove("nodefaults")
    elif change == "unknown key":
        env["platforms"] = ["win-64"]
    elif change == "two pip sections":
        deps.append({"pip": ["rich"]})
    elif change == "pip section without pip":
        _swap(deps, "pip", None)
    elif change == "unquoted variable":
        env["variables"] = {"PYTHONUTF8": 1}
    elif change == "bad spec":
        deps.append("numpy>=")
    elif change == "other channel":
        deps.append("pytorch::pytorch-cuda=12.4")
    elif change == "python outside requires-python":
        _swap(deps, "python", "python=3.9")
    elif change == "pip torch":
        pip.append("torch>=2.5")
    elif change == "pip option":
        pip.append("--extra-index-url https://download.pytorch.org/whl/cu126")
    elif change == "unknown extra":
        pip[pip.index("-e .[dev]")] = "-e .[gpu]"
    elif change == "editable elsewhere":
        pip[pip.index("-e .[dev]")] = "-e ./lib[dev]"
    elif change == "missing dependency":
        _swap(deps, "jupyterlab", None)
    elif change == "other bound":
        _swap(deps, "ultralytics", "ultralytics>=8.3")
    elif change == "extra package":
        deps.append("scipy>=1.11")
    elif change == "unmet here":
        _swap(deps, "pytest", "pytest>=99")
    elif change == "torch 2.4 on Windows":
        _swap(deps, "pytorch", "pytorch>=2.4")
    elif change == "no lower bound":
        _swap(deps, "numpy", "numpy")
    elif change == "stack not in conda":
        _swap(deps, "torchvision", None)
    return env


@pytest.mark.parametrize(
    ("check", "change", "words"),
    [
        (shape_problems, "defaults channel", "only conda-forge"),
        (shape_problems, "no nodefaults", "nodefaults"),
        (shape_problems, "unknown key", "unknown top-level key 'platforms'"),
        (shape_problems, "two pip sections", "more than one mapping"),
        (shape_problems, "pip section without pip", "needs 'pip'"),
        (shape_problems, "unquoted variable", "variables must map names to strings"),
        (spec_problems, "bad spec", "without a version"),
        (spec_problems, "other channel", "another channel"),
        (spec_problems, "python outside requires-python", "requires-python"),
        (pip_problems, "pip torch", "second OpenMP runtime"),
        (pip_problems, "pip option", "only '-e path[extras]'"),
        (pip_problems, "unknown extra", "no extra 'gpu'"),
        (pip_problems, "editable elsewhere", "not the project root"),
        (agreement_problems, "missing dependency", "does not list jupyterlab"),
        (agreement_problems, "other bound", "ultralytics: environment.yml has conda ultralytics>=8.3"),
        (agreement_problems, "extra package", "does not require"),
        (installed_problems, "unmet here", "this environment has pytest"),
        (compiled_stack_problems, "torch 2.4 on Windows", "on Windows"),
        (compiled_stack_problems, "no lower bound", "give a lower bound"),
        (compiled_stack_problems, "stack not in conda", "pip would install torchvision"),
    ],
)
def test_each_check_catches_a_broken_file(check, change: str, words: str):
    problems = check(_broken(change))
    assert any(words in problem for problem in problems), problems
