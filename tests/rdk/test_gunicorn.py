"""RDK under a real gunicorn with rdk/gunicorn_conf.py, the configuration every
launcher uses: a misconfigured process exits at once with `manage.py check`'s
problem list; a good one serves, logging RDK's access lines, not gunicorn's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rdk import prodlike
from tests.conftest import BASE_DIR
from tests.rdk import servers

PORT = 9821
BIND = f"127.0.0.1:{PORT}"

BROKEN = {"RDK_ENV": "production", "DEBUG": "true", "SECRET_KEY": "short"}


def test_a_misconfigured_process_exits_at_once_with_the_check_list(manage):
    env = servers.rdk_environment(database_url="postgres://rdk@127.0.0.1:1/nowhere", **BROKEN)
    started = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "python:rdk.gunicorn_conf", "-b", BIND],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # a guard against the old endless restart loop, not a measurement
        check=False,
    )
    check = manage("check", env=env, clean=True)
    assert check.returncode != 0
    assert started.returncode == check.returncode
    assert check.stderr.strip() in started.stderr
    assert "SECRET_KEY" in started.stderr
    assert "not starting" in started.stderr
    assert "Booting worker" not in started.stderr
    assert "Traceback" not in started.stderr


@pytest.mark.django_db(transaction=True)
def test_a_good_configuration_serves_with_rdk_access_lines_only(tmp_path):
    log = tmp_path / "gunicorn.log"
    env = servers.rdk_environment(database_url=servers.run_database_url())
    process = servers.gunicorn(port=PORT, env=env, log=log)
    try:
        status, headers, _body = servers.get(f"http://127.0.0.1:{PORT}/healthz")
        request_id = headers["X-Request-ID"]
    finally:
        assert process.stop() == 0
    assert status == 200
    output = log.read_text()
    assert f'"request_id": "{request_id}"' in output  # RDK's own access line
    assert '"GET /healthz HTTP/1.1" 200' not in output  # gunicorn's access log is off


def test_another_project_under_the_same_configuration_starts(tmp_path):
    """make bench serves its bare-Django floor with RDK's gunicorn settings; RDK's
    start-up check is not that project's to run (it would refuse to start)."""
    env = {
        **servers.rdk_environment(database_url=servers.run_database_url()),
        "DJANGO_SETTINGS_MODULE": "floorsite.settings",
    }
    floor = prodlike.gunicorn(
        port=PORT,
        env=env,
        log=tmp_path / "floor.log",
        workers=1,
        threads=1,
        app="floorsite.wsgi:application",
        chdir=BASE_DIR / "bench" / "floor",
    ).start()
    try:
        prodlike.wait_until_ready(f"http://127.0.0.1:{PORT}/")
        status, _headers, body = servers.get(f"http://127.0.0.1:{PORT}/")
    finally:
        floor.stop()
    assert (status, body) == (200, "ok"), (tmp_path / "floor.log").read_text()[-2000:]
