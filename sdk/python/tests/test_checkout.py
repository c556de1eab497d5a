"""A referral checkout through the package: Alice is issued a code, Bob
redeems it, Alice is credited, Bob's sale is voided and everything is
reversed. Dicts in, dicts out; no status to check by hand."""

from __future__ import annotations

import refpos
from conftest import START_MS, cart


def test_plugin_loads_with_its_abi_and_version(plugin: refpos.Plugin) -> None:
    assert plugin.abi_version[0] == 1
    assert plugin.has_render == (plugin.abi_version >= (1, 1))
    version = plugin.version()
    assert version["schema"] == "refpos/1"
    assert version["abi"] == "%d.%d" % plugin.abi_version


def test_referral_checkout_issue_redeem_credit_void(plugin: refpos.Plugin, config: dict) -> None:
    with plugin.open(config) as store:
        alice = store.commit(cart("T-1", "alice", [8999]))
        code = alice["issued_code"]["normalized"]
        assert alice["issued_code"]["new"] is True
        assert alice["redemption"] is None

        preview = store.preview(cart("", "bob", [6000], code=code))
        assert preview["code"]["status"] == "accepted"
        assert preview["discount_minor"] == 1200  # 20 % of 60.00
        assert preview["total_minor"] == 4800

        bob_request = cart("T-2", "bob", [6000], code=code)
        bob = store.commit(bob_request)
        assert bob["redemption"]["discount_minor"] == 1200
        reward = bob["redemption"]["referrer_reward"]
        assert (reward["kind"], reward["amount_minor"], reward["settled"]) == (
            "store_credit",
            1000,
            "store",
        )
        assert reward["held"] is False and reward["capped"] is False
        assert bob["issued_code"]["normalized"] != code
        assert store.commit(bob_request) == bob  # a retry changes nothing

        credited = store.customer({"customer_id": "alice"})
        assert (credited["wallet"]["currency"], credited["wallet"]["balance_minor"]) == ("USD", 1000)

        void = store.reverse(
            {"reversal_id": "R-1", "txn_id": "T-2", "kind": "void", "terminal_id": "till-1"}
        )
        assert void["reversed_discount_minor"] == 1200
        assert void["reversed_referrer_reward_minor"] == 1000
        assert void["revoked_code"] == bob["issued_code"]["code"]

        assert store.customer({"customer_id": "alice"})["wallet"]["balance_minor"] == 0
        bob_after = store.customer({"customer_id": "bob"})
        assert [c["revoked"] for c in bob_after["codes"]] == [True]
    assert store.closed


def test_issue_code_outside_a_checkout(store: refpos.Store) -> None:
    issued = store.issue_code({"customer_id": "carol", "terminal_id": "till-1"})
    assert issued["customer_id"] == "carol"
    assert issued["new"] is True
    assert issued["share_link"].endswith(issued["normalized"])
    again = store.issue_code({"customer_id": "carol", "terminal_id": "till-1"})
    assert again["normalized"] == issued["normalized"] and again["new"] is False
    assert issued["expires_at_ms"] > START_MS


def test_requests_may_be_json_text(store: refpos.Store) -> None:
    answer = store.customer('{"customer_id": "nobody"}')
    assert answer["known"] is False
    assert store.customer(b'{"customer_id": "nobody"}') == answer


def test_store_survives_reopen(plugin: refpos.Plugin, config: dict) -> None:
    with plugin.open(config) as store:
        store.commit(cart("T-1", "alice", [5000]))
    with plugin.open(config) as store:
        assert store.customer({"customer_id": "alice"})["purchases"] == 1
