"""render (ABI 1.1): the bytes themselves, binary-safe, and a reprint gives
the same bytes."""

from __future__ import annotations

import pytest

import refpos
from conftest import cart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def committed(plugin: refpos.Plugin, store: refpos.Store) -> refpos.Store:
    if not plugin.has_render:
        pytest.skip("ABI 1.0 plugin: no render")
    store.commit(cart("T-1", "alice", [8999]))
    return store


def test_receipt_png(committed: refpos.Store) -> None:
    png = committed.render("T-1", "receipt", "png", host_lines=["Coffee beans 1kg   12.00"])
    assert png.startswith(PNG_SIGNATURE)
    assert png.endswith(b"IEND\xaeB`\x82")  # whole file: the length was honoured
    assert committed.render("T-1", "receipt", "png",
                            host_lines=["Coffee beans 1kg   12.00"]) == png


def test_coupon_png_and_svg(committed: refpos.Store) -> None:
    assert committed.render("T-1", "coupon", "png").startswith(PNG_SIGNATURE)
    svg = committed.render("T-1", "coupon", "svg")
    assert b"<svg" in svg


def test_receipt_text_and_escpos(committed: refpos.Store) -> None:
    text = committed.render("T-1", "receipt", "text", ["Host line one"]).decode("utf-8")
    assert "Host line one" in text
    escpos = committed.render("T-1", "receipt", "escpos")
    assert escpos.startswith(b"\x1b@")  # ESC @: initialise the printer
    assert b"\x00" in escpos  # binary with NULs: not cut at the first one


def test_bad_render_request(committed: refpos.Store) -> None:
    with pytest.raises(refpos.BadRequest) as caught:
        committed.render("T-1", "poster", "png")
    assert caught.value.message
