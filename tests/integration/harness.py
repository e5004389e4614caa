"""Real servers on loopback for the integration tests and the demo.

Prosody or ejabberd (the Debian packages, run as their own users), Synapse
(pip, in the venv, SQLite) and isthmus (from the build tree) each get free
ports and a directory under one temporary root. Nothing here fakes a server.
ISTHMUS_XMPP_SERVER=ejabberd (or pytest --xmpp-server=ejabberd) picks
ejabberd for the clusters of the tests; Prosody is the default.
"""

import json
import os
import re
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
ISTHMUS = pathlib.Path(os.environ.get("ISTHMUS_BIN", ROOT / "isthmus"))

DOMAIN = "localhost"          # Prosody virtual host and Synapse server_name
COMPONENT = "gw.localhost"    # the gateway's component domain
MUC = "conference.localhost"
COMPONENT_SECRET = "isthmus-test-secret"
# The gateway's admins in the test clusters ([gateway] admins): an XMPP
# and a Matrix account that tests register when they need an admin
# (test_commands.py).
ADMIN_XMPP = "opadmin"
ADMIN_MATRIX = "opadminmx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what):
    """Polls predicate until it is true; fails saying what was expected."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def stop_process(proc, sig=signal.SIGTERM, timeout=15):
    """Stops proc with sig, then SIGKILL if it lingers; returns its status."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except Exception:
        return False


PRIVILEGE_MODULE = pathlib.Path(
    "/usr/lib/prosody/modules/mod_privilege/mod_privilege.lua")
PRIVILEGE_PATCH = ROOT / "contrib" / "prosody" / \
    "mod_privilege-archive-results.patch"


class Prosody:
    name = "prosody"

    def __init__(self, root, archive_results=False, ports=None):
        """ports: {"c2s": ..., "component": ...} (the demo's), else free
        ones. archive_results: load Debian's mod_privilege with isthmus's
        patch (contrib/prosody), which returns a privileged archive query's
        results; Debian's own fails such a query (README, Delivery)."""
        self.dir = root / "prosody"
        self.dir.mkdir()
        (self.dir / "data").mkdir()
        plugin_paths = ""
        if archive_results:
            plugins = self.dir / "plugins" / "mod_privilege"
            plugins.mkdir(parents=True)
            shutil.copy(PRIVILEGE_MODULE, plugins / "mod_privilege.lua")
            subprocess.run(["patch", "-s", str(plugins / "mod_privilege.lua"),
                            str(PRIVILEGE_PATCH)], check=True)
            plugin_paths = f'plugin_paths = {{ "{self.dir}/plugins" }}'
        ports = ports or {}
        self.c2s_port = ports.get("c2s") or free_port()
        self.component_port = ports.get("component") or free_port()
        self.http_port = free_port()
        self.config = self.dir / "prosody.cfg.lua"
        self.proc = None
        self.config.write_text(f"""
daemonize = false
{plugin_paths}
pidfile = "{self.dir}/prosody.pid"
data_path = "{self.dir}/data"
log = {{ info = "{self.dir}/prosody.log" }}
modules_enabled = {{
  "roster"; "saslauth"; "disco"; "carbons"; "pep"; "vcard_legacy";
  "private"; "blocklist"; "version"; "uptime"; "time"; "ping"; "mam";
  "websocket"; "http_file_share";
  -- XEP-0356 from Debian's prosody-modules: lets the gateway query its
  -- users' archives (README, Delivery). Loaded on the component too, which
  -- is where "component-authenticated" fires.
  "privilege";
}}
modules_disabled = {{ "s2s"; "tls" }}
c2s_ports = {{ {self.c2s_port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
component_ports = {{ {self.component_port} }}
component_interfaces = {{ "127.0.0.1" }}
http_ports = {{ {self.http_port} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
archive_expires_after = "1w"
privileged_entities = {{
  ["{COMPONENT}"] = {{ iq = {{ ["urn:xmpp:mam:2"] = "both" }} }};
}}

VirtualHost "{DOMAIN}"

Component "{COMPONENT}"
    component_secret = "{COMPONENT_SECRET}"
    modules_enabled = {{ "privilege" }}

Component "{MUC}" "muc"
    -- muc_moderation (XEP-0425) comes from Debian's prosody-modules, which
    -- installs it into Prosody's own module directory: no plugin_paths.
    -- Its 2023 snapshot speaks urn:xmpp:message-moderate:0 and needs the
    -- room's archive (muc_mam) to find the message by its stanza-id.
    modules_enabled = {{ "muc_mam"; "muc_moderation" }}
""")
        self._chown()

    def _chown(self):
        pw = pwd.getpwnam("prosody")
        for dirpath, dirnames, filenames in os.walk(self.dir):
            os.chown(dirpath, pw.pw_uid, pw.pw_gid)
            for f in filenames:
                os.chown(os.path.join(dirpath, f), pw.pw_uid, pw.pw_gid)
        # Prosody must traverse the parents of its directory.
        p = self.dir.parent
        while p != p.parent:
            mode = p.stat().st_mode
            if not mode & 0o001:
                os.chmod(p, mode | 0o011)
            p = p.parent

    def _as_prosody(self, *argv):
        return ["runuser", "-u", "prosody", "--", *argv]

    def register(self, user, password):
        subprocess.run(self._as_prosody("prosodyctl", "--config",
                                        str(self.config), "register", user,
                                        DOMAIN, password),
                       check=True, capture_output=True, timeout=60)

    def start(self):
        self.proc = subprocess.Popen(
            self._as_prosody("prosody", "-F", "--config", str(self.config)),
            stdout=open(self.dir / "stdout.log", "ab"),
            stderr=subprocess.STDOUT)
        wait_until(lambda: port_open(self.c2s_port) and
                   port_open(self.component_port), 30,
                   "Prosody to listen on its c2s and component ports "
                   f"(see {self.dir}/prosody.log)")

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def signal_server(self, sig):
        """Sends sig to the Prosody process itself (runuser's child)."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        assert out, "Prosody's server process is not running"
        os.kill(int(out[0]), sig)

    def resume(self):
        """SIGCONT after a SIGSTOP, to the server and to runuser, which
        stops itself when its child is stopped."""
        self.signal_server(signal.SIGCONT)
        self.proc.send_signal(signal.SIGCONT)

    def crash(self):
        """SIGKILL: whatever sits unread in its sockets is gone."""
        self.signal_server(signal.SIGKILL)
        # runuser stops itself when its child is stopped: wake it to reap.
        self.proc.send_signal(signal.SIGCONT)
        self.proc.wait(15)
        self.proc = None


def ejabberd_readme_snippet():
    """The ejabberd.yml lines of README.md's "ejabberd (`ejabberd.yml`)"
    block: the tests run the component listener users are told to write."""
    text = (ROOT / "README.md").read_text()
    m = re.search(r"ejabberd \(`ejabberd.yml`\):\n\n```yaml\n(.*?)```", text,
                  re.S)
    assert m, "README.md has no ejabberd.yml block"
    return m.group(1)


class Ejabberd:
    """Debian's ejabberd (23.01), run as the ejabberd user straight from
    erl, without Erlang distribution (no epmd, no cookie, node
    nonode@nohost), with its config, Mnesia spool and logs in its own
    directory. Same interface as Prosody for the tests: users are
    registered through mod_http_api on loopback."""

    name = "ejabberd"

    def __init__(self, root, archive_results=False, ports=None):
        # archive_results: ejabberd 23.01 knows only urn:xmpp:privilege:1,
        # without the iq permission the catch-up needs (README, Delivery).
        self.dir = root / "ejabberd"
        self.dir.mkdir()
        (self.dir / "spool").mkdir()
        ports = ports or {}
        self.c2s_port = ports.get("c2s") or free_port()
        self.component_port = ports.get("component") or free_port()
        self.http_port = free_port()
        self.config = self.dir / "ejabberd.yml"
        self.log = self.dir / "ejabberd.log"
        self.proc = None
        # The README's listener, with the test's port, domain and secret.
        component = ejabberd_readme_snippet()
        for old, new in (("5347", str(self.component_port)),
                         ("gw.example.org", COMPONENT),
                         ("the same secret as [xmpp] secret",
                          COMPONENT_SECRET)):
            assert old in component, f"README's ejabberd.yml lost {old!r}"
            component = component.replace(old, new)
        component = component.replace("listen:\n", "")
        self.config.write_text(f"""
hosts:
  - {DOMAIN}
loglevel: {os.environ.get("ISTHMUS_EJABBERD_LOGLEVEL", "info")}
log_rotate_count: 0
certfiles: []
auth_method: internal
auth_password_format: plain
listen:
  -
    port: {self.c2s_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
  -
    port: {self.http_port}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
{component}
api_permissions:
  "the tests, on loopback":
    from:
      - mod_http_api
    who:
      ip: 127.0.0.1/8
    what: "*"
access_rules:
  local:
    allow: all
  c2s:
    allow: all
modules:
  mod_roster: {{}}
  mod_disco: {{}}
  mod_caps: {{}}
  mod_carboncopy: {{}}
  mod_pubsub:
    plugins:
      - flat
      - pep
  mod_vcard: {{}}
  mod_vcard_xupdate: {{}}
  mod_avatar: {{}}
  mod_private: {{}}
  mod_blocking: {{}}
  mod_privacy: {{}}
  mod_version: {{}}
  mod_ping: {{}}
  mod_offline: {{}}
  mod_mam:
    default: always
  mod_muc:
    host: {MUC}
    default_room_options:
      mam: true
  mod_muc_admin: {{}}
  mod_http_api: {{}}
""")
        pw = pwd.getpwnam("ejabberd")
        for path in (self.dir, self.dir / "spool", self.config):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        p = self.dir.parent
        while p != p.parent:
            mode = p.stat().st_mode
            if not mode & 0o001:
                os.chmod(p, mode | 0o011)
            p = p.parent

    def register(self, user, password):
        body = json.dumps({"user": user, "host": DOMAIN,
                           "password": password}).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/api/register", data=body,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200, r.read()

    def start(self):
        env = dict(os.environ, HOME=str(self.dir),
                   EJABBERD_CONFIG_PATH=str(self.config),
                   EJABBERD_LOG_PATH=str(self.log),
                   ERL_LIBS="/usr/lib/" + sysconfig.get_config_var(
                       "MULTIARCH"),
                   ERL_CRASH_DUMP_BYTES="0")
        # What ejabberdctl foreground runs, minus -sname and its epmd.
        self.proc = subprocess.Popen(
            ["runuser", "-u", "ejabberd", "--", "erl", "-noinput",
             "+K", "true", "-mnesia", "dir", f'"{self.dir}/spool"',
             "-s", "ejabberd"],
            cwd=self.dir, env=env,
            stdout=open(self.dir / "stdout.log", "ab"),
            stderr=subprocess.STDOUT)
        wait_until(lambda: port_open(self.c2s_port) and
                   port_open(self.component_port) and
                   port_open(self.http_port), 60,
                   f"ejabberd to listen (see {self.log})")

    def stop(self):
        stop_process(self.proc, timeout=30)
        self.proc = None

    def signal_server(self, sig):
        """Sends sig to the Erlang VM itself (runuser's child)."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        assert out, "ejabberd's server process is not running"
        os.kill(int(out[0]), sig)

    def resume(self):
        self.signal_server(signal.SIGCONT)
        self.proc.send_signal(signal.SIGCONT)

    def crash(self):
        self.signal_server(signal.SIGKILL)
        self.proc.send_signal(signal.SIGCONT)
        self.proc.wait(15)
        self.proc = None


def xmpp_server_class(name=None):
    """Prosody or Ejabberd, by name (ISTHMUS_XMPP_SERVER by default)."""
    name = name or os.environ.get("ISTHMUS_XMPP_SERVER") or "prosody"
    return {"prosody": Prosody, "ejabberd": Ejabberd}[name]


class Synapse:
    def __init__(self, root, registration, port=None):
        self.dir = root / "synapse"
        self.dir.mkdir()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = self.dir / "homeserver.yaml"
        self.proc = None
        subprocess.run([sys.executable, "-m", "synapse.app.homeserver",
                        "--server-name", DOMAIN, "--config-path",
                        str(self.config), "--data-directory", str(self.dir),
                        "--generate-config", "--report-stats=no"],
                       check=True, capture_output=True, cwd=self.dir,
                       timeout=120)
        text = self.config.read_text()
        # The generated listener binds ::1 and 127.0.0.1 on 8008; replace it.
        text = text.replace("port: 8008", f"port: {self.port}")
        text = text.replace("bind_addresses: ['::1', '127.0.0.1']",
                            "bind_addresses: ['127.0.0.1']")
        if not text.endswith("\n"):
            text += "\n"   # the generated file has no final newline
        limits = "{per_second: 9999, burst_count: 9999}"
        text += f"""
app_service_config_files: ["{registration}"]
enable_registration: true
enable_registration_without_verification: true
bcrypt_rounds: 4
trusted_key_servers: []
suppress_key_server_warning: true
presence:
  enabled: true
# Synapse lets nobody publish to the room directory by default.
room_list_publication_rules:
  - action: allow
experimental_features:
  msc2409_to_device_messages_enabled: true
  msc3202_transaction_extensions: true
rc_message: {limits}
rc_registration: {limits}
rc_login:
  address: {limits}
  account: {limits}
  failed_attempts: {limits}
rc_joins:
  local: {limits}
  remote: {limits}
rc_joins_per_room: {limits}
rc_invites:
  per_room: {limits}
  per_user: {limits}
  per_issuer: {limits}
rc_room_creation: {limits}
rc_key_requests: {limits}
rc_presence:
  per_user: {limits}
"""
        self.config.write_text(text)

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "--config-path",
             str(self.config)],
            cwd=self.dir, stdout=open(self.dir / "stdout.log", "ab"),
            stderr=subprocess.STDOUT)
        wait_until(lambda: http_ok(self.url + "/_matrix/client/versions"), 120,
                   f"Synapse to answer on {self.url} "
                   f"(see {self.dir}/homeserver.log)")

    def stop(self, sig=signal.SIGTERM):
        stop_process(self.proc, sig, timeout=20)
        self.proc = None


# The media size limit of the test cluster's isthmus.
MEDIA_MAX_BYTES = 1000000


class Isthmus:
    def __init__(self, root, prosody_component_port, synapse_url, port=None):
        self.dir = root / "isthmus"
        self.dir.mkdir()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = self.dir / "isthmus.conf"
        self.registration = self.dir / "registration.yaml"
        self.log = self.dir / "isthmus.log"
        self.proc = None
        self.starts = 0
        self.config.write_text(f"""
[xmpp]
component_jid = {COMPONENT}
host = 127.0.0.1
port = {prosody_component_port}
secret = {COMPONENT_SECRET}

[matrix]
homeserver_url = {synapse_url}
server_name = {DOMAIN}
registration_file = {self.registration}

[appservice]
bind_address = 127.0.0.1
port = {self.port}

[media]
# Small, so that tests can pass the limit both ways (test_media.py).
max_bytes = {MEDIA_MAX_BYTES}
download_timeout = 20

[store]
path = {self.dir}/isthmus.db

[e2ee]
# Short, so that a test can see a lost key told (test_e2ee.py).
key_wait_seconds = 5

[gateway]
admins = {ADMIN_XMPP}@{DOMAIN}, @{ADMIN_MATRIX}:{DOMAIN}

[log]
level = {os.environ.get("ISTHMUS_LOG_LEVEL", "debug")}
""")
        subprocess.run([str(ISTHMUS), "--config", str(self.config),
                        "--generate-registration", str(self.registration)],
                       check=True, capture_output=True)
        self.hs_token = self._token("hs_token")
        self.as_token = self._token("as_token")

    def _token(self, name):
        for line in self.registration.read_text().splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip().strip("'\"")
        raise KeyError(name)

    def metrics(self):
        """The /metrics counters and histogram lines, by name."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        return {line.split()[0]: float(line.split()[1])
                for line in text.splitlines()
                if line and not line.startswith("#")}

    def set_log_level(self, level):
        """Rewrites [log] level in the config; takes effect at the next
        start."""
        text = self.config.read_text()
        self.config.write_text(re.sub(r"(?m)^level = .*$", f"level = {level}",
                                      text))

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def start(self, wait_connected=True):
        self.starts += 1
        with open(self.log, "a") as f:
            f.write(f"==== start {self.starts}\n")
        self.mark = len(self.log_text())
        wrapper = os.environ.get("ISTHMUS_WRAPPER", "").split()
        self.proc = subprocess.Popen(
            [*wrapper, str(ISTHMUS), "--config", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        if wait_connected:
            wait_until(lambda: "component: connected" in
                       self.log_text()[self.mark:] and port_open(self.port),
                       30, "isthmus to connect to Prosody and listen "
                       f"(see {self.log})")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, kill=False):
        rc = stop_process(self.proc, signal.SIGKILL if kill else signal.SIGTERM)
        self.proc = None
        return rc


class Cluster:
    """An XMPP server (Prosody or ejabberd) + Synapse + isthmus under one
    temporary directory. The server is cluster.xmpp; cluster.prosody is
    the same object, the name the tests have always used."""

    def __init__(self, root=None, archive_results=False, xmpp_server=None,
                 ports=None):
        """ports: the demo's fixed ports, {"c2s", "component", "synapse",
        "isthmus"}; free ones where missing."""
        self.ports = ports or {}
        self.root = pathlib.Path(root or tempfile.mkdtemp(prefix="isthmus-"))
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.xmpp = xmpp_server_class(xmpp_server)(self.root, archive_results,
                                                   self.ports)
        self.prosody = self.xmpp
        self.synapse = None
        self.isthmus = None

    def start(self):
        self.prosody.start()
        # isthmus writes the registration before Synapse loads it.
        self.synapse = Synapse(self.root, self.root / "isthmus" /
                               "registration.yaml",
                               self.ports.get("synapse"))
        self.isthmus = Isthmus(self.root, self.prosody.component_port,
                               self.synapse.url, self.ports.get("isthmus"))
        self.synapse.start()
        self.isthmus.start()
        return self

    def stop(self):
        for part in (self.isthmus, self.synapse, self.prosody):
            if part is not None:
                part.stop()

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)
