# One image for the gateway and every service; the command picks which process runs.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 METRICS_PORT=9100
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY gateway ./gateway
COPY infra/__init__.py infra/embedded_mongo.py infra/smtp_capture.py ./infra/
RUN pip install . && useradd --create-home --uid 10001 hireloop
USER hireloop
CMD ["python", "-m", "gateway"]
