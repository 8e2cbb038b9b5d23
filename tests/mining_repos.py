"""Small git repositories with a pull-request history, made in the test (real git, no network)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, **ENV}
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def commit(repo: Path, message: str, files: dict[str, str], date: str) -> str:
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD")


CALC = '''__version__ = "{version}"


def add(a, b):
    return a + b


def clamp(value, low, high):
    return max(low, min(value, high - 1))
'''
TEST_CALC = '''from calc import add, clamp


def test_add():
    assert add(2, 3) == 5
'''


def make_history(root: Path) -> dict[str, str]:
    """A main line with: a squash PR fixing a bug + its test (#3), a code-only PR (#4), a merge commit
    landing PR #5 (code + tests), a plain commit, a test-only PR (#6), a refactor PR whose new test
    already passes (#7). Returns name → sha."""
    repo = root
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    shas = {}
    shas["init"] = commit(repo, "initial", {"calc.py": CALC.format(version="0.3.0.dev"), "tests/test_calc.py": TEST_CALC,
                                            "README.md": "calc\n"}, "2023-01-01T10:00:00+00:00")
    git(repo, "tag", "v0.2.0")
    shas["pr3"] = commit(repo, "Fix clamp upper bound (#3)\n\nclamp() returned high - 1 for values above high.\nFixes #2",
                         {"calc.py": CALC.format(version="0.3.0.dev").replace("high - 1", "high"),
                          "tests/test_calc.py": TEST_CALC + "\n\ndef test_clamp_high():\n    assert clamp(9, 0, 5) == 5\n"},
                         "2023-01-02T10:00:00+00:00")
    shas["pr4"] = commit(repo, "Docs only (#4)", {"README.md": "calc, a calculator\n"}, "2023-01-03T10:00:00+00:00")
    # PR #5 on a branch, merged with a merge commit
    git(repo, "checkout", "-q", "-b", "feature")
    calc5 = (repo / "calc.py").read_text() + "\n\ndef sub(a, b):\n    return a - b\n"
    commit(repo, "add sub", {"calc.py": calc5}, "2023-01-04T09:00:00+00:00")
    commit(repo, "test sub", {"tests/test_sub.py": "from calc import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n"},
           "2023-01-04T09:30:00+00:00")
    git(repo, "checkout", "-q", "main")
    shas["plain"] = commit(repo, "Bump version", {"calc.py": (repo / "calc.py").read_text().replace("0.3.0.dev", "0.4.0.dev")},
                           "2023-01-04T10:00:00+00:00")
    git(repo, "merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #5 from someone/feature\n\nAdd sub()",
        date="2023-01-05T10:00:00+00:00")
    shas["pr5"] = git(repo, "rev-parse", "HEAD")
    shas["pr6"] = commit(repo, "More tests (#6)", {"tests/test_more.py": "def test_more():\n    assert True\n"},
                         "2023-01-06T10:00:00+00:00")
    calc7 = (repo / "calc.py").read_text().replace("def add(a, b):\n    return a + b", "def add(a, b):\n    return sum((a, b))")
    shas["pr7"] = commit(repo, "Refactor add (#7)", {"calc.py": calc7, "tests/test_refactor.py":
                                                     "from calc import add\n\n\ndef test_add_negative():\n    assert add(-1, -2) == -3\n"},
                         "2023-01-07T10:00:00+00:00")
    return shas
