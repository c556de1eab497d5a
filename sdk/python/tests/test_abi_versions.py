"""A plugin older than this package: the real librefpos.so seen through an
ABI 1.0 table (tests/integration/printer/abi10_plugin.c, which answers
VERSION to a host asking for more and hands out a table that ends before
render). The package loads it, says what it lacks, and calling a newer
slot raises VersionError without reading past the table.

The shim is $REFPOS_ABI10_PLUGIN (ctest sets it), else the release build's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import refpos
from conftest import REPO, cart, default_config, plugin_path

ABI10_PLUGIN_ENV = "REFPOS_ABI10_PLUGIN"


@pytest.fixture
def abi10_plugin(monkeypatch: pytest.MonkeyPatch) -> refpos.Plugin:
    path = os.environ.get(ABI10_PLUGIN_ENV) or str(
        REPO / "build" / "release" / "tests" / "librefpos_abi10_plugin.so")
    if not os.path.exists(path):
        pytest.skip("no ABI 1.0 shim: set %s" % ABI10_PLUGIN_ENV)
    # The shim loads the real plugin from here when its entry point is called.
    monkeypatch.setenv("REFPOS_ABI10_TARGET", plugin_path())
    return refpos.Plugin(path)


def test_this_plugin_has_every_slot(plugin: refpos.Plugin) -> None:
    assert plugin.abi_version >= (1, 3)
    assert (plugin.has_render, plugin.has_call, plugin.has_sync) == (True, True, True)


def test_an_abi_1_0_plugin_sells_and_refuses_newer_calls(abi10_plugin: refpos.Plugin,
                                                         tmp_path: Path) -> None:
    assert abi10_plugin.abi_version == (1, 0)
    assert (abi10_plugin.has_render, abi10_plugin.has_call, abi10_plugin.has_sync) == (
        False, False, False)
    with abi10_plugin.open(default_config(tmp_path / "store")) as store:
        assert store.commit(cart("T-1", "alice", [5000]))["txn_id"] == "T-1"
        refused = {
            "render": lambda: store.render("T-1", "receipt", "text"),
            "call": lambda: store.call("ask_outcome", {"txn_id": "T-1", "outcome": "asked",
                                                       "terminal_id": "till-1"}),
            "sync": lambda: store.sync(progress=lambda *_: None),
        }
        for slot, attempt in refused.items():
            with pytest.raises(refpos.VersionError) as caught:
                attempt()
            assert caught.value.status == 7
            assert caught.value.message.startswith(slot + " needs ABI 1.")
            assert "provides 1.0" in caught.value.message
        # Nothing was recorded by the refused calls.
        assert store.customer({"customer_id": "alice"})["purchases"] == 1
