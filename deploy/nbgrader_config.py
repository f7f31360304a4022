"""nbgrader on a learner's hub server: only the exchange (fetch, submit), no course folder.

Installed as /etc/jupyter/nbgrader_config.py by the Dockerfile. The exchange is a shared
folder mounted into every learner's server at /srv/nbgrader/exchange (a ReadWriteMany
volume in deploy/z2jh-values.yaml, a plain directory on The Littlest JupyterHub).
`make hub` (deploy/hub/) uses this same file with $NBGRADER_EXCHANGE set to its own folder.
"""

import os

c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "deep-rl-course"
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
# Every container runs as "jovyan": nbgrader then names submissions by $JUPYTERHUB_USER.
