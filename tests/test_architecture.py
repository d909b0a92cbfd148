"""The layers of ARCHITECTURE.md, checked on the package's own imports (read with `ast`).

Every import counts, also the lazy ones inside functions: a layer rule is about what a module
may depend on, not about when the import runs. Imports under `if TYPE_CHECKING:` are left out,
since they exist only for the type checker.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "qa_bot"

# layer -> the layers it may import (besides itself). Leaves import nothing of ours but leaves.
LEAVES = {"types", "errors", "config", "normalise", "tokens", "lexicon", "private_files"}
ALLOWED = {
    "leaves": {"leaves"},
    "ingest": {"leaves"},
    "index": {"leaves", "ingest"},
    "reader": {"leaves"},
    "llm": {"leaves"},
    "answering": {"leaves", "ingest", "index", "reader", "llm"},
    "engine": {"leaves", "ingest", "index", "reader", "llm", "answering"},
    "ui": {"leaves", "ingest", "index", "reader", "llm", "answering", "engine"},
    "eval": {"leaves", "ingest", "index", "reader", "llm", "answering", "engine"},
    "cli": {"leaves", "ingest", "index", "reader", "llm", "answering", "engine", "eval"},
    "package": {"leaves", "engine"},  # qa_bot/__init__.py: the public API
}
# Heavy third-party libraries and the one place each may be imported.
ADAPTERS = {
    "sentence_transformers": {"qa_bot.index.embeddings"},
    # The baseline is llama-index's own default pipeline (its in-memory Chroma), the thing
    # qa-bot is compared against, so it must not go through qa-bot's store adapter.
    "chromadb": {"qa_bot.index.store", "qa_bot.eval.baseline"},
    "onnxruntime": {"qa_bot.reader", "qa_bot.index.onnx_minilm"},
    "llama_cpp": {"qa_bot.llm"},
    "gradio": {"qa_bot.ui.app"},
    # sentence-transformers' thread setting, and the one-time ONNX export of MiniLM
    "torch": {"qa_bot.index.embeddings", "qa_bot.index.onnx_minilm"},
    # the article readers, one adapter each
    "trafilatura": {"qa_bot.ingest.html_reader"},
    "lxml": {"qa_bot.ingest.html_reader"},
    "pdfminer": {"qa_bot.ingest.pdf_reader"},
    "docx": {"qa_bot.ingest.docx_reader"},
    "httpx": {"qa_bot.ingest.fetch", "qa_bot.llm.openai_http"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    if parts[1] in LEAVES:
        return "leaves"
    return parts[1]


def imports(path: Path) -> set[str]:
    """Every module this file imports, absolute; TYPE_CHECKING blocks excluded."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import (the package uses absolute ones)"
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py"))}
OURS = set(MODULES)


def our_imports(module: str) -> set[str]:
    return {name for name in MODULES[module] if name in OURS and name != module}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_the_layers_below_it(module):
    mine = layer(module)
    for name in our_imports(module):
        theirs = layer(name)
        assert theirs == mine or theirs in ALLOWED[mine], f"{module} ({mine}) imports {name}"


@pytest.mark.parametrize("library", sorted(ADAPTERS))
def test_heavy_libraries_live_only_in_their_adapter(library):
    users = {m for m, names in MODULES.items() if any(n.split(".")[0] == library for n in names)}
    assert users <= ADAPTERS[library], f"{library} imported by {sorted(users - ADAPTERS[library])}"


def test_there_are_no_import_circles():
    graph = {m: {n for n in our_imports(m) if not m.startswith(n + ".")} for m in MODULES}
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for name in graph[module]:
            if state.get(name) == 1:
                cycle = path[path.index(name) :] + [name] if name in path else [module, name]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if name not in state:
                visit(name, [*path, name])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_nothing_imports_an_entry_point():
    entry_points = {"qa_bot.cli", "qa_bot.ui.app", "qa_bot.eval.cli"}
    for module, names in MODULES.items():
        if module in entry_points:
            continue
        wrong = (names & entry_points) - ({"qa_bot.eval.cli"} if module == "qa_bot.cli" else set())
        assert not wrong, f"{module} imports the entry point(s) {sorted(wrong)}"


def test_test_doubles_are_not_in_the_package():
    assert not (PACKAGE / "fakes.py").exists()
    assert not any("tests" in names for names in MODULES.values())
