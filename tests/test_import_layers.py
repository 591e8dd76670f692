"""iftkit's packages form layers: a module imports only from its own package or from a layer below.

The walk reads every `import` in the source (module-level and inside functions alike), so a
function-level import cannot hide an upward arrow; and, hoisting every import to module level, the
modules still form no cycle, so a function-level import of iftkit's own code is never there to dodge
one (only to keep start-up fast)."""

import ast
from pathlib import Path

import iftkit

ROOT = Path(iftkit.__file__).parent

# lowest first; a package may import from any earlier layer
LAYERS = [
    {"iftkit", "core", "defaults"},
    {"layouts"},
    {"config"},
    {"tracking"},
    {"models"},
    {"data"},
    {"training"},
    {"evaluation"},
    {"meta"},
    {"report"},
    {"sweep"},
    {"testing", "commands", "cli", "__main__"},
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The layer unit of a dotted module name: its first package below iftkit (or 'iftkit' itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "iftkit"


def _imports(path: Path, modules: set) -> set:
    """iftkit modules `path` imports, resolved to the longest known module name."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "iftkit":
            base = node.module
            for alias in node.names:  # `from iftkit.meta import pairwise` imports the module iftkit.meta.pairwise
                out.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "iftkit"}
    return {m for m in out if m in modules}


def _graph() -> dict:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    return {m: _imports(p, set(files)) for m, p in files.items()}


def test_every_package_is_known_to_the_layers():
    units = {_unit(m) for m in _graph()}
    assert units <= set(LAYER_OF), f"packages missing from LAYERS: {sorted(units - set(LAYER_OF))}"


def test_no_import_runs_up_the_layers():
    upward = []
    for module, targets in _graph().items():
        for target in targets:
            src, dst = _unit(module), _unit(target)
            if src != dst and LAYER_OF[dst] > LAYER_OF[src]:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that run up the layers:\n" + "\n".join(sorted(upward))


def test_modules_form_no_cycle_even_with_every_import_at_module_level():
    graph = _graph()
    # a package's __init__ re-exporting its own modules is not a cycle with them
    edges = {m: {t for t in ts if not (m.startswith(t + ".") and t in graph)} for m, ts in graph.items()}
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == "open":
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles (hoisting function-level imports would break these):\n" + "\n".join(cycles)


def test_the_walk_sees_function_level_imports(tmp_path):
    # the detector itself: an import inside a function counts like one at the top
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from iftkit.sweep import cells\n")
    assert _imports(src, {"iftkit.sweep", "iftkit.sweep.cells"}) == {"iftkit.sweep.cells"}


# third-party packages whose import costs start-up time (tens of ms to seconds): a reason to defer
HEAVY = {
    "torch", "transformers", "trl", "peft", "accelerate", "datasets", "wandb", "matplotlib", "pandas", "lm_eval",
    "sentence_transformers", "bitsandbytes", "vllm", "scipy", "sklearn", "evaluate", "nltk", "sacrebleu",
    "rouge_score", "pyarrow", "numpy", "httpx", "requests", "safetensors", "huggingface_hub", "tokenizers", "gguf",
}


def _top_level(path: Path, modules: set) -> tuple[set, set]:
    """(iftkit modules, heavy third-party packages) imported when `path` is imported, not counting imports
    inside functions."""
    own, heavy = set(), set()
    for stmt in ast.parse(path.read_text()).body:
        for node in ast.walk(stmt) if isinstance(stmt, (ast.If, ast.Try)) else [stmt]:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] == "iftkit":
                    own |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                            for a in node.names}
                else:
                    heavy.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                for a in node.names:
                    (own if a.name.split(".")[0] == "iftkit" else heavy).add(
                        a.name if a.name.split(".")[0] == "iftkit" else a.name.split(".")[0])
    return {m for m in own if m in modules}, heavy & HEAVY


def _heavy_closure(files: dict) -> dict:
    """module -> the heavy packages importing it loads (its parents' and its imports', transitively)."""
    direct = {m: _top_level(p, set(files)) for m, p in files.items()}
    memo: dict = {}

    def heavy(m, seen=()):
        if m in memo or m in seen:
            return memo.get(m, set())
        own, out = direct[m]
        parts = m.split(".")
        parents = {".".join(parts[:i]) for i in range(1, len(parts))} & set(files)
        out = set(out)
        for dep in own | parents:
            out |= heavy(dep, seen + (m,))
        memo[m] = out
        return out

    return {m: heavy(m) for m in files}


def test_function_level_imports_of_iftkit_only_defer_heavy_packages():
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    heavy = _heavy_closure(files)
    needless = []
    for module, path in files.items():
        if _unit(module) in ("commands", "testing"):  # a command imports what it runs when it runs
            continue
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "iftkit":
                    targets = _imports_of(node, set(files))
                    if not any(heavy[t] - heavy[module] for t in targets):
                        needless.append(f"{module}:{node.lineno} from {node.module} import ...")
    assert not needless, ("function-level imports that defer nothing heavy (move them to the top):\n"
                          + "\n".join(sorted(needless)))


def _imports_of(node: ast.ImportFrom, modules: set) -> set:
    return {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names}
