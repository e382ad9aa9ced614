"""Search images, files and logs for the corpus's planted secrets (tests only; never prints a value).

  leakcheck.py --secrets tests/corpus/secrets.txt [--image REF]... [--path FILE_OR_DIR]...

Each planted secret of the secrets file (one per line, after a '# service: where' comment) is searched
for, as bytes, in every layer of each image (``podman image save`` in docker-archive format, every
layer tarball unpacked in memory), and in every file under each path (profiles, the ledger, reports,
the -vvv logs of the runs, the build contexts). A hit names the secret by its comment and the place
(image layer and file, or file), never by its value. Exit 0 when nothing is found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile


def read_secrets(path: str) -> list[tuple[str, bytes]]:
    """(label, value) pairs: the label is the comment line before the value."""
    secrets, label = [], "unlabelled"
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith("#"):
                label = line.lstrip("# ").strip()
            elif line.strip():
                secrets.append((label, line.strip().encode()))
    if not secrets:
        sys.exit("leakcheck: no secrets in %s" % path)
    return secrets


def search(data: bytes, secrets: list[tuple[str, bytes]], where: str) -> list[str]:
    return ["%s: found in %s" % (label, where) for label, value in secrets if value in data]


def scan_tar(blob: bytes, secrets: list[tuple[str, bytes]], where: str) -> list[str]:
    hits = []
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for member in tar:
            if not member.isfile():
                continue
            data = tar.extractfile(member).read()
            if member.name.endswith((".tar", "/layer.tar")) or (member.name.endswith(".tar.gz")):
                try:
                    hits += scan_tar(data, secrets, "%s layer %s" % (where, member.name))
                    continue
                except tarfile.TarError:
                    pass
            hits += search(data, secrets, "%s: %s" % (where, member.name))
    return hits


def scan_image(ref: str, secrets: list[tuple[str, bytes]]) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "image.tar")
        subprocess.run(["podman", "image", "save", "--format", "docker-archive", "-o", archive, ref], check=True, capture_output=True)
        with open(archive, "rb") as handle:
            return scan_tar(handle.read(), secrets, "image %s" % ref)


def scan_path(path: str, secrets: list[tuple[str, bytes]]) -> tuple[list[str], int]:
    hits, count = [], 0
    files = [path] if os.path.isfile(path) else [os.path.join(r, n) for r, _d, names in os.walk(path) for n in names]
    for name in files:
        if os.path.islink(name) or not os.path.isfile(name):
            continue
        with open(name, "rb") as handle:
            hits += search(handle.read(), secrets, name)
        count += 1
    return hits, count


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", required=True)
    parser.add_argument("--image", action="append", default=[])
    parser.add_argument("--path", action="append", default=[])
    args = parser.parse_args()
    secrets = read_secrets(args.secrets)
    hits, files = [], 0
    for ref in args.image:
        hits += scan_image(ref, secrets)
    for path in args.path:
        if not os.path.exists(path):
            sys.exit("leakcheck: %s does not exist" % path)
        found, count = scan_path(path, secrets)
        hits, files = hits + found, files + count
    for hit in hits:
        print("LEAK " + hit)
    print("leakcheck: %d secrets searched in %d image(s) and %d file(s): %d found" % (len(secrets), len(args.image), files, len(hits)))
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
