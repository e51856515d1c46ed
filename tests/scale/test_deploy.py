"""deploy/: no Docker engine or Helm runs here, so what can be checked without them is: the compose file as
docker-compose reads it (when the tool is installed) and its essentials, the Dockerfile's stages, user and
health check, and the Helm chart's files, each value its templates use being set in values.yaml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CHART = DEPLOY / "helm" / "plait"


def test_the_compose_file_runs_api_worker_postgres_with_pgvector_and_redis() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"api", "worker", "postgres", "redis"}
    assert services["api"]["command"][:2] == ["plait", "serve"]
    assert services["worker"]["command"] == ["plait", "worker"]
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    for name in ("api", "worker"):
        environment = services[name]["environment"]
        assert environment["PLAIT_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert environment["PLAIT_REDIS_URL"] == "redis://redis:6379/0"
        assert set(services[name]["depends_on"]) == {"postgres", "redis"}
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_reads_the_file() -> None:
    env = {**os.environ, "PLAIT_SECRET_KEY": "k"}
    subprocess.run(["docker-compose", "-f", str(DEPLOY / "docker-compose.yml"), "config", "-q"], env=env, check=True)


def test_the_image_is_built_in_stages_and_runs_as_a_user_with_a_health_check() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) == 2
    assert "COPY --from=build" in dockerfile
    user = re.search(r"^USER (\S+)$", dockerfile, re.M)
    assert user is not None and user.group(1) not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n.*/health", dockerfile, re.M)


def _value(values: dict[str, Any], path: str) -> object:
    node: Any = values
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f".Values.{path} is not in values.yaml"
        node = node[part]
    return node


def test_the_helm_chart_sets_every_value_its_templates_use() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "plait"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    templates = {path.name: path.read_text() for path in (CHART / "templates").iterdir()}
    assert {"api.yaml", "worker.yaml", "service.yaml", "secret.yaml", "_helpers.tpl"} <= set(templates)
    used = {path for text in templates.values() for path in re.findall(r"\.Values\.([A-Za-z0-9_.]+)", text)}
    for path in used:
        _value(values, path)
    assert '["plait", "worker"]' in templates["worker.yaml"]
    assert "path: /ready" in templates["api.yaml"] and "path: /health" in templates["api.yaml"]
    assert values["podSecurityContext"]["runAsNonRoot"] is True
