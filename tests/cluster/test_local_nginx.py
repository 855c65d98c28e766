"""remotelab/cluster/local/nginx.py: the deployment site, pointed at a local lab's fronts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from remotelab.cluster.local.nginx import (
    SITE,
    NginxUnavailable,
    nginx_binary,
    site,
    write_conf,
)


def test_the_site_listens_on_loopback_and_balances_over_the_fronts() -> None:
    text = site(SITE.read_text(), 8080, [41001, 41002])
    assert "    listen 127.0.0.1:8080;\n" in text
    assert "    listen 80;" not in text and "listen [::]:80" not in text
    assert "    server 127.0.0.1:41001;\n    server 127.0.0.1:41002;\n" in text
    assert "server 127.0.0.1:8000;" not in text
    # Everything else is the deployment's: the websocket upgrade, the overwritten header.
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert text.count("proxy_set_header X-Forwarded-For $remote_addr;") == 2
    assert "client_max_body_size 1m;" in text


def test_a_site_without_the_lines_to_replace_is_refused() -> None:
    changed = SITE.read_text().replace("    server 127.0.0.1:8000;\n", "")
    with pytest.raises(NginxUnavailable, match=r"exactly one line 'server 127\.0\.0\.1:8000;'"):
        site(changed, 8080, [41001])


def test_nginx_accepts_the_whole_configuration(tmp_path: Path) -> None:
    try:
        binary = nginx_binary()
    except NginxUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    conf = write_conf(tmp_path, 8080, [41001, 41002])
    assert "daemon off;" in conf.read_text()
    assert "/etc/nginx" not in conf.read_text()
    done = subprocess.run(
        [str(binary), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
