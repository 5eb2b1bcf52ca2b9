"""The import contract: the layers of docs/architecture.md, checked over every module's imports
(``ast``; imports inside functions count too).

- the core (``pipeline/``, ``routing/``) knows no HTTP: no Starlette, no ``gateway/``;
- Starlette is imported in ``gateway/`` only;
- ``routing/`` does not import ``pipeline/``;
- ``providers/`` import neither ``pipeline/`` nor ``routing/``;
- ``store/`` and ``state/`` do not import ``pipeline/``;
- ``runtime/`` (model sessions) imports none of ``pipeline/``, ``routing/``, ``gateway/``;
- ``translate/`` (protocol translators, wrapped around providers) sits below ``routing/``: it
  imports none of ``pipeline/``, ``routing/``, ``gateway/``; ``providers/`` do not import it;
- ``protocols/`` (how a client protocol's bodies are read) imports none of ``pipeline/``,
  ``routing/``, ``providers/``, ``translate/``, ``gateway/``;
- ``config/`` imports nothing of keel but ``config/`` and ``keel.errors``;
- ``commands/`` (the control plane) is imported by the CLI only;
- no two packages import each other, directly or round a cycle. Imports made only for type
  annotations (under ``if TYPE_CHECKING:``) do not count for cycles, since they are never run;
  every other rule counts them.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "keel"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. keel.pipeline.admit
    target: str  # what it imports, e.g. keel.routing.router or starlette.requests
    typing_only: bool
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(path: Path) -> Iterator[Import]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text("utf-8"), str(path))
    typing_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for inner in node.body:
                typing_lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno in typing_lines, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                # `from keel.guard import injection` imports a module; `from x import name`
                # a name of x: both depend on x, so the target is x (and its sub-module).
                target = f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base
                yield Import(module, target, node.lineno in typing_lines, node.lineno)


def _is_module(name: str) -> bool:
    if not name.startswith("keel."):
        return False
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


IMPORTS = [i for path in sorted(ROOT.rglob("*.py")) for i in _imports_of(path)]


def _package(name: str) -> str:
    """keel.pipeline.admit -> keel.pipeline; keel.call -> keel.call (a root module)."""
    parts = name.split(".")
    return ".".join(parts[:2])


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _broken(rule: str, offending: list[Import]) -> str:
    lines = [f"  {i.module} (line {i.line}) imports {i.target}" for i in offending]
    return f"{rule}:\n" + "\n".join(lines)


RULES = [
    ("the core knows no HTTP", ("keel.pipeline", "keel.routing"),
     ("starlette", "keel.gateway", "uvicorn")),
    ("routing does not import the pipeline", ("keel.routing",), ("keel.pipeline",)),
    ("providers import neither pipeline nor routing", ("keel.providers",),
     ("keel.pipeline", "keel.routing")),
    ("store and state do not import the pipeline", ("keel.store", "keel.state"),
     ("keel.pipeline",)),
    ("model runtimes know no request path", ("keel.runtime",),
     ("keel.pipeline", "keel.routing", "keel.gateway", "starlette")),
    ("translators sit below routing", ("keel.translate",),
     ("keel.pipeline", "keel.routing", "keel.gateway", "starlette")),
    ("client protocols only read bodies", ("keel.protocols",),
     ("keel.pipeline", "keel.routing", "keel.providers", "keel.translate", "keel.gateway",
      "starlette")),
    ("providers know no translator", ("keel.providers",), ("keel.translate",)),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "importers", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_a_layer_does_not_import_what_it_must_not(
    rule: str, importers: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    offending = [
        i
        for i in IMPORTS
        if any(_in(i.module, p) for p in importers) and any(_in(i.target, f) for f in forbidden)
    ]
    assert not offending, _broken(rule, offending)


def test_starlette_is_imported_in_the_gateway_only() -> None:
    offending = [
        i for i in IMPORTS if _in(i.target, "starlette") and not _in(i.module, "keel.gateway")
    ]
    assert not offending, _broken("Starlette outside keel/gateway", offending)


def test_config_imports_only_config_and_errors() -> None:
    offending = [
        i
        for i in IMPORTS
        if _in(i.module, "keel.config")
        and _in(i.target, "keel")
        and not (_in(i.target, "keel.config") or _in(i.target, "keel.errors"))
    ]
    assert not offending, _broken("keel/config imports the rest of keel", offending)


def test_the_control_plane_is_imported_by_the_cli_only() -> None:
    offending = [
        i
        for i in IMPORTS
        if _in(i.target, "keel.commands")
        and not (_in(i.module, "keel.commands") or _in(i.module, "keel.cli"))
    ]
    assert not offending, _broken("keel/commands imported outside the CLI", offending)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for i in IMPORTS:
        if i.typing_only or not _in(i.target, "keel") or i.target == "keel":
            continue
        source, target = _package(i.module), _package(i.target)
        if source != target:
            graph.setdefault(source, set()).add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle in the graph (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_no_package_cycle() -> None:
    cycle = _cycle(_graph())
    if cycle is not None:
        edges = itertools.pairwise(cycle)
        where = [
            next(f"  {i.module} (line {i.line}) imports {i.target}" for i in IMPORTS
                 if not i.typing_only and _package(i.module) == a and _package(i.target) == b)
            for a, b in edges
        ]  # fmt: skip
        pytest.fail("a package cycle: " + " -> ".join(cycle) + "\n" + "\n".join(where))


def test_the_checker_sees_a_cycle_and_a_forbidden_import() -> None:
    # The contract must be able to fail: a made-up graph with a cycle is caught.
    assert _cycle({"keel.a": {"keel.b"}, "keel.b": {"keel.c"}, "keel.c": {"keel.a"}}) == [
        "keel.a",
        "keel.b",
        "keel.c",
        "keel.a",
    ]
    assert _cycle({"keel.a": {"keel.b"}, "keel.b": set()}) is None
    assert any(i.module == "keel.gateway.app" and _in(i.target, "starlette") for i in IMPORTS)
