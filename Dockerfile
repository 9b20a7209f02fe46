# Policy-article Q&A bot: a small CPU-only image with the index built in.
# Build: docker build -t wenzhou-qa-bot .    Run: docker run -e TELEGRAM_BOT_TOKEN=… -v feedback:/app/data wenzhou-qa-bot
# The base image is pinned by digest, so a rebuild gets the same system. This digest of python:3.11-slim was
# taken from public Dockerfiles (two independent ones pin it); it could not be checked here (no Docker engine).
# Check and update it with: docker buildx imagetools inspect python:3.11-slim   (docs/operations.md)
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

ARG TORCH_VERSION=2.13.0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin bot
WORKDIR /app

# torch's CPU build first, from PyTorch's CPU index: a bare `torch` requirement would pull CUDA (GBs).
RUN pip install "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu

# dependencies at the versions of the lock (constraints.txt, made by pip-tools: `make lock`), then the package;
# changes to knowledge/ below do not invalidate this layer
COPY pyproject.toml README.md constraints.txt ./
COPY bot ./bot
RUN pip install . -c constraints.txt

# content and the index built from it at image build time
COPY knowledge ./knowledge
COPY index/README.md ./index/README.md
RUN python -m bot build --check && python -m bot build \
    && mkdir -p /app/data && chown -R bot:bot /app/index /app/data

USER bot
# feedback database (setting feedback_db defaults to data/feedback.sqlite3)
VOLUME ["/app/data"]
# webhook mode only (setting webhook_port); long polling needs no open port
EXPOSE 8443

# healthy while the index is whole and `serve` polls or listens (its heartbeat file, setting heartbeat_file)
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "health", "--live"]

# the token is passed at run time: -e TELEGRAM_BOT_TOKEN=… (never baked into the image)
CMD ["python", "-m", "bot", "serve"]
