# syntax=docker/dockerfile:1
# pushgate's container image (docs/deploy.md): the wheel built from this repository,
# installed into a slim Python image, run as an unprivileged user. Settings come from
# PUSHGATE_* environment variables (README "Configuration", `pushgate init`).
#
#   docker build -t pushgate .
#   docker run -p 8080:8080 -v pushgate-data:/var/lib/pushgate pushgate

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build: the wheel, then a virtual environment holding it and its dependencies. Only that
# environment goes on to the runtime image; the sources, pip's caches and the wheel stay here.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
    && python -m venv /opt/pushgate \
    && /opt/pushgate/bin/python -m pip install /dist/pushgate-*.whl

FROM ${PYTHON_IMAGE} AS runtime
# A fixed, non-zero id: volume permissions and Kubernetes' runAsNonRoot can rely on it.
ARG APP_UID=10001
RUN groupadd --system --gid "${APP_UID}" pushgate \
    && useradd --system --uid "${APP_UID}" --gid pushgate --no-create-home \
        --home-dir /var/lib/pushgate --shell /usr/sbin/nologin pushgate \
    && mkdir -p /var/lib/pushgate \
    && chown pushgate:pushgate /var/lib/pushgate \
    && chmod 0700 /var/lib/pushgate
COPY --from=build /opt/pushgate /opt/pushgate
ENV PATH=/opt/pushgate/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PUSHGATE_DATA_DIR=/var/lib/pushgate \
    PUSHGATE_BIND=0.0.0.0:8080
# The data folder: the SQLite database and the generated secret key (embedded mode).
VOLUME ["/var/lib/pushgate"]
WORKDIR /var/lib/pushgate
USER ${APP_UID}:${APP_UID}
EXPOSE 8080
# Ready means the database answers and its migrations are at head (docs/deploy.md). The
# image has no curl: Python's own client asks, on the port PUSHGATE_BIND names.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('PUSHGATE_BIND', ':8080').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=4)"]
ENTRYPOINT ["pushgate"]
CMD ["serve"]
