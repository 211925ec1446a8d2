# The gateway image: web (gunicorn), worker and beat (Celery) and the sandbox share it.
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
RUN pip install . \
    && DEBUG=true python manage.py collectstatic --noinput \
    && mkdir -p /app/run/prometheus \
    && chown -R gateway:gateway /app

USER gateway
EXPOSE 8000
ENV BIND_HOST=0.0.0.0 PORT=8000
CMD ["gunicorn", "gateway.wsgi:application", "--config", "gateway/gunicorn_conf.py"]
