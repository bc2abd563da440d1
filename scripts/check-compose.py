"""Checks the rendered compose stack (`docker-compose --profile cpu config` output) is what the README
describes: services and profiles, the GPU reservation, the shared volumes, and build targets that
exist in their Dockerfiles. Run by scripts/check-deploy.sh with the system python3 (PyYAML comes
with Debian's docker-compose).

usage: python3 check-compose.py RENDERED_COMPOSE.yml
"""
import os
import re
import sys

import yaml

config = yaml.safe_load(open(sys.argv[1]))
services = config["services"]
problems = []


def expect(condition, message):
    print(f"  {'ok' if condition else 'MISSING'}: {message}")
    if not condition:
        problems.append(message)


def mounts(name):
    found = set()
    for volume in services[name].get("volumes", []):
        if isinstance(volume, dict):
            found.add(f"{volume.get('source')}:{volume.get('target')}")
        else:
            source, target = volume.split(":")[:2]
            found.add(f"{source}:{target}")
    return found


default = sorted(name for name, service in services.items() if not service.get("profiles"))
expect(default == ["api", "postgres", "worker"], f"`docker compose up` runs api, postgres, worker (found {default})")
expect(services.get("worker-cpu", {}).get("profiles") == ["cpu"], "worker-cpu is in the cpu profile only")
devices = services["worker"].get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
expect(any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) and d.get("count") == 1 for d in devices),
       "worker reserves one NVIDIA GPU")
expect("healthcheck" in services["postgres"], "postgres has a health check")
expect(services["api"].get("depends_on", {}).get("postgres", {}).get("condition") == "service_healthy",
       "api waits for a healthy database")
ports = [str(p.get("target")) if isinstance(p, dict) else str(p) for p in services["api"].get("ports", [])]
expect(any(p.endswith("8080") for p in ports), "api publishes its port 8080")
for name in ["api", "worker", "worker-cpu"]:
    expect("checkpoints:/data/checkpoints" in mounts(name), f"{name} mounts the shared checkpoint volume")
for name in ["worker", "worker-cpu"]:
    expect("mnist:/data/mnist" in mounts(name), f"{name} mounts the MNIST volume")
    environment = services[name].get("environment", {})
    expect(environment.get("Storage__PostgresConnectionString", "").startswith("Host=postgres;"),
           f"{name} uses the compose database")
for name, target in [("api", "api"), ("worker", "worker-gpu"), ("worker-cpu", "worker-cpu")]:
    expect(services[name].get("build", {}).get("target") == target, f"{name} is the Dockerfile's {target} target")
for name, service in services.items():
    expect("Worker__Enabled" not in service.get("environment", {}),
           f"{name} does not set Worker__Enabled (gone: the API never runs jobs)")
for name, service in services.items():
    build = service.get("build")
    if not build:
        continue
    dockerfile = os.path.join(build["context"], build.get("dockerfile", "Dockerfile"))
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", open(dockerfile).read(), re.M | re.I)
    target = build.get("target", stages[-1] if stages else None)
    expect(target in stages, f"{name} builds {os.path.basename(dockerfile)} target {target}")
sys.exit(1 if problems else 0)
