"""deploy/: the server image, compose.yaml and the Kubernetes manifests, checked offline."""

import copy
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
import yaml
from conftest import ROOT

from verirl import config

DEPLOY = ROOT / "deploy"
GUEST = "/opt/verirl/sandbox/guest"


def manifests() -> dict[str, dict]:
    docs = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            docs[doc["kind"]] = doc
    return docs


def test_manifests_pass_the_kubernetes_schemas_and_a_broken_one_does_not():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")  # the bench extra
    version = kubernetes_validate.latest_version()
    docs = manifests()
    assert set(docs) == {"ConfigMap", "Deployment", "Service"}
    for doc in docs.values():
        kubernetes_validate.validate(doc, version, strict=True)
    broken = copy.deepcopy(docs["Deployment"])
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["prot"] = 50051
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)


def test_server_settings_in_the_configmap_and_compose_are_valid():
    for text in (manifests()["ConfigMap"]["data"]["verirl.toml"], (DEPLOY / "verirl.toml").read_text()):
        cfg = config.ServerConfig(**{**tomllib.loads(text), "token": "x"})  # the token comes from a secret
        cfg.check()
        assert cfg.host == "0.0.0.0" and cfg.port == 50051 and cfg.metrics_port == 9100


def test_deployment_drains_within_its_grace_and_is_ready_by_grpc_health():
    docs = manifests()
    cfg = tomllib.loads(docs["ConfigMap"]["data"]["verirl.toml"])
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > cfg["grace_s"] + cfg["drain_notice_s"]
    server = pod["containers"][0]
    assert server["readinessProbe"]["grpc"]["port"] == cfg["port"]
    mounts = {m["name"]: m["mountPath"] for m in server["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert (
        mounts["docker-socket"] == "/var/run/docker.sock"
        and volumes["docker-socket"]["hostPath"]["type"] == "Socket"
    )
    # The node's Engine mounts the guest code from a node path: same path on both sides.
    assert mounts["guest"] == volumes["guest"]["hostPath"]["path"] == GUEST
    assert pod["hostPID"] is True
    service = docs["Service"]["spec"]
    assert (
        service["clusterIP"] == "None"
        and service["selector"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]
    )


def test_compose_runs_replicas_with_the_socket_and_a_long_enough_stop_grace():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    server = compose["services"]["verirl"]
    assert str(server["deploy"]["replicas"]).startswith("${VERIRL_REPLICAS")
    assert "/var/run/docker.sock:/var/run/docker.sock" in server["volumes"]
    assert f"{GUEST}:{GUEST}:ro" in server["volumes"]
    cfg = tomllib.loads((DEPLOY / "verirl.toml").read_text())
    assert int(server["stop_grace_period"].rstrip("s")) > cfg["grace_s"] + cfg["drain_notice_s"]
    assert server["pid"] == "host"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_accepts_the_file(tmp_path):
    token = DEPLOY / "token"
    created = not token.exists()
    if created:
        token.write_text("test\n")
    try:
        done = subprocess.run(
            ["docker-compose", "-f", str(DEPLOY / "compose.yaml"), "config"],
            env={"VERIRL_REPLICAS": "3", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        if created:
            token.unlink()
    assert done.returncode == 0, done.stderr
    assert "replicas: 3" in done.stdout


def test_the_image_copies_every_package_and_runs_server_py():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.M))
    assert packages <= copied, packages - copied
    assert 'ENTRYPOINT ["python", "/opt/verirl/server.py"]' in dockerfile
    assert "WORKDIR /opt/verirl" in dockerfile  # so sandbox/guest is at GUEST inside the image


def test_healthcheck_script_against_a_real_server(start_server):
    script = str(DEPLOY / "healthcheck.py")
    server = start_server("--no-sandbox")
    ok = subprocess.run([sys.executable, script, server.target], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "SERVING" in ok.stdout
    server.stop()
    gone = subprocess.run([sys.executable, script, server.target], capture_output=True, text=True, timeout=30)
    assert gone.returncode == 1
