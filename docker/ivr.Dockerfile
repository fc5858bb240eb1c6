# The IVR worker and the web console: Python 3.11 with espeak-ng and ffmpeg for the prompts.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends espeak-ng ffmpeg \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /winet
COPY pyproject.toml ./
COPY ivr ./ivr
RUN pip install --no-cache-dir .
COPY routing ./routing
COPY prompts ./prompts
ENV IVR_TABLES_DIR=/winet/routing IVR_PROMPTS_DIR=/winet/prompts IVR_SOUNDS_DIR=/winet/sounds
