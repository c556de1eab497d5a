"""Fixtures for the refpos Python package's tests: the plugin, a fresh store
per test in pytest's tmp_path, and the default config and carts of
tests/integration/plugin.cpp.

The plugin is $REFPOS_PLUGIN (ctest sets it to the build's librefpos.so);
run by hand, the release build's is used if it exists.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence

import pytest

SDK_PYTHON = Path(__file__).resolve().parents[1]
REPO = SDK_PYTHON.parents[1]
sys.path.insert(0, str(SDK_PYTHON))

import refpos  # noqa: E402

START_MS = 1767225600000  # 2026-01-01 00:00 UTC, the store's fixed clock
TEST_SECRET_HEX = "000102030405060708090a0b0c0d0e0f"


def plugin_path() -> str:
    configured = os.environ.get(refpos.PLUGIN_ENV)
    if configured:
        return configured
    built = REPO / "build" / "release" / "plugin" / "librefpos.so"
    if built.exists():
        return str(built)
    pytest.fail("set REFPOS_PLUGIN to a built librefpos.so (or build the release preset)")


def default_rules() -> Dict[str, Any]:
    return {
        "schema": "refpos.rules/1",
        "version": 1,
        "program": "friends",
        "referee": {
            "percent_off_bp": 2000,
            "cap_minor": 5000,
            "min_spend_minor": 2000,
            "new_customers_only": True,
        },
        "referrer": {"store_credit_minor": 1000},
        "code": {"valid_days": 30, "max_redemptions": 5},
        "issue": {"on_commit": True, "min_spend_minor": 0},
    }


def default_config(data_dir: Path) -> Dict[str, Any]:
    return {
        "store_id": "store-001",
        "data_dir": str(data_dir),
        "currency": "USD",
        "code_keys": [{"id": 1, "secret_hex": TEST_SECRET_HEX, "active": True}],
        "rules": default_rules(),
        "share_link_template": "https://example.com/r/{code}",
        "clock": {"fixed_ms": START_MS},
    }


def cart(
    txn_id: str = "",
    customer: str = "",
    prices_minor: Sequence[int] = (5000,),
    code: Optional[str] = None,
) -> Dict[str, Any]:
    """A cart of one line per price, as plugin.cpp's cart()."""
    request: Dict[str, Any] = {
        "terminal_id": "till-1",
        "cashier_id": "cashier-7",
        "currency": "USD",
        "lines": [
            {"sku": "SKU-%d" % (n + 1), "category": "general", "quantity": 1, "unit_price_minor": p}
            for n, p in enumerate(prices_minor)
        ],
    }
    if txn_id:
        request["txn_id"] = txn_id
    if customer:
        request["customer_id"] = customer
    if code is not None:
        request["code"] = code
    return request


@pytest.fixture(scope="session")
def plugin() -> refpos.Plugin:
    return refpos.Plugin(plugin_path())


@pytest.fixture
def config(tmp_path: Path) -> Dict[str, Any]:
    return default_config(tmp_path / "store")


@pytest.fixture
def store(plugin: refpos.Plugin, config: Dict[str, Any]) -> Iterator[refpos.Store]:
    with plugin.open(config) as opened:
        yield opened
