"""nginx in front of a local lab's fronts: the project's own site, pointed at them.

The site is ``deploy/nginx/remotelab.conf`` itself (the websocket upgrade on ``/v1/stream``,
``X-Forwarded-For`` overwritten, the 1 MiB body limit), with its listen lines moved to a
loopback port and its upstream given the fronts' addresses; :func:`site` does only that and
refuses a site whose lines it does not find. :func:`main_conf` wraps it in a configuration of
its own (``nginx -p PREFIX -c CONF``): no file of ``/etc/nginx`` is read, the pid file, logs
and temporary files live under the prefix, and nginx stays in the foreground.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from remotelab.cluster.local.nats import PROJECT

SITE = PROJECT / "deploy" / "nginx" / "remotelab.conf"
INSTALL_HINT = "run `bash scripts/ensure-system-packages.sh nginx` (Debian's nginx package)"

# What the deployment site says, and what a local lab says instead.
_LISTEN = "    listen 80;\n"
_LISTEN_V6 = "    listen [::]:80;\n"
_UPSTREAM = "    server 127.0.0.1:8000;\n"


class NginxUnavailable(RuntimeError):
    """nginx is missing, or the site no longer has the lines a local lab replaces."""


def nginx_binary() -> Path:
    """The nginx program: on ``PATH``, else in ``/usr/sbin``."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise NginxUnavailable(f"nginx is not installed: {INSTALL_HINT}")
    return Path(found)


def site(text: str, port: int, fronts: Sequence[int]) -> str:
    """The deployment site ``text`` listening on 127.0.0.1:``port`` only, its upstream the
    fronts on 127.0.0.1 at ``fronts``. Raises :class:`NginxUnavailable` when a line to
    replace is missing."""
    for needle in (_LISTEN, _LISTEN_V6, _UPSTREAM):
        if text.count(needle) != 1:
            raise NginxUnavailable(
                f"{SITE.name} no longer has exactly one line {needle.strip()!r}, which a local "
                "lab replaces: update remotelab/cluster/local/nginx.py with the site"
            )
    servers = "".join(f"    server 127.0.0.1:{front};\n" for front in fronts)
    return (
        text.replace(_LISTEN, f"    listen 127.0.0.1:{port};\n")
        .replace(_LISTEN_V6, "")
        .replace(_UPSTREAM, servers)
    )


def main_conf(prefix: Path, site_path: Path) -> str:
    """A whole nginx.conf for ``nginx -p prefix``: foreground, everything under ``prefix``,
    errors to standard error, ``site_path`` included inside ``http {}``."""
    return f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site_path};
}}
"""


def write_conf(prefix: Path, port: int, fronts: Sequence[int]) -> Path:
    """Write the site and the nginx.conf into ``prefix``; the nginx.conf's path."""
    site_path = prefix / "remotelab.conf"
    site_path.write_text(site(SITE.read_text(), port, fronts))
    conf = prefix / "nginx.conf"
    conf.write_text(main_conf(prefix, site_path))
    return conf
