# Wenzhou Q&A bot: a small CPU-only image with the index built in.
# Build: docker build -t wenzhou-qa-bot .    Run: docker run -e TELEGRAM_BOT_TOKEN=… -v feedback:/app/data wenzhou-qa-bot
FROM python:3.11-slim

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

# dependencies and package (changes to knowledge/ below do not invalidate this layer)
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install .

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

HEALTHCHECK --interval=60s --timeout=30s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

# the token is passed at run time: -e TELEGRAM_BOT_TOKEN=… (never baked into the image)
CMD ["python", "-m", "bot", "serve"]
