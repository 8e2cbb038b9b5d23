"""SWE-bench's flag spellings for ``swegym eval``, so a ``run_evaluation`` command line works as is.

``python -m swebench.harness.run_evaluation --dataset_name D --predictions_path P --run_id R
--max_workers 8 --instance_ids a b`` becomes ``swegym eval --dataset_name D ...`` unchanged: the
aliases are rewritten to swegym's own flags before click parses them (``--instance_ids`` takes
several values, as SWE-bench's argparse ``nargs="+"`` does, which click options cannot).
"""
from __future__ import annotations

import click

#: SWE-bench flag → swegym flag.
ALIASES = {
    "--dataset_name": "--dataset",
    "--predictions_path": "--predictions",
    "-p": "--predictions",
    "--run_id": "--run-id",
    "-id": "--run-id",
    "--max_workers": "--workers",
    "--report_dir": "--report-dir",
}
#: Flags that take one or more values (argparse ``nargs="+"``) → the repeatable swegym flag.
MULTI_ALIASES = {"--instance_ids": "--instance-id", "-i": "--instance-id"}


def rewrite_swebench_flags(args: list[str]) -> list[str]:
    """SWE-bench spellings in ``args`` → swegym's (``--flag=value`` forms included)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        flag, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if flag in ALIASES:
            out.append(ALIASES[flag] + (f"={value}" if eq else ""))
        elif flag in MULTI_ALIASES:
            values = [value] if eq else []
            while i + 1 < len(args) and not args[i + 1].startswith("-"):
                i += 1
                values.append(args[i])
            if not values:
                out.append(MULTI_ALIASES[flag])  # click reports the missing value
            for v in values:
                out.extend([MULTI_ALIASES[flag], v])
        else:
            out.append(arg)
        i += 1
    return out


class SwebenchFlagsCommand(click.Command):
    """A click command that also accepts SWE-bench's flag spellings (see the module docstring)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, rewrite_swebench_flags(list(args)))


__all__ = ["ALIASES", "MULTI_ALIASES", "SwebenchFlagsCommand", "rewrite_swebench_flags"]
