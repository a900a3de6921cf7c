"""The step schema as form libraries read it: Ajv's 2020-12 build in strict mode.

Needs node and ``tests/js/node_modules`` (``npm install --prefix tests/js``, done by
.ci/run); skipped with the reason otherwise, and required in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auterity_ai_step import load_policy
from auterity_ai_step.contract.step import step_schema

JS = Path(__file__).resolve().parent.parent / "js"


def _node() -> str:
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed"
    elif not (JS / "node_modules" / "ajv").is_dir():
        reason = f"ajv is not installed: run npm install --prefix {JS}"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert node is not None
    return node


def _check(
    tmp_path: Path, schema: dict[str, object], *instances: object
) -> list[dict[str, object]]:
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    files = []
    for i, instance in enumerate(instances):
        path = tmp_path / f"instance{i}.json"
        path.write_text(json.dumps(instance))
        files.append(str(path))
    done = subprocess.run(
        [_node(), str(JS / "ajv_check.js"), str(schema_file), *files],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[-1] == {"compiled": True}
    return lines[:-1]


def test_schema_compiles_in_ajv_strict_mode_and_agrees_with_us(tmp_path: Path) -> None:
    schema = step_schema(load_policy())
    valid = {
        "config_version": 2,
        "prompt": "Hi {{ name }}",
        "model": "gpt-4o-mini",
        "fallback_models": ["claude-haiku-4-5", "gpt-4o"],
        "cost_limit": 0.05,
    }
    legacy = {"prompt": "Summarise {inquiry}", "model": "gpt-3.5-turbo", "label": "old"}
    unknown_key = {**valid, "surprise": 1}
    bad_model = {**valid, "fallback_models": ["gpt5"]}
    results = _check(tmp_path, schema, valid, legacy, unknown_key, bad_model)
    assert [r["ok"] for r in results] == [True, True, False, False]


def test_fallback_models_keep_their_order_in_forms() -> None:
    """An ordered array of single selects, not a unique-items multi-select."""
    field = step_schema(load_policy())["properties"]["fallback_models"]
    assert field["type"] == "array"
    assert "uniqueItems" not in field
    assert field["items"]["type"] == "string"
    assert "enum" in field["items"]
