"""CI executes the one-rollout notebook: it must run top to bottom and resolve the demo task."""
from __future__ import annotations

from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "01_one_rollout.ipynb"


def test_one_rollout_notebook_runs_and_resolves(docker_client, base_image):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    outputs = "\n".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )
    assert "stop reason: finish" in outputs
    assert "status: resolved" in outputs
    assert "resolved: True" in outputs
    assert not any(out.get("output_type") == "error" for cell in nb.cells for out in cell.get("outputs", []))
