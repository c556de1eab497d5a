"""The C ABI of sdk/include/refpos/refpos.h, mirrored in ctypes. Private.

The function table is declared once per ABI minor that added a slot:
``ApiV10`` (every ABI 1.0 slot), ``ApiV11`` (adds ``render``), ``ApiV12``
(adds ``call``) and ``ApiV13`` (adds ``sync``). A slot is read only when the
plugin's ``abi_version`` has it and its offset plus its size lies within the
plugin's ``struct_size``, as the header requires: an older plugin has a
shorter table, and the bytes after it are not ours to read. ``LAYOUTS``
lists them newest first; ``layout_for`` picks the one a table can hold.

``sync``'s progress callback is a ``ProgressFn`` made from a Python
function: the caller keeps it referenced until ``sync`` returns (ctypes
frees the trampoline with the object), and the function must not raise
(ctypes would print the exception and carry on in C).

Out-parameters are ``POINTER(c_char)``, never ``c_char_p``: ctypes would
turn a ``c_char_p`` into a Python bytes copy and lose the pointer that
``free_buffer`` needs (and it would stop at the first NUL of a PNG).
"""

from __future__ import annotations

import ctypes
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint32,
    c_void_p,
)
from typing import List

ENTRY_SYMBOL = "refpos_get_api"
ABI_MAJOR = 1


def abi_version(major: int, minor: int) -> int:
    """REFPOS_ABI_VERSION's encoding: major in the high 16 bits."""
    return (major << 16) | minor


def abi_text(version: int) -> str:
    return "%d.%d" % (version >> 16, version & 0xFFFF)


ABI_1_0 = abi_version(1, 0)
ABI_1_1 = abi_version(1, 1)
ABI_1_2 = abi_version(1, 2)
ABI_1_3 = abi_version(1, 3)

# refpos_status is a C enum: an int.
Status = c_int
Buffer = POINTER(c_char)  # a char* the plugin allocated; free with free_buffer
StoreHandle = c_void_p  # refpos_store*, opaque

VersionFn = CFUNCTYPE(c_char_p)
OpenFn = CFUNCTYPE(Status, c_char_p, c_size_t, POINTER(StoreHandle), POINTER(Buffer))
CloseFn = CFUNCTYPE(Status, StoreHandle)
LastErrorFn = CFUNCTYPE(c_char_p, StoreHandle)
CallFn = CFUNCTYPE(Status, StoreHandle, c_char_p, c_size_t, POINTER(Buffer))
FreeBufferFn = CFUNCTYPE(None, Buffer)
RenderFn = CFUNCTYPE(
    Status, StoreHandle, c_char_p, c_size_t, POINTER(Buffer), POINTER(c_size_t)
)
# call: (store, operation, request, request_len, answer); operation is a
# NUL-terminated ASCII name.
OperationFn = CFUNCTYPE(Status, StoreHandle, c_char_p, c_char_p, c_size_t, POINTER(Buffer))
# refpos_progress_fn: (user_data, stage, done, total).
ProgressFn = CFUNCTYPE(None, c_void_p, c_char_p, c_int64, c_int64)
SyncFn = CFUNCTYPE(
    Status, StoreHandle, c_char_p, c_size_t, ProgressFn, c_void_p, POINTER(Buffer)
)

_FIELDS_1_0 = [
    ("struct_size", c_uint32),
    ("abi_version", c_uint32),
    ("version", VersionFn),
    ("open", OpenFn),
    ("close", CloseFn),
    ("last_error", LastErrorFn),
    ("preview", CallFn),
    ("commit", CallFn),
    ("reverse", CallFn),
    ("issue_code", CallFn),
    ("customer", CallFn),
    ("free_buffer", FreeBufferFn),
]


class ApiV10(Structure):
    _fields_ = _FIELDS_1_0


_FIELDS_1_1 = _FIELDS_1_0 + [("render", RenderFn)]
_FIELDS_1_2 = _FIELDS_1_1 + [("call", OperationFn)]
_FIELDS_1_3 = _FIELDS_1_2 + [("sync", SyncFn)]


class ApiV11(Structure):
    _fields_ = _FIELDS_1_1


class ApiV12(Structure):
    _fields_ = _FIELDS_1_2


class ApiV13(Structure):
    _fields_ = _FIELDS_1_3


class TableHeader(Structure):
    """The two members every version of the table starts with."""

    _fields_ = [("struct_size", c_uint32), ("abi_version", c_uint32)]


def slot_end(table: type, name: str) -> int:
    """Offset one past the slot ``name`` of ``table``."""
    member = getattr(table, name)
    return int(member.offset + member.size)


SLOTS_END_1_0 = slot_end(ApiV10, "free_buffer")
SLOTS_END_1_1 = slot_end(ApiV11, "render")
SLOTS_END_1_2 = slot_end(ApiV12, "call")
SLOTS_END_1_3 = slot_end(ApiV13, "sync")

# (ABI version, layout, end of its last slot), newest first.
LAYOUTS = (
    (ABI_1_3, ApiV13, SLOTS_END_1_3),
    (ABI_1_2, ApiV12, SLOTS_END_1_2),
    (ABI_1_1, ApiV11, SLOTS_END_1_1),
    (ABI_1_0, ApiV10, SLOTS_END_1_0),
)


def layout_for(version: int, struct_size: int) -> type:
    """The newest layout whose slots a table of ``version`` and
    ``struct_size`` holds (ApiV10 for anything of major 1)."""
    for layout_version, layout, end in LAYOUTS:
        if version >= layout_version and struct_size >= end:
            return layout
    return ApiV10


def slot_names(layout: type) -> List[str]:
    """The function slots of ``layout``: every member after the header."""
    return [name for name, _ in layout._fields_[2:]]


GetApiFn = CFUNCTYPE(Status, c_uint32, POINTER(c_void_p))


def bind_get_api(library: ctypes.CDLL) -> "ctypes._CFuncPtr":
    """The entry point of ``library``, typed; AttributeError if absent."""
    entry = getattr(library, ENTRY_SYMBOL)
    entry.argtypes = [c_uint32, POINTER(c_void_p)]
    entry.restype = Status
    return entry
