"""The package's layout is its architecture: stages in folders, imports only run downward.

docs/architecture.md draws the stages; these tests hold the code to the drawing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "qa"
# Bottom to top: a module may import its own stage and the stages before it, never one after.
STAGES = ("qa", "ingest", "embed", "index", "answer", "eval", "surfaces")
FACADES = {"qa", "qa.__main__"}  # the package's lazy public names and `python -m qa`


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES) else "qa"


def imports() -> dict[str, set[str]]:
    """Module -> the qa modules it imports anywhere (top level, in functions, for type checks)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("qa.")}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qa"):
                for alias in node.names:  # `from qa.index import bm25` imports qa.index.bm25
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in modules else node.module)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_imports_only_run_down_the_stages() -> None:
    upward = [
        f"{module} ({stage(module)}) imports {target} ({stage(target)})"
        for module, targets in imports().items()
        if module not in FACADES
        for target in targets
        if STAGES.index(stage(target)) > STAGES.index(stage(module))
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycles() -> None:
    graph = imports()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, "cycle: " + " -> ".join((*path, module))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_the_folders_are_the_stages_the_architecture_page_draws() -> None:
    folders = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert folders == set(STAGES[1:])
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawn = set(re.findall(r"^\| `qa/(\w+)/` \|", page, re.M))
    assert drawn == folders, "docs/architecture.md's stage table and qa/'s folders differ"
    for module in imports():
        if module.count(".") == 2:  # qa.stage.module: the page names every module of a stage
            assert f"`{module.split('.')[2]}`" in page, f"docs/architecture.md omits {module}"


def test_the_import_rules_would_catch_an_upward_import() -> None:
    """The stage of a module is read from its path, so an index module importing an answer
    module is seen as upward."""
    assert stage("qa.index.store") == "index" and stage("qa.answer.engine") == "answer"
    assert stage("qa.config") == "qa" and stage("qa.eval") == "eval"
    assert STAGES.index(stage("qa.answer.engine")) > STAGES.index(stage("qa.index.store"))


MAX_FUNCTION_LINES = 60


def test_no_function_is_longer_than_a_screen() -> None:
    """A function a newcomer reads in one screen: at most 60 lines, signature and docstring in."""
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, "\n".join(long)
