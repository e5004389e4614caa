"""The three gateways of the peer benchmark (bench_peers.py), each installed
and run as its own documentation tells an operator to, against the same
Prosody and Synapse (tests/integration/harness.py), on free ports:

- isthmus, the build in this tree, as the integration tests run it;
- matrix-bifrost 1.0.3 (Node), its xmpp.js backend: an XMPP component on
  Prosody and an appservice on Synapse, with its default NeDB store;
- matridge 0.4.1 on slidge 0.4.2 (Python), an XMPP component whose users
  log into their own Matrix accounts, with slidge's default SQLite store.

Each gateway says how an XMPP user and a Matrix user talk through it
(addresses, and what a conversation needs first), which process to
measure, and how to start, stop and restart it. A peer that cannot be
installed raises PeerUnavailable with the reason, for the table to print.
"""

import os
import pathlib
import subprocess
import sys
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

from harness import (COMPONENT, DOMAIN, Isthmus, free_port,  # noqa: E402
                     stop_process, wait_until)

# Installs of the peers, kept between runs (gitignored).
PEERS_DIR = pathlib.Path(os.environ.get("ISTHMUS_PEERS_DIR",
                                        HERE / ".peers"))
BIFROST_TARBALL = pathlib.Path(os.environ.get(
    "BIFROST_TARBALL",
    HERE.parents[1] / "shared" / "peers" / "matrix-bifrost-1.0.3.tar.gz"))
MATRIDGE_PINS = ("matridge==0.4.1", "slidge==0.4.2")
SECRET = "peer-bench-secret"


class PeerUnavailable(Exception):
    """The peer could not be installed or started; the message says why."""


def xep0106(local):
    """JID escaping (XEP-0106) of a node, as slidge maps a Matrix room id
    to the node of its MUC's JID."""
    out = []
    for ch in local:
        if ch in ' "&\'/:<>@\\':
            out.append("\\%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


class Gateway:
    """What bench_peers.py needs of a gateway. `kind` says how a Matrix
    DM looks on XMPP: "chat" (1:1 messages between the two users' JIDs) or
    "groupchat" (matridge: every Matrix room, DMs too, is a MUC)."""

    name = "?"
    component = None
    kind = "chat"
    proc = None
    # What the gateway cannot do at all, by figure: the table prints it.
    unsupported = {}

    def install(self):
        """Installs into PEERS_DIR if needed; raises PeerUnavailable."""

    def prosody_component(self):
        return (f'\nComponent "{self.component}"\n'
                f'    component_secret = "{SECRET}"\n')

    def registration(self):
        """The appservice registration file for Synapse, or None."""
        return None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, kill=False):
        import signal
        stop_process(self.proc, signal.SIGKILL if kill else signal.SIGTERM,
                     timeout=30)
        self.proc = None

    def restart(self):
        """As an operator restarts it (systemctl restart: SIGTERM, start)."""
        self.stop()
        self.start()

    def last_error(self):
        """The last line of the log that names an error, for the table."""
        lines = [x.strip() for x in self.log_tail(20000).splitlines()
                 if "Error" in x or "ERROR" in x]
        return lines[-1][:200] if lines else "(nothing in its log)"

    def log_tail(self, n=3000):
        try:
            return self.log.read_text(errors="replace")[-n:]
        except (OSError, AttributeError):
            return ""


class IsthmusGateway(Gateway):
    """The build in this tree, with the integration tests' config, at log
    level info (nothing per message) and its default flood limits."""

    name = "isthmus"
    tag = "ist"   # of its test users' names
    component = COMPONENT

    def __init__(self, root, prosody, synapse_url):
        os.environ.setdefault("ISTHMUS_LOG_LEVEL", "info")
        self.iso = Isthmus(root, prosody.component_port, synapse_url)
        self.log = self.iso.log

    def prosody_component(self):
        return ""   # the harness's Prosody has it already

    def registration(self):
        return self.iso.registration

    @property
    def proc(self):
        return self.iso.proc

    def start(self):
        self.iso.start()

    def stop(self, kill=False):
        self.iso.stop(kill=kill)

    # Addresses, as the README tells users to write them.
    def xmpp_address_of(self, matrix_user_id):
        local, server = matrix_user_id[1:].split(":", 1)
        return f"{local}%{server}@{COMPONENT}"

    def matrix_id_of(self, xmpp_jid):
        return "@_xmpp_" + xmpp_jid.replace("@", "=40") + f":{DOMAIN}"

    def room_jid(self, alias_local):
        return f"#{alias_local}%{DOMAIN}@{COMPONENT}"


class BifrostGateway(Gateway):
    """matrix-bifrost from its source tarball (it is not on npm): npm
    install (which builds lib/ with tsc), plus the stand-in for the native
    crypto library /work/shared/peers/README.md describes. Configured from
    its config.sample.yaml's xmpp.js sections: component, implicit
    auto-registration (required for xmpp.js), gateway mode on for rooms,
    NeDB (its default engine besides Postgres)."""

    name = "matrix-bifrost"
    tag = "bif"
    component = "bifrost.localhost"
    unsupported = {"mam": "not supported (no MAM)"}

    def __init__(self, root, prosody, synapse_url):
        self.src = PEERS_DIR / "matrix-bifrost-1.0.3"
        self.dir = root / "bifrost"
        self.dir.mkdir()
        self.port = free_port()
        self.component_port = prosody.component_port
        self.synapse_url = synapse_url
        self.config = self.dir / "config.yaml"
        self.reg = self.dir / "bifrost-registration.yaml"
        self.log = self.dir / "bifrost.log"
        # The stand-in writes here if it is ever called: checked at the end.
        self.standin_log = self.dir / "crypto-standin-calls.log"

    def install(self):
        if not (self.src / "lib" / "Program.js").exists():
            if not BIFROST_TARBALL.exists():
                raise PeerUnavailable(
                    f"no source tarball at {BIFROST_TARBALL} (set "
                    "BIFROST_TARBALL to a matrix-bifrost 1.0.3 tarball)")
            PEERS_DIR.mkdir(parents=True, exist_ok=True)
            with tarfile.open(BIFROST_TARBALL) as t:
                t.extractall(PEERS_DIR, filter="data")
            r = subprocess.run(["npm", "install", "--no-audit", "--no-fund"],
                               cwd=self.src, capture_output=True, text=True,
                               timeout=900)
            if r.returncode or not (self.src / "lib" / "Program.js").exists():
                raise PeerUnavailable("npm install failed: " +
                                      (r.stderr or r.stdout)[-400:])
        self._install_standin()
        r = subprocess.run(["node", "lib/Program.js", "--help"], cwd=self.src,
                           capture_output=True, text=True, timeout=60)
        if "Usage" not in r.stdout + r.stderr:
            raise PeerUnavailable("node lib/Program.js --help fails: " +
                                  (r.stderr or r.stdout)[-400:])

    def _install_standin(self):
        """@vector-im/matrix-bot-sdk loads the Rust crypto library at start,
        whose native part npm downloads from GitHub (unreachable here).
        bifrost never encrypts: every export of the stand-in throws, and
        notes it in $BIFROST_STANDIN_LOG, if it is ever constructed or
        called."""
        d = (self.src / "node_modules" / "@matrix-org" /
             "matrix-sdk-crypto-nodejs-linux-x64-gnu")
        d.mkdir(parents=True, exist_ok=True)
        (d / "package.json").write_text(
            '{"name": "@matrix-org/matrix-sdk-crypto-nodejs-linux-x64-gnu", '
            '"version": "0.0.0-standin", "main": "index.js"}\n')
        (d / "index.js").write_text(STANDIN_JS)

    def prosody_component(self):
        return super().prosody_component()

    def write_config(self):
        self.config.write_text(f"""
bridge:
  domain: "{DOMAIN}"
  homeserverUrl: "{self.synapse_url}"
  userPrefix: "_bifrost_"
  appservicePort: {self.port}
roomRules: []
datastore:
  engine: "nedb"
  connectionString: "nedb://{self.dir}"
purple:
  backend: "xmpp-js"
  backendOpts:
    service: "xmpp://127.0.0.1:{self.component_port}"
    domain: "{self.component}"
    password: "{SECRET}"
portals:
  enableGateway: true
  aliases:
    "^_bifrost_(.+)$":
      protocol: "xmpp-js"
      properties:
        room: "regex:1"
        server: "conference.{DOMAIN}"
autoRegistration:
  enabled: true
  protocolSteps:
    xmpp-js:
      type: "implicit"
      parameters:
        username: "<T_LOCALPART>_<T_DOMAIN>@{self.component}"
metrics:
  enabled: true
provisioning:
  enablePlumbing: false
  requiredUserPL: 100
logging:
  console: "info"
tuning:
  waitOnProfileBeforeSend: true
""")

    def registration(self):
        self.write_config()
        # README: yarn genreg -- -u http://localhost:9555
        r = subprocess.run(["node", "lib/Program.js", "-r", "-f",
                            str(self.reg), "-u",
                            f"http://127.0.0.1:{self.port}", "-c",
                            str(self.config)],
                           cwd=self.src, capture_output=True, text=True,
                           timeout=60)
        if r.returncode or not self.reg.exists():
            raise PeerUnavailable("registration failed: " +
                                  (r.stderr or r.stdout)[-400:])
        return self.reg

    def start(self):
        env = dict(os.environ, BIFROST_STANDIN_LOG=str(self.standin_log))
        with open(self.log, "a") as f:
            f.write("==== start\n")
        mark = self.log.stat().st_size
        # README: yarn start -- -p 9555, i.e. node lib/Program.js -c ...
        self.proc = subprocess.Popen(
            ["node", "--enable-source-maps", "lib/Program.js", "-c",
             str(self.config), "-f", str(self.reg), "-p", str(self.port)],
            cwd=self.src, env=env, stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT)

        def started():
            if self.proc.poll() is not None:
                raise PeerUnavailable("matrix-bifrost exited at start: " +
                                      self.log_tail(600))
            with open(self.log, errors="replace") as f:
                f.seek(mark)
                return "Bridge has started" in f.read()
        wait_until(started, 120, f"matrix-bifrost to start (see {self.log})")

    def standin_calls(self):
        return (self.standin_log.read_text().splitlines()
                if self.standin_log.exists() else [])

    def xmpp_address_of(self, matrix_user_id):
        # autoRegistration's username "<T_LOCALPART>_<T_DOMAIN>@component"
        local, server = matrix_user_id[1:].split(":", 1)
        return f"{local}_{server}@{self.component}"

    def matrix_id_of(self, xmpp_jid):
        # XmppProtocol.getMxIdForProtocol, escaped as the bridge library
        # escapes a localpart.
        return "@_bifrost_" + xmpp_jid.replace("@", "=40") + f":{DOMAIN}"

    def room_jid(self, alias_local):
        # ServiceHandler.parseAliasFromJID: #alias#server@component
        return f"#{alias_local}#{DOMAIN}@{self.component}"


class MatridgeGateway(Gateway):
    """matridge on slidge, from PyPI, in a venv of its own (it pins
    matrix-nio 0.25). Run as slidge's docs say: the matridge command with
    the component's JID and secret, the XMPP server and a home directory
    (SQLite store in it by default). An XMPP user registers (XEP-0077)
    with the homeserver, user name and password of a Matrix account of
    their own; every Matrix room of that account, DMs included, becomes
    a MUC (matridge has no 1:1 chats)."""

    name = "matridge"
    tag = "mtd"
    component = "matridge.localhost"
    kind = "groupchat"
    unsupported = {
        "gateway_rooms": "not supported (no gateway mode: each XMPP user "
                         "needs a Matrix account of their own)"}

    def __init__(self, root, prosody, synapse_url, case_fix=False):
        self.venv = PEERS_DIR / "matridge-venv"
        self.case_fix = case_fix
        if case_fix:
            self.name, self.tag = "matridge+case-fix", "mtf"
        self.dir = root / self.name
        self.dir.mkdir()
        self.component_port = prosody.component_port
        self.synapse_url = synapse_url
        self.log = self.dir / "matridge.log"

    def prosody_component(self):
        # The fixed matridge runs after the other, on the same component.
        return "" if self.case_fix else super().prosody_component()

    def install(self):
        exe = self.venv / "bin" / "matridge"
        if not exe.exists():
            PEERS_DIR.mkdir(parents=True, exist_ok=True)
            r = subprocess.run([sys.executable, "-m", "venv", str(self.venv)],
                               capture_output=True, text=True)
            if r.returncode:
                raise PeerUnavailable("python3 -m venv failed: " + r.stderr)
            r = subprocess.run([str(self.venv / "bin" / "pip"), "install",
                                "-q", *MATRIDGE_PINS],
                               capture_output=True, text=True, timeout=900)
            if r.returncode or not exe.exists():
                raise PeerUnavailable("pip install " + " ".join(MATRIDGE_PINS)
                                      + " failed: " + r.stderr[-400:])
        r = subprocess.run([str(exe), "--version"], capture_output=True,
                           text=True, timeout=60)
        if r.returncode:
            raise PeerUnavailable("matridge --version fails: " +
                                  (r.stderr or r.stdout)[-400:])
        self.version = (r.stdout or r.stderr).strip()

    def start(self):
        with open(self.log, "a") as f:
            f.write("==== start\n")
        mark = self.log.stat().st_size
        # --matridge-case-fix (bench/matridge_case_fix.py): the same
        # matridge, started through a launcher that fixes one bug.
        exe = ([str(self.venv / "bin" / "python"),
                str(HERE / "matridge_case_fix.py")] if self.case_fix
               else [str(self.venv / "bin" / "matridge")])
        self.proc = subprocess.Popen(
            [*exe, "--jid", self.component,
             "--secret", SECRET, "--server", "127.0.0.1", "--port",
             str(self.component_port), "--home-dir", str(self.dir)],
            cwd=self.dir, stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT)

        def started():
            if self.proc.poll() is not None:
                raise PeerUnavailable("matridge exited at start: " +
                                      self.log_tail(600))
            with open(self.log, errors="replace") as f:
                f.seek(mark)
                text = f.read()
            # slidge logs its component's session start once connected,
            # then logs its users in (that is what a restart waits for).
            return "session_start" in text or "Slidge has successfully " \
                "started" in text
        wait_until(started, 120, f"matridge to start (see {self.log})")

    def muc_jid(self, room_id):
        return f"{xep0106(room_id)}@{self.component}"

    def room_jid(self, alias_local):
        return None   # joined by room id, see muc_jid


def all_gateways(root, prosody, synapse_url, names):
    kinds = {"isthmus": IsthmusGateway, "matrix-bifrost": BifrostGateway,
             "matridge": MatridgeGateway,
             "matridge+case-fix": lambda *a: MatridgeGateway(*a,
                                                             case_fix=True)}
    unknown = set(names) - set(kinds)
    if unknown:
        raise SystemExit(f"unknown gateways {sorted(unknown)}; known: "
                         f"{', '.join(kinds)}")
    return [kinds[n](root, prosody, synapse_url) for n in names]


STANDIN_JS = r"""// Stand-in for @matrix-org/matrix-sdk-crypto-nodejs's native library,
// written by isthmus's bench/peer_gateways.py: its download from GitHub is
// unreachable here, and bifrost never enables encryption. Every export is
// a class that throws, and says so in $BIFROST_STANDIN_LOG, if it is ever
// constructed or called; reading a property (an enum) is harmless.
const fs = require("fs");
function called(name) {
  if (process.env.BIFROST_STANDIN_LOG) {
    fs.appendFileSync(process.env.BIFROST_STANDIN_LOG, `${name}\n`);
  }
  throw new Error(`matrix-sdk-crypto stand-in: ${name} called`);
}
function stub(name) {
  return new Proxy(class {}, {
    construct() { return called(`new ${name}`); },
    apply() { return called(name); },
    get(target, key) {
      if (typeof key === "symbol" || key === "prototype" || key === "name") {
        return Reflect.get(target, key);
      }
      return stub(`${name}.${String(key)}`);
    },
  });
}
module.exports = new Proxy({}, {
  get(_, key) {
    if (typeof key === "symbol" || key === "then" || key === "__esModule") {
      return undefined;
    }
    return stub(String(key));
  },
});
"""
