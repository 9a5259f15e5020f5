"""The layers of docs/architecture.md hold: ``lint-imports`` checks pyproject.toml's import contracts
(a module that imports from a layer above its own fails this test, and so ``make test``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_every_import_contract_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    broken = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert broken == 0, report
    assert "0 broken" in report
