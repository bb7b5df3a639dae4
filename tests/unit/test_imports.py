"""How the layers may import each other, read from the source (ast): nothing is imported here.

Imports inside functions count too: they are deferred for the cold start, but a cycle among
them is still two modules that cannot be understood (or moved) one without the other.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_under(package: str) -> dict[str, Path]:
    return {module_name(path): path for path in sorted((PROJECT_DIR / package).rglob("*.py"))}


def imported_names(module: str, path: Path) -> Iterator[str]:
    """Every module name an import statement anywhere in the file names (for `from a import b`,
    both `a` and `a.b`: b may be a submodule)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(package: str) -> dict[str, set[str]]:
    """Module → the modules of `package` it imports (each named once, as its file is)."""
    modules = modules_under(package)
    return {
        module: {name for name in imported_names(module, path) if name in modules} - {module}
        for module, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_cycle_finder_finds_a_cycle():
    # Given a → b → c → a, and d on the side
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    # When its cycles are looked for
    # Then the three that import each other are one cycle
    assert cycles(graph) == [["a", "b", "c"]]


def test_relative_and_submodule_imports_are_resolved(tmp_path):
    # Given a package whose module imports a sibling relatively and a submodule by `from`
    # When its imports are read
    source = tmp_path / "pkg" / "sub" / "mod.py"
    source.parent.mkdir(parents=True)
    source.write_text("from . import sibling\nfrom ..other import thing\n", encoding="utf-8")
    names = set(imported_names("pkg.sub.mod", source))
    # Then both resolve to full module names
    assert {"pkg.sub.sibling", "pkg.other", "pkg.other.thing"} <= names


def test_no_module_of_chalicelib_imports_itself_through_others():
    # Given every import in chalicelib/, deferred ones included
    graph = import_graph("chalicelib")
    # When the import graph is searched for cycles
    # Then there is none
    assert cycles(graph) == []


def test_ops_does_not_reach_into_the_api_layer():
    # Given every import in ops/ (the operations CLI: deploy, migration, local stack)
    imports = {
        module: sorted(name for name in imported_names(module, path) if _is_api(name))
        for module, path in modules_under("ops").items()
    }
    # When those that name chalicelib.api are picked out
    offenders = {module: names for module, names in imports.items() if names}
    # Then there are none: what ops needs of the app lives below the HTTP layer
    assert imports  # the walk found ops/'s modules
    assert offenders == {}


def _is_api(name: str) -> bool:
    return name == "chalicelib.api" or name.startswith("chalicelib.api.")
