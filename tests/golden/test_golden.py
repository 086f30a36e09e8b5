"""The golden test: tiny seeded runs of every built-in model, a sample, a post chain, a recipe, a
reproduction and four user errors, recorded once before the core was reorganised (issue 33) and
required to stay exactly the same: checkpoint bytes, PNG pixels, manifest, metrics and recipe keys,
CLI output and exit codes.

When a change is *meant* to alter one of these (a new default, a new manifest field), regenerate the
record with ``python tests/golden/recorder.py`` and say why in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from recorder import run_all  # type: ignore[import-not-found]

GOLDEN = Path(__file__).with_name("golden.json")


@pytest.mark.slow
def test_the_golden_runs_are_unchanged(tmp_path: Path) -> None:
    expected = json.loads(GOLDEN.read_text())
    actual = json.loads(json.dumps(run_all(tmp_path), sort_keys=True))
    assert sorted(actual) == sorted(expected)
    for section in expected:
        assert actual[section] == expected[section], f"golden section {section!r} changed"
