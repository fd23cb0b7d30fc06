"""An import-linter contract for the domain layer (see [tool.importlinter] in pyproject.toml).

The domain is every child of the `containers` that is not named in `outside`, so a new module
is checked without anyone remembering to list it. The contract is broken when a domain module
imports a module of a layer above it (`above`), when a layer below it (`below`) imports a domain
module, when domain modules import each other in a circle, or when a domain module imports
inside a function (the usual way to hide a cycle).
"""

import ast
import importlib.util

import grimp
from importlinter import Contract, ContractCheck, fields, output


def _within(module: str, tops: list[str]) -> bool:
    return any(module == top or module.startswith(top + ".") for top in tops)


def _squashed(module: str, domain: set[str]) -> str | None:
    """The domain module (or package) that `module` belongs to, if any."""
    for owner in domain:
        if module == owner or module.startswith(owner + "."):
            return owner
    return None


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _function_level_imports(module: str) -> list[str]:
    """`module:line` for every import statement inside a function or method of the module."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return []
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
    return [
        f"{module}:{node.lineno}"
        for function in ast.walk(tree)
        if isinstance(function, functions)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]


class DomainContract(Contract):
    type_name = "domain"

    containers = fields.ListField(subfield=fields.StringField())
    outside = fields.ListField(subfield=fields.StringField())
    above = fields.ListField(subfield=fields.StringField())
    below = fields.ListField(subfield=fields.StringField())

    def _domain(self, graph: grimp.ImportGraph) -> set[str]:
        outside = set(self.outside)  # type: ignore[arg-type]
        return {
            child
            for container in self.containers  # type: ignore[attr-defined]
            for child in graph.find_children(container)
            if child not in outside
        }

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        domain = self._domain(graph)
        upward: list[str] = []
        edges: dict[str, set[str]] = {owner: set() for owner in domain}
        functions: list[str] = []
        for owner in sorted(domain):
            members = {owner} | graph.find_descendants(owner)
            for member in sorted(members):
                functions += _function_level_imports(member)
                for imported in sorted(graph.find_modules_directly_imported_by(member)):
                    if _within(imported, self.above):  # type: ignore[arg-type]
                        upward.append(f"{member} -> {imported}")
                    target = _squashed(imported, domain)
                    if target is not None and target != owner:
                        edges[owner].add(target)
        for low in self.below:  # type: ignore[attr-defined]
            for member in sorted({low} | graph.find_descendants(low)):
                for imported in sorted(graph.find_modules_directly_imported_by(member)):
                    if _squashed(imported, domain) is not None:
                        upward.append(f"{member} -> {imported}")
        cycles = _cycles(edges)
        return ContractCheck(
            kept=not (upward or cycles or functions),
            metadata={"upward": upward, "cycles": cycles, "functions": functions},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["upward"]:
            output.print_error(f"an import up the layers: {line}", bold=False)
        for cycle in check.metadata["cycles"]:
            output.print_error(f"domain modules import each other: {', '.join(cycle)}", bold=False)
        for place in check.metadata["functions"]:
            output.print_error(f"import inside a function in the domain: {place}", bold=False)
        output.new_line()
