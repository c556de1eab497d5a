"""The C ABI of sdk/include/refpos/refpos.h, mirrored in ctypes. Private.

The function table is declared twice: ``ApiV10`` (every ABI 1.0 slot) and
``ApiV11`` (adds ``render``). A slot is read only when its offset plus its
size lies within the plugin's ``struct_size``, as the header requires: a
plugin built for ABI 1.0 has a shorter table, and the bytes after it are
not ours to read.

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
    c_size_t,
    c_uint32,
    c_void_p,
)

ENTRY_SYMBOL = "refpos_get_api"
ABI_MAJOR = 1


def abi_version(major: int, minor: int) -> int:
    """REFPOS_ABI_VERSION's encoding: major in the high 16 bits."""
    return (major << 16) | minor


def abi_text(version: int) -> str:
    return "%d.%d" % (version >> 16, version & 0xFFFF)


ABI_1_0 = abi_version(1, 0)
ABI_1_1 = abi_version(1, 1)

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


class ApiV11(Structure):
    _fields_ = _FIELDS_1_0 + [("render", RenderFn)]


class TableHeader(Structure):
    """The two members every version of the table starts with."""

    _fields_ = [("struct_size", c_uint32), ("abi_version", c_uint32)]


def slot_end(table: type, name: str) -> int:
    """Offset one past the slot ``name`` of ``table``."""
    member = getattr(table, name)
    return int(member.offset + member.size)


SLOTS_END_1_0 = slot_end(ApiV10, "free_buffer")
SLOTS_END_1_1 = slot_end(ApiV11, "render")

GetApiFn = CFUNCTYPE(Status, c_uint32, POINTER(c_void_p))


def bind_get_api(library: ctypes.CDLL) -> "ctypes._CFuncPtr":
    """The entry point of ``library``, typed; AttributeError if absent."""
    entry = getattr(library, ENTRY_SYMBOL)
    entry.argtypes = [c_uint32, POINTER(c_void_p)]
    entry.restype = Status
    return entry
