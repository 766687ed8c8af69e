"""The two-layer rule: the core never imports Streamlit; the app never imports TensorFlow/Keras.

Checked on the syntax tree, so a string or comment that mentions a module does not count and
an import hidden inside a function does.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_FILES = sorted((ROOT / "alexnet_core").rglob("*.py"))
APP_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


def imported_modules(path: Path) -> set[str]:
    """Top-level package names of every import statement in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            if node.args and isinstance(node.args[0], ast.Constant):
                names.add(str(node.args[0].value).split(".")[0])
    return names


def test_there_is_something_to_check():
    assert len(CORE_FILES) >= 5 and len(APP_FILES) >= 5


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.name)
def test_core_does_not_import_streamlit(path):
    assert "streamlit" not in imported_modules(path), f"{path.name} imports streamlit"


@pytest.mark.parametrize("path", APP_FILES, ids=lambda p: p.name)
def test_app_does_not_import_tensorflow_or_keras(path):
    found = imported_modules(path) & {"tensorflow", "keras", "tf_keras"}
    assert not found, f"{path.name} imports {sorted(found)}"


def test_the_checker_sees_hidden_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    import keras.layers\n    from streamlit import cache_data\n"
        "    return __import__('tensorflow')\nx = 'import torch'\n"
    )
    assert imported_modules(sample) == {"keras", "streamlit", "tensorflow"}
