# syntax=docker/dockerfile:1
# Every image of the service, from one file so that the workers share their build stages:
#
#   docker build -t trainingservice-api .                                   # the API (default target)
#   docker build -t trainingservice-worker-cpu --target worker-cpu .        # a CPU worker
#   docker build -t trainingservice-worker-gpu --target worker-gpu .        # a GPU worker (CUDA 12.8)
#
# The API image is the slim one: its project graph (Contracts, Storage, ServiceDefaults, Api) has no
# TorchSharp, so it carries no libtorch at all; it runs no jobs. The workers are the Hangfire server
# with TorchSharp (src/Worker): the CPU one links libtorch's CPU build, the GPU one libtorch's CUDA
# build (TorchBackend=cuda, TorchSharp-cuda-linux); both are published by the same stage recipe from
# the same sources, only the backend word differs. Only the stages a target needs are built.
#
# Configuration is environment variables only (README, "Configuration"); no secret is baked in: the
# PostgreSQL connection string comes at run time.
#
# Base images are build arguments, with Microsoft's and NVIDIA's public images as defaults. Where no
# registry is reachable, scripts/container-base-images.sh makes local ones (Debian 12) and
# scripts/container-check.sh passes them. SDK_IMAGE and RUNTIME_IMAGE must be of the same
# distribution release: the build patches TorchSharp's native library only where the SDK image's
# libstdc++ is older than GCC 13's (build/GlibcxxCompat.targets), so a worker published on a newer
# one would not load on an older runtime.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0-noble
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04

# ---- build tools and what every project's restore reads
FROM ${SDK_IMAGE} AS sdk
# g++ (checks the SDK image's libstdc++ after a worker's publish) and patchelf (patches TorchSharp's
# native library where that libstdc++ is older than GCC 13's): installed only where the image lacks
# them, so a base image that has them (the local ones) builds offline.
RUN if ! command -v g++ >/dev/null || ! command -v patchelf >/dev/null; then \
        apt-get update \
     && apt-get install -y --no-install-recommends g++ patchelf \
     && rm -rf /var/lib/apt/lists/*; \
    fi
# No diagnostics IPC and no MSBuild nodes outliving a step: both would leave sockets in /tmp.
ENV DOTNET_EnableDiagnostics=0 \
    MSBUILDDISABLENODEREUSE=1 \
    DOTNET_CLI_USE_MSBUILD_SERVER=0
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY build/GlibcxxCompat.targets build/
COPY build/glibcxx-compat/ build/glibcxx-compat/
COPY scripts/container-publish.sh scripts/
COPY src/Contracts/ src/Contracts/
COPY src/Storage/ src/Storage/
COPY src/ServiceDefaults/ src/ServiceDefaults/

# ---- the API's publish. NuGet packages come from a build cache (BuildKit's, or buildah's under
# podman) shared by every build of this file: a source change restores from it, not from NuGet.
FROM sdk AS publish-api
COPY src/Api/ src/Api/
RUN --mount=type=cache,id=trainingservice-nuget,target=/root/.nuget/packages,sharing=locked \
    bash scripts/container-publish.sh restore api cpu \
 && bash scripts/container-publish.sh publish api cpu /out

# ---- the workers' sources: the same for both backends
FROM sdk AS worker-sources
COPY src/Models/ src/Models/
COPY src/Worker/ src/Worker/

# ---- the CPU worker's publish: libtorch-cpu-linux-x64 (hundreds of MB, restored from the cache)
FROM worker-sources AS publish-worker-cpu
RUN --mount=type=cache,id=trainingservice-nuget,target=/root/.nuget/packages,sharing=locked \
    bash scripts/container-publish.sh restore worker cpu \
 && bash scripts/container-publish.sh publish worker cpu /out

# ---- the GPU worker's publish: the same recipe with TorchSharp-cuda-linux
FROM worker-sources AS publish-worker-gpu
RUN --mount=type=cache,id=trainingservice-nuget,target=/root/.nuget/packages,sharing=locked \
    bash scripts/container-publish.sh restore worker cuda \
 && bash scripts/container-publish.sh publish worker cuda /out

# ---- what the API and CPU worker images share
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.vendor="TrainingService" \
      org.opencontainers.image.version="${VERSION}"
# Volumes mount here; a fresh named volume takes the ownership of the folder it is mounted on, so
# the non-root user (app, uid $APP_UID = 1654, from the .NET image) can write to it.
RUN mkdir -p /data/checkpoints /data/mnist && chown -R "$APP_UID:$APP_UID" /data
ENV Checkpoints__Root=/data/checkpoints \
    Mnist__DataDirectory=/data/mnist \
    Logging__Format=json
WORKDIR /app

# ---- the CPU worker: the Hangfire server, taking jobs from the cpu and default queues
FROM runtime AS worker-cpu
LABEL org.opencontainers.image.title="trainingservice-worker-cpu" \
      org.opencontainers.image.description="TrainingService worker (Hangfire server) training on the CPU"
# Fashion-MNIST, the built-in dataset fashion-mnist: the distribution's dataset-fashion-mnist (30 MB)
# puts its four files in /usr/share/datasets/fashion-mnist, where workers look by default.
RUN apt-get update \
 && apt-get install -y --no-install-recommends dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*
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

# ---- the GPU worker: the same publish recipe and sources, on NVIDIA's CUDA 12.8 runtime (Ubuntu
# 24.04, whose libstdc++ is new enough for TorchSharp). The host needs an NVIDIA driver for CUDA
# 12.8 and the NVIDIA Container Toolkit. Not buildable where NuGet lacks TorchSharp-cuda-linux.
FROM ${CUDA_RUNTIME_IMAGE} AS worker-gpu
ARG VERSION=dev
LABEL org.opencontainers.image.title="trainingservice-worker-gpu" \
      org.opencontainers.image.description="TrainingService worker (Hangfire server) training on one NVIDIA GPU (CUDA 12.8)" \
      org.opencontainers.image.vendor="TrainingService" \
      org.opencontainers.image.version="${VERSION}"
# What the .NET runtime needs beyond the CUDA image: ICU (globalization), time zones, CA certificates.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libicu74 tzdata \
 && rm -rf /var/lib/apt/lists/*
# Fashion-MNIST, as in the CPU worker (Ubuntu's universe has the same package).
RUN apt-get update \
 && apt-get install -y --no-install-recommends dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*
# The .NET runtime with ASP.NET Core (Hangfire's hosting uses it), from the runtime base image.
COPY --from=runtime /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
# The same non-root uid as the .NET images (and so the CPU images), so the images can share volumes.
ARG APP_UID=1654
RUN groupadd --gid "$APP_UID" app \
 && useradd --uid "$APP_UID" --gid app --no-create-home --home-dir /app --shell /usr/sbin/nologin app \
 && mkdir -p /data/checkpoints /data/mnist \
 && chown -R "$APP_UID:$APP_UID" /data
WORKDIR /app
COPY --from=publish-worker-gpu /out/ ./
# Worker__RequireCuda: a GPU worker that cannot use its GPU refuses to start and says why (a missing
# --gpus, driver or device), rather than quietly training on the CPU.
ENV DOTNET_RUNNING_IN_CONTAINER=true \
    Checkpoints__Root=/data/checkpoints \
    Mnist__DataDirectory=/data/mnist \
    Logging__Format=json \
    Worker__RequireCuda=true \
    Worker__LivenessFile=/tmp/trainingservice/worker.alive
USER $APP_UID
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD test -n "$(find /tmp/trainingservice/worker.alive -mmin -2 2>/dev/null)" || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "TrainingService.Worker.dll"]

# ---- the API (default target, so last): REST API, Swagger UI, Hangfire dashboard (no Hangfire
# server), and the job reaper. No TorchSharp, no libtorch.
FROM runtime AS api
LABEL org.opencontainers.image.title="trainingservice-api" \
      org.opencontainers.image.description="TrainingService REST API: submits training jobs to the queue, serves metrics and checkpoints"
# curl for the health check only, where the base image lacks it (Microsoft's has no HTTP client).
RUN if ! command -v curl >/dev/null; then \
        apt-get update \
     && apt-get install -y --no-install-recommends curl \
     && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=publish-api /out/ ./
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
USER $APP_UID
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/health/live || exit 1
ENTRYPOINT ["dotnet", "TrainingService.Api.dll"]
