"""Redis with a password, an ACL user and TLS: the CLI and a real worker use the same URL.

One redis-server of this module's own, on 127.0.0.1: a plain port where the default user
has a password and an ACL user may touch only this test's keys, and a TLS port whose
certificate a throwaway CA signed (``openssl``, in the module's tmp dir). A workflow
submitted by the real ``cephflow`` over each URL runs to its end on a real worker given that
URL; a wrong password and an untrusted certificate are refused at once, by name, with the
password shown nowhere, and nothing is submitted. The embedded default lets only its owner in.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from cephflow.engine import embedded
from cephflow.engine.app import make_app
from cephflow.engine.state import WorkflowState
from cephflow.errors import ExitStatus
from cephflow.settings import Settings
from tests.faults.support import cephflow, one_error
from tests.fixtures.celery_worker import CeleryWorker, worker_with_client
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.services import free_port, require_binary, stop_process, wait_until
from tests.paths import CEPHFLOW

pytestmark = [pytest.mark.services, pytest.mark.slow]

NS = "access"
PASSWORD = "pa ss@w/rd:%1"  # every character a URL must escape
ACL_USER, ACL_PASSWORD = "cephflow-worker", "acl-secret-7"
ACL = [ACL_USER, "on", f">{ACL_PASSWORD}", f"~{NS}*", "~unacked*", "~_kombu.*",
       "~*.celery.pidbox*", "&*", "+@all", "-@dangerous"]
"""An ACL user limited to the namespace's keys, kombu's queue bookkeeping, the workers'
remote-control queues and the channels: what docs/reliability.md says a worker needs."""

RUNBOOK = """name: access
steps:
  - id: say
    task: core.log
    with: {message: through the secured Redis}
  - id: wait
    task: core.sleep
    after: say
    with: {seconds: 0.3}
"""
"""``say`` is sent by the CLI (the engine's own client); ``wait`` asks again later, a message
with a countdown that the worker publishes through the broker (kombu)."""


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
             "-days", "1")
    return cert, key


class SecuredRedis:
    """The module's redis-server: a password, an ACL user, a plain and a TLS port."""

    def __init__(self, directory: Path):
        self.binary = require_binary("redis-server")
        require_binary("openssl")
        self.dir = directory
        self.ca, ca_key = _ca(directory, "test-ca")
        self.other_ca, _ = _ca(directory, "other-ca")
        self.cert, self.key = directory / "server.pem", directory / "server.key"
        csr = directory / "server.csr"
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", str(self.key), "-out", str(csr), "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.ca), "-CAkey", str(ca_key),
                 "-CAcreateserial", "-out", str(self.cert), "-days", "1",
                 "-copy_extensions", "copyall")
        self.port, self.tls_port = free_port(), free_port()
        argv = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port),
                "--tls-port", str(self.tls_port), "--tls-cert-file", str(self.cert),
                "--tls-key-file", str(self.key), "--tls-ca-cert-file", str(self.ca),
                "--tls-auth-clients", "no", "--requirepass", PASSWORD, "--user", *ACL,
                "--save", "", "--appendonly", "no", "--dir", str(directory),
                "--logfile", str(directory / "redis.log")]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        wait_until(self._up, timeout=10, what="the secured redis-server to answer")

    def _up(self) -> bool:
        assert self.proc.poll() is None, (self.dir / "redis.log").read_text()
        try:
            with self.admin() as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def admin(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD,
                           decode_responses=True)

    def url(self, scheme: str, *, password: str = PASSWORD, ca: str = "test") -> str:
        """The URL of ``scheme``; a TLS one trusts the test CA, the ``other`` one, or (``system``)
        the system's CAs."""
        secret = quote(password, safe="")
        if scheme == "password":
            return f"redis://:{secret}@127.0.0.1:{self.port}/0"
        if scheme == "acl-user":
            return f"redis://{ACL_USER}:{secret}@127.0.0.1:{self.port}/0"
        trusted = {"test": self.ca, "other": self.other_ca}.get(ca)
        query = f"?ssl_ca_certs={trusted}" if trusted else ""
        return f"rediss://:{secret}@127.0.0.1:{self.tls_port}/0{query}"

    def address(self, scheme: str) -> str:
        return f"127.0.0.1:{self.tls_port if scheme == 'tls' else self.port}"

    def namespace_keys(self) -> list[str]:
        with self.admin() as client:
            return list(client.scan_iter(match=f"{NS}*"))

    def stop(self) -> None:
        stop_process(self.proc)


class Endpoint(RedisServer):
    """The secured server as ``worker_with_client`` needs it: one URL, its keys flushed."""

    def __init__(self, url: str):  # no server of its own to start
        self._url = url

    @property
    def url(self) -> str:  # type: ignore[override]
        return self._url


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    server = SecuredRedis(tmp_path_factory.mktemp("secured"))
    yield server
    server.stop()


@pytest.mark.parametrize("scheme", ["password", "acl-user", "tls"])
def test_a_workflow_submitted_over_a_secured_url_runs_to_its_end_on_a_worker_given_it(
        scheme, secured, tmp_path):
    password = ACL_PASSWORD if scheme == "acl-user" else PASSWORD
    url = secured.url(scheme, password=password)
    book = tmp_path / "access.yaml"
    book.write_text(RUNBOOK)
    with worker_with_client(Endpoint(url), tmp_path, namespace=NS,
                            name=scheme) as (worker, client):
        done = cephflow(["run", str(book), "--quiet"], url, namespace=NS, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        [summary] = client.list_workflows(5)
        assert client.snapshot(summary.id).state is WorkflowState.SUCCEEDED
        said = done.stdout + done.stderr + worker.output()  # the banner names the broker
        assert "not sent" not in said  # ``wait``'s later message went by the broker, not the
        #                                reconciler's re-send (dispatch.send logs a failure)
        assert password not in said and quote(password, safe="") not in said


@pytest.mark.parametrize("scheme,password,ca,words", [
    ("password", "wrong-password", "test", "refused cephflow's credentials"),
    ("acl-user", "wrong-password", "test", "refused cephflow's credentials"),
    ("tls", PASSWORD, "other", "TLS certificate is not trusted"),
    ("tls", PASSWORD, "system", "TLS certificate is not trusted"),
], ids=["wrong-password", "wrong-acl-password", "tls-other-ca", "tls-system-cas"])
def test_a_refused_password_or_an_untrusted_certificate_is_said_at_once_and_submits_nothing(
        scheme, password, ca, words, secured, tmp_path):
    book = tmp_path / "access.yaml"
    book.write_text(RUNBOOK)
    url = secured.url(scheme, password=password, ca=ca)
    done = cephflow(["run", str(book), "--quiet"], url, namespace=NS, cwd=tmp_path,
                    env={"CEPHFLOW_REDIS_PATIENCE": "60"}, timeout=30)
    assert done.returncode == ExitStatus.BAD_INPUT, done.stdout + done.stderr
    error = one_error(done)
    assert words in error and secured.address(scheme) in error, error
    assert password not in done.stdout + done.stderr
    assert quote(password, safe="") not in done.stdout + done.stderr
    assert "trying again" not in done.stderr  # not waited out as an outage
    assert secured.namespace_keys() == []


def test_an_acl_user_kept_out_of_the_namespace_is_told_which_command_was_forbidden(
        secured, tmp_path):
    book = tmp_path / "access.yaml"
    book.write_text(RUNBOOK)
    url = secured.url("acl-user", password=ACL_PASSWORD)
    done = cephflow(["run", str(book), "--quiet"], url, namespace="elsewhere", cwd=tmp_path)
    assert done.returncode == ExitStatus.BAD_INPUT, done.stdout + done.stderr
    error = one_error(done)
    assert "Redis's ACL forbids what cephflow needs (HSET: this user has no permissions" in error
    assert ACL_PASSWORD not in done.stdout + done.stderr
    assert "access.yaml" not in error  # Redis's text quotes the command's values: not shown
    with secured.admin() as admin:
        assert list(admin.scan_iter(match="elsewhere*")) == []


def test_the_broker_checks_the_certificate_against_the_urls_ca(secured):
    """kombu alone takes ``rediss://`` as TLS with the certificate unchecked: cephflow's app
    hands it the URL's CA and requires the check."""
    trusted = make_app(secured.url("tls"), NS)
    with trusted.connection_for_write() as connection:
        connection.ensure_connection(max_retries=0)
    untrusted = make_app(secured.url("tls", ca="other"), NS)
    with untrusted.connection_for_write() as connection:
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
            connection.ensure_connection(max_retries=0)


def test_a_worker_redis_refuses_stops_at_once_saying_why(secured, tmp_path):
    url = secured.url("tls", ca="other")
    worker = CeleryWorker(url, tmp_path, namespace=NS, name="refused")
    try:
        with pytest.raises(AssertionError, match="worker exited 2"):
            worker.start()
    finally:
        worker.stop()
    said = worker.output()
    assert "cephflow worker refuses to start: Redis's TLS certificate is not trusted" in said
    assert f"127.0.0.1:{secured.tls_port}" in said
    assert quote(PASSWORD, safe="") not in said and PASSWORD not in said


def test_the_embedded_redis_and_its_state_dir_let_only_their_owner_in(tmp_path):
    require_binary("redis-server")
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)  # as a shared parent or a loose umask would leave it
    settings = Settings(state_dir=state, redis_url=None)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEPHFLOW_")}
    env.update(CEPHFLOW_STATE_DIR=str(state), CEPHFLOW_CONFIG=os.devnull)
    try:
        started = subprocess.run([CEPHFLOW, "services", "start"], env=env, capture_output=True,
                                 text=True, timeout=60)
        assert started.returncode == 0, started.stderr
        paths = embedded.paths(settings)
        for directory in (paths.root, paths.redis_dir):
            assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
        assert stat.S_ISSOCK(paths.socket.stat().st_mode)
        assert stat.S_IMODE(paths.socket.stat().st_mode) & 0o077 == 0
        assert embedded.status(settings)[0].running
    finally:
        embedded.stop(settings)
