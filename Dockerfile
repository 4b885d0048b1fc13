# Production image: PostgreSQL via TRACKER_DATABASE_URL, migrations applied at start.
#   docker run -e TRACKER_DATABASE_URL=postgresql+psycopg://… -p 8000:8000 IMAGE            (the web app, gunicorn)
#   docker run -e TRACKER_DATABASE_URL=… IMAGE worker                                        (the one scheduler)
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TRACKER_INSTANCE_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md babel.cfg ./
COPY tracker ./tracker
COPY couriers ./couriers
COPY imports ./imports
COPY templates ./templates
# Editable: the web templates live beside the packages in /app/templates, not inside one.
RUN pip install --no-cache-dir -e . && useradd --create-home tracker && mkdir -p /data && chown tracker /data
USER tracker
VOLUME ["/data"]
EXPOSE 8000
# Migrate, then run the command given (default: the web app on gunicorn).
ENTRYPOINT ["sh", "-c", "tracker db upgrade && exec tracker \"$@\"", "--"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
