"""Real XMPP clients for the client tests: Profanity in tmux, Converse.js in
headless Chromium. Every wait polls what the person would see, is bounded,
and fails saying what it expected and what was on screen."""

import asyncio
import functools
import http.server
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import threading

HERE = pathlib.Path(__file__).resolve().parent


async def wait_screen(read, predicate, timeout, what, artifact=None):
    """Polls read() (the screen's text) until predicate(text) holds. On
    timeout, saves the screen to artifact and fails with both."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        text = await read()
        if predicate(text):
            return text
        if loop.time() >= deadline:
            if artifact is not None:
                artifact.write_text(text)
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; the screen "
                f"showed:\n{text}")
        await asyncio.sleep(0.25)


def shows(*needles):
    return lambda text: all(n in text for n in needles)


class Profanity:
    """Profanity under tmux, on its own tmux server, with a fresh HOME so no
    user configuration applies."""

    def __init__(self, artifacts, name):
        if shutil.which("profanity") is None or shutil.which("tmux") is None:
            raise RuntimeError("profanity and tmux are needed "
                               "(scripts/install-deps.sh installs them)")
        self.artifacts = artifacts
        self.name = name
        self.home = pathlib.Path(tempfile.mkdtemp(prefix="isthmus-prof-"))
        self.socket = f"isthmus-{os.getpid()}-{name}"
        self.env = dict(os.environ, HOME=str(self.home),
                        XDG_CONFIG_HOME=str(self.home / ".config"),
                        XDG_DATA_HOME=str(self.home / ".local/share"),
                        TERM="xterm-256color", LANG="C.UTF-8")
        self.started = False

    def _tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, *args], env=self.env,
                              check=True, capture_output=True, text=True,
                              timeout=10).stdout

    def start(self):
        self._tmux("new-session", "-d", "-s", "prof", "-x", "200", "-y", "50",
                   "profanity --logfile " + str(self.home / "profanity.log")
                   + " --log DEBUG")
        self.started = True
        return self

    async def screen(self):
        # -J joins wrapped lines, so a long line is found whole.
        return self._tmux("capture-pane", "-p", "-J", "-t", "prof")

    def type(self, text):
        self._tmux("send-keys", "-t", "prof", "-l", text)
        self._tmux("send-keys", "-t", "prof", "Enter")

    async def wait(self, predicate, what, timeout=30):
        return await wait_screen(self.screen, predicate, timeout,
                                 f"Profanity to show {what}",
                                 self.artifacts / f"{self.name}-timeout.txt")

    async def connect(self, jid, password, c2s_port):
        await self.wait(shows("Type '/help'"), "its welcome screen")
        self.type(f"/connect {jid} server 127.0.0.1 port {c2s_port} "
                  "tls disable")
        await self.wait(shows("password"), "the password prompt")
        self.type(password)
        await self.wait(shows(f"{jid}/"), f"{jid} logged in")

    async def join(self, muc_jid, nick):
        self.type(f"/join {muc_jid} nick {nick}")
        await self.wait(shows(f"You have joined the room as {nick}"),
                        f"the join of {muc_jid} as {nick}")

    def save(self, text, suffix="screen"):
        (self.artifacts / f"{self.name}-{suffix}.txt").write_text(text)

    async def stop(self):
        if self.started:
            try:
                self.save(await self.screen(), "final")
            except Exception:
                pass
            subprocess.run(["tmux", "-L", self.socket, "kill-server"],
                           env=self.env, capture_output=True, timeout=10)
            self.started = False
        log = self.home / "profanity.log"
        if log.exists():
            shutil.copy(log, self.artifacts / f"{self.name}-profanity.log")
        shutil.rmtree(self.home, ignore_errors=True)


def message_lines(text, nick, body):
    """Profanity's lines 'HH:MM:SS - nick: body' for this nick and body."""
    pattern = re.compile(r"^\d\d:\d\d:\d\d - " + re.escape(nick) + ": " +
                         re.escape(body) + r"(\s|$)")
    return [line for line in text.splitlines() if pattern.match(line)]


class WebServer:
    """Serves tests/clients (the page and node_modules/converse.js/dist) on
    a free loopback port."""

    def __init__(self):
        handler = functools.partial(_QuietHandler, directory=str(HERE))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Converse:
    """Converse.js in headless Chromium, driven through converse-driver.mjs
    (playwright-core) one JSON command at a time."""

    def __init__(self, artifacts, name):
        if not (HERE / "node_modules" / "playwright-core").exists():
            raise RuntimeError("tests/clients/node_modules is missing "
                               "(scripts/install-deps.sh runs npm ci)")
        self.artifacts = artifacts
        self.name = name
        self.proc = None
        self.shots = 0

    async def start(self):
        self.stderr = open(self.artifacts / f"{self.name}-browser.log", "wb")
        self.proc = await asyncio.create_subprocess_exec(
            "node", str(HERE / "converse-driver.mjs"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self.stderr, cwd=HERE)
        ready = await self._answer(60)
        assert ready.get("ready"), ready
        return self

    async def _answer(self, timeout):
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"the Converse.js driver did not answer in "
                                 f"{timeout}s (see {self.stderr.name})")
        if not line:
            raise AssertionError("the Converse.js driver exited "
                                 f"(see {self.stderr.name})")
        return json.loads(line)

    async def cmd(self, cmd, timeout=60, **args):
        self.proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n")
                              .encode())
        await self.proc.stdin.drain()
        answer = await self._answer(timeout)
        if not answer.get("ok"):
            raise AssertionError(f"Converse.js driver: {cmd} failed: "
                                 f"{answer.get('error')}")
        return answer

    async def open(self, web, ws_url, jid, password, muc_jid, nick):
        from urllib.parse import urlencode
        query = urlencode({"ws": ws_url, "jid": jid, "password": password,
                           "room": muc_jid, "nick": nick})
        await self.cmd("open", url=f"{web.url}/web/index.html?{query}")

    async def text(self):
        return (await self.cmd("text"))["text"]

    async def messages(self):
        return (await self.cmd("messages"))["messages"]

    async def wait(self, predicate, what, timeout=30):
        return await wait_screen(self.text, predicate, timeout,
                                 f"Converse.js to show {what}",
                                 self.artifacts / f"{self.name}-timeout.txt")

    async def wait_message(self, predicate, what, timeout=30):
        """Polls the rendered messages until one matches."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msgs = await self.messages()
            found = [m for m in msgs if predicate(m)]
            if found:
                return found[0]
            if loop.time() >= deadline:
                await self.screenshot("timeout")
                raise AssertionError(
                    f"timed out after {timeout}s waiting for Converse.js to "
                    f"show {what}; it showed the messages {msgs!r}")
            await asyncio.sleep(0.25)

    async def send(self, text):
        await self.cmd("send", text=text)

    async def screenshot(self, label):
        self.shots += 1
        path = self.artifacts / f"{self.name}-{self.shots}-{label}.png"
        await self.cmd("screenshot", path=str(path))
        return path

    async def stop(self):
        if self.proc is None:
            return
        try:
            (self.artifacts / f"{self.name}-final.txt").write_text(
                await self.text())
            await self.screenshot("final")
            await self.cmd("quit", timeout=20)
        except Exception:
            pass
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.stderr.close()
        self.proc = None


async def matrix_room(cluster, topic, *display_names):
    """Matrix users with these display names (registered with matrix-nio and
    syncing) and a public room with an alias and topic, created by the first
    and joined by the others. Returns (users, room_id, muc_jid)."""
    from nio.api import RoomPreset
    from nio.responses import RoomCreateResponse

    from harness import COMPONENT, DOMAIN
    from peers import MatrixUser, unique

    users = []
    for display_name in display_names:
        user = await MatrixUser(cluster.synapse.url).register()
        await user.client.set_displayname(display_name)
        users.append(user)
    alias = unique("lounge")
    resp = await users[0].client.room_create(
        alias=alias, topic=topic, name="The Lounge",
        preset=RoomPreset.public_chat)
    assert isinstance(resp, RoomCreateResponse), resp
    for user in users[1:]:
        await user.join(resp.room_id)
    return users, resp.room_id, f"#{alias}%{DOMAIN}@{COMPONENT}"


def ghost_id(name):
    """The Matrix ID of the XMPP user name@localhost (ASCII lower case)."""
    from harness import DOMAIN
    return f"@_xmpp_{name}=40{DOMAIN}:{DOMAIN}"
