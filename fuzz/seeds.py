#!/usr/bin/env python3
"""Writes small, valid starting inputs for the fuzz targets, so that the fuzzer begins deep in
the parsers rather than at "not a tar":

    seeds.py TARGET CORPUS_DIR

image_archive: a `docker save` archive and an OCI archive of one image (a plain and a gzipped
layer); layer_tree: layer tars with a symlink, a hard link, a whiteout and an opaque directory;
registry_responses: a challenge, an ECR token, a digest, a manifest, an index, an image config
and health checks. Every seed stays under fuzz/run's 64 KiB input limit.
"""

import base64
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def tar_of(entries):
    """entries: (name, kind, data_or_target, mode) with kind file|dir|symlink|link."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, payload, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = mode, 0
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "link": tarfile.LNKTYPE}[kind]
            if kind != "dir":
                info.linkname = payload
            tar.addfile(info)
    return out.getvalue()


BASE_LAYER = [
    ("bin", "dir", None, 0o755),
    ("bin/busybox", "file", b"\x7fELF stand-in\n", 0o755),
    ("bin/sh", "symlink", "busybox", 0o777),
    ("usr/bin", "dir", None, 0o755),
    ("usr/bin/curl", "link", "bin/busybox", 0o755),
    ("usr/local/bin/python", "symlink", "../../../bin/busybox", 0o777),
    ("etc/passwd", "file", b"root:x:0:0::/root:/bin/sh\n", 0o644),
    ("var/cache/old", "file", b"stale\n", 0o644),
]
UPPER_LAYER = [
    ("etc/.wh.passwd", "file", b"", 0o644),
    ("var/cache/.wh..wh..opq", "file", b"", 0o644),
    ("app/app.py", "file", b"print('hello')\n", 0o644),
    ("app/run", "symlink", "/usr/local/bin/python", 0o777),
]


def image_config(diff_ids):
    return json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
            "Cmd": ["/bin/sh"],
            "Healthcheck": {"Test": ["CMD-SHELL", "curl -f http://localhost:5000/health || exit 1"]},
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d in diff_ids]},
    }).encode()


def docker_archive(layers):
    config = image_config([sha256(l) for l in layers])
    entries = [(sha256(config) + ".json", "file", config, 0o644)]
    names = []
    for layer in layers:
        name = sha256(layer) + "/layer.tar"
        entries += [(sha256(layer), "dir", None, 0o755), (name, "file", layer, 0o644)]
        names.append(name)
    manifest = [{"Config": sha256(config) + ".json", "RepoTags": ["app:1"], "Layers": names}]
    entries.append(("manifest.json", "file", json.dumps(manifest).encode(), 0o644))
    return tar_of(entries)


def oci_manifest(config, layer_blobs):
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + sha256(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": "sha256:" + sha256(b), "size": len(b)} for b in layer_blobs],
    }).encode()


def oci_index(manifest):
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": "sha256:" + sha256(manifest), "size": len(manifest),
                       "platform": {"architecture": "amd64", "os": "linux"},
                       "annotations": {"org.opencontainers.image.ref.name": "1"}}],
    }).encode()


def oci_archive(layers):
    config = image_config([sha256(l) for l in layers])
    blobs = [gzip.compress(l, mtime=0) for l in layers]
    manifest = oci_manifest(config, blobs)
    entries = [("oci-layout", "file", b'{"imageLayoutVersion":"1.0.0"}', 0o644),
               ("index.json", "file", oci_index(manifest), 0o644),
               ("blobs/sha256", "dir", None, 0o755)]
    for data in [config, manifest] + blobs:
        entries.append(("blobs/sha256/" + sha256(data), "file", data, 0o644))
    return tar_of(entries)


def main():
    target, corpus = sys.argv[1], sys.argv[2]
    os.makedirs(corpus, exist_ok=True)
    base, upper = tar_of(BASE_LAYER), tar_of(UPPER_LAYER)
    config = image_config([sha256(base), sha256(upper)])
    manifest = oci_manifest(config, [gzip.compress(base, mtime=0)])
    seeds = {
        "image_archive": {
            "docker-archive.tar": docker_archive([base, upper]),
            "oci-archive.tar": oci_archive([base, upper]),
        },
        "layer_tree": {"base.tar": base, "upper.tar": upper},
        "registry_responses": {
            "challenge": b'Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull,push"',
            "challenge-basic": b'Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/"',
            # Hostile: a token server on another host, over plain HTTP, with control characters.
            "challenge-elsewhere": b'Bearer realm="http://tokens.evil.example/token\x1b]0;title\x07",service="x"',
            "ecr-token": base64.b64encode(b"AWS:not-a-real-password"),
            "digest": b"sha256:" + sha256(b"").encode(),
            "manifest": manifest,
            "index": oci_index(manifest),
            "config": config,
            "health-shell": b"curl -f http://localhost:5000/health || exit 1",
            "health-exec": b"python\n-c\nimport urllib.request; urllib.request.urlopen('http://localhost:5000/health')",
        },
    }[target]
    for name, data in seeds.items():
        assert len(data) < 65536, name
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
