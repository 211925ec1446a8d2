# Two images from one file. The default (last) target is the production image: web (gunicorn), worker
# and beat (Celery); the provider sandbox is not in it. `--target sandbox` builds the development-only
# sandbox image that `docker compose --profile dev` runs.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN groupadd --system gateway && useradd --system --gid gateway --home-dir /app --shell /usr/sbin/nologin gateway

COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY accounts_app ./accounts_app
COPY channels_app ./channels_app
COPY webhooks_app ./webhooks_app
COPY manage.py ./

FROM base AS sandbox
COPY sandbox ./sandbox
RUN pip install . && chown -R gateway:gateway /app
USER gateway
EXPOSE 8025
CMD ["python", "manage.py", "run_sandbox", "--host", "0.0.0.0", "--port", "8025"]

FROM base AS gateway
RUN pip install . \
    && DEBUG=true python manage.py collectstatic --noinput \
    && mkdir -p /app/run/prometheus \
    && chown -R gateway:gateway /app

USER gateway
EXPOSE 8000
ENV BIND_HOST=0.0.0.0 PORT=8000
CMD ["gunicorn", "gateway.wsgi:application", "--config", "gateway/gunicorn_conf.py"]
