"""python -m refpos.script runs refpos-terminal's scripts: the demo day
passes, and the exit codes are the terminal's (0, 1, 2, 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SDK_PYTHON, TEST_SECRET_HEX, plugin_path

DAY = REPO / "assets" / "demo" / "day.jsonl"


def demo_config(tmp_path: Path) -> Path:
    template = (REPO / "assets" / "demo" / "store-config.json").read_text(encoding="utf-8")
    text = template.replace("@DATA_DIR@", str(tmp_path / "store")).replace(
        "@SECRET_HEX@", TEST_SECRET_HEX)
    path = tmp_path / "store-config.json"
    path.write_text(text, encoding="utf-8")
    return path


def run_script(config: Path, script: Path, plugin: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SDK_PYTHON), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "refpos.script", "--config", str(config),
               "--script", str(script), "--plugin", plugin or plugin_path()]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_demo_day_passes(tmp_path: Path) -> None:
    result = run_script(demo_config(tmp_path), DAY)
    assert result.returncode == 0, result.stderr
    assert "9 steps, each returned what it expected" in result.stdout
    assert "status: CODE_REJECTED (as expected)" in result.stdout
    assert (tmp_path / "store" / "refpos.db").exists()


def test_unexpected_status_exits_1(tmp_path: Path) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text(
        '{"op":"customer","request":{"customer_id":"a"},"expect":"NOT_FOUND"}\n')
    result = run_script(demo_config(tmp_path), script)
    assert result.returncode == 1
    assert "expected NOT_FOUND, got OK" in result.stderr


def test_broken_script_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text('# fine\n{"op":"commit","request":{"code":"${nobody.code}"}}\n')
    result = run_script(demo_config(tmp_path), script)
    assert result.returncode == 2
    assert ":2:" in result.stderr and "nobody" in result.stderr
    assert not (tmp_path / "store").exists()


def test_invalid_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text('{"store_id": "s"}')
    result = run_script(config, DAY)
    assert result.returncode == 2
    assert "CONFIG" in result.stderr


def test_missing_plugin_exits_3(tmp_path: Path) -> None:
    result = run_script(demo_config(tmp_path), DAY, plugin=str(tmp_path / "no-such.so"))
    assert result.returncode == 3


@pytest.mark.parametrize("text", ["${a.b.0} and ${a.n}", "${a.n}"])
def test_substitution_like_the_terminal(text: str) -> None:
    from refpos.script import substitute

    saved = {"a": {"b": ["x"], "n": 5}}
    expected = "x and 5" if " " in text else 5
    assert substitute({"k": [text]}, saved) == {"k": [expected]}


def test_the_referral_loop_and_sync_steps_like_the_terminal(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    assert run_script(config, DAY).returncode == 0
    # The demo's afternoon: contact and lead go through ABI 1.2's call.
    consents = run_script(config, REPO / "assets" / "demo" / "consents-store-001.jsonl")
    assert consents.returncode == 0, consents.stderr
    assert '"lead_id": "L-0001"' in consents.stdout
    script = tmp_path / "s.jsonl"
    script.write_text(
        '{"op":"ask_outcome","request":{"txn_id":"T-404","outcome":"asked",'
        '"terminal_id":"till-1"},"expect":"NOT_FOUND"}\n'
        '{"op":"forget","request":{"customer_id":"alice","terminal_id":"office"},"as":"f"}\n'
        '{"op":"customer","request":{"customer_id":"${f.customer_id}"}}\n'
        # The demo store has no "sync" section.
        '{"op":"sync","request":{},"expect":"CONFIG"}\n')
    result = run_script(config, script)
    assert result.returncode == 0, result.stderr
    assert "4 steps, each returned what it expected" in result.stdout
    assert '"removed": 2' in result.stdout


def test_unknown_op_names_the_terminals_ops(tmp_path: Path) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text('{"op":"install_rules","request":{}}\n')
    result = run_script(demo_config(tmp_path), script)
    assert result.returncode == 2
    assert ("expected echo, preview, commit, reverse, issue_code, customer, reprint, sync, "
            "lead, ask_outcome, contact or forget") in result.stderr
