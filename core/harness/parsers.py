"""Test-log parsers: turn a test command's output into {test name: status}.

Why these exact rules: FAIL_TO_PASS / PASS_TO_PASS names in SWE-bench and SWE-Gym were produced
by SWE-bench's parsers (and the SWE-Gym fork's additions), so grading is only right when a log is
read the same way, quirks included (e.g. pytest names are cut at the first space, an XPASS is not
a pass, sympy's ``[FAIL]``-suffixed last line is not recognised). Every parser is a pure function
``parse(log) -> dict`` that never raises on any text.
"""
from __future__ import annotations

import re
from typing import Callable

PASSED, FAILED, SKIPPED, ERROR, XFAIL = "PASSED", "FAILED", "SKIPPED", "ERROR", "XFAIL"
TEST_STATUSES: tuple[str, ...] = (FAILED, PASSED, SKIPPED, ERROR, XFAIL)

LogParser = Callable[[str], "dict[str, str]"]

_STATUS_ALT = "|".join(TEST_STATUSES)
_STATUS_FIRST = re.compile(rf"^({_STATUS_ALT})\s+(\S+)")
_TEST_FIRST = re.compile(rf"^(\S+)\s+({_STATUS_ALT})(?:\s|$)")
_SKIP_COUNT = re.compile(r"^\[\d+\]$")
_ANSI_CODE = re.compile(r"\[(\d+)m")
#: swebench 5.0.2 ``swebench/utils.py::ansi_escape`` (used there by the JavaScript parsers).
_ANSI_ESCAPE = re.compile(r"\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])")
_CONTROL_CHARS = str.maketrans("", "", "".join(chr(c) for c in range(1, 32)))


def _summary_line(line: str) -> tuple[str, str] | None:
    """One ``-rA`` short-summary line (``STATUS name [- message]``) as (name, status), or None.

    As SWE-bench: the name is the first word after the status (so it stops at a space), a FAILED
    line's `` - `` separator is dropped first, and ``SKIPPED [3] file.py:12: reason`` (a count of
    skips, not a test) is ignored. A first word that merely starts with a status ("PASSEDx") is no
    status; SWE-bench would store it under that non-status, which no grading rule reads.
    """
    if not line.startswith(TEST_STATUSES):
        return None
    if line.startswith(FAILED):
        line = line.replace(" - ", " ")
    parts = line.split()
    if len(parts) < 2 or parts[0] not in TEST_STATUSES:
        return None
    if parts[0] == SKIPPED and _SKIP_COUNT.match(parts[1]):
        return None
    return parts[1], parts[0]


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (colour codes) with swebench 5.0.2's ``ansi_escape`` pattern."""
    return _ANSI_ESCAPE.sub("", text) if "\x1b" in text else text


def _strip_terminal(line: str) -> str:
    return _ANSI_CODE.sub("", line).translate(_CONTROL_CHARS)


def parse_pytest(log: str) -> dict[str, str]:
    """pytest run with ``-rA`` (the short summary lists every test with its outcome).

    Only summary lines count (SWE-bench's ``parse_log_pytest``): the ``name STATUS`` lines of
    ``-v`` would also pick up section banners such as ``____ ERROR at setup of x ____``.
    Colour codes are stripped first (repositories such as moto 5 set ``addopts = --color=yes``); one
    knowing difference: SWE-bench's ``parse_log_pytest`` does not strip them, so on a coloured log
    it finds no test at all and grades every FAIL_TO_PASS / PASS_TO_PASS test as missing.
    """
    result: dict[str, str] = {}
    for line in strip_ansi(log).split("\n"):
        parsed = _summary_line(line)
        if parsed:
            result[parsed[0]] = parsed[1]
    return result


def _option_name(name: str) -> str:
    """``test[/long/abs/path/x.py]`` → ``test[/x.py]``: parametrize ids holding absolute paths differ per machine."""
    m = re.search(r"(.*?)\[(.*)\]", name)
    if not m:
        return name
    main, option = m.groups()
    if option.startswith("/") and not option.startswith("//") and "*" not in option:
        option = "/" + option.split("/")[-1]
    return f"{main}[{option}]"


def parse_pytest_options(log: str) -> dict[str, str]:
    """pytest, with parametrize ids that contain absolute paths shortened (requests, pylint, pydicom)."""
    return {_option_name(name): status for name, status in parse_pytest(log).items()}


def parse_pytest_v2(log: str) -> dict[str, str]:
    """pytest output that may carry colour codes and control characters (astropy, scikit-learn, sphinx).

    SWE-bench 5's rules: the whole rest of a ``STATUS name`` line is the name (ids with spaces stay
    whole), and a line that ends with a status (older pytest's ``name STATUS``) names everything
    before it. One knowing difference: SWE-bench drops the `` - message`` tail only on FAILED lines,
    so an ``XFAIL name - reason`` test is stored as ``name - reason`` and a PASS_TO_PASS test that
    xfails as expected counts as missing (a failure) although XFAIL passes by its own rules. Here
    the tail is dropped on every status line (test ids are never followed by `` - `` otherwise).
    """
    result: dict[str, str] = {}
    for raw in log.split("\n"):
        line = _strip_terminal(raw)
        if line.startswith(TEST_STATUSES):
            parts = line.split(" - ", 1)[0].split()
            if len(parts) >= 2 and parts[0] in TEST_STATUSES and not (parts[0] == SKIPPED and _SKIP_COUNT.match(parts[1])):
                result[" ".join(parts[1:])] = parts[0]
        elif line.endswith(TEST_STATUSES):
            parts = line.split()
            if len(parts) >= 2 and parts[-1] in TEST_STATUSES:
                result[" ".join(parts[:-1])] = parts[-1]
    return result


def _pytest_line(line: str) -> tuple[str, str] | None:
    """A summary line (``STATUS name``) or a ``-v`` line (``name STATUS``): the SWE-Gym fork's pydantic rule."""
    m = _STATUS_FIRST.match(line)
    if m:
        status, name = m.groups()
        if status == FAILED:
            parts = line.replace(" - ", " ").split()
            name = parts[1] if len(parts) > 1 else name
        if status == SKIPPED and _SKIP_COUNT.match(name):
            return None
        return name, status
    m = _TEST_FIRST.match(line)
    if m:
        return m.group(1), m.group(2)
    return None


_FAILED_PERCENT = re.compile(r"FAILED\s*\[.*?\]")


def parse_pytest_pydantic(log: str) -> dict[str, str]:
    """pydantic's ``pytest -rA -v``: verbose lines end in ``FAILED [ 42%]``, which the SWE-Gym fork strips."""
    result: dict[str, str] = {}
    for line in log.split("\n"):
        parsed = _pytest_line(_FAILED_PERCENT.sub(FAILED, _strip_terminal(line)))
        if parsed:
            result[parsed[0]] = parsed[1]
    return result


_DJANGO_INTERRUPTED = [
    re.compile(r"^(.*?)\s\.\.\.\sTesting\ against\ Django\ installed\ in\ ((?s:.*?))\ silenced\)\.\nok$", re.M),
    re.compile(r"^(.*?)\s\.\.\.\sInternal\ Server\ Error:\ \/(.*)\/\nok$", re.M),
    re.compile(r"^(.*?)\s\.\.\.\sSystem check identified no issues \(0 silenced\)\nok$", re.M),
]


def parse_django(log: str) -> dict[str, str]:
    """Django's runner at ``--verbosity 2``: ``test_x (app.tests.Case) ... ok|FAIL|ERROR|skipped``.

    A test that prints before its verdict puts ``ok`` on a later line; the last test seen with
    `` ... `` gets it, as in SWE-bench.
    """
    result: dict[str, str] = {}
    prev_test: str | None = None
    for raw in log.split("\n"):
        line = raw.strip()
        if "--version is equivalent to version" in line:
            result["--version is equivalent to version"] = PASSED
        if " ... " in line:
            prev_test = line.split(" ... ")[0]
        for suffix in (" ... ok", " ... OK", " ...  OK"):
            if line.endswith(suffix):
                if line.startswith("Applying sites.0002_alter_domain_unique...test_no_migrations"):
                    line = line.split("...", 1)[-1].strip()  # django__django-7188: migration output on the same line
                result[line.rsplit(suffix, 1)[0]] = PASSED
                break
        if " ... skipped" in line:
            result[line.split(" ... skipped")[0]] = SKIPPED
        if line.endswith(" ... FAIL"):
            result[line.split(" ... FAIL")[0]] = FAILED
        if line.startswith("FAIL:"):
            parts = line.split()
            if len(parts) > 1:
                result[parts[1].strip()] = FAILED
        if line.endswith(" ... ERROR"):
            result[line.split(" ... ERROR")[0]] = ERROR
        if line.startswith("ERROR:"):
            parts = line.split()
            if len(parts) > 1:
                result[parts[1].strip()] = ERROR
        if line.lstrip().startswith("ok") and prev_test is not None:
            result[prev_test] = PASSED
    for pattern in _DJANGO_INTERRUPTED:
        for m in pattern.finditer(log):
            result[m.group(1)] = PASSED
    return result


def parse_seaborn(log: str) -> dict[str, str]:
    """seaborn's pytest output (``name PASSED`` lines and ``FAILED name`` summaries)."""
    result: dict[str, str] = {}
    for line in log.split("\n"):
        parts = line.split()
        if line.startswith(FAILED):
            if len(parts) > 1:
                result[parts[1]] = FAILED
        elif f" {PASSED} " in line:
            if len(parts) > 1 and parts[1] == PASSED:
                result[parts[0]] = PASSED
        elif line.startswith(PASSED):
            if len(parts) > 1:
                result[parts[1]] = PASSED
    return result


_SYMPY_HEADER = re.compile(r"(_*) (.*)\.py:(.*) (_*)")


def parse_sympy(log: str) -> dict[str, str]:
    """sympy's ``bin/test -C --verbose``: ``test_x ok|F|E`` lines, plus ``___ file.py:test_x ___`` failure headers."""
    result: dict[str, str] = {}
    for m in _SYMPY_HEADER.findall(log):
        result[f"{m[1]}.py:{m[2]}"] = FAILED
    for raw in log.split("\n"):
        line = raw.strip()
        if not line.startswith("test_"):
            continue
        name = line.split()[0]
        if line.endswith(" E"):
            result[name] = ERROR
        if line.endswith(" F"):
            result[name] = FAILED
        if line.endswith(" ok"):
            result[name] = PASSED
    return result


def parse_matplotlib(log: str) -> dict[str, str]:
    """matplotlib: pytest ``-rA`` where parametrize ids spell mouse buttons by enum name."""
    result: dict[str, str] = {}
    for line in log.split("\n"):
        line = line.replace("MouseButton.LEFT", "1").replace("MouseButton.RIGHT", "3")
        if any(line.startswith(s) for s in TEST_STATUSES):
            if line.startswith(FAILED):
                line = line.replace(" - ", " ")
            parts = line.split()
            if len(parts) > 1 and parts[0] in TEST_STATUSES:  # "PASSEDx y" is no status (SWE-bench would store it)
                if parts[0] == SKIPPED and _SKIP_COUNT.match(parts[1]):
                    continue  # "SKIPPED [3] file.py:12: reason" names no test
                result[parts[1]] = parts[0]
    return result


# SWE-bench (Lite and full) repositories, then the repositories SWE-Gym adds.
PARSERS: dict[str, LogParser] = {
    "astropy/astropy": parse_pytest_v2,
    "django/django": parse_django,
    "marshmallow-code/marshmallow": parse_pytest,
    "matplotlib/matplotlib": parse_matplotlib,
    "mwaskom/seaborn": parse_seaborn,
    "pallets/flask": parse_pytest,
    "psf/requests": parse_pytest_options,
    "pvlib/pvlib-python": parse_pytest,
    "pydata/xarray": parse_pytest,
    "pydicom/pydicom": parse_pytest_options,
    "pylint-dev/astroid": parse_pytest,
    "pylint-dev/pylint": parse_pytest_options,
    "pytest-dev/pytest": parse_pytest,
    "pyvista/pyvista": parse_pytest,
    "scikit-learn/scikit-learn": parse_pytest_v2,
    "sqlfluff/sqlfluff": parse_pytest,
    "sphinx-doc/sphinx": parse_pytest_v2,
    "sympy/sympy": parse_sympy,
    # SWE-Gym
    "python/mypy": parse_pytest,
    "getmoto/moto": parse_pytest,
    "conan-io/conan": parse_pytest,
    "modin-project/modin": parse_pytest,
    "Project-MONAI/MONAI": parse_pytest,
    "iterative/dvc": parse_pytest,
    "dask/dask": parse_pytest,
    "bokeh/bokeh": parse_pytest,
    "mne-tools/mne-python": parse_pytest,
    "HypothesisWorks/hypothesis": parse_pytest,
    "pydantic/pydantic": parse_pytest_pydantic,
    "pandas-dev/pandas": parse_pytest,
    "facebookresearch/hydra": parse_pytest,
}
_BY_LOWER = {repo.lower(): fn for repo, fn in PARSERS.items()}
BY_NAME: dict[str, LogParser] = {
    "pytest": parse_pytest,
    "pytest_options": parse_pytest_options,
    "pytest_v2": parse_pytest_v2,
    "pydantic": parse_pytest_pydantic,
    "django": parse_django,
    "seaborn": parse_seaborn,
    "sympy": parse_sympy,
    "matplotlib": parse_matplotlib,
}


def get_parser(repo: str, name: str | None = None) -> LogParser:
    """The parser for ``repo`` (owner/name, any case); ``name`` picks one explicitly.

    Repositories outside SWE-bench / SWE-Gym (the demo tasks, new datasets) run pytest ``-rA``,
    so they get the pytest parser.
    """
    if name:
        try:
            return BY_NAME[name]
        except KeyError:
            from ..errors import SwegymError

            raise SwegymError(f"unknown log parser {name!r}; known parsers: {', '.join(sorted(BY_NAME))}") from None
    return _BY_LOWER.get(repo.lower(), parse_pytest)


def parse_log(repo: str, log: str) -> dict[str, str]:
    """Shortcut: ``get_parser(repo)(log)`` with Windows line endings normalised."""
    return get_parser(repo)(log.replace("\r\n", "\n"))


__all__ = [
    "PASSED", "FAILED", "SKIPPED", "ERROR", "XFAIL", "TEST_STATUSES", "PARSERS", "BY_NAME",
    "get_parser", "parse_log", "strip_ansi", "parse_pytest", "parse_pytest_options", "parse_pytest_v2",
    "parse_pytest_pydantic", "parse_django", "parse_seaborn", "parse_sympy", "parse_matplotlib",
]
