"""Only the ``registry`` package imports MLflow; importing it (or the API) does not."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nba_mlops

PACKAGE = Path(nba_mlops.__file__).resolve().parent


def _mlflow_imports(path: Path) -> list[str]:
    """``module:line`` of every import of MLflow in a source file, wherever it is (the top
    of the module, inside a function, under ``TYPE_CHECKING``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "mlflow" or name.startswith("mlflow.") for name in names):
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_no_module_outside_the_registry_imports_mlflow() -> None:
    sources = [p for p in PACKAGE.rglob("*.py") if "registry" not in p.relative_to(PACKAGE).parts]
    assert len(sources) > 50  # the walk found the package
    offending = [where for path in sources for where in _mlflow_imports(path)]
    assert offending == [], "go through nba_mlops.registry.Registry instead"


def test_the_registry_itself_is_seen_importing_mlflow() -> None:
    # the walk would see an import if there were one (guards the test above)
    assert _mlflow_imports(PACKAGE / "registry" / "client.py")


def test_importing_the_registry_does_not_import_mlflow() -> None:
    probe = (
        "import sys; import nba_mlops.registry, nba_mlops.inference.predictor; "
        "print([m for m in ('mlflow', 'sklearn') if m in sys.modules])"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert shown.stdout.strip() == "[]"
