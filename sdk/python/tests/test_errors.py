"""Every failed call raises the RefposError subclass of its status, with the
plugin's message, the field and reason of its error document, and the
answer document when there is one. Use after close raises, never crashes."""

from __future__ import annotations

import json
import threading

import pytest

import refpos
from conftest import cart, default_config

MISTYPED_CODE = "124G-73KM-9Q2W-P4HC"  # README: two symbols swapped


def test_bad_json_is_bad_request(store: refpos.Store) -> None:
    with pytest.raises(refpos.BadRequest) as caught:
        store.preview("{not json")
    e = caught.value
    assert (e.status, e.status_name) == (2, "BAD_REQUEST")
    assert "not valid JSON" in e.message
    assert e.answer is not None and e.answer["error"]["code"] == "BAD_REQUEST"


def test_unknown_member_is_bad_request_naming_it(store: refpos.Store) -> None:
    request = dict(cart("", "bob"), bogus=1)
    with pytest.raises(refpos.BadRequest) as caught:
        store.preview(request)
    assert caught.value.field == "bogus"
    assert "bogus" in caught.value.message


def test_wrong_field_type_names_the_field(store: refpos.Store) -> None:
    request = cart("T-1", "alice")
    request["lines"][0]["quantity"] = -2
    with pytest.raises(refpos.BadRequest) as caught:
        store.commit(request)
    assert "quantity" in caught.value.field
    assert caught.value.message


def test_unknown_transaction_is_not_found(store: refpos.Store) -> None:
    with pytest.raises(refpos.NotFound) as caught:
        store.reverse({"reversal_id": "R-1", "txn_id": "T-404", "kind": "void",
                       "terminal_id": "till-1"})
    assert caught.value.status == 4
    assert caught.value.field == "txn_id"
    assert "T-404" in caught.value.message


def test_same_txn_id_other_content_is_conflict(store: refpos.Store) -> None:
    store.commit(cart("T-1", "alice", [5000]))
    with pytest.raises(refpos.Conflict) as caught:
        store.commit(cart("T-1", "alice", [6000]))
    assert caught.value.status == 5 and caught.value.status_name == "CONFLICT"
    assert caught.value.message


def test_mistyped_code_is_rejected_with_the_answer(store: refpos.Store) -> None:
    with pytest.raises(refpos.CodeRejected) as caught:
        store.preview(cart("", "carol", [3000], code=MISTYPED_CODE))
    e = caught.value
    assert e.status == 3
    assert e.reason == "mistyped"
    assert e.field == "code"
    assert e.message
    assert e.answer is not None
    assert e.answer["code"]["status"] == "rejected"
    assert e.answer["total_minor"] == 3000 and e.answer["discount_minor"] == 0


def test_invalid_config_is_config_error_at_open(plugin: refpos.Plugin, tmp_path) -> None:
    config = default_config(tmp_path / "store")
    del config["currency"]
    with pytest.raises(refpos.ConfigError) as caught:
        plugin.open(config)
    assert caught.value.status == 8
    assert caught.value.field == "currency"
    assert "currency" in caught.value.message
    with pytest.raises(refpos.ConfigError):
        plugin.open("not json at all")


def test_second_open_of_a_data_folder_is_storage_error(
    plugin: refpos.Plugin, store: refpos.Store, config: dict
) -> None:
    with pytest.raises(refpos.StorageError) as caught:
        plugin.open(config)
    assert caught.value.status == 6 and "already open" in caught.value.message


def test_render_of_unknown_transaction_is_not_found(plugin: refpos.Plugin,
                                                    store: refpos.Store) -> None:
    if not plugin.has_render:
        pytest.skip("ABI 1.0 plugin")
    with pytest.raises(refpos.NotFound) as caught:
        store.render("T-404", "receipt", "png")
    assert caught.value.answer is not None and caught.value.answer["error"]["status"] == 4


def test_use_after_close_raises_and_close_is_idempotent(plugin: refpos.Plugin,
                                                        config: dict) -> None:
    store = plugin.open(config)
    store.close()
    store.close()
    for call in (store.preview, store.commit, store.reverse, store.issue_code, store.customer):
        with pytest.raises(refpos.BadHandle) as caught:
            call({"customer_id": "alice"})
        assert caught.value.status == 9 and "closed" in caught.value.message
    with pytest.raises(refpos.BadHandle):
        store.render("T-1", "receipt", "text")
    with pytest.raises(refpos.BadHandle):
        store.call("forget", {"customer_id": "alice", "terminal_id": "till-1"})
    with pytest.raises(refpos.BadHandle):
        store.sync(progress=lambda *_: None)
    with store:  # leaving the block closes again: still fine
        pass
    # The folder is free again once the store is closed.
    with plugin.open(config) as again:
        assert again.customer({"customer_id": "alice"})["known"] is False


def test_close_waits_for_calls_on_other_threads(plugin: refpos.Plugin, config: dict) -> None:
    store = plugin.open(config)
    failures = []

    def shop(n: int) -> None:
        for i in range(20):
            try:
                store.commit(cart("T-%d-%d" % (n, i), "c%d" % n, [1000 + i]))
            except refpos.BadHandle:
                return  # closed under us: expected, and never a crash
            except refpos.RefposError as e:  # pragma: no cover - reported below
                failures.append(e)

    threads = [threading.Thread(target=shop, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    store.close()
    for thread in threads:
        thread.join()
    assert failures == []


def test_load_errors() -> None:
    with pytest.raises(refpos.LoadError):
        refpos.Plugin("/nonexistent/librefpos.so")
    with pytest.raises(refpos.LoadError, match="refpos_get_api"):
        refpos.Plugin("libc.so.6")  # loads, but is no refpos plugin


def test_every_status_has_its_class() -> None:
    expected = {
        1: refpos.InvalidArgument, 2: refpos.BadRequest, 3: refpos.CodeRejected,
        4: refpos.NotFound, 5: refpos.Conflict, 6: refpos.StorageError,
        7: refpos.VersionError, 8: refpos.ConfigError, 9: refpos.BadHandle,
        10: refpos.RateLimited, 11: refpos.InternalError,
    }
    from refpos.errors import error_for_status

    for status, cls in expected.items():
        e = error_for_status(status, "m", field="f", reason="r", answer={"a": 1})
        assert type(e) is cls and isinstance(e, refpos.RefposError)
        assert (e.status, e.status_name, e.message, e.field, e.reason, e.answer) == (
            status, refpos.STATUS_NAMES[status], "m", "f", "r", {"a": 1})
    unknown = error_for_status(99, "newer plugin")
    assert type(unknown) is refpos.RefposError and unknown.status_name == "STATUS_99"
    assert json.dumps(refpos.STATUS_NAMES)  # plain strings
