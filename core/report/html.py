"""The static HTML report: ``index.html`` plus one trajectory page per rollout.

Everything a page needs is inline (CSS, JS, plots as data URIs) and a Content-Security-Policy
forbids any network load, so the report opens offline from a file system or an archive.
"""
from __future__ import annotations

import base64
import datetime as _dt
import json
from pathlib import Path
from typing import Any

import jinja2

from ..files import SAFE_ERRORS
from .runs import Rollout, test_results

TEMPLATES = Path(__file__).parent / "templates"
LONG_CHARS = 1500
STATUS_CLASS = {"resolved": "ok", "error": "warn", "not_evaluated": "muted"}


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=False)


def _text(content: Any) -> str:
    """Message content as text: strings as they are, OpenAI content parts joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                parts.append(str(part.get("text") or (f"[{part.get('type')}]" if part.get("type") else "")))
            else:
                parts.append(str(part))
        return "\n".join(parts)
    return json.dumps(content, indent=2, ensure_ascii=False)


def _arguments(raw: Any) -> str:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, ValueError):
            return raw
    if isinstance(raw, dict) and set(raw) <= {"command", "code", "thought"} and len(raw) == 1:
        return str(next(iter(raw.values())))  # bash commands / code read best unquoted
    return json.dumps(raw, indent=2, ensure_ascii=False)


def message_view(message: dict[str, Any]) -> dict[str, Any]:
    role = str(message.get("role") or "?")
    content = _text(message.get("content"))
    calls = []
    for call in message.get("tool_calls") or []:
        fn = (call or {}).get("function") or {}
        calls.append({"id": call.get("id") or "", "name": fn.get("name") or "?", "arguments": _arguments(fn.get("arguments"))})
    long = len(content) > LONG_CHARS
    return {
        "role": role if role in ("system", "user", "assistant", "tool") else "user",
        "name": message.get("name") or "", "tool_call_id": message.get("tool_call_id") or "",
        "content": content, "calls": calls, "long": long, "chars": f"{len(content):,}",
        # Long system prompts and tool outputs start folded; the agent's own words stay open.
        "open": role == "assistant" or not long,
    }


def patch_lines(patch: str) -> list[tuple[str, str]]:
    out = []
    for line in patch.splitlines():
        if line.startswith(("diff --git", "+++ ", "--- ")):
            cls = "file"
        elif line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        else:
            cls = ""
        out.append((cls, line.rstrip("\r")))
    return out


def rollout_view(r: Rollout, href: str) -> dict[str, Any]:
    usage = r.usage
    return {
        "href": href, "run": r.run, "instance_id": r.traj.instance_id, "sample_index": r.sample_index,
        "model": r.traj.model or "?", "scaffold": r.traj.scaffold or "?", "status": r.status,
        "status_class": STATUS_CLASS.get(r.status, "bad"), "score": r.score, "verifier": r.verifier or "",
        "turns": sum(1 for m in r.traj.messages if m.get("role") == "assistant"),
        "tokens": int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0),
        "prompt_tokens": int(usage.get("prompt_tokens") or 0), "completion_tokens": int(usage.get("completion_tokens") or 0),
        "cost": usage.get("cost") if isinstance(usage.get("cost"), (int, float)) else None,
        "stop_reason": r.traj.stop_reason or "", "run_id": r.traj.run_id,
    }


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def write_html(out_dir: Path, summary: dict[str, Any], rollouts: list[Rollout], plots: dict[str, Path],
               sources: dict[str, str]) -> Path:
    """Write ``index.html`` and ``trajectories/NNNNN.html``; return the index path."""
    env = _env()
    common = {"css": (TEMPLATES / "report.css").read_text(), "js": (TEMPLATES / "report.js").read_text()}
    pages = out_dir / "trajectories"
    pages.mkdir(parents=True, exist_ok=True)
    names = [f"{i:05d}.html" for i in range(len(rollouts))]
    views = [rollout_view(r, f"trajectories/{name}") for r, name in zip(rollouts, names)]
    page = env.get_template("trajectory.html.j2")
    from tqdm import tqdm

    for i, (r, view) in enumerate(tqdm(list(zip(rollouts, views)), desc="report pages", unit="page", disable=None)):
        html = page.render(
            **common, title=f"{r.traj.instance_id} · {r.run} #{r.sample_index}", r=view,
            prev=names[i - 1] if i > 0 else None, next=names[i + 1] if i + 1 < len(names) else None,
            tests=sorted(test_results(r.traj).items()), patch_lines=patch_lines(r.traj.patch or ""),
            messages=[message_view(m) for m in r.traj.messages],
        )
        (pages / names[i]).write_text(html, encoding="utf-8", errors=SAFE_ERRORS)
    index = out_dir / "index.html"
    index.write_text(env.get_template("index.html.j2").render(
        **common, title="swegym report", summary=summary, rollouts=views, sources=sources,
        plots={name: _data_uri(path) for name, path in plots.items()},
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    ), encoding="utf-8")
    return index


__all__ = ["message_view", "patch_lines", "write_html"]
