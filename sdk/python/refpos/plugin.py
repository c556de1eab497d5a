"""Plugin and Store: librefpos.so through ctypes, as refpos.h describes it.

    import refpos
    plugin = refpos.Plugin()                      # $REFPOS_PLUGIN, else librefpos.so
    with plugin.open(config) as store:            # config: dict or JSON text
        answer = store.commit({...})              # dict in, dict out
        png = store.render(answer["txn_id"], "receipt", "png")
        store.call("ask_outcome", {...})          # ABI 1.2: the referral loop
        store.sync(progress=print)                # ABI 1.3: with head office

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
- A slot newer than the plugin's ABI (render 1.1, call 1.2, sync 1.3) is
  never read: calling it raises ``VersionError``. ``Plugin.has_render``,
  ``has_call`` and ``has_sync`` say beforehand.
- Nothing raised in sync's progress callback crosses into C: it is raised
  from ``sync`` once the plugin has returned.
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
from typing import Any, Callable, Dict, Iterable, Iterator, Mapping, Optional, Tuple, Type, Union

from . import _abi
from .errors import (
    BadHandle,
    BadRequest,
    InternalError,
    LoadError,
    RefposError,
    VersionError,
    error_for_status,
)

__all__ = ["Plugin", "Store", "Request", "Progress", "DEFAULT_PLUGIN_NAME", "PLUGIN_ENV"]

#: A request: a JSON-serialisable mapping, or JSON text as str or bytes (sent
#: as it is, which is how a test sends a broken document).
Request = Union[Mapping[str, Any], str, bytes]

#: sync's progress callback: ``progress(stage, done, total)``, stage "push"
#: (events acknowledged of events to send) or "pull" (0 of 1, then 1 of 1).
Progress = Callable[[str, int, int], object]

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


def _answer_of(status: int, text: Optional[bytes], message: Optional[bytes]) -> Dict[str, Any]:
    """The answer of a call that returns a JSON document, or its exception."""
    document = _parse_document(text)
    if status != _OK:
        raise _error_from(status, (message or b"").decode("utf-8", "replace"), document)
    if document is None:
        raise InternalError(11, "the plugin's answer is not a JSON object: %r" % (text,))
    return document


def _operation_name(operation: str) -> bytes:
    """call's operation as the NUL-terminated ASCII name refpos.h takes. A
    name the plugin would misread (a NUL cuts it short) is refused here as
    the plugin refuses an unknown one: BadRequest, field "operation"."""
    if not isinstance(operation, str):
        raise TypeError("operation must be a str, got %s" % type(operation).__name__)
    if not operation.isascii() or "\0" in operation:
        raise BadRequest(
            2, "operation: must be an ASCII name such as \"ask_outcome\", got %r" % operation,
            field="operation",
        )
    return operation.encode("ascii")


class _ProgressRelay:
    """sync's progress callback as C sees it. C calls ``c_function``; it
    calls the host's ``progress`` and keeps what that raised, because an
    exception must not unwind through the plugin (ctypes would only print
    it and return to C). ``sync`` raises it once the plugin has returned.
    After a first exception the host's callback is not called again: the
    sync cannot be stopped from outside, so it runs to its end without it.

    ``c_function`` is the ctypes trampoline: it lives as long as this
    object, which ``sync`` holds until the plugin has returned."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self.raised: Optional[BaseException] = None
        self.c_function = _abi.ProgressFn(self._on_progress)

    def _on_progress(self, user_data: Any, stage: Optional[bytes], done: int, total: int) -> None:
        if self.raised is not None:
            return
        try:
            self._progress((stage or b"").decode("ascii", "replace"), int(done), int(total))
        except BaseException as e:  # noqa: BLE001 - KeyboardInterrupt too: raised after C returns
            self.raised = e


class Plugin:
    """A loaded librefpos.so and its function table.

    ``path``: the library to load; if None, ``$REFPOS_PLUGIN``; if that is
    unset or empty, ``librefpos.so`` through the dynamic linker's search
    path. Raises ``LoadError`` if the library cannot be loaded, does not
    export ``refpos_get_api`` or hands out an unusable table, and
    ``VersionError`` if it provides no ABI 1.x. Slots newer than the
    plugin's ABI (``has_render``, ``has_call``, ``has_sync``) raise
    ``VersionError`` when called, before the plugin is.

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
        # Ask for the newest ABI this package knows; an older plugin answers
        # VERSION to that, so ask again for the one before, down to 1.0,
        # which every plugin of major 1 provides.
        table = c_void_p()
        status = _E_VERSION
        for wanted, _, _ in _abi.LAYOUTS:
            status = get_api(wanted, byref(table))
            if status != _E_VERSION:
                break
        if status == _E_VERSION:
            raise VersionError(
                status, "%s provides no ABI from 1.0 to %s (another major)"
                % (self.path, _abi.abi_text(_abi.LAYOUTS[0][0]))
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
        # Read a newer slot only if the table reaches past it (refpos.h).
        layout = _abi.layout_for(version, size)
        api = layout.from_address(table.value)
        empty = [name for name in _abi.slot_names(layout) if not getattr(api, name)]
        if empty:
            raise LoadError("%s: empty slots in the function table: %s" % (self.path, ", ".join(empty)))
        return api, version

    @property
    def abi_version(self) -> Tuple[int, int]:
        """The ABI the plugin provides, as (major, minor)."""
        return (self._abi_version >> 16, self._abi_version & 0xFFFF)

    def _has(self, slot: str) -> bool:
        return any(name == slot for name, _ in self._api._fields_)

    @property
    def has_render(self) -> bool:
        """True if the plugin's table has render (ABI 1.1 and later)."""
        return self._has("render")

    @property
    def has_call(self) -> bool:
        """True if the plugin's table has call (ABI 1.2 and later)."""
        return self._has("call")

    @property
    def has_sync(self) -> bool:
        """True if the plugin's table has sync (ABI 1.3 and later)."""
        return self._has("sync")

    def _require(self, slot: str, minor: int) -> None:
        """VersionError, before anything is called, if the table lacks ``slot``."""
        if not self._has(slot):
            raise VersionError(
                7, "%s needs ABI 1.%d; the plugin %s provides %d.%d"
                % ((slot, minor, self.path) + self.abi_version)
            )

    def version(self) -> Dict[str, Any]:
        """The plugin's version document, e.g. {"plugin": "0.1.0", "abi": "1.3",
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
        # .syncing is True on the thread inside sync(): its progress callback
        # must not call the plugin with this handle (refpos.h).
        self._sync_thread = threading.local()

    # ---- lifetime ----

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        """Closes the store. Idempotent; waits for calls in flight."""
        self._refuse_inside_progress("close")
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

    def _refuse_inside_progress(self, what: str) -> None:
        # Without this, close() would wait for the sync that runs its caller.
        if getattr(self._sync_thread, "syncing", False):
            raise RuntimeError(
                "%s on the store whose sync is reporting progress: the progress "
                "callback must not use its own store (refpos.h)" % what
            )

    @contextmanager
    def _use(self) -> Iterator[int]:
        self._refuse_inside_progress("a call")
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

    def _call(self, function: Any, request: Request, *leading: Any) -> Dict[str, Any]:
        """``function(handle, *leading, request, len, &answer)``."""
        data = _encode(request)
        answer = _abi.Buffer()
        with self._use() as handle:
            status = function(handle, *leading, data, len(data), byref(answer))
            text = self._plugin._take(answer)
            # Valid only until this thread's next call on the handle.
            message = self._api.last_error(handle) if status != _OK else b""
        return _answer_of(status, text, message)

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
        self._plugin._require("render", 1)
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

    def call(self, operation: str, request: Request) -> Dict[str, Any]:
        """Runs a named operation of the referral loop (ABI 1.2; docs/api.md,
        "call"): "ask_outcome", "lead", "contact", "forget" or
        "install_rules". Raises VersionError if the plugin is older than
        ABI 1.2, BadRequest for an unknown operation or a bad request
        (nothing changes), NotFound and Conflict as each operation says."""
        self._plugin._require("call", 2)
        return self._call(self._api.call, request, _operation_name(operation))

    def sync(
        self, request: Optional[Request] = None, progress: Optional[Progress] = None
    ) -> Dict[str, Any]:
        """One sync with head office (ABI 1.3; docs/api.md, "sync"): events
        up, rule sets, keys, revocations and balances down. ``request`` is
        ``{}`` (the default) or ``{"clock_ms": ...}`` under a test clock.
        ``progress(stage, done, total)`` is called on this thread as the
        sync goes; it must not use this store (that raises RuntimeError).
        An exception it raises is raised here once the plugin has returned
        (the sync itself runs to its end: what it did stays done).

        Returns the answer ({"pushed", "batches", "acked_seq", ...}). Raises
        VersionError if the plugin is older than ABI 1.3, ConfigError
        without a "sync" section, StorageError if head office cannot be
        reached or refuses the store, Conflict if it refuses the log or
        another sync on this store is running, BadRequest for a bad request
        or a rule set not signed by the chain's key (nothing is applied).
        Other calls on the store (from other threads) go on while it runs."""
        self._plugin._require("sync", 3)
        if progress is not None and not callable(progress):
            raise TypeError("progress must be callable(stage, done, total), got %r" % (progress,))
        data = _encode({} if request is None else request)
        relay = _ProgressRelay(progress) if progress is not None else None
        c_progress = relay.c_function if relay is not None else _abi.ProgressFn()  # NULL
        answer = _abi.Buffer()
        with self._use() as handle:
            self._sync_thread.syncing = True
            try:
                status = self._api.sync(handle, data, len(data), c_progress, None, byref(answer))
            finally:
                self._sync_thread.syncing = False
            text = self._plugin._take(answer)
            message = self._api.last_error(handle) if status != _OK else b""
        if relay is None or relay.raised is None:
            return _answer_of(status, text, message)
        try:
            _answer_of(status, text, message)
        except RefposError:
            raise relay.raised  # the sync's own failure is its __context__
        raise relay.raised

    def __repr__(self) -> str:
        return "<refpos.Store %s>" % ("closed" if self.closed else "open")
