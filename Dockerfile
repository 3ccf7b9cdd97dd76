# syntax=docker/dockerfile:1
# The Airflow image of this project: Airflow 3.3 with the model governance provider and its production
# extra (Postgres, Celery on Redis) installed, plus the Debian packages WeasyPrint needs for review
# document PDFs. docker-compose.yaml builds two targets:
#   production  every Airflow component (api-server, scheduler, dag-processor, triggerer, Celery worker)
#   sandbox     production + the local AWS, Jira and SMTP stand-ins (the compose `sandbox` profile)
#
#   docker build --target production -t airflow-model-governance:local .

# Must equal the apache-airflow pin in pyproject.toml (tests/unit/test_compose.py checks it).
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11

FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION} AS production
ARG AIRFLOW_VERSION

# System packages WeasyPrint needs at run time (review document PDFs): the runtime part of
# scripts/install-system-deps.sh, without its test-only packages (poppler-utils, chromium).
USER root
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
USER airflow

# The project: the provider package (found under plugins/) with its production extra. Pinning
# apache-airflow to the base image's version keeps pip from replacing the Airflow the image was built for.
WORKDIR /opt/airflow/project
COPY --chown=airflow:0 pyproject.toml README.md ./
COPY --chown=airflow:0 plugins/ plugins/
COPY --chown=airflow:0 templates/ templates/
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" ".[production]"

# DAGs and the plugins folder are baked in, so the image runs without bind mounts (Kubernetes, ECS);
# docker-compose.yaml mounts the checkout over them for development.
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 templates/ /opt/airflow/templates/
COPY --chown=airflow:0 docker/ /opt/airflow/docker/
# Mount points of named volumes must exist, owned by airflow, or Docker creates them owned by root.
RUN mkdir -p /opt/airflow/auth /opt/airflow/logs /opt/airflow/config
WORKDIR /opt/airflow

FROM production AS sandbox
ARG AIRFLOW_VERSION
# The local stand-ins for AWS (SageMaker Model Registry, S3, SQS), Jira and an SMTP sink. Never deploy
# this target against real accounts: it carries moto and the seeded sandbox users.
WORKDIR /opt/airflow/project
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" ".[production,sandbox]"
WORKDIR /opt/airflow
COPY --chown=airflow:0 sandbox/ /opt/airflow/sandbox/
RUN mkdir -p /opt/airflow/sandbox-data/jira /opt/airflow/sandbox-data/mail
