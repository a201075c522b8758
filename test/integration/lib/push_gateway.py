"""A fake push gateway (APNs, FCM HTTP v1, a JSON webhook) for integration tests.

``PushGateway`` makes throwaway credentials with the ``openssl`` command line, runs
test/integration/push_gateway/gateway.mjs under node on ports picked at run time and
lets the test act as the phone: every push the gateway accepts shows up in
``pushes`` and through ``wait_push()``. Python 3.11 standard library only.

    with PushGateway() as gw:
        # point the switch at gw.tls_url (APNs and FCM base URL), gw.ca_file,
        # gw.apns_key_path / gw.apns_key_id / gw.team_id / gw.topic and
        # gw.service_account_path (its token_uri is gw.tls_url + "/token")
        gw.set_behaviour(token, "unavailable", count=1)   # first push 503, then ok
        push = gw.wait_push(token, timeout=5)              # {"provider","token","payload","seq"}
        log = gw.requests()                                # every request and its verdict

Files made in the temp dir: ca.pem (the CA to trust), server.pem/server.key (the
gateway's certificate for 127.0.0.1, signed by that CA), apns_key.p8 (EC P-256,
PKCS#8, as Apple hands it out) and apns_pub.pem, fcm_key.pem/fcm_pub.pem (RSA-2048),
service_account.json (Google's layout) and config.json (the gateway's).

Every wait is bounded; nothing sleeps to synchronise.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from centralita_test import HOST, SkipTest

GATEWAY_JS = Path(__file__).resolve().parent.parent / "push_gateway" / "gateway.mjs"
READY_TIMEOUT = 10.0      # node must print "ready" within this
STOP_TIMEOUT = 5.0        # SIGTERM -> exit within this, else SIGKILL
CONTROL_TIMEOUT = 5.0     # one control API call
OPENSSL_TIMEOUT = 30.0    # one openssl command (RSA key generation is the slow one)
MODES = ("ok", "bad_device", "unavailable", "timeout", "expired_token")

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = centralita push gateway
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


class PushGatewayError(RuntimeError):
    """The gateway did not start, died, or its control API failed."""


def node_binary() -> str | None:
    return shutil.which("node") or shutil.which("nodejs")


def _node_major(node: str) -> int:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0


class PushGateway:
    """gateway.mjs on 127.0.0.1 with fresh credentials; a context manager (start/stop)."""

    _running: list["PushGateway"] = []

    def __init__(self, *, team_id: str = "TEAM4PUSH1", apns_key_id: str = "KEY4APNS01",
                 topic: str = "org.centralita.phone.voip", project_id: str = "centralita-test",
                 keep_files: bool = False) -> None:
        self.team_id = team_id
        self.apns_key_id = apns_key_id
        self.topic = topic
        self.project_id = project_id
        self.client_email = f"centralita-push@{project_id}.iam.gserviceaccount.com"
        self.fcm_key_id = secrets.token_hex(20)
        self.keep_files = keep_files
        self.node = node_binary()
        self.tmp = Path(tempfile.mkdtemp(prefix="centralita-push-"))
        self.ca_file = str(self.tmp / "ca.pem")
        self.tls_cert_path = str(self.tmp / "server.pem")
        self.tls_key_path = str(self.tmp / "server.key")
        self.apns_key_path = str(self.tmp / "apns_key.p8")
        self.apns_public_key_path = str(self.tmp / "apns_pub.pem")
        self.fcm_key_path = str(self.tmp / "fcm_key.pem")
        self.fcm_public_key_path = str(self.tmp / "fcm_pub.pem")
        self.service_account_path = str(self.tmp / "service_account.json")
        self.config_path = str(self.tmp / "config.json")
        self.stderr_path = self.tmp / "gateway.stderr"
        self.tls_port = 0
        self.http_port = 0
        self.pushes: list[dict[str, Any]] = []
        self.other_output: list[str] = []      # stdout lines that are neither ready nor push
        self.exit_code: int | None = None
        self.proc: subprocess.Popen | None = None
        self._claimed: set[int] = set()        # indices into pushes already returned by wait_push
        self._cond = threading.Condition()
        self._ready: dict[str, int] | None = None
        self._reader: threading.Thread | None = None
        self._ssl = None

    # -- URLs
    @property
    def tls_url(self) -> str:
        """https://127.0.0.1:N: APNs (/3/device/...), FCM (/token, /v1/...), webhook (/push)."""
        return f"https://{HOST}:{self.tls_port}"

    @property
    def http_url(self) -> str:
        """http://127.0.0.1:M: the webhook (/push) without TLS."""
        return f"http://{HOST}:{self.http_port}"

    @property
    def token_url(self) -> str:
        return f"{self.tls_url}/token"

    # -- lifecycle
    def start(self, ready_timeout: float = READY_TIMEOUT) -> "PushGateway":
        if self.node is None:
            raise SkipTest("node is not installed (apt-get install nodejs)")
        if _node_major(self.node) < 18:
            raise SkipTest(f"{self.node} is older than Node.js 18")
        if shutil.which("openssl") is None:
            raise SkipTest("the openssl command is not installed")
        try:
            self._make_credentials()
            self._write_config()
        except BaseException:
            if not self.keep_files:
                shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([self.node, str(GATEWAY_JS), "--config", self.config_path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     cwd=self.tmp, start_new_session=True)
        PushGateway._running.append(self)
        self._reader = threading.Thread(target=self._read_stdout, name="push-gateway-stdout", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + ready_timeout
        with self._cond:
            while self._ready is None:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self._cond.wait(min(left, 0.2))   # wakes on the ready line; re-checks poll()
        if self._ready is None:
            rc = self.proc.poll()
            tail = self.stderr_tail()
            self.stop()
            state = f"exited with {rc}" if rc is not None else f"not ready within {ready_timeout:.0f} s"
            raise PushGatewayError(f"push gateway {state}\n--- stderr ---\n{tail}")
        self.tls_port = self._ready["tls_port"]
        self.http_port = self._ready["http_port"]
        self._write_service_account()
        self._ssl = ssl.create_default_context(cafile=self.ca_file)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM, up to 5 s for node to exit, then SIGKILL. Returns node's exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.exit_code is None:
            self.exit_code = self.proc.returncode
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self._reader is not None:
            self._reader.join(STOP_TIMEOUT)
        self._stderr.close()
        if self in PushGateway._running:
            PushGateway._running.remove(self)
        if not self.keep_files:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return self.exit_code

    def __enter__(self) -> "PushGateway":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @classmethod
    def stop_all(cls) -> None:
        for gw in list(cls._running):
            gw.stop()

    def stderr_tail(self, lines: int = 30) -> str:
        try:
            text = self.stderr_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- control API (HTTPS, HTTP/1.1)
    def _control(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if not self.alive():
            raise PushGatewayError(f"push gateway is not running (exit {self.proc and self.proc.poll()})\n"
                                   f"{self.stderr_tail()}")
        conn = http.client.HTTPSConnection(HOST, self.tls_port, context=self._ssl, timeout=CONTROL_TIMEOUT)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"content-type": "application/json"} if data is not None else {}
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
        finally:
            conn.close()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text

    def set_behaviour(self, token: str, mode: str, count: int | None = None) -> None:
        """How the gateway answers pushes to token ("*": every token without its own):
        ok, bad_device, unavailable, timeout, expired_token; with count, only for the
        next count pushes, after which the entry goes (back to "*" or ok). The key
        "/token" steers the FCM token endpoint."""
        body: dict[str, Any] = {"token": token, "mode": mode}
        if count is not None:
            body["count"] = count
        status, answer = self._control("POST", "/control/behaviour", body)
        if status != 200:
            raise PushGatewayError(f"set_behaviour({token!r}, {mode!r}, {count!r}): {status} {answer}")

    def behaviours(self) -> dict[str, dict[str, Any]]:
        status, answer = self._control("GET", "/control/behaviour")
        if status != 200:
            raise PushGatewayError(f"GET /control/behaviour: {status} {answer}")
        return answer

    def requests(self) -> list[dict[str, Any]]:
        """Every request since the last reset: provider, path, token, headers, body, jwt,
        valid, failed_check, behaviour, verdict, status, response, client_gave_up."""
        status, answer = self._control("GET", "/control/requests")
        if status != 200:
            raise PushGatewayError(f"GET /control/requests: {status} {answer}")
        return answer

    def reset(self) -> None:
        """Clears the gateway's request log and behaviours, and the pushes seen here.
        Issued FCM access tokens stay valid."""
        status, answer = self._control("POST", "/control/reset")
        if status != 200:
            raise PushGatewayError(f"POST /control/reset: {status} {answer}")
        with self._cond:
            self.pushes.clear()
            self._claimed.clear()

    # -- pushes (the phone's side)
    def wait_push(self, match: str | Callable[[dict[str, Any]], bool], timeout: float = 5.0
                  ) -> dict[str, Any]:
        """The first accepted push matching (a device token, or a predicate on the push
        dict) that no earlier wait_push returned; waits up to timeout, then raises
        TimeoutError naming what did arrive."""
        pred = match if callable(match) else (lambda p: p.get("token") == match)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, p in enumerate(self.pushes):
                    if i not in self._claimed and pred(p):
                        self._claimed.add(i)
                        return p
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive():
                    break
                self._cond.wait(left)
            seen = list(self.pushes)
        what = match if isinstance(match, str) else getattr(match, "__name__", "predicate")
        raise TimeoutError(f"no push for {what!r} within {timeout:.1f} s "
                           f"(gateway {'running' if self.alive() else 'not running'}); "
                           f"pushes seen: {json.dumps(seen)[:2000]}")

    # -- internals
    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                msg = None
            with self._cond:
                if isinstance(msg, dict) and isinstance(msg.get("push"), dict):
                    self.pushes.append(msg["push"])
                elif isinstance(msg, dict) and isinstance(msg.get("ready"), dict):
                    self._ready = msg["ready"]
                else:
                    self.other_output.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()   # EOF: wake waiters so they see the process is gone

    def _openssl(self, *args: str) -> None:
        try:
            r = subprocess.run(["openssl", *args], cwd=self.tmp, capture_output=True, text=True,
                               timeout=OPENSSL_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            raise PushGatewayError(f"openssl {' '.join(args)}: no result within {OPENSSL_TIMEOUT:.0f} s") from e
        if r.returncode != 0:
            raise PushGatewayError(f"openssl {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")

    def _make_credentials(self) -> None:
        cnf = self.tmp / "openssl.cnf"
        cnf.write_text(_OPENSSL_CNF)
        ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        # A small CA and a server certificate for 127.0.0.1 signed by it: clients trust ca.pem.
        self._openssl("genpkey", *ec, "-out", "ca.key")
        self._openssl("req", "-config", str(cnf), "-new", "-x509", "-key", "ca.key", "-out", "ca.pem",
                      "-days", "2", "-extensions", "v3_ca", "-subj", "/CN=centralita push test CA")
        self._openssl("genpkey", *ec, "-out", "server.key")
        self._openssl("req", "-config", str(cnf), "-new", "-key", "server.key", "-out", "server.csr",
                      "-subj", "/CN=127.0.0.1")
        self._openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                      "-set_serial", str(secrets.randbits(63)), "-days", "2", "-out", "server.pem",
                      "-extfile", str(cnf), "-extensions", "v3_server")
        # APNs signing key: EC P-256 in PKCS#8 PEM ("BEGIN PRIVATE KEY"), like Apple's AuthKey_*.p8.
        self._openssl("genpkey", *ec, "-out", "apns_key.p8")
        self._openssl("pkey", "-in", "apns_key.p8", "-pubout", "-out", "apns_pub.pem")
        # The service account key: RSA-2048, PKCS#8 PEM as in Google's JSON key files.
        self._openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "fcm_key.pem")
        self._openssl("pkey", "-in", "fcm_key.pem", "-pubout", "-out", "fcm_pub.pem")

    def _write_config(self) -> None:
        config = {
            "host": HOST, "tls_port": 0, "http_port": 0,
            "tls_key": self.tls_key_path, "tls_cert": self.tls_cert_path,
            "apns_public_key": self.apns_public_key_path, "apns_key_id": self.apns_key_id,
            "team_id": self.team_id, "topic": self.topic,
            "fcm_public_key": self.fcm_public_key_path, "fcm_key_id": self.fcm_key_id,
            "client_email": self.client_email, "project_id": self.project_id,
        }
        Path(self.config_path).write_text(json.dumps(config, indent=2) + "\n")

    def _write_service_account(self) -> None:
        """Google's service-account key layout; token_uri points at this gateway."""
        account = {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.fcm_key_id,
            "private_key": Path(self.fcm_key_path).read_text(),
            "client_email": self.client_email,
            "client_id": str(secrets.randbelow(10**20)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_url,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                                    + self.client_email.replace("@", "%40"),
            "universe_domain": "googleapis.com",
        }
        Path(self.service_account_path).write_text(json.dumps(account, indent=2) + "\n")


atexit.register(PushGateway.stop_all)
