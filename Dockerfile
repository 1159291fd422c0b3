FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY watchcache ./watchcache
RUN pip install --no-cache-dir .
EXPOSE 8080
ENTRYPOINT ["watchcache", "serve", "--host", "0.0.0.0", "--port", "8080"]
