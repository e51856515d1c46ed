"""The layer rules of docs/architecture.md, checked by reading every import in src/plait."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "plait"

KERNEL = {"schema", "components", "compose"}
FRAMEWORK = KERNEL | {"models", "embeddings", "prompts", "tools", "knowledge", "agents", "workflows", "guard", "nlu"}
PLATFORM_SIDE = {"platform", "store", "server", "studio", "cli", "settings", "observability"}
HEAVY = {"fastapi", "sqlalchemy", "torch", "llama_cpp", "sentence_transformers", "starlette", "uvicorn", "redis"}
FACES = {"server", "cli"}


def _modules() -> list[tuple[str, Path]]:
    return [(path.relative_to(SRC).parts[0].removesuffix(".py"), path) for path in SRC.rglob("*.py")]


def _imports(path: Path) -> list[tuple[str, bool]]:
    """Each imported module, and whether the import runs at module load (not inside a function)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((child.module, top))
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            visit(child, top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(tree, True)
    return found


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "plait" and len(parts) > 1 else None


CASES = [(layer, path) for layer, path in _modules() if layer in FRAMEWORK | PLATFORM_SIDE]


@pytest.mark.parametrize(("layer", "path"), CASES, ids=[str(p.relative_to(SRC)) for _, p in CASES])
def test_imports_follow_the_layer_rules(layer: str, path: Path) -> None:
    for module, at_load in _imports(path):
        target = _layer_of(module)
        if layer in KERNEL:
            assert target is None or target in KERNEL, f"{path.name}: the kernel imports {module}"
            if at_load:
                assert module.split(".")[0] not in HEAVY, f"{path.name}: heavy import {module} at load"
        if layer in FRAMEWORK:
            assert target not in PLATFORM_SIDE, f"{path.name}: framework layer {layer} imports {module}"
        if layer in FACES:  # parse, call a use case, encode: the database is the platform's business
            assert target != "store", f"{path.name}: the {layer} face imports {module}"
            assert module.split(".")[0] != "sqlalchemy", f"{path.name}: the {layer} face imports {module}"
        if layer == "platform":  # through the unit of work and its repositories only
            assert module.split(".")[0] != "sqlalchemy", f"{path.name}: a use case imports {module}"


PLATFORM_CASES = [path for layer, path in CASES if layer == "platform"]


@pytest.mark.parametrize("path", PLATFORM_CASES, ids=[str(p.relative_to(SRC)) for p in PLATFORM_CASES])
def test_use_cases_reach_the_database_only_through_repositories(path: Path) -> None:
    """No ``uow.session``: a use case that adds or queries rows itself goes around the repositories."""
    tree = ast.parse(path.read_text(), filename=str(path))
    sessions = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "session"]
    assert not sessions, f"{path.name} uses a session directly at lines {sessions}"


def test_the_rule_checker_sees_imports() -> None:
    imports = dict(_imports(SRC / "compose" / "engine.py"))
    assert "plait.compose.plan" in imports
    assert "plait.store" in dict(_imports(SRC / "platform" / "services.py"))  # the platform may use the store


def test_the_cli_package_is_checked_as_platform_side() -> None:
    cli = {path.name for layer, path in CASES if layer == "cli"}
    assert {"__init__.py", "chat.py", "kb.py", "providers.py", "server.py"} <= cli
