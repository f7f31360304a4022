# Single-user image for a workshop JupyterHub (Zero to JupyterHub: deploy/z2jh-values.yaml).
# Every learner's server runs this: JupyterLab, the course package and its pinned dependencies,
# nbgitpuller (pulls lessons/ into the learner's home) and nbgrader's learner side (fetch/submit).
#
#   docker build -t ghcr.io/deep-rl-course/singleuser:0.1.0 .
#
# Pins: the base image by exact tag; Python packages exactly as pyproject.toml pins them (the
# course is installed from this checkout's pyproject.toml); jupyterhub matches the hub of Z2JH
# chart 4.3.3. tests/test_deploy.py checks these pins. The hidden tests (autograder/) are NOT
# copied: learners' servers never hold them.
FROM python:3.11.7-slim-bookworm

ARG NB_USER=jovyan
ARG NB_UID=1000
ENV HOME=/home/${NB_USER} \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/tmp/matplotlib

RUN apt-get update \
 && apt-get install -y --no-install-recommends git tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid ${NB_UID} --shell /bin/bash ${NB_USER}

# The course package with its pinned runtime + course dependencies; torch from the CPU index
# (the default wheel drags in ~3 GB of CUDA libraries a CPU pod never uses).
COPY pyproject.toml README.md /opt/course/
COPY rlcore /opt/course/rlcore
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu \
        "/opt/course[course]" \
        jupyterhub==5.4.4 \
        nbgitpuller==1.3.0 \
 && rm -rf /opt/course \
 && python -c "import rlcore, torch; print('rlcore', rlcore.__version__, 'torch', torch.__version__)"

# Learners fetch and submit through nbgrader's exchange; they do not get the instructor tools.
COPY deploy/nbgrader_config.py /etc/jupyter/nbgrader_config.py
RUN jupyter labextension disable --level=system @jupyter/nbgrader:formgrader \
 && jupyter labextension disable --level=system @jupyter/nbgrader:create-assignment \
 && jupyter labextension disable --level=system @jupyter/nbgrader:course-list \
 && jupyter server extension disable --sys-prefix nbgrader.server_extensions.formgrader \
 && jupyter server extension disable --sys-prefix nbgrader.server_extensions.course_list

USER ${NB_UID}
WORKDIR ${HOME}
EXPOSE 8888
ENTRYPOINT ["tini", "--"]
CMD ["jupyterhub-singleuser"]
