"""`make hub`: a real JupyterHub for a workshop on this machine, on 127.0.0.1 only.

    python deploy/hub/run.py [--learners N] [--port 8000] [--prefix ws-] [--state DIR]

Starts configurable-http-proxy (npm, in .hub/) and JupyterHub (PyPI, the `[hub]` extra in
.venv), makes the instructor's and N learners' accounts (real Unix users when run as root),
nbgrader's exchange, a local clone of the course for nbgitpuller, and prints the URL, the
logins and the course link. Ctrl-C stops every learner's server, the hub and the proxy.

``Hub`` is the same thing as a context manager for the tests and the load test
(tests/test_hub*.py, bench/hub_load.py). Settings the hub reads: deploy/hub/jupyterhub_config.py.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Self

sys.path.insert(0, str(Path(__file__).resolve().parent))
from passwords import password_hash

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
HUB_DIR = ROOT / ".hub"                       # node_modules (the proxy) and the default state
USER_VENV = HUB_DIR / "venv"                  # the servers' Python when .venv's is root-only
CHP = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
CHP_VERSION = "5.3.0"
COURSE = "deep-rl-course"
# RLIMIT_AS (address space, per process) of a learner's server and of each of its kernels.
# Not the resident-memory limit of docs/deploy.md: lesson 06's kernel reserves 1.8 GiB of
# address space (VmPeak) for ~0.4 GiB resident, so 1536 MiB of RLIMIT_AS fails it with a
# MemoryError. 3 GiB leaves it room and still stops a runaway allocation.
MEMORY_LIMIT_MIB = 3072
LEARNER_PLUGINS_OFF = ["formgrader", "create-assignment", "course-list", "validate-assignment"]


class HubError(RuntimeError):
    """A reason `make hub` cannot start, in one line, with what to do."""


def is_root() -> bool:
    return os.geteuid() == 0


def _runs_as_nobody(python: Path | str) -> bool:
    """Can another user run this Python (every folder above it readable by others)?"""
    probe = subprocess.run(["runuser", "-u", "nobody", "--", str(python), "-c",
                            "import sys; assert sys.version_info >= (3, 10)"],
                           capture_output=True, cwd="/", check=False)
    return probe.returncode == 0


def server_python() -> Path:
    """The Python of the hub and of every learner's server and kernel.

    The project's .venv when every user can run it; otherwise (as root, a Python under
    /root, as pyenv puts it) .hub/venv, made by ensure_setup() from the system's Python.
    """
    if not is_root() or (USER_VENV / "bin" / "python").exists() or not _runs_as_nobody(PYTHON):
        return USER_VENV / "bin" / "python" if is_root() else PYTHON
    return PYTHON


def _pip_install(python: Path, extras: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[{extras}]"],
                   check=True)


def ensure_setup() -> Path:
    """Install what the hub needs when it is missing; return the servers' Python.

    The `[hub]` extra (JupyterHub, the idle culler, nbgitpuller) in the servers' environment
    (``server_python()``; made with the course's pins and kernel when it is .hub/venv) and
    configurable-http-proxy from npm in .hub/. Raises HubError (one line) when node/npm,
    the project's .venv or a Python other users can run is missing.
    """
    if not PYTHON.exists():
        raise HubError("the project's .venv is missing: run `make setup` first")
    lock = Path("/tmp") / f"rl-course-hub-setup-{os.geteuid()}.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # two test workers must not install at once
        python = server_python()
        stamp = python.parent.parent / ".stamp-hub"
        want = (ROOT / "pyproject.toml").read_text()
        if not python.exists():
            base = next((p for p in ("/usr/bin/python3.11", "/usr/bin/python3")
                         if Path(p).exists() and _runs_as_nobody(p)), None)
            if base is None:
                raise HubError(f"learners cannot run {PYTHON} (it lives in a folder other users "
                               "cannot read) and there is no system Python 3.10+: "
                               "apt-get install python3-venv")
            print(f"making the learners' environment {USER_VENV} from {base} (their servers "
                  f"cannot run {PYTHON}, which lives in a folder only root can read)", flush=True)
            subprocess.run([base, "-m", "venv", str(USER_VENV)], check=True)
        if not stamp.exists() or stamp.read_text() != want:
            print(f"installing JupyterHub, the idle culler and nbgitpuller into "
                  f"{python.parent.parent} (pip, the [hub] extra)", flush=True)
            _pip_install(python, "course,hub" if python != PYTHON else "hub")
            subprocess.run([str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name",
                            "rl-course", "--display-name", "Deep RL course (rlcore)"],
                           check=True, capture_output=True)
            stamp.write_text(want)
        if shutil.which("node") is None:
            raise HubError("node is missing (the hub's proxy, configurable-http-proxy, runs on "
                           "it): apt-get install nodejs npm")
        if not CHP.exists():
            if shutil.which("npm") is None:
                raise HubError("npm is missing (it installs configurable-http-proxy): "
                               "apt-get install npm")
            print(f"installing configurable-http-proxy {CHP_VERSION} (npm) into {HUB_DIR}",
                  flush=True)
            HUB_DIR.mkdir(exist_ok=True)
            subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                            str(HUB_DIR), f"configurable-http-proxy@{CHP_VERSION}"], check=True)
    return python


def port_owner(port: int) -> str:
    """'' when 127.0.0.1:port can be bound, else who holds it (as far as we can tell)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return ""
        except OSError:
            pass
    with contextlib.suppress(Exception):
        import psutil
        for conn in psutil.net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN" and conn.pid:
                p = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({p.name()})"
    return "another program"


def free_port_block(n: int = 3) -> int:
    """A port p with p .. p+n-1 free on 127.0.0.1 a moment ago (for tests)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p + n < 65535 and not any(port_owner(p + i) for i in range(n)):
            return p
    raise HubError("no free block of ports on 127.0.0.1")


def git_trusts(repo: Path) -> dict[str, str]:
    """Environment that lets git read ``repo``, owned by root, as another user: learners clone
    the hub's course repository (nbgitpuller). git's upload-pack drops command-line config
    (``-c``, GIT_CONFIG_COUNT) and honours safe.directory only from global or system config,
    so a global config beside the repository names it and includes the user's own."""
    config = repo.parent / "gitconfig"
    config.write_text(f"[safe]\n\tdirectory = {repo}\n[include]\n\tpath = ~/.gitconfig\n")
    config.chmod(0o644)
    return {"GIT_CONFIG_GLOBAL": str(config)}


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a set-up command; a failure is a HubError naming the command and its last words."""
    run = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    if run.returncode != 0:
        last = (run.stderr or run.stdout).strip().splitlines()[-1:] or [f"exit {run.returncode}"]
        raise HubError(f"`{' '.join(cmd)}` failed: {last[0]}")
    return run


class Hub:
    """``with Hub(state_dir, learners=2) as hub:`` a running hub at ``hub.url``; stopped on exit.

    Accounts are ``<prefix>instructor`` and ``<prefix>learner1..N``; ``hub.passwords`` maps
    each to its password. As root they are Unix users (homes under ``home_root``, mode 0700);
    otherwise every server runs as the current user with homes in ``<state>/home``.
    """

    def __init__(self, state: Path, port: int = 8000, learners: int = 2, prefix: str = "",
                 home_root: Path | None = None, memory_limit_mib: int = MEMORY_LIMIT_MIB,
                 cull_timeout: int = 3600, quiet: bool = False) -> None:
        self.state = Path(state).resolve()
        self.port, self.proxy_api_port, self.hub_port = port, port + 1, port + 2
        self.prefix = prefix
        self.instructor = f"{prefix}instructor"
        self.learners = [f"{prefix}learner{i}" for i in range(1, learners + 1)]
        self.real_users = is_root()
        self.home_root = Path(home_root) if home_root else (
            Path("/home") if self.real_users else self.state / "home")
        self.memory_limit_mib = memory_limit_mib
        self.cull_timeout = cull_timeout
        self.quiet = quiet
        self.passwords: dict[str, str] = {}
        self.python = PYTHON
        self.hub_proc: subprocess.Popen | None = None
        self.proxy_proc: subprocess.Popen | None = None
        self._lock = None
        self._proxy_token = ""
        self._api_token = ""

    # -- addresses ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def accounts(self) -> list[str]:
        return [self.instructor, *self.learners]

    @property
    def exchange(self) -> Path:
        return self.state / "exchange"

    @property
    def course_repo(self) -> Path:
        return self.state / "course.git"

    def home(self, name: str) -> Path:
        return self.home_root / name

    def course_link(self) -> str:
        """The nbgitpuller link of docs/deploy.md, recipe 1, against this hub's local clone."""
        q = urllib.parse.urlencode({"repo": f"file://{self.course_repo}", "branch": "main",
                                    "targetpath": COURSE, "urlpath": f"lab/tree/{COURSE}/lessons"})
        return f"{self.url}/hub/user-redirect/git-pull?{q}"

    def say(self, msg: str) -> None:
        if not self.quiet:
            print(msg, flush=True)

    # -- start -------------------------------------------------------------------------------
    def start(self) -> Self:
        self.python = ensure_setup()
        self.state.mkdir(parents=True, exist_ok=True)
        self.state.chmod(0o711)  # learners pass through to the exchange and the course clone
        self._take_lock()
        for port in (self.port, self.proxy_api_port, self.hub_port):
            owner = port_owner(port)
            if owner:
                raise HubError(f"port {port} on 127.0.0.1 is in use by {owner}: stop it, or "
                               f"choose other ports (make hub PORT={self.port + 100})")
        self._accounts()
        self._exchange_and_config()
        self._course_clone()
        if self.real_users:
            self._check_learner_can_run()
        self._start_proxy()
        self._start_hub()
        return self

    def _take_lock(self) -> None:
        self._lock = open(self.state / "hub.lock", "a+")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.seek(0)
            other = self._lock.read().strip() or "unknown"
            self._lock.close()
            self._lock = None
            raise HubError(f"a hub is already running from {self.state} ({other}): use it, or "
                           "stop it with Ctrl-C in its terminal first") from None
        self._lock.seek(0)
        self._lock.truncate()
        self._lock.write(f"pid {os.getpid()}, {self.url}")
        self._lock.flush()

    def _accounts(self) -> None:
        logins = self.state / "logins.json"
        known = json.loads(logins.read_text()) if logins.exists() else {}
        for name in self.accounts:
            if name not in known:
                if self.real_users:
                    with contextlib.suppress(KeyError):
                        pwd.getpwnam(name)
                        raise HubError(f"user {name!r} already exists on this machine and is not "
                                       f"an account of this hub: choose a prefix "
                                       f"(make hub PREFIX=ws-)")
                known[name] = secrets.token_urlsafe(9)
            if self.real_users:
                self._unix_user(name)
            else:
                self.home(name).mkdir(parents=True, exist_ok=True)
        _write_private(logins, json.dumps(known, indent=1))
        self.passwords = {n: known[n] for n in self.accounts}
        hashes = {}
        for name, pw in self.passwords.items():
            salt = secrets.token_hex(16)
            hashes[name] = {"salt": salt, "hash": password_hash(pw, salt)}
        _write_private(self.state / "passwords.json", json.dumps(hashes))

    def _unix_user(self, name: str) -> None:
        home = self.home(name)
        try:
            pwd.getpwnam(name)
        except KeyError:
            self.home_root.mkdir(parents=True, exist_ok=True)
            # no password (locked): the hub's own password is the only way in
            _run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                  "--user-group", "--comment", "rl-course hub account", name])
        home.chmod(0o700)  # learners cannot read each other's files

    def _exchange_and_config(self) -> None:
        self.exchange.mkdir(exist_ok=True)
        self.exchange.chmod(0o1777)  # nbgrader's exchange: everyone writes, sticky
        for role in ("learner", "instructor"):
            d = self.state / "jupyter" / role
            (d / "labconfig").mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "deploy" / "nbgrader_config.py", d / "nbgrader_config.py")
            off = LEARNER_PLUGINS_OFF if role == "learner" else []
            (d / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {
                **{f"@jupyter/nbgrader:{p}": True for p in off},
                "@jupyterlab/apputils-extension:announcements": True}}, indent=1))
            server = {"ServerApp": {"jpserver_extensions": {
                "nbgrader.server_extensions.formgrader": role == "instructor",
                "nbgrader.server_extensions.course_list": role == "instructor",
                "nbgrader.server_extensions.validate_assignment": role == "instructor",
                "nbgrader.server_extensions.assignment_list": True}}}
            (d / "jupyter_server_config.json").write_text(json.dumps(server, indent=1))
            for p in (d.parent, d, d / "labconfig"):
                p.chmod(0o755)

    def _course_clone(self) -> None:
        """A bare clone of this checkout's HEAD as branch main (nbgitpuller's repo), and the
        instructor's working copy of the course in their home (made once, never overwritten)."""
        if not self.course_repo.exists():
            _run(["git", "init", "--quiet", "--bare", str(self.course_repo)])
        _run(["git", "-C", str(ROOT), "push", "--quiet", "--force", str(self.course_repo),
              "HEAD:refs/heads/main"])
        _run(["git", "-C", str(self.course_repo), "symbolic-ref", "HEAD", "refs/heads/main"])
        _run(["chmod", "-R", "a+rX", str(self.course_repo)])
        dest = self.home(self.instructor) / COURSE
        if not dest.exists():
            cmd = ["git", "clone", "--quiet", str(self.course_repo), str(dest)]
            if self.real_users:
                cmd = ["runuser", "-u", self.instructor, "--", *cmd]
            _run(cmd, cwd="/", env={**os.environ, **git_trusts(self.course_repo)})
            # nbgrader's gradebook and the grader's results live in grading/ (git-ignored)
            mk = ["mkdir", "-p", str(dest / "grading")]
            _run(["runuser", "-u", self.instructor, "--", *mk] if self.real_users else mk)

    def _check_learner_can_run(self) -> None:
        name = self.learners[0] if self.learners else self.instructor
        probe = subprocess.run(["runuser", "-u", name, "--", str(self.python), "-c",
                                "import jupyterhub, rlcore, nbgrader"],
                               capture_output=True, text=True, cwd="/", check=False)
        if probe.returncode != 0:
            raise HubError(f"learner {name} cannot run {self.python} (a folder above it is not "
                           f"readable by other users?): clone the course where every user can "
                           f"read it, e.g. /opt or /srv ({probe.stderr.strip().splitlines()[-1:]})")

    def _start_proxy(self) -> None:
        self._proxy_token = secrets.token_hex(32)
        self._api_token = secrets.token_hex(32)
        _write_private(self.state / "hubctl.token", self._api_token)
        log = open(self.state / "proxy.log", "ab")  # noqa: SIM115 - closed with the process
        self.proxy_proc = subprocess.Popen(
            [str(CHP), "--ip", "127.0.0.1", "--port", str(self.port), "--api-ip", "127.0.0.1",
             "--api-port", str(self.proxy_api_port),
             "--default-target", f"http://127.0.0.1:{self.hub_port}",
             "--error-target", f"http://127.0.0.1:{self.hub_port}/hub/error"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": self._proxy_token})

    def settings(self) -> dict:
        return {"port": self.port, "hub_port": self.hub_port, "proxy_api_port": self.proxy_api_port,
                "python": str(self.python), "root": str(ROOT), "exchange": str(self.exchange),
                "instructor": self.instructor, "learners": self.learners,
                "memory_limit_mib": self.memory_limit_mib, "cull_timeout": self.cull_timeout,
                "real_users": self.real_users, "home_root": str(self.home_root),
                "git_env": git_trusts(self.course_repo)}

    def _start_hub(self, timeout: float = 120.0) -> None:
        (self.state / "hub.json").write_text(json.dumps(self.settings(), indent=1))
        log = open(self.state / "hub.log", "ab")  # noqa: SIM115 - closed with the process
        env = {**os.environ, "RL_HUB_STATE": str(self.state),
               "CONFIGPROXY_AUTH_TOKEN": self._proxy_token}
        env.pop("JUPYTERHUB_API_TOKEN", None)
        self.hub_proc = subprocess.Popen(
            [str(self.python), "-m", "jupyterhub", "-f", str(HERE / "jupyterhub_config.py")],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.state, env=env,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.hub_proc.poll() is not None:
                raise HubError(f"JupyterHub exited with code {self.hub_proc.returncode}: see "
                               f"{self.state / 'hub.log'}\n{self.log_tail()}")
            with contextlib.suppress(OSError, ValueError):
                if self.api("GET", "/")["version"]:
                    return
            time.sleep(0.5)
        raise HubError(f"JupyterHub did not answer within {timeout:.0f} s: see "
                       f"{self.state / 'hub.log'}")

    def log_tail(self, n: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return (self.state / "hub.log").read_text(errors="replace")[-n:]
        return ""

    # -- use ---------------------------------------------------------------------------------
    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 30) -> dict:
        """Call the hub's REST API (through the proxy) with run.py's own token."""
        req = urllib.request.Request(
            f"{self.url}/hub/api{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self._api_token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = r.read()
        return json.loads(data) if data else {}

    def restart_hub(self) -> float:
        """Stop the hub process (not the proxy, not the servers) and start it again; return the
        seconds the hub was away."""
        t0 = time.monotonic()
        self._stop_hub_process()
        self._start_hub()
        return time.monotonic() - t0

    def server_pids(self, name: str) -> list[int]:
        """The processes running as ``name`` (as root: the learner's server and kernels)."""
        import psutil
        uid = pwd.getpwnam(name).pw_uid
        return [p.pid for p in psutil.process_iter(["uids"]) if p.info["uids"]
                and p.info["uids"].real == uid]

    # -- stop --------------------------------------------------------------------------------
    def _stop_hub_process(self) -> None:
        proc, self.hub_proc = self.hub_proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop every account's server, the hub and the proxy (idempotent, never raises)."""
        if self.hub_proc is not None and self.hub_proc.poll() is None:
            with contextlib.suppress(Exception):
                for user in self.api("GET", "/users"):
                    if user.get("servers"):
                        with contextlib.suppress(Exception):
                            self.api("DELETE", f"/users/{user['name']}/server")
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and any(
                        u.get("servers") for u in self.api("GET", "/users")):
                    time.sleep(0.5)
        self._stop_hub_process()
        proc, self.proxy_proc = self.proxy_proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self.real_users:  # anything still running as one of this hub's accounts
            for name in self.accounts:
                with contextlib.suppress(KeyError):
                    for pid in self.server_pids(name):
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def remove_accounts(self) -> None:
        """Delete this hub's Unix accounts and their homes (tests only; never `make hub`)."""
        if not self.real_users:
            return
        for name in self.accounts:
            with contextlib.suppress(KeyError):
                pwd.getpwnam(name)
                subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
            shutil.rmtree(self.home(name), ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def temporary_hub(learners: int = 2, prefix: str = "h", **kw):
    """A hub with fresh accounts ``<prefix><hex>instructor``, ``..learner1..N`` in a temporary
    folder (homes included), for tests and the load test; accounts and folder removed after."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="rl-course-hub-"))
    base.chmod(0o711)
    hub = Hub(base / "state", port=free_port_block(), learners=learners,
              prefix=f"{prefix}{secrets.token_hex(3)}", home_root=base / "home", quiet=True, **kw)
    try:
        with hub:
            yield hub
    finally:
        hub.remove_accounts()
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--learners", type=int, default=int(os.environ.get("LEARNERS", "4")))
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                    help="the hub's public port (the proxy's API and the hub use the next two)")
    ap.add_argument("--prefix", default=os.environ.get("PREFIX", ""),
                    help="prefix of every account name (e.g. ws-)")
    ap.add_argument("--state", type=Path, default=HUB_DIR / "state")
    ap.add_argument("--memory-limit", type=int, default=MEMORY_LIMIT_MIB,
                    help="RLIMIT_AS in MiB of a learner's server and of each kernel (0: none)")
    ap.add_argument("--cull-timeout", type=int, default=3600,
                    help="seconds idle before the culler stops a server")
    ap.add_argument("--setup-only", action="store_true",
                    help="only install what the hub needs (make hub-setup)")
    args = ap.parse_args(argv)
    if args.setup_only:
        try:
            ensure_setup()
        except (HubError, subprocess.CalledProcessError) as e:
            print(f"make hub-setup: {e}", file=sys.stderr)
            return 2
        return 0
    hub = Hub(args.state, port=args.port, learners=args.learners, prefix=args.prefix,
              memory_limit_mib=args.memory_limit, cull_timeout=args.cull_timeout)
    stop = {"now": False}

    def on_signal(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        hub.start()
    except HubError as e:
        hub.stop()
        print(f"make hub: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hub.stop()
        return 130
    if not hub.real_users:
        print("note: not root, so every learner's server runs as you and learners can read each "
              "other's files (run as root for real Unix accounts)")
    width = max(map(len, hub.accounts))
    print(f"\nJupyterHub is running at {hub.url}/hub/login  (127.0.0.1 only)\n")
    print(f"  {'login':<{width}}  password")
    for name in hub.accounts:
        role = "  (instructor, admin)" if name == hub.instructor else ""
        print(f"  {name:<{width}}  {hub.passwords[name]}{role}")
    print(f"\nCourse link (nbgitpuller, pulls lessons/ into each learner's home):\n  "
          f"{hub.course_link()}")
    print(f"\nInstructor: the course is in ~/{COURSE} (nbgrader release_assignment, collect, "
          f"python -m autograder grade, feedback, nbgrader release_feedback: docs/deploy.md)")
    print(f"Limits: {hub.memory_limit_mib} MiB address space per learner process (RLIMIT_AS); "
          f"CPU not limited. Idle servers stop after {hub.cull_timeout} s.")
    print(f"Logs: {hub.state}/hub.log, proxy.log. Stop with Ctrl-C.", flush=True)
    try:
        while not stop["now"]:
            if hub.hub_proc is None or hub.hub_proc.poll() is not None:
                print(f"make hub: JupyterHub exited; see {hub.state / 'hub.log'}",
                      file=sys.stderr)
                break
            if hub.proxy_proc is None or hub.proxy_proc.poll() is not None:
                print(f"make hub: the proxy exited; see {hub.state / 'proxy.log'}",
                      file=sys.stderr)
                break
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    print("\nstopping every server, the hub and the proxy ...", flush=True)
    hub.stop()
    print("stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
