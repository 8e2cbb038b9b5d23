"""Regenerate the real test logs in this folder by running real suites (pytest, django, sympy).

Why: parser tests must see what the tools really print, not hand-written lines. Each log is
produced by running the tiny suites below with the runner and flags SWE-bench uses for that
kind of repository. Usage (django needs a venv that has it)::

    python tests/data/logs/generate.py [--django-python /path/to/venv/bin/python]

Writes ``<name>.log`` next to this file; tests/test_harness_parsers.py knows, from the suites
below, what each test's real outcome is. The django log was made with Django 5.2, the sympy log
with sympy 1.14's own runner (the reporter ``bin/test`` uses).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).parent

PYTEST_SUITE = {
    "tests/test_shapes.py": '''
        import pytest

        def test_area():
            assert 2 * 3 == 6

        def test_perimeter_wrong():
            assert 2 + 2 == 5, "perimeter - off by one"

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture exploded")

        def test_uses_broken_fixture(broken):
            pass

        @pytest.mark.skip(reason="not on this platform")
        def test_skipped():
            pass

        @pytest.mark.xfail(reason="known bug")
        def test_known_bug():
            assert False

        @pytest.mark.xfail(reason="fixed already")
        def test_xpass():
            assert True

        @pytest.mark.parametrize("name", ["a b", "x/y/z.txt", "/abs/path/file.py"])
        def test_param(name):
            assert name != "a b"

        class TestSquare:
            def test_side(self):
                assert 4 ** 0.5 == 2

            def test_diag_fails(self):
                assert 1 == 0
    ''',
    "tests/test_more.py": '''
        def test_ok():
            print("some output - with dashes")
    ''',
}

DJANGO_TESTS = '''
    import unittest
    from django.test import SimpleTestCase


    class ArithmeticTests(SimpleTestCase):
        def test_add(self):
            self.assertEqual(1 + 1, 2)

        def test_sub_wrong(self):
            self.assertEqual(3 - 1, 1)

        def test_error(self):
            raise KeyError("missing")

        @unittest.skip("needs a database")
        def test_skipped(self):
            pass

        @unittest.expectedFailure
        def test_expected_failure(self):
            self.assertEqual(1, 2)

        def test_with_docstring(self):
            """Docstrings are printed on their own line at verbosity 2."""
            self.assertTrue(True)

        def test_prints(self):
            import sys
            sys.stderr.write("noise written by the test\\n")
            self.assertTrue(True)
'''

SYMPY_TESTS = '''
    from sympy import Symbol, expand
    from sympy.testing.pytest import XFAIL, skip

    x = Symbol("x")


    def test_expand_square():
        assert expand((x + 1)**2) == x**2 + 2*x + 1


    def test_wrong_result():
        assert expand((x + 1)**2) == x**2 + 1


    def test_raises_error():
        raise ValueError("boom")


    @XFAIL
    def test_known_bug():
        assert 1 == 2


    def test_skipped():
        skip("not today")
'''


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    return f"+ {' '.join(cmd[2:] if cmd[1:3] == ['-m', 'pytest'] else cmd)}\n" + out.stdout + out.stderr


def pytest_logs(work: Path) -> None:
    _write(work, PYTEST_SUITE)
    (work / "tests" / "__init__.py").write_text("")
    base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    (HERE / "pytest_ra.log").write_text(_run(base + ["-rA", "tests/test_shapes.py", "tests/test_more.py"], work))
    (HERE / "pytest_verbose.log").write_text(
        _run(base + ["-rA", "-v", "--color=no", "tests/test_shapes.py", "tests/test_more.py"], work))
    (HERE / "pytest_color.log").write_text(
        _run(base + ["-rA", "--color=yes", "tests/test_shapes.py", "tests/test_more.py"], work))


def django_log(work: Path, python: str) -> None:
    _write(work, {
        "proj/__init__.py": "",
        "proj/settings.py": 'SECRET_KEY = "x"\nINSTALLED_APPS = ["arith"]\nDATABASES = {}\nUSE_TZ = True\n',
        "arith/__init__.py": "",
        "arith/tests.py": DJANGO_TESTS,
    })
    cmd = [python, "-m", "django", "test", "--verbosity", "2", "--parallel", "1", "arith"]
    (HERE / "django.log").write_text(_run(cmd, work, {"DJANGO_SETTINGS_MODULE": "proj.settings", "PYTHONPATH": str(work)}))


def sympy_log(work: Path) -> None:
    """sympy's own runner (what ``bin/test -C --verbose`` prints), on a file laid out like sympy's."""
    _write(work, {"sympy/demo/tests/test_symdemo.py": SYMPY_TESTS})
    script = textwrap.dedent(f'''
        from sympy.testing.runtests import SymPyTests, PyTestReporter
        r = PyTestReporter(verbose=True, tb="short", colors=False, force_colors=False)
        t = SymPyTests(r, kw=None, post_mortem=False, seed=1)
        t._root_dir = {str(work)!r}
        r.root_dir({str(work)!r})
        t._testfiles.append({str(work / "sympy/demo/tests/test_symdemo.py")!r})
        raise SystemExit(0 if t.test() else 1)
    ''')
    out = subprocess.run([sys.executable, "-c", script], cwd=work, capture_output=True, text=True)
    (HERE / "sympy.log").write_text("+ bin/test -C --verbose sympy/demo/tests/test_symdemo.py\n" + out.stdout + out.stderr)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--django-python", default=sys.executable)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pytest_logs(Path(tmp) / "pt")
        django_log(Path(tmp) / "dj", args.django_python)
        sympy_log(Path(tmp) / "sy")


if __name__ == "__main__":
    main()
