"""Is the address free to serve on? Checked before anything slow, so a taken port is
reported at once, not after seconds of loading models (no heavy imports here)."""

from __future__ import annotations

import socket


def port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be served on, or None when it can.

    Binds a socket the way the server will (with SO_REUSEADDR, so a port in TIME_WAIT
    counts as free) and closes it again; the server's own bind still has the last word.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"Cannot serve on {host}:{port}: the address does not resolve ({exc.strerror})."
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return (
                f"Cannot serve on {host}:{port}: the port is in use (another qa-bot?) or the "
                f"address is not this machine's. Stop the other server, or choose another "
                f"port: python app.py --port {port + 1} (or set QA_BOT_PORT)."
            )
    return None
