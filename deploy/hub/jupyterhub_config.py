"""JupyterHub configuration of `make hub` (deploy/hub/run.py writes the settings it reads).

Everything comes from ``$RL_HUB_STATE/hub.json``, written by run.py: ports (127.0.0.1 only),
the accounts, the per-learner memory limit, the exchange folder and the culler's timeout.
The proxy (configurable-http-proxy) is started by run.py, not by the hub, so that the hub
can be restarted while learners work: the proxy keeps routing to the running servers.

- Authentication: ``CourseAuthenticator``, one random password per account, checked against
  a salted PBKDF2 hash in ``$RL_HUB_STATE/passwords.json`` (root-only). Not PAM: the Unix
  accounts made for learners stay locked (no password, no ssh login), and not a shared
  password (DummyAuthenticator), with which any learner could log in as another.
- Spawner: LocalProcessSpawner as root (each learner's server runs as their own Unix user,
  homes mode 0700), SimpleLocalProcessSpawner otherwise (every server runs as the one user
  who started the hub: learners could read each other's files; for trying the hub only).
- Limits: a learner's server and every kernel it starts get ``RLIMIT_AS`` (prlimit) = the
  memory limit of docs/deploy.md, and run at nice 10 so the hub and proxy stay responsive.
  CPU limits are NOT enforced (LocalProcessSpawner has no cgroups): a learner may use every
  core; the nice level only orders learners behind the hub, not learners among themselves.
"""

from __future__ import annotations

import hmac
import json
import os
import sys
from pathlib import Path

from jupyterhub.auth import Authenticator
from traitlets import Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from passwords import password_hash

STATE = Path(os.environ["RL_HUB_STATE"])
S = json.loads((STATE / "hub.json").read_text())
VENV_BIN = str(Path(S["python"]).parent)


class CourseAuthenticator(Authenticator):
    """Log in with the per-account password that `make hub` printed (one per account)."""

    hashes = Dict(help="{username: {'salt': hex, 'hash': hex}}").tag(config=True)

    async def authenticate(self, handler, data):
        name = (data or {}).get("username", "")
        entry = self.hashes.get(name)
        if entry is None:
            return None
        given = password_hash(data.get("password", ""), entry["salt"])
        return name if hmac.compare_digest(given, entry["hash"]) else None


c = get_config()  # noqa: F821 - provided by jupyterhub

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = S["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = S["hub_port"]
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
# Learners' servers outlive a hub restart; run.py stops them when the workshop ends.
c.JupyterHub.cleanup_servers = False
c.JupyterHub.cleanup_proxy = False

c.JupyterHub.proxy_class = "configurable-http-proxy"
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{S['proxy_api_port']}"
# the proxy's token comes from $CONFIGPROXY_AUTH_TOKEN (run.py sets it for both)

c.JupyterHub.authenticator_class = CourseAuthenticator
c.CourseAuthenticator.hashes = json.loads((STATE / "passwords.json").read_text())
c.Authenticator.allowed_users = set(S["learners"]) | {S["instructor"]}
c.Authenticator.admin_users = {S["instructor"]}

if S["real_users"]:
    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
else:
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(Path(S["home_root"]) / "{username}")

c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 300   # 16 learners starting at once on 2 cores take a while
c.Spawner.http_timeout = 300
c.JupyterHub.concurrent_spawn_limit = 0
c.Spawner.args = ["--ServerApp.ip=127.0.0.1",
                  "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                  "--LabApp.news_url=None"]


def pre_spawn_hook(spawner) -> None:
    """Per-account command and configuration: learners get the memory limit and their config."""
    name = spawner.user.name
    learner = name != S["instructor"]
    spawner.environment = {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        # nbgrader's exchange (the hub's copy of deploy/nbgrader_config.py) and, for learners,
        # the nbgrader plugins they use (Assignments) without the instructor's (Formgrader)
        "JUPYTER_CONFIG_PATH": str(STATE / "jupyter" / ("learner" if learner else "instructor")),
        "NBGRADER_EXCHANGE": S["exchange"],
        "PYTHONUNBUFFERED": "1",
        **S["git_env"],  # nbgitpuller may clone the hub's course repository (owned by root)
    }
    singleuser = [os.path.join(VENV_BIN, "jupyterhub-singleuser")]
    if learner and S["memory_limit_mib"]:
        limit = S["memory_limit_mib"] * 2**20
        spawner.cmd = ["prlimit", f"--as={limit}", "--", "nice", "-n", "10", *singleuser]
    else:
        spawner.cmd = singleuser


c.Spawner.pre_spawn_hook = pre_spawn_hook

# run.py's own token (stops every server at the end), and the idle culler
c.JupyterHub.services = [
    {"name": "hubctl", "api_token": (STATE / "hubctl.token").read_text().strip()},
    {"name": "idle-culler",
     "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                 f"--timeout={S['cull_timeout']}", "--cull-every=60"]},
]
c.JupyterHub.load_roles = [
    {"name": "hubctl", "services": ["hubctl"],
     "scopes": ["list:users", "read:users", "admin:servers", "read:hub"]},
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
]
