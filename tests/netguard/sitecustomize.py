"""Loaded via PYTHONPATH in a child process: every attempt to create or resolve a socket is logged and refused.

Catches library code too (not just our own imports). The log path comes from LOCALLENS_NETGUARD_LOG.
"""

import os
import socket
import traceback

_LOG = os.environ.get("LOCALLENS_NETGUARD_LOG", "")


def _refuse(what: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(f"{what}\n{''.join(traceback.format_stack(limit=12))}\n")
    raise OSError(101, f"network blocked by the LocalLens test guard ({what})")


class _GuardedSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        _refuse(f"socket.socket{args}")


def _guarded(name: str):
    def refuse(*args, **kwargs):
        _refuse(f"socket.{name}{args[:2]}")

    return refuse


socket.socket = _GuardedSocket  # type: ignore[misc]
for _name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "socketpair",
              "create_server", "fromfd"):
    setattr(socket, _name, _guarded(_name))
