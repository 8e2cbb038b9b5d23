"""Map the design card's folders onto importable packages.

core/            -> swegym
prompts/         -> swegym_prompts   (Jinja templates shipped as package data)
plugins/<name>/  -> swegym_<name>    (each reads like a package of its own)
"""
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
DATA = ["*.j2", "*.jinja", "*.json", "*.jsonl", "*.yaml", "*.yml", "*.toml", "*.txt", "*.patch", "*.sh", "*.py.txt", "**/*"]


def _tree(prefix: str, folder: str) -> tuple[list[str], dict[str, str]]:
    packages = [prefix] + [f"{prefix}.{p}" for p in find_packages(folder)]
    dirs = {pkg: str(Path(folder, *pkg.split(".")[1:])) for pkg in packages}
    return packages, dirs


packages: list[str] = []
package_dir: dict[str, str] = {}
for prefix, folder in [("swegym", "core"), ("swegym_prompts", "prompts")]:
    pk, pd = _tree(prefix, folder)
    packages += pk
    package_dir.update(pd)
for plugin in sorted((ROOT / "plugins").iterdir()):
    if (plugin / "__init__.py").exists():
        pk, pd = _tree(f"swegym_{plugin.name}", f"plugins/{plugin.name}")
        packages += pk
        package_dir.update(pd)

setup(packages=packages, package_dir=package_dir, package_data={pkg: DATA for pkg in packages})
