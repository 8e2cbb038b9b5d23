"""``python -m swegym.demo --update``: rewrite each task.json's base_commit after editing a repo."""
import json
import sys

from . import TASKS_DIR, materialize, task_names

if __name__ == "__main__":
    update = "--update" in sys.argv
    for name in task_names():
        path, commit = materialize(name)
        meta_path = TASKS_DIR / name / "task.json"
        meta = json.loads(meta_path.read_text())
        print(f"{name:<20} {commit}  {path}")
        if update and meta.get("base_commit") != commit:
            meta["base_commit"] = commit
            meta_path.write_text(json.dumps(meta, indent=2) + "\n")
