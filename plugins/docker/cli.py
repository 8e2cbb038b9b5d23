"""``swegym images build|ls|prune`` and ``swegym cleanup``, plus the runtime option bundle.

The runtime flags come from the one definition every sandbox-opening command shares
(``swegym.cli.options.runtime_options``): the command receives ``runtime_name``,
``runtime_options`` (``DockerRuntime``'s keyword options) and ``env_spec``.
"""
from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Callable

import click

from swegym.cli.options import dataset_options, runtime_options
from swegym.errors import InfrastructureError, SwegymError

def runtime_kwargs(**flags: Any) -> dict[str, Any]:
    """Core runtime flag values (``swegym.cli.options.RUNTIME_FLAG_KEYS``) plus this plugin's flags
    given on the current command → ``DockerRuntime`` options."""
    from swegym.cli.options import runtime_options_from_flags

    options = runtime_options_from_flags(flags)
    if flags.get("network"):
        options["network"] = True
    return options


def _client(options: dict[str, Any]) -> Any:
    from .runtime import make_client

    return make_client(options.get("base_url"), tls_verify=options.get("tls_verify"),
                       tls_ca_cert=options.get("tls_ca_cert"), tls_client_cert=options.get("tls_client_cert"),
                       tls_client_key=options.get("tls_client_key"))


def _runtime(options: dict[str, Any]):
    from .runtime import DockerRuntime

    return DockerRuntime(**options)


@click.group("images")
def images_group() -> None:
    """Build, list and prune task images (published per-instance images or locally built layers).

    \b
    Examples:
      swegym images build -d demo
      swegym images build -d tasks.jsonl --repo-source getmoto/moto=~/src/moto --workers 2
      swegym images ls
      swegym images prune --layer instance --dry-run
    """


@images_group.command("build")
@dataset_options
@runtime_options
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Images built in parallel.")
@click.option("--no-published", is_flag=True, help="Always build locally, even when a published image exists.")
@click.option("--image-prefix", default="swegym", show_default=True, help="Repository prefix of built layer images.")
def build_cmd(dataset: str, split: str | None, instance_ids: tuple[str, ...], repo: tuple[str, ...],
              limit: int | None, runtime_options: dict[str, Any], workers: int, no_published: bool,
              image_prefix: str, **_shared: Any) -> None:
    """Make sure every selected task has an image: published if present/pullable, else built in layers.

    Layer tags are content hashes of their spec, so a second build is a cache hit.

    \b
    Examples:
      swegym images build -d demo
      swegym images build -d ../shared/data/swegym-moto-sample.jsonl --instance-id getmoto__moto-5752
      swegym images build -d my.jsonl --env-spec my-envs.yaml --repo-source me/proj=./proj.git
    """
    from tqdm import tqdm

    from swegym.tasks import load_tasks

    tasks = load_tasks(dataset, split=split, instance_ids=instance_ids or None, repo=repo or None, limit=limit)
    if not tasks:
        raise SwegymError("no tasks selected; check -d/--instance-id/--repo")
    runtime = _runtime({**runtime_options, "use_published": not no_published, "image_prefix": image_prefix})
    failures: list[tuple[str, str]] = []
    results: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool, tqdm(total=len(tasks), desc="images", unit="task",
                                                             file=sys.stderr) as bar:
        futures = {pool.submit(runtime.ensure_image, t): t for t in tasks}
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                results[task.instance_id] = fut.result()
            except (InfrastructureError, SwegymError) as exc:
                failures.append((task.instance_id, str(exc)))
            bar.update(1)
    for task in tasks:
        if task.instance_id in results:
            click.echo(f"{task.instance_id:<45} {results[task.instance_id]}")
    builder = runtime.builder
    click.echo(f"{len(results)} ready, {len(builder.built)} layer(s) built, {builder.cache_hits} cache hit(s), "
               f"{len(failures)} failed", err=True)
    for iid, why in failures:
        click.echo(f"failed: {iid}: {why}", err=True)
    if failures:
        sys.exit(1)


@images_group.command("ls")
@runtime_options
@click.option("--image-prefix", default=None, help="Only images built with this prefix.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON rows.")
def ls_cmd(runtime_options: dict[str, Any], image_prefix: str | None, as_json: bool, **_shared: Any) -> None:
    """List swegym-built layer images (base, env, instance) with size and age.

    \b
    Examples:
      swegym images ls
      swegym images ls --json | jq '.[] | select(.layer == "instance")'
    """
    from .images import LABEL_LAYER, list_images

    client = _client(runtime_options)
    rows = []
    for img in list_images(client, image_prefix):
        labels = img.labels or {}
        rows.append({"tag": (img.tags or ["<none>"])[0], "layer": labels.get(LABEL_LAYER, ""),
                     "instance_id": labels.get("swegym.instance_id", labels.get("swegym.repo", "")),
                     "size_mb": round(img.attrs.get("Size", 0) / 1e6, 1), "created": img.attrs.get("Created", "")[:19]})
    order = {"base": 0, "env": 1, "instance": 2}
    rows.sort(key=lambda r: (order.get(r["layer"], 3), r["tag"]))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['layer']:<9} {r['size_mb']:>8.1f} MB  {r['created']}  {r['tag']}")
    click.echo(f"{len(rows)} image(s)", err=True)


@images_group.command("prune")
@runtime_options
@click.option("--layer", type=click.Choice(["instance", "env", "base", "all"]), default="all", show_default=True,
              help="Which layers to remove (children are removed before parents).")
@click.option("--image-prefix", default=None, help="Only images built with this prefix.")
@click.option("--dry-run", is_flag=True, help="Show what would be removed.")
def prune_cmd(runtime_options: dict[str, Any], layer: str, image_prefix: str | None, dry_run: bool,
              **_shared: Any) -> None:
    """Remove swegym-built layer images; images used by a container are kept.

    Published images (pulled) are never touched.

    \b
    Examples:
      swegym images prune --dry-run
      swegym images prune --layer instance
    """
    import docker

    from .images import LABEL_LAYER, list_images

    client = _client(runtime_options)
    layers = ["instance", "env", "base"] if layer == "all" else [layer]
    removed = kept = 0
    for name in layers:
        for img in list_images(client, image_prefix):
            if (img.labels or {}).get(LABEL_LAYER) != name:
                continue
            tag = (img.tags or [img.short_id])[0]
            if dry_run:
                click.echo(f"would remove {tag}")
                removed += 1
                continue
            try:
                client.images.remove(img.id, force=False)
                click.echo(f"removed {tag}")
                removed += 1
            except docker.errors.APIError as exc:
                kept += 1
                click.echo(f"kept {tag}: {exc.explanation or exc}", err=True)
    click.echo(f"{removed} removed, {kept} kept", err=True)


@click.command("cleanup")
@runtime_options
@click.option("--run-id", default=None, help="Remove every container of this run (even if its owner runs).")
@click.option("--all", "everything", is_flag=True, help="Remove every swegym container, owners alive or not.")
@click.option("--dry-run", is_flag=True, help="Show what would be removed.")
def cleanup_cmd(runtime_options: dict[str, Any], run_id: str | None, everything: bool, dry_run: bool,
                **_shared: Any) -> None:
    """Remove sandbox containers whose owning process is gone (e.g. after kill -9).

    Containers whose owner still runs on this host are kept; those owned from another host are
    only removed with --all or --run-id.

    \b
    Examples:
      swegym cleanup
      swegym cleanup --dry-run
      swegym cleanup --run-id run-1a2b3c --docker-host tcp://10.0.0.5:2375
    """
    from . import hygiene

    client = _client(runtime_options)
    rows = hygiene.cleanup(client, run_id=run_id, everything=everything, dry_run=dry_run)
    for r in rows:
        verb = f"would {r['action']}" if dry_run and r["action"] == "remove" else r["action"]
        click.echo(f"{r['id']}  run={r['run_id']:<20} owner={r['owner']:<20} {verb}")
    gone = sum(1 for r in rows if r["action"] == "remove")
    click.echo(f"{gone} container(s) {'to remove' if dry_run else 'removed'}, {len(rows) - gone} left", err=True)
