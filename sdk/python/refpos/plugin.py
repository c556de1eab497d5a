"""Plugin and Store: librefpos.so through ctypes, as refpos.h describes it.

    import refpos
    plugin = refpos.Plugin()                      # $REFPOS_PLUGIN, else librefpos.so
    with plugin.open(config) as store:            # config: dict or JSON text
        answer = store.commit({...})              # dict in, dict out
        png = store.render(answer["txn_id"], "receipt", "png")

What the wrapper guarantees on top of the C contract:

- Every buffer the plugin hands out is copied and released with the
  plugin's ``free_buffer`` before the call returns, also when it raises.
- Every status other than REFPOS_OK raises a ``RefposError`` subclass
  (errors.py); ``last_error`` is read on the calling thread right after the
  failed call, while it is still valid.
- A closed store never reaches the plugin: a call after ``close()`` raises
  ``BadHandle``, and ``close()`` waits for calls in flight on other threads
  (the plugin requires that no call is in flight when its handle closes).
  ``close()`` is idempotent.
- A Store may be shared between threads, as the handle may: calls run
  concurrently and the plugin serialises them per handle. ctypes releases
  the GIL during each call.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import threading
from contextlib import contextmanager
from ctypes import byref, c_size_t, c_void_p
from types import TracebackType
from typing import Any, Dict, Iterable, Iterator, Mapping, Optional, Tuple, Type, Union

from . import _abi
from .errors import BadHandle, InternalError, LoadError, RefposError, VersionError, error_for_status

__all__ = ["Plugin", "Store", "Request", "DEFAULT_PLUGIN_NAME", "PLUGIN_ENV"]

#: A request: a JSON-serialisable mapping, or JSON text as str or bytes (sent
#: as it is, which is how a test sends a broken document).
Request = Union[Mapping[str, Any], str, bytes]

#: The environment variable naming the plugin when no path is given.
PLUGIN_ENV = "REFPOS_PLUGIN"
#: Found through the dynamic linker's search path when nothing else is given.
DEFAULT_PLUGIN_NAME = "refpos.dll" if sys.platform == "win32" else "librefpos.so"

_OK = 0
_E_VERSION = 7


def _encode(request: Request) -> bytes:
    if isinstance(request, bytes):
        return request
    if isinstance(request, str):
        return request.encode("utf-8")
    return json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _parse_document(data: Optional[bytes]) -> Optional[Dict[str, Any]]:
    """The plugin's answer as a dict; None for no answer or one that is not
    a JSON object (the caller decides whether that is an error)."""
    if not data:
        return None
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _error_from(
    status: int, message: str, document: Optional[Dict[str, Any]]
) -> RefposError:
    """The exception for a failed call, with what the error document says."""
    error = document.get("error") if document is not None else None
    if not isinstance(error, dict):
        error = {}
    field = error.get("field") or ""
    reason = error.get("reason") or ""
    if not reason and document is not None and isinstance(document.get("code"), dict):
        reason = document["code"].get("reason") or ""  # a rejected preview's code
    if not message:
        message = error.get("message") or ""
    return error_for_status(
        status, str(message), field=str(field), reason=str(reason), answer=document
    )


def _open_error(status: int, message: str) -> RefposError:
    """open has no error document, only a message "field: what is wrong";
    the field is the part before ": " when it looks like a path."""
    field = ""
    prefix, separator, _ = message.partition(": ")
    if separator and prefix and not any(c.isspace() for c in prefix):
        field = prefix
    return error_for_status(status, message, field=field)


class Plugin:
    """A loaded librefpos.so and its function table.

    ``path``: the library to load; if None, ``$REFPOS_PLUGIN``; if that is
    unset or empty, ``librefpos.so`` through the dynamic linker's search
    path. Raises ``LoadError`` if the library cannot be loaded, does not
    export ``refpos_get_api`` or hands out an unusable table, and
    ``VersionError`` if it provides neither ABI 1.1 nor 1.0.

    The library stays loaded for the life of the process (ctypes never
    unloads), so stores and the strings the plugin owns stay valid.
    """

    path: str

    def __init__(self, path: Optional[Union[str, "os.PathLike[str]"]] = None) -> None:
        if path is None:
            path = os.environ.get(PLUGIN_ENV) or DEFAULT_PLUGIN_NAME
        self.path = os.fspath(path)
        try:
            # RTLD_NOW (ctypes' default): unresolved symbols fail here, not
            # in the middle of a checkout. RTLD_LOCAL: no symbol mixing.
            self._library = ctypes.CDLL(self.path, mode=getattr(os, "RTLD_LOCAL", 0))
        except OSError as e:
            raise LoadError("cannot load the plugin %s: %s" % (self.path, e)) from e
        try:
            get_api = _abi.bind_get_api(self._library)
        except AttributeError:
            raise LoadError(
                "%s does not export %s: not a refpos plugin" % (self.path, _abi.ENTRY_SYMBOL)
            ) from None
        self._api, self._abi_version = self._load_table(get_api)

    def _load_table(self, get_api: Any) -> Tuple[Any, int]:
        # Ask for 1.1 (render); a 1.0 plugin answers VERSION to that, so ask
        # again for 1.0, which every plugin of major 1 provides.
        table = c_void_p()
        status = get_api(_abi.ABI_1_1, byref(table))
        if status == _E_VERSION:
            status = get_api(_abi.ABI_1_0, byref(table))
        if status == _E_VERSION:
            raise VersionError(
                status, "%s provides neither ABI 1.1 nor 1.0 (another major)" % self.path
            )
        if status != _OK or not table.value:
            raise LoadError("%s: %s failed with status %d" % (self.path, _abi.ENTRY_SYMBOL, status))

        header = _abi.TableHeader.from_address(table.value)
        version = int(header.abi_version)
        if version >> 16 != _abi.ABI_MAJOR or version < _abi.ABI_1_0:
            raise LoadError(
                "%s provides ABI %s, this package needs 1.0 or a newer 1.x"
                % (self.path, _abi.abi_text(version))
            )
        size = int(header.struct_size)
        if size < _abi.SLOTS_END_1_0:
            raise LoadError(
                "%s: the function table is %d bytes, shorter than ABI 1.0's %d"
                % (self.path, size, _abi.SLOTS_END_1_0)
            )
        # Read render only if the table reaches past it (refpos.h).
        has_render = version >= _abi.ABI_1_1 and size >= _abi.SLOTS_END_1_1
        layout = _abi.ApiV11 if has_render else _abi.ApiV10
        api = layout.from_address(table.value)
        slots = [name for name, _ in layout._fields_[2:]]
        empty = [name for name in slots if not getattr(api, name)]
        if empty:
            raise LoadError("%s: empty slots in the function table: %s" % (self.path, ", ".join(empty)))
        return api, version

    @property
    def abi_version(self) -> Tuple[int, int]:
        """The ABI the plugin provides, as (major, minor)."""
        return (self._abi_version >> 16, self._abi_version & 0xFFFF)

    @property
    def has_render(self) -> bool:
        """True if the plugin's table has render (ABI 1.1 and later)."""
        return isinstance(self._api, _abi.ApiV11)

    def version(self) -> Dict[str, Any]:
        """The plugin's version document, e.g. {"plugin": "0.1.0", "abi": "1.1",
        "schema": "refpos/1", "sqlite": ..., "openssl": ...}."""
        text = self._api.version()
        return json.loads(text.decode("utf-8")) if text else {}

    def open(self, config: Request) -> "Store":
        """Opens (creating if needed) the store the config describes
        (docs/api.md, "open: the store configuration"). Use it as a context
        manager to close it. Raises ConfigError for an invalid config,
        StorageError if the data folder is open elsewhere or unusable."""
        data = _encode(config)
        handle = c_void_p()
        error = _abi.Buffer()
        status = self._api.open(data, len(data), byref(handle), byref(error))
        message = self._take(error)
        if status != _OK or not handle.value:
            text = message.decode("utf-8", "replace") if message else ""
            raise _open_error(status or 11, text or "open failed")
        return Store(self, handle.value)

    def _take(self, buffer: Any, length: Optional[int] = None) -> Optional[bytes]:
        """Copies a plugin buffer and releases it with free_buffer."""
        if not buffer:
            return None
        try:
            if length is None:
                return ctypes.string_at(buffer)
            return ctypes.string_at(buffer, length)
        finally:
            self._api.free_buffer(buffer)

    def __repr__(self) -> str:
        return "refpos.Plugin(%r, abi=%d.%d)" % ((self.path,) + self.abi_version)


class Store:
    """An open store. Made by ``Plugin.open``; closes on ``with`` exit, on
    ``close()`` and, as a last resort, when garbage-collected.

    Business calls take a request (dict, or JSON text) and return the answer
    as a dict; the schemas are in sdk/schema/v1/ and docs/api.md.
    """

    def __init__(self, plugin: Plugin, handle: int) -> None:
        self._plugin = plugin
        self._api = plugin._api
        self._handle: Optional[int] = handle
        self._in_flight = 0
        self._state = threading.Condition()

    # ---- lifetime ----

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        """Closes the store. Idempotent; waits for calls in flight."""
        with self._state:
            handle = self._handle
            if handle is None:
                return
            self._handle = None  # new calls now raise BadHandle
            while self._in_flight:
                self._state.wait()
        status = self._api.close(handle)
        if status != _OK:
            raise error_for_status(status, "close failed")

    def __enter__(self) -> "Store":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing to report to at collection
            pass

    @contextmanager
    def _use(self) -> Iterator[int]:
        with self._state:
            if self._handle is None:
                raise BadHandle(9, "the store is closed")
            handle = self._handle
            self._in_flight += 1
        try:
            yield handle
        finally:
            with self._state:
                self._in_flight -= 1
                if not self._in_flight:
                    self._state.notify_all()

    # ---- calls ----

    def _call(self, function: Any, request: Request) -> Dict[str, Any]:
        data = _encode(request)
        answer = _abi.Buffer()
        with self._use() as handle:
            status = function(handle, data, len(data), byref(answer))
            text = self._plugin._take(answer)
            # Valid only until this thread's next call on the handle.
            message = self._api.last_error(handle) if status != _OK else b""
        document = _parse_document(text)
        if status != _OK:
            raise _error_from(status, (message or b"").decode("utf-8", "replace"), document)
        if document is None:
            raise InternalError(11, "the plugin's answer is not a JSON object: %r" % (text,))
        return document

    def preview(self, request: Request) -> Dict[str, Any]:
        """What a cart and an optional code would give; records nothing.
        A code that cannot be used raises CodeRejected with ``.answer``."""
        return self._call(self._api.preview, request)

    def commit(self, request: Request) -> Dict[str, Any]:
        """Records a paid transaction; idempotent on its txn_id."""
        return self._call(self._api.commit, request)

    def reverse(self, request: Request) -> Dict[str, Any]:
        """Voids or refunds a committed transaction; idempotent on reversal_id."""
        return self._call(self._api.reverse, request)

    def issue_code(self, request: Request) -> Dict[str, Any]:
        """Issues (or returns the still-valid) referral code of a customer."""
        return self._call(self._api.issue_code, request)

    def customer(self, request: Request) -> Dict[str, Any]:
        """What the store knows about a customer: wallet, codes."""
        return self._call(self._api.customer, request)

    def render(
        self, txn_id: str, what: str, format: str, host_lines: Iterable[str] = ()
    ) -> bytes:
        """What to print for a committed transaction (ABI 1.1): ``what`` is
        "receipt" or "coupon", ``format`` "escpos", "png", "svg" (coupon) or
        "text". Returns the bytes themselves. Raises VersionError if the
        plugin is ABI 1.0, NotFound for an unknown transaction."""
        if not self._plugin.has_render:
            raise VersionError(
                7, "render needs ABI 1.1; the plugin provides %d.%d" % self._plugin.abi_version
            )
        request = {"txn_id": txn_id, "what": what, "format": format, "host_lines": list(host_lines)}
        data = _encode(request)
        out = _abi.Buffer()
        out_len = c_size_t(0)
        with self._use() as handle:
            status = self._api.render(handle, data, len(data), byref(out), byref(out_len))
            # On failure too the buffer and its length are the error document.
            payload = self._plugin._take(out, out_len.value)
            message = self._api.last_error(handle) if status != _OK else b""
        if status != _OK:
            raise _error_from(
                status, (message or b"").decode("utf-8", "replace"), _parse_document(payload)
            )
        return payload or b""

    def __repr__(self) -> str:
        return "<refpos.Store %s>" % ("closed" if self.closed else "open")
