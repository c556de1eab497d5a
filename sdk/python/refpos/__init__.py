"""refpos for Python: the refpos point-of-sale referral plugin (librefpos.so)
through its C ABI (sdk/include/refpos/refpos.h), with ctypes and nothing else
from outside the standard library.

    import refpos
    plugin = refpos.Plugin()            # path, else $REFPOS_PLUGIN, else librefpos.so
    with plugin.open(config) as store:  # config: dict or JSON text (docs/api.md)
        answer = store.commit(request)  # dict in, dict out
        store.call("lead", request)     # ABI 1.2: the referral loop's operations
        store.sync(progress=callback)   # ABI 1.3: one sync with head office
    # a status other than OK raises a refpos.RefposError subclass; a slot newer
    # than the plugin (render 1.1, call 1.2, sync 1.3) raises VersionError

``python -m refpos.script --config FILE --script FILE`` runs a checkout
script of JSON lines, as ``refpos-terminal --script`` does.
"""

from .errors import (
    STATUS_NAMES,
    BadHandle,
    BadRequest,
    CodeRejected,
    ConfigError,
    Conflict,
    InternalError,
    InvalidArgument,
    LoadError,
    NotFound,
    RateLimited,
    RefposError,
    StorageError,
    VersionError,
    status_name,
)
from .plugin import DEFAULT_PLUGIN_NAME, PLUGIN_ENV, Plugin, Progress, Request, Store

__version__ = "0.1.0"

__all__ = [
    "Plugin",
    "Store",
    "Request",
    "Progress",
    "PLUGIN_ENV",
    "DEFAULT_PLUGIN_NAME",
    "STATUS_NAMES",
    "status_name",
    "RefposError",
    "InvalidArgument",
    "BadRequest",
    "CodeRejected",
    "NotFound",
    "Conflict",
    "StorageError",
    "VersionError",
    "ConfigError",
    "BadHandle",
    "RateLimited",
    "InternalError",
    "LoadError",
]
