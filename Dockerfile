# Production image: PostgreSQL via TRACKER_DATABASE_URL, migrations applied at start.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TRACKER_INSTANCE_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY tracker ./tracker
COPY couriers ./couriers
COPY imports ./imports
COPY templates ./templates
RUN pip install --no-cache-dir . && useradd --create-home tracker && mkdir -p /data && chown tracker /data
USER tracker
VOLUME ["/data"]
# Migrate, then run the command given (default: show the commands).
ENTRYPOINT ["sh", "-c", "tracker db upgrade && exec tracker \"$@\"", "--"]
CMD ["--help"]
