"""The sandbox image: named by a hash of its build inputs, built on first use."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import subprocess
from pathlib import Path

import docker
import docker.errors

IMAGE_DIR = Path(__file__).resolve().parent / "image"
REPOSITORY = "verirl-sandbox"
log = logging.getLogger(__name__)


def image_tag() -> str:
    digest = hashlib.sha256()
    for name in ("build.sh", "Dockerfile"):
        digest.update((IMAGE_DIR / name).read_bytes())
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def ensure_image(client: docker.DockerClient) -> str:
    """The image tag, building the image (debootstrap + docker import) when missing."""
    tag = image_tag()
    with open("/tmp/verirl-sandbox-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, however many pools start
        try:
            client.images.get(tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
        log.warning("building sandbox image %s (a few minutes, once)", tag)
        subprocess.run(["bash", str(IMAGE_DIR / "build.sh"), tag], check=True)
    return tag


if __name__ == "__main__":  # `python -m sandbox.image`: build the image now if missing
    logging.basicConfig(level=logging.INFO)
    print(ensure_image(docker.from_env(timeout=600)))
