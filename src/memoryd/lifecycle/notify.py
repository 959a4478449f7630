"""``sd_notify``: tell systemd (``Type=notify`` units) that the daemon is ready or stopping.

The protocol (``man 3 sd_notify``): send a datagram such as ``READY=1`` to the
``AF_UNIX`` socket named by ``$NOTIFY_SOCKET``; a leading ``@`` names an
abstract-namespace socket. Without ``NOTIFY_SOCKET`` nothing is sent.
"""

from __future__ import annotations

import logging
import os
import socket

__all__ = ["sd_notify"]

log = logging.getLogger("memoryd.server")


def sd_notify(state: str) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``, ``"STOPPING=1"``) to systemd.

    Returns True if a datagram was sent, False if not running under a notify
    socket or the socket refused it (logged as a warning; the daemon goes on).
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError as exc:
        log.warning("sd_notify failed", extra={"state": state, "reason": str(exc)})
        return False
    return True
