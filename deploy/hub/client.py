"""A learner's browser, without the browser: the hub's login form, REST and kernel websockets.

``Learner(hub_url, name, password)`` logs in through ``/hub/login`` (the form and its
``_xsrf`` field), starts the server as the spawn page does, then talks to the server as
JupyterLab does: the contents API, sessions, the Assignments tab's nbgrader endpoints, and
kernels over ``/api/kernels/<id>/channels`` (the Jupyter messaging protocol over a
websocket). Used by tests/test_hub*.py and bench/hub_load.py; every wait is bounded.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field

import requests
import websocket


class HubClientError(RuntimeError):
    """A request the hub or the learner's server refused or did not answer in time."""


@dataclass
class Execution:
    """What one cell's execution gave back (as nbformat outputs) and how long it took."""

    status: str                       # 'ok', 'error', 'aborted', 'died' (the kernel went away)
    outputs: list = field(default_factory=list)
    seconds: float = 0.0
    execution_count: int | None = None

    def text(self) -> str:
        out = []
        for o in self.outputs:
            if o["output_type"] == "stream":
                out.append(o["text"])
            elif o["output_type"] == "error":
                out.append(f"{o['ename']}: {o['evalue']}")
            elif "text/plain" in o.get("data", {}):
                out.append(o["data"]["text/plain"])
        return "".join(out)


class Kernel:
    """One kernel of a learner's server, driven over its websocket like JupyterLab does."""

    def __init__(self, learner: Learner, kernel_id: str, session_id: str | None = None) -> None:
        self.learner = learner
        self.id = kernel_id
        self.session = session_id or uuid.uuid4().hex
        self.ws: websocket.WebSocket | None = None
        self.connect()

    def connect(self, timeout: float = 60.0) -> None:
        """Open (or reopen) the channels websocket, with the learner's cookies."""
        lr = self.learner
        url = (lr.server_url.replace("http://", "ws://")
               + f"api/kernels/{self.id}/channels?session_id={self.session}")
        cookies = "; ".join(f"{k}={v}" for k, v in lr.http.cookies.get_dict().items())
        self.ws = websocket.create_connection(url, cookie=cookies, timeout=timeout,
                                              header={"X-XSRFToken": lr.xsrf()})

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            finally:
                self.ws = None

    def _send(self, msg_type: str, content: dict, channel: str = "shell") -> str:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "username": self.learner.name,
                       "session": self.session, "version": "5.3",
                       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            "parent_header": {}, "metadata": {}, "content": content, "channel": channel}))
        return msg_id

    def execute(self, code: str, timeout: float = 600.0) -> Execution:
        """Run ``code``; return its outputs once the kernel is idle again (or died/timed out)."""
        t0 = time.perf_counter()
        msg_id = self._send("execute_request", {"code": code, "silent": False,
                                                 "store_history": True, "user_expressions": {},
                                                 "allow_stdin": False, "stop_on_error": True})
        ex = Execution(status="")
        idle = replied = False
        deadline = time.monotonic() + timeout
        while not (idle and replied):
            left = deadline - time.monotonic()
            if left <= 0:
                raise HubClientError(f"{self.learner.name}: cell did not finish within "
                                     f"{timeout:.0f} s")
            self.ws.settimeout(min(left, 30.0))
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                ex.status = "died"
                break
            if not raw:
                continue
            msg = json.loads(raw)
            mt = msg.get("msg_type") or msg["header"]["msg_type"]
            if mt == "status" and msg["content"].get("execution_state") == "restarting":
                ex.status = "died"  # the kernel died (the server restarts it)
                ex.outputs.append({"output_type": "error", "ename": "KernelDied",
                                   "evalue": "the kernel died while running this cell",
                                   "traceback": []})
                break
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            c = msg["content"]
            if mt == "status" and c.get("execution_state") == "idle":
                idle = True
            elif mt == "execute_reply":
                replied = True
                ex.status = c.get("status", "")
                ex.execution_count = c.get("execution_count")
            elif mt == "stream":
                ex.outputs.append({"output_type": "stream", "name": c["name"], "text": c["text"]})
            elif mt in ("display_data", "execute_result"):
                out = {"output_type": mt, "data": c.get("data", {}),
                       "metadata": c.get("metadata", {})}
                if mt == "execute_result":
                    out["execution_count"] = c.get("execution_count")
                ex.outputs.append(out)
            elif mt == "update_display_data":
                pass  # a live progress line: the final display is what a saved notebook keeps
            elif mt == "error":
                ex.outputs.append({"output_type": "error", "ename": c["ename"],
                                   "evalue": c["evalue"], "traceback": c.get("traceback", [])})
        ex.seconds = time.perf_counter() - t0
        return ex


class Learner:
    """One account's browser session on the hub (cookies, XSRF), bounded in every wait."""

    def __init__(self, hub_url: str, name: str, password: str, timeout: float = 60.0) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.name = name
        self.password = password
        self.timeout = timeout
        self.http = requests.Session()

    @property
    def server_url(self) -> str:
        return f"{self.hub_url}/user/{self.name}/"

    def xsrf(self, path: str | None = None) -> str:
        """The ``_xsrf`` cookie of the server (default) or of the hub (``path='/hub/'``)."""
        path = path or f"/user/{self.name}/"
        match = [c for c in self.http.cookies
                 if c.name == "_xsrf" and path.startswith(c.path.rstrip("/") + "/")]
        return max(match, key=lambda c: len(c.path)).value if match else ""

    # -- the hub -----------------------------------------------------------------------------
    def login(self, retry_s: float = 120.0) -> float:
        """Submit the hub's login form; return its seconds. HubClientError if refused.

        While the hub is away (restarting: the proxy answers 502/503) the learner tries
        again every 2 s, for at most ``retry_s`` seconds, as a learner reloads the page."""
        t0 = time.perf_counter()
        deadline = time.monotonic() + retry_s
        while True:
            try:
                page = self.http.get(f"{self.hub_url}/hub/login", timeout=self.timeout)
                m = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
                form = {"username": self.name, "password": self.password}
                if m:
                    form["_xsrf"] = m.group(1)
                r = self.http.post(f"{self.hub_url}/hub/login?next=", data=form,
                                   allow_redirects=False, timeout=self.timeout)
                status = r.status_code
            except requests.ConnectionError:
                status = 503
            if status == 302:
                return time.perf_counter() - t0
            if status < 500 or time.monotonic() > deadline:
                raise HubClientError(f"login of {self.name} refused (HTTP {status})")
            time.sleep(2.0)

    def hub_api(self, method: str, path: str, **kw) -> requests.Response:
        headers = {"X-XSRFToken": self.xsrf("/hub/")}
        return self.http.request(method, f"{self.hub_url}/hub/api{path}", headers=headers,
                                 timeout=self.timeout, **kw)

    def spawn(self, timeout: float = 600.0) -> float:
        """Start this learner's server as the spawn page does; return seconds until it answers."""
        t0 = time.perf_counter()
        deadline = time.monotonic() + timeout
        while True:  # the spawn page (again, while the hub is away)
            r = self.http.get(f"{self.hub_url}/hub/spawn/{self.name}", allow_redirects=False,
                              timeout=self.timeout)
            if r.status_code < 500 or time.monotonic() > deadline:
                break
            time.sleep(2.0)
        if r.status_code >= 400:
            raise HubClientError(f"spawn of {self.name}: HTTP {r.status_code}")
        while time.monotonic() < deadline:
            # opening the server's page sends the browser through the hub's OAuth (the
            # server's cookie) and gives it the server's _xsrf cookie
            r = self.http.get(f"{self.server_url}lab", timeout=self.timeout)
            if r.status_code == 200 and r.url.startswith(self.server_url) and self.xsrf():
                status = self.request("GET", "api/status")
                if status.status_code == 200:
                    return time.perf_counter() - t0
            time.sleep(1.0)
        raise HubClientError(f"the server of {self.name} did not start within {timeout:.0f} s")

    # -- the learner's server ----------------------------------------------------------------
    def request(self, method: str, path: str, user: str | None = None, **kw) -> requests.Response:
        """A request to a server's API (``user`` = another account's server, for refusals)."""
        base = f"{self.hub_url}/user/{user}/" if user else self.server_url
        headers = {"X-XSRFToken": self.xsrf(), **kw.pop("headers", {})}
        return self.http.request(method, f"{base}{path}", headers=headers,
                                 timeout=kw.pop("timeout", self.timeout), **kw)

    def api(self, method: str, path: str, **kw) -> dict | list:
        r = self.request(method, f"api/{path}", **kw)
        if r.status_code >= 400:
            raise HubClientError(f"{self.name}: {method} api/{path} -> HTTP {r.status_code}: "
                                 f"{r.text[:300]}")
        return r.json() if r.content else {}

    def get_notebook(self, path: str) -> dict:
        return self.api("GET", f"contents/{path}?content=1")["content"]

    def put_notebook(self, path: str, nb: dict) -> None:
        self.api("PUT", f"contents/{path}", json={"type": "notebook", "format": "json",
                                                   "content": nb})

    def start_kernel(self, path: str, kernel: str = "rl-course") -> Kernel:
        """Open ``path`` as JupyterLab does (a session with a kernel); return the kernel."""
        s = self.api("POST", "sessions", json={"path": path, "name": path.rsplit("/", 1)[-1],
                                               "type": "notebook", "kernel": {"name": kernel}})
        return Kernel(self, s["kernel"]["id"])

    def run_notebook(self, path: str, timeout_per_cell: float = 600.0, save_every: int = 1,
                     kernel: Kernel | None = None, on_cell=None) -> tuple[dict, list[Execution]]:
        """Open ``path``, run every code cell in order, saving after each ``save_every`` cells
        (as autosave would); stop at the first error. Return (the saved notebook, executions)."""
        nb = self.get_notebook(path)
        k = kernel or self.start_kernel(path)
        results = []
        code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
        for i, cell in enumerate(code_cells):
            ex = k.execute(cell["source"], timeout=timeout_per_cell)
            cell["outputs"] = ex.outputs
            cell["execution_count"] = ex.execution_count
            results.append(ex)
            if on_cell:
                on_cell(i, ex)
            if ex.status != "ok" or (i + 1) % save_every == 0 or i == len(code_cells) - 1:
                self.put_notebook(path, nb)
            if ex.status != "ok":
                break
        if kernel is None:
            k.close()
        return nb, results

    def git_pull(self, repo: str, branch: str = "main", targetpath: str = "deep-rl-course",
                 timeout: float = 300.0) -> str:
        """What the course link (nbgitpuller) does in the browser: its event stream; return
        the last phase ('finished' or 'error')."""
        q = {"repo": repo, "branch": branch, "targetpath": targetpath}
        phase = ""
        with self.http.get(f"{self.server_url}git-pull/api", params=q, stream=True,
                           timeout=timeout, headers={"X-XSRFToken": self.xsrf()}) as r:
            if r.status_code != 200:
                raise HubClientError(f"{self.name}: git-pull -> HTTP {r.status_code}")
            for line in r.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    phase = json.loads(line[6:]).get("phase", phase)
                    if phase in ("finished", "error"):
                        break
        return phase

    # -- nbgrader's Assignments tab ----------------------------------------------------------
    def assignments(self, course: str = "deep-rl-course") -> list[dict]:
        r = self.request("GET", f"assignments?course_id={course}")
        data = r.json()
        if not data.get("success"):
            raise HubClientError(f"{self.name}: assignment list failed: {data.get('value')}")
        return data["value"]

    def assignment_action(self, action: str, assignment: str,
                          course: str = "deep-rl-course") -> dict:
        """fetch, submit or fetch_feedback, as the Assignments tab's buttons do."""
        r = self.request("POST", f"assignments/{action}",
                         data={"course_id": course, "assignment_id": assignment},
                         timeout=300)
        if r.status_code >= 400:
            raise HubClientError(f"{self.name}: {action} {assignment} -> HTTP {r.status_code}")
        return r.json()
