"""PNG plots of pass@k and best@k against k, in the style of the SWE-Gym paper's scaling figures.

matplotlib is imported here, lazily, with the Agg backend (no display needed).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SwegymError


def _pyplot():
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the environment
        raise SwegymError("plots need matplotlib: pip install 'swegym[report]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _axes(plt, title: str):
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    ax.set_title(title)
    ax.set_xlabel("k (rollouts per task)")
    ax.set_ylabel("resolve rate (%)")
    ax.grid(True, alpha=0.3)
    return fig, ax


def _band(ax, ks, mean, std, label, **style) -> None:
    y = [100 * m for m in mean]
    lo = [100 * (m - s) for m, s in zip(mean, std)]
    hi = [100 * (m + s) for m, s in zip(mean, std)]
    line, = ax.plot(ks, y, marker="o", label=label, **style)
    ax.fill_between(ks, lo, hi, alpha=0.15, color=line.get_color())


def _finish(fig, ax, path: Path, k_max: int, empty_note: str | None) -> None:
    if empty_note:
        ax.text(0.5, 0.5, empty_note, ha="center", va="center", transform=ax.transAxes, color="gray")
    else:
        ax.legend(loc="lower right", fontsize=8)
    if k_max:
        step = max(1, k_max // 12)
        ax.set_xticks(list(range(1, k_max + 1, step)))
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, format="png")


def plot_curves(runs: dict[str, dict[str, Any]], out_dir: str | Path) -> dict[str, Path]:
    """Write ``pass_at_k.png`` and ``best_at_k.png``; return their paths."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    paths = {"pass_at_k": out_dir / "pass_at_k.png", "best_at_k": out_dir / "best_at_k.png"}
    k_max = max((len(run["curves"]) for run in runs.values()), default=0)

    fig, ax = _axes(plt, "pass@k (mean ± std over random subsets)")
    for name, run in runs.items():
        c = run["curves"]
        if c:
            _band(ax, [r["k"] for r in c], [r["pass_at_k"] for r in c], [r["pass_at_k_std"] for r in c], name)
    _finish(fig, ax, paths["pass_at_k"], k_max, None if k_max else "no graded rollouts")
    plt.close(fig)

    fig, ax = _axes(plt, "best@k with the verifier (dashed: pass@k)")
    drawn = False
    for name, run in runs.items():
        c = run["curves"]
        if c and c[0]["best_at_k"] is not None:
            ks = [r["k"] for r in c]
            _band(ax, ks, [r["best_at_k"] for r in c], [r["best_at_k_std"] for r in c], f"{name} best@k")
            ax.plot(ks, [100 * r["pass_at_k"] for r in c], linestyle="--", color=ax.lines[-1].get_color(),
                    alpha=0.6, label=f"{name} pass@k")
            drawn = True
    _finish(fig, ax, paths["best_at_k"], k_max, None if drawn else "no verifier scores (run `swegym score`)")
    plt.close(fig)
    return paths


__all__ = ["plot_curves"]
