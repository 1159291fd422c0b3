# The wheel is built where a C compiler is (setup.py compiles the rule modules with mypyc);
# the image that runs it has none.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY watchcache ./watchcache
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
EXPOSE 8080
ENTRYPOINT ["watchcache", "serve", "--host", "0.0.0.0", "--port", "8080"]
