"""An installed wheel (not the checkout) finds its schema, policy and examples.

Builds the wheel from a copy of the package sources (so the checkout gets no build/ or
egg-info), installs it into a temporary directory and imports it from there in a fresh
interpreter whose working directory and path hold no checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

CHECK = """
import json, sys
import auterity_ai_step, auterity_ai_step.resources as r
from auterity_ai_step.contract.policy import load_policy
from auterity_ai_step.contract.step import validate_step_config
import yaml
root = sys.argv[1]
assert auterity_ai_step.__file__.startswith(root), auterity_ai_step.__file__
assert str(r.bundled_policy_path()).startswith(root), r.bundled_policy_path()
policy = load_policy()
assert policy.source == str(r.bundled_policy_path())
assert json.loads(r.schema_text())["title"] == "AI step"
step = yaml.safe_load(r.example_path("customer_inquiry.step.yml").read_text())
assert not validate_step_config(step, policy).legacy
seed = r.bundled_policy_path().parent / "examples" / "original_task.yml"
assert load_policy(seed).routing.default_model == "gpt-3.5-turbo"
import importlib, pathlib
for name in ("auterity_ai_step.cli", "auterity_ai_step.executor", "auterity_ai_step.api",
             "auterity_ai_step.store.migrations"):
    assert importlib.import_module(name).__file__.startswith(root), name
migrations = pathlib.Path(importlib.import_module("auterity_ai_step.store.migrations").__file__)
assert (migrations.parent / "alembic.ini").is_file()
assert list((migrations.parent / "versions").glob("0001_*.py"))
from auterity_ai_step.api.console import CONSOLE_DIR
assert str(CONSOLE_DIR).startswith(root), CONSOLE_DIR
assert "auterity-ai-step console" in (CONSOLE_DIR / "index.html").read_text()
assert list((CONSOLE_DIR / "assets").glob("index-*.js"))
print("ok", policy.version)
"""


@pytest.mark.slow
def test_installed_wheel_finds_bundled_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("auterity_ai_step", "schemas", "policies"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", src)
    readme = ROOT / "README.md"
    (src / "README.md").write_text(readme.read_text() if readme.exists() else "readme\n")

    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(src)]
    subprocess.run(build, check=True, cwd=tmp_path, timeout=180, capture_output=True)
    (wheel,) = wheels.glob("auterity_ai_step-*.whl")

    target = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run([*install, "--target", str(target), str(wheel)], check=True, timeout=120)

    env = {k: v for k, v in os.environ.items() if k != "AUTERITY_AI_POLICY"}
    env["PYTHONPATH"] = str(target)
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    # -I would drop PYTHONPATH; -P keeps the script's directory off sys.path (3.11+).
    done = subprocess.run(
        [sys.executable, "-P", "-c", CHECK, str(target)],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok ")
    example = "auterity_ai_step/examples/legacy_node.step.json"
    cli = subprocess.run(
        [sys.executable, "-P", "-m", "auterity_ai_step", "validate", str(target / example)],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() == "valid (legacy)"
