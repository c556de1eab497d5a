"""call (ABI 1.2): the referral loop's named operations, dict in, dict out,
and a refused operation or request raises its class and records nothing
(the next event's seq shows it: the log is gap-free)."""

from __future__ import annotations

from typing import Any, Dict

import pytest

import refpos
from conftest import cart, default_rules


@pytest.fixture(autouse=True)
def needs_call(plugin: refpos.Plugin) -> None:
    if not plugin.has_call:
        pytest.skip("plugin older than ABI 1.2: no call")


def ask(txn_id: str, outcome: str) -> Dict[str, Any]:
    return {"txn_id": txn_id, "outcome": outcome, "terminal_id": "till-1", "cashier_id": "c7"}


def lead(lead_id: str, consent: bool = True) -> Dict[str, Any]:
    return {"lead_id": lead_id, "customer_id": "alice", "friend_name": "Sam",
            "friend_contact": "sam@example.com", "consent": consent, "terminal_id": "till-1"}


def rules(version: int, percent_off_bp: int) -> Dict[str, Any]:
    changed = default_rules()
    changed["version"] = version
    changed["referee"]["percent_off_bp"] = percent_off_bp
    return changed


def test_ask_outcome_round_trip_and_replay(store: refpos.Store) -> None:
    sale = store.commit(cart("T-1", "alice", [5000]))
    assert sale["ask"]["ask"] is True  # the till prompted the cashier
    next_seq = sale["events"]["last_seq"] + 1

    answer = store.call("ask_outcome", ask("T-1", "declined"))
    assert answer == {"schema": "refpos/1", "txn_id": "T-1", "outcome": "declined",
                      "events": {"first_seq": next_seq, "last_seq": next_seq}}
    assert store.call("ask_outcome", ask("T-1", "declined")) == answer  # idempotent
    with pytest.raises(refpos.Conflict) as caught:
        store.call("ask_outcome", ask("T-1", "asked"))
    assert caught.value.field == "txn_id"
    with pytest.raises(refpos.NotFound) as caught:
        store.call("ask_outcome", ask("T-404", "asked"))
    assert "T-404" in caught.value.message


def test_lead_contact_and_forget(store: refpos.Store) -> None:
    last_seq = store.commit(cart("T-1", "alice", [5000]))["events"]["last_seq"]
    captured = store.call("lead", lead("L-1"))
    assert (captured["lead_id"], captured["customer_id"]) == ("L-1", "alice")
    assert captured["events"]["first_seq"] == last_seq + 1
    with pytest.raises(refpos.Conflict):
        store.call("lead", lead("L-1"))

    consented = store.call("contact", {"customer_id": "alice", "channel": "email",
                                       "address": "ana@example.com", "name": "Ana",
                                       "consent": True, "terminal_id": "till-1"})
    assert (consented["channel"], consented["consent"]) == ("email", True)

    forgotten = store.call("forget", {"customer_id": "alice", "terminal_id": "office"})
    assert forgotten["customer_id"] == "alice"
    assert forgotten["removed"] >= 2  # the lead's contact and her own
    # Money facts stay.
    assert store.customer({"customer_id": "alice"})["purchases"] == 1


def test_install_rules_takes_effect(store: refpos.Store) -> None:
    code = store.commit(cart("T-1", "alice", [5000]))["issued_code"]["normalized"]
    assert store.preview(cart("", "dan", [10000], code=code))["discount_minor"] == 2000

    installed = store.call("install_rules", {"rules": rules(2, 3000)})
    assert (installed["version"], installed["previous_version"]) == (2, 1)
    assert store.preview(cart("", "dan", [10000], code=code))["discount_minor"] == 3000
    with pytest.raises(refpos.Conflict) as caught:  # not newer than the active one
        store.call("install_rules", {"rules": rules(2, 1000)})
    assert caught.value.field == "rules.version"


def test_invalid_rules_are_refused_whole_and_the_active_ones_stay(store: refpos.Store) -> None:
    code = store.commit(cart("T-1", "alice", [5000]))["issued_code"]["normalized"]
    broken = rules(2, -5)
    broken["code"]["valid_days"] = "x"
    with pytest.raises(refpos.BadRequest) as caught:
        store.call("install_rules", {"rules": broken})
    assert "rules.referee.percent_off_bp" in caught.value.message
    assert "rules.code.valid_days" in caught.value.message  # every bad field named
    assert store.preview(cart("", "dan", [10000], code=code))["discount_minor"] == 2000
    # Version 2 is still free: nothing was installed.
    assert store.call("install_rules", {"rules": rules(2, 3000)})["previous_version"] == 1


def test_unknown_operation_is_bad_request_and_changes_nothing(store: refpos.Store) -> None:
    last_seq = store.commit(cart("T-1", "alice", [5000]))["events"]["last_seq"]
    with pytest.raises(refpos.BadRequest) as caught:
        store.call("ask_outcomes", ask("T-1", "declined"))
    e = caught.value
    assert (e.status, e.field) == (2, "operation")
    assert "ask_outcome" in e.message  # names the ones there are
    assert e.answer is not None and e.answer["error"]["field"] == "operation"
    # A name the plugin would read cut short never reaches it.
    for misleading in ("ask_outcome\0x", "ask_outcomé"):
        with pytest.raises(refpos.BadRequest) as caught:
            store.call(misleading, ask("T-1", "declined"))
        assert caught.value.field == "operation"
    with pytest.raises(TypeError):
        store.call(b"ask_outcome", ask("T-1", "declined"))  # type: ignore[arg-type]
    # None of it was recorded: the next event follows the sale's.
    answer = store.call("ask_outcome", ask("T-1", "declined"))
    assert answer["events"]["first_seq"] == last_seq + 1


def test_bad_request_names_the_field_and_changes_nothing(store: refpos.Store) -> None:
    last_seq = store.commit(cart("T-1", "alice", [5000]))["events"]["last_seq"]
    with pytest.raises(refpos.BadRequest) as caught:
        store.call("lead", lead("L-1", consent=False))
    assert caught.value.field == "consent"
    with pytest.raises(refpos.BadRequest) as caught:
        store.call("ask_outcome", dict(ask("T-1", "declined"), bogus=1))
    assert caught.value.field == "bogus"
    with pytest.raises(refpos.BadRequest):
        store.call("lead", "{not json")
    # L-1 is still unused, and nothing came between the sale and it.
    assert store.call("lead", lead("L-1"))["events"]["first_seq"] == last_seq + 1
