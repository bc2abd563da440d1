# syntax=docker/dockerfile:1
# The API image (the default target) and the CPU worker image (--target worker-cpu).
#
#   docker build -t trainingservice-api .
#   docker build -t trainingservice-worker-cpu --target worker-cpu .
#
# Both link the CPU build of libtorch (TorchBackend=cpu): the API image carries no CUDA libraries.
# The GPU worker is Dockerfile.gpu. Configuration is environment variables only (README,
# "Configuration"); no secret is baked in: the PostgreSQL connection string comes at run time.
ARG DOTNET_VERSION=10.0

# ---- restore: only the project files, so a source change does not invalidate the package layer
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION}-noble AS restore
# g++: build/GlibcxxCompat.targets compiles a small ELF checker after every publish to see whether
# the host's libstdc++ is new enough for TorchSharp (on Ubuntu 24.04 it is, and nothing is patched).
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY build/ build/
COPY scripts/container-publish.sh scripts/
COPY src/Models/Models.csproj src/Models/
COPY src/Jobs/Jobs.csproj src/Jobs/
COPY src/Worker/Worker.csproj src/Worker/
COPY src/Api/Api.csproj src/Api/
# The API's graph includes the worker (it hosts one on the embedded store), so this restores both.
RUN bash scripts/container-publish.sh restore api cpu
COPY src/ src/

FROM restore AS publish-api
RUN bash scripts/container-publish.sh publish api cpu /out

FROM restore AS publish-worker-cpu
RUN bash scripts/container-publish.sh publish worker cpu /out

# ---- what both runtime images share
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.vendor="TrainingService" \
      org.opencontainers.image.version="${VERSION}"
# Volumes mount here; a fresh named volume takes the ownership of the folder it is mounted on, so
# the non-root user (app, uid 1654, from the .NET image) can write to it.
RUN mkdir -p /data/checkpoints /data/mnist && chown -R "$APP_UID:$APP_UID" /data
ENV Checkpoints__Root=/data/checkpoints \
    Mnist__DataDirectory=/data/mnist \
    Storage__SqlitePath=/data/trainingservice.db \
    Logging__Format=json
WORKDIR /app

# ---- the CPU worker: takes jobs from the cpu and default queues
FROM runtime AS worker-cpu
LABEL org.opencontainers.image.title="trainingservice-worker-cpu" \
      org.opencontainers.image.description="TrainingService worker (Hangfire server) training on the CPU"
COPY --from=publish-worker-cpu /out/ ./
# The worker has no HTTP endpoint: its heartbeat loop touches this file every 5 s, and the health
# check asks whether it did so within the last 2 minutes.
ENV Worker__LivenessFile=/tmp/trainingservice/worker.alive
USER $APP_UID
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD test -n "$(find /tmp/trainingservice/worker.alive -mmin -2 2>/dev/null)" || exit 1
# A stop lets the running job reach a step boundary and checkpoint (Worker__ShutdownTimeout, 60 s):
# give it `docker stop -t 120` / stop_grace_period: 2m.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "TrainingService.Worker.dll"]

# ---- the API (default target): REST API, Swagger UI, Hangfire dashboard, and the job reaper
FROM runtime AS api
LABEL org.opencontainers.image.title="trainingservice-api" \
      org.opencontainers.image.description="TrainingService REST API: submits training jobs to the queue, serves metrics and checkpoints"
# curl for the health check only (the .NET image has no HTTP client on the command line).
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=publish-api /out/ ./
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
USER $APP_UID
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/health/live || exit 1
ENTRYPOINT ["dotnet", "TrainingService.Api.dll"]
