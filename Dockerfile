# Grievance Desk: multi-stage image, runs as an unprivileged user, data in /data.
#   docker build -t grievance-desk .
#   docker run -p 8000:8000 -v grievance-data:/data grievance-desk

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /srv/grievance
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY app/__init__.py app/__init__.py
COPY channels/__init__.py channels/__init__.py
RUN pip install -e . && pip uninstall -y grievance-desk
COPY . .
# The package is installed in place: the catalogs and migrations beside it are used as they are.
RUN pip install --no-deps -e . \
 && pybabel compile -d locales -D "sms web notify remediation danger voice console" \
 && find . -name '__pycache__' -prune -exec rm -rf {} + \
 && python -m compileall -q app channels migrations

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GRIEVANCE_DATA_DIR=/data \
    GRIEVANCE_DATABASE_URL=sqlite:////data/grievance.db
RUN groupadd --system --gid 10001 grievance \
 && useradd --system --uid 10001 --gid grievance --home-dir /data --shell /usr/sbin/nologin grievance \
 && install -d -o grievance -g grievance -m 0700 /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /srv/grievance /srv/grievance
WORKDIR /srv/grievance
USER grievance
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["grievance", "serve", "--host", "0.0.0.0", "--port", "8000"]
