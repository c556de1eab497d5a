"""A real head office for the sync tests, as tests/hq_server/harness.cpp
makes one: a chain made by ``refposctl chain init``, stores provisioned by
``refposctl store provision``, and the refpos-hq process on 127.0.0.1 with
port 0.

Synchronisation is by events, never by sleeping: refpos-hq writes
"listening on 127.0.0.1:PORT" on stdout once it accepts connections, and
its exit is waited for. Every wait has a generous bound that only guards
against a hang.

The programs are $REFPOS_TEST_HQ and $REFPOS_TEST_CTL (ctest sets them),
else the release build's; ``tools()`` is None when neither is there.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

HQ_ENV = "REFPOS_TEST_HQ"
CTL_ENV = "REFPOS_TEST_CTL"
GUARD_S = 20.0  # a hang, not a slow machine
_LISTENING = b"listening on 127.0.0.1:"
_LINE_MAX = 4096  # the one line is ~30 bytes

_REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Tools:
    hq: str
    ctl: str


def tools() -> Optional[Tools]:
    """The programs; None if they were not named and the release build has
    none. Named ones that cannot be run are an error, not a reason to skip."""
    release = _REPO / "build" / "release" / "tools"
    named = {HQ_ENV: os.environ.get(HQ_ENV), CTL_ENV: os.environ.get(CTL_ENV)}
    hq = named[HQ_ENV] or str(release / "hq" / "refpos-hq")
    ctl = named[CTL_ENV] or str(release / "ctl" / "refposctl")
    for variable, path in ((HQ_ENV, hq), (CTL_ENV, ctl)):
        if not os.access(path, os.X_OK):
            if named[variable]:
                raise FileNotFoundError("%s=%s: not an executable file" % (variable, path))
            return None
    return Tools(hq, ctl)


def _environment() -> Dict[str, str]:
    # refpos-hq reads REFPOS_HQ_* over its flags' defaults, and refposctl
    # takes its clock from REFPOS_CTL_NOW: none of the caller's may leak in.
    # LD_PRELOAD is python3's sanitizer runtime (python_tests.cmake): the
    # programs carry their own, and a second one refuses to start.
    return {
        k: v for k, v in os.environ.items()
        if not k.startswith(("REFPOS_HQ_", "REFPOS_CTL_")) and k != "LD_PRELOAD"
    }


def _run_ctl(ctl: str, *arguments: str) -> None:
    done = subprocess.run(
        [ctl, *arguments], env=_environment(), capture_output=True, timeout=GUARD_S, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            "refposctl %s exited %d: %s"
            % (" ".join(arguments), done.returncode, done.stderr.decode("utf-8", "replace"))
        )


class Chain:
    """A chain's CA and head-office credentials in ``folder``."""

    def __init__(self, ctl: str, folder: Path) -> None:
        self.ctl = ctl
        self.folder = folder
        _run_ctl(ctl, "chain", "init", "--dir", str(folder), "--name", "pytest")
        self.signing_public_key_hex = (folder / "hq" / "signing.pub").read_text().strip()

    def provision(self, store_id: str, store_folder: Path) -> Dict[str, str]:
        """A certificate for ``store_id`` with its key in ``store_folder``;
        the TLS members of the store configuration's "sync" section."""
        _run_ctl(self.ctl, "store", "provision", "--chain", str(self.folder),
                 "--store-dir", str(store_folder), "--store-id", store_id)
        tls = store_folder / "tls"
        return {
            "ca_file": str(tls / "ca.pem"),
            "cert_file": str(tls / "store.pem"),
            "key_file": str(tls / "store.key"),
        }


def _first_line(process: subprocess.Popen, timeout_s: float) -> bytes:
    """What the process wrote on stdout up to its first newline, EOF or the
    deadline, whichever comes first."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    line = b""
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(descriptor, selectors.EVENT_READ)
        while b"\n" not in line and len(line) < _LINE_MAX:
            if not selector.select(max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(descriptor, 256)
            if not chunk:
                break
            line += chunk
    return line


class HeadOffice:
    """refpos-hq on 127.0.0.1, with its database and log in ``folder``.
    ``stop()`` sends SIGTERM and requires a clean exit (0)."""

    def __init__(self, hq: str, chain: Chain, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "hq.log"
        credentials = chain.folder
        arguments: List[str] = [
            hq, "--listen", "127.0.0.1", "--port", "0", "--data-dir", str(folder / "data"),
            "--ca-file", str(credentials / "ca" / "ca.pem"),
            "--crl-file", str(credentials / "ca" / "crl.pem"),
            "--cert-file", str(credentials / "hq" / "server.pem"),
            "--key-file", str(credentials / "hq" / "server.key"),
            "--signing-key-file", str(credentials / "hq" / "signing.key"),
        ]
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                arguments, stdout=subprocess.PIPE, stderr=log, env=_environment()
            )
        line = _first_line(self._process, GUARD_S)
        assert self._process.stdout is not None
        self._process.stdout.close()  # nothing more is written there
        port = line[len(_LISTENING):].strip() if line.startswith(_LISTENING) else b""
        if not port.isdigit():
            self._process.kill()
            self._process.wait()
            raise RuntimeError("refpos-hq did not start; stdout %r, log:\n%s" % (line, self.log()))
        self.url = "https://127.0.0.1:%d" % int(port)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            code = self._process.wait(timeout=GUARD_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            raise AssertionError("refpos-hq hung after SIGTERM; its log:\n" + self.log()) from None
        assert code == 0, "refpos-hq exited %d after SIGTERM; its log:\n%s" % (code, self.log())


def sync_section(chain: Chain, head_office: HeadOffice, tls: Dict[str, str],
                 batch_events: int) -> Dict[str, Any]:
    """A store configuration's "sync" section for ``head_office``."""
    return dict(
        tls,
        url=head_office.url,
        signing_public_key_hex=chain.signing_public_key_hex,
        batch_events=batch_events,
        timeout_ms=int(GUARD_S * 1000),
    )
