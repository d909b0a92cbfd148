"""The README stays true: every setting documented, the two commands wired to CI,
and its Python example runs."""

import re
from dataclasses import fields

import pytest

from qa_bot.config import Settings

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("field", fields(Settings), ids=lambda f: f.name)
def test_every_setting_is_in_the_readme_table(field):
    assert f"`{field.metadata['env']}`" in README, f"README lacks {field.metadata['env']}"
    assert field.metadata["help"], f"{field.name} has no help text"


def test_ci_runs_the_readme_test_command():
    assert "bash scripts/test.sh" in README
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_run_command_starts_the_app():
    assert re.search(r"pip install -e \. && \.venv/bin/python app\.py", README)


def test_no_unfilled_placeholders():
    assert "<!--" not in README
    assert not re.search(r"\bTBD\b|\bTODO\b|⟨", README)


@pytest.mark.slow
def test_python_example_runs(isolated_data_dir):
    block = re.search(r"## Use it from Python\s+```python\n(.*?)```", README, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert "Bishkek" in namespace["a"].text
