"""sync (ABI 1.3) against a real head office: the refpos-hq process on
127.0.0.1 with a chain made by refposctl (head_office.py), over mutual TLS,
as tests/sync/sync_test.cpp does it from C++. What is checked here is the
Python side: the progress callback and what it raises, the answer, and
each failure's error class. Every test syncs a store id of its own, so
they share one head office.
"""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

import refpos
from conftest import REPO, cart, default_config
from head_office import GUARD_S, Chain, HeadOffice, sync_section, tools

BATCH_EVENTS = 2  # several batches from a single sale
_store_numbers = itertools.count(1)

Call = Tuple[str, int, int]


@pytest.fixture(autouse=True)
def needs_sync(plugin: refpos.Plugin) -> None:
    if not plugin.has_sync:
        pytest.skip("plugin older than ABI 1.3: no sync")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    found = tools()
    if found is None:
        pytest.skip("refpos-hq and refposctl not found: set REFPOS_TEST_HQ and REFPOS_TEST_CTL")
    return Chain(found.ctl, tmp_path_factory.mktemp("chain") / "chain")


@pytest.fixture(scope="module")
def head_office(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadOffice]:
    found = tools()
    assert found is not None
    running = HeadOffice(found.hq, chain, tmp_path_factory.mktemp("hq"))
    yield running
    running.stop()


def synced_config(chain: Chain, head_office: HeadOffice, folder: Path) -> Dict[str, Any]:
    """A store of its own id in ``folder``, configured to sync with ``head_office``."""
    store_id = "py-store-%d" % next(_store_numbers)
    config = default_config(folder / "data")
    config["store_id"] = store_id
    tls = chain.provision(store_id, folder)
    config["sync"] = sync_section(chain, head_office, tls, BATCH_EVENTS)
    return config


@pytest.fixture
def synced(plugin: refpos.Plugin, chain: Chain, head_office: HeadOffice,
           tmp_path: Path) -> Iterator[refpos.Store]:
    with plugin.open(synced_config(chain, head_office, tmp_path / "store")) as opened:
        yield opened


def test_without_a_sync_section_sync_is_config_error(store: refpos.Store) -> None:
    store.commit(cart("T-1", "alice", [5000]))
    calls: List[Call] = []
    with pytest.raises(refpos.ConfigError) as caught:
        store.sync(progress=lambda *call: calls.append(call))
    e = caught.value
    assert (e.status, e.field) == (8, "sync")
    assert 'no "sync" section' in e.message
    assert e.answer is not None and e.answer["error"]["code"] == "CONFIG"
    assert calls == []
    assert store.commit(cart("T-2", "bob", [5000]))["txn_id"] == "T-2"


def test_sync_pushes_then_pulls_reporting_progress(synced: refpos.Store) -> None:
    sale = synced.commit(cart("T-1", "alice", [5000]))
    to_send = sale["events"]["last_seq"]
    calls: List[Call] = []

    answer = synced.sync(progress=lambda stage, done, total: calls.append((stage, done, total)))

    assert answer["pushed"] == to_send and answer["acked_seq"] == to_send
    assert answer["batches"] == -(-to_send // BATCH_EVENTS)  # rounded up
    assert answer["conflicts"] == 0 and answer["cursor"] >= 1
    assert isinstance(answer["next_sync_at_ms"], int)
    published = json.loads((REPO / "sdk" / "schema" / "v1" / "sync.answer.schema.json").read_text())
    assert set(published["required"]) <= set(answer), "the answer lacks a member of its schema"
    # "push" after each batch, from 0 to everything, then "pull" 0 and 1 of 1.
    pushes = [call for call in calls if call[0] == "push"]
    assert pushes[0] == ("push", 0, to_send) and pushes[-1] == ("push", to_send, to_send)
    assert len(pushes) == 1 + answer["batches"]
    assert [done for _, done, _ in pushes] == sorted(done for _, done, _ in pushes)
    assert calls[len(pushes):] == [("pull", 0, 1), ("pull", 1, 1)]

    # Again: only what happened since goes up (the first sync's own record).
    again = synced.sync()
    assert again["acked_seq"] > answer["acked_seq"]
    assert again["pushed"] == again["acked_seq"] - answer["acked_seq"]


def test_a_reward_earned_at_another_store_comes_down_with_the_pull(
    plugin: refpos.Plugin, chain: Chain, head_office: HeadOffice, tmp_path: Path
) -> None:
    with plugin.open(synced_config(chain, head_office, tmp_path / "a")) as a, \
            plugin.open(synced_config(chain, head_office, tmp_path / "b")) as b:
        code = a.commit(cart("A-1", "alice", [5000]))["issued_code"]["normalized"]
        a.sync()
        # B checks the code offline with the chain's key; alice's reward is
        # B's fact until both have synced.
        redeemed = b.commit(cart("B-1", "bob", [8000], code=code))
        assert redeemed["redemption"]["discount_minor"] == 1600  # 20 % of 80.00
        assert a.customer({"customer_id": "alice"})["wallet"]["balance_minor"] == 0
        b.sync()
        pulled = a.sync()
        assert pulled["wallets"] >= 1
        # Default rules: $10.00 of store credit, spendable at once.
        assert a.customer({"customer_id": "alice"})["wallet"]["balance_minor"] == 1000


class Refused(Exception):
    """What the progress callback of a test raises."""


@pytest.mark.parametrize("raised", [Refused("no progress bar today"), KeyboardInterrupt()],
                         ids=["exception", "keyboard_interrupt"])
def test_an_exception_in_progress_is_raised_after_the_sync(
    synced: refpos.Store, raised: BaseException
) -> None:
    to_send = synced.commit(cart("T-1", "alice", [5000]))["events"]["last_seq"]
    calls: List[Call] = []

    def progress(stage: str, done: int, total: int) -> None:
        calls.append((stage, done, total))
        raise raised

    with pytest.raises(type(raised)) as caught:
        synced.sync(progress=progress)
    assert caught.value is raised
    assert caught.value.__context__ is None  # the sync itself succeeded
    assert calls == [("push", 0, to_send)]  # not called again once it raised

    # The sync ran to its end without the callback, and the store is usable.
    synced.commit(cart("T-2", "bob", [5000]))
    after = synced.sync(progress=lambda *_: None)
    assert after["acked_seq"] - after["pushed"] >= to_send  # T-1's went up the first time
    assert synced.customer({"customer_id": "bob"})["known"] is True


def test_progress_must_not_use_its_own_store(synced: refpos.Store) -> None:
    def progress(stage: str, done: int, total: int) -> None:
        synced.customer({"customer_id": "alice"})

    with pytest.raises(RuntimeError, match="must not use its own store"):
        synced.sync(progress=progress)
    assert synced.customer({"customer_id": "alice"})["known"] is False


def _on_other_thread(outcomes: Dict[str, Any], name: str, work: Callable[[], Any]) -> None:
    """Runs ``work`` on a thread of its own and waits for it; its answer or
    RefposError lands in ``outcomes[name]``."""
    def run() -> None:
        try:
            outcomes[name] = work()
        except refpos.RefposError as e:
            outcomes[name] = e
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(GUARD_S)
    assert not thread.is_alive(), name + " hung while a sync was running"


def test_a_second_sync_at_once_is_conflict_while_sales_go_on(synced: refpos.Store) -> None:
    to_send = synced.commit(cart("T-1", "alice", [5000]))["events"]["last_seq"]
    outcomes: Dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if (stage, done) == ("pull", 0):  # the first sync is running now
            _on_other_thread(outcomes, "second sync", synced.sync)
            _on_other_thread(outcomes, "sale", lambda: synced.commit(cart("T-2", "bob", [3000])))

    first = synced.sync(progress=progress)
    assert first["pushed"] == to_send
    second = outcomes["second sync"]
    assert isinstance(second, refpos.Conflict), second
    assert second.status == 5 and second.field == "sync"
    assert "already running" in second.message
    assert outcomes["sale"]["txn_id"] == "T-2"
    # The sale made during the sync goes up with the next one.
    assert synced.sync()["pushed"] >= outcomes["sale"]["events"]["last_seq"] - to_send


def test_a_sale_while_the_events_go_up_waits_for_the_next_sync(synced: refpos.Store) -> None:
    to_send = synced.commit(cart("T-1", "alice", [5000]))["events"]["last_seq"]
    assert to_send > BATCH_EVENTS  # a second batch is read after the sale
    outcomes: Dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if (stage, done) == ("push", 0):
            _on_other_thread(outcomes, "sale", lambda: synced.commit(cart("T-2", "bob", [3000])))

    first = synced.sync(progress=progress)
    assert outcomes["sale"]["txn_id"] == "T-2"
    assert first["pushed"] == to_send


def test_head_office_unreachable_is_storage_error(
    plugin: refpos.Plugin, chain: Chain, tmp_path: Path
) -> None:
    found = tools()
    assert found is not None
    gone = HeadOffice(found.hq, chain, tmp_path / "hq")
    gone.stop()  # nothing listens on its port any more
    config = synced_config(chain, gone, tmp_path / "store")
    calls: List[Call] = []
    with plugin.open(config) as store:
        store.commit(cart("T-1", "alice", [5000]))
        with pytest.raises(refpos.StorageError) as caught:
            store.sync(progress=lambda *call: calls.append(call))
        assert caught.value.status == 6 and caught.value.message
        assert calls == []  # it failed connecting, before the push
        assert store.customer({"customer_id": "alice"})["known"] is True


def test_sync_request_is_checked(synced: refpos.Store) -> None:
    with pytest.raises(refpos.BadRequest) as caught:
        synced.sync({"bogus": 1})
    assert caught.value.field == "bogus"
    with pytest.raises(refpos.BadRequest):
        synced.sync("{not json")
    assert synced.sync({})["pushed"] == 0
