"""Loaded by every Python process of a test run (PYTHONPATH): records any network attempt.

Local IPC (AF_UNIX socket pairs, which multiprocessing uses) is allowed; any internet socket,
name lookup or connection is written to $MIXBOOK_NETWORK_LOG and refused.
"""

import os
import socket
import sys

_LOG = os.environ["MIXBOOK_NETWORK_LOG"]
_NET_FAMILIES = {socket.AF_INET, socket.AF_INET6}


def _refuse(event: str, detail: object) -> None:
    with open(_LOG, "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} {event} {detail!r}\n")
    raise OSError(f"network use forbidden in this test: {event}")


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event == "socket.__new__" and len(args) > 1 and args[1] in _NET_FAMILIES:
        _refuse(event, args[1:])
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
        _refuse(event, args)
    elif event in ("socket.connect", "socket.sendto", "socket.bind"):
        sock = args[0]
        if getattr(sock, "family", None) in _NET_FAMILIES:
            _refuse(event, args[1:])


sys.addaudithook(_hook)
