#!/usr/bin/env python3
"""Writes the first run's stand-in image as an OCI layout, with no Docker engine: one layer
with Debian's static busybox (/bin/busybox, from busybox-static), the applets the image uses
as links, and two files an httpd serves on PORT. Prints the manifest digest.

    stand-in-image.py LAYOUT_DIR APP PORT
"""

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest[7:])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": digest, "size": len(data)}


def add_file(tar, name, data, mode):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def main():
    layout, app, port = sys.argv[1], sys.argv[2], sys.argv[3]
    busybox = sys.argv[4] if len(sys.argv) > 4 else "/bin/busybox"
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        with open(busybox, "rb") as f:
            add_file(tar, "bin/busybox", f.read(), 0o755)
        for applet in ("sh", "httpd", "wget", "echo"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode, link.mtime = tarfile.SYMTYPE, "busybox", 0o777, 0
            tar.addfile(link)
        add_file(tar, "www/index.html", json.dumps({"name": app, "status": "running"}).encode(), 0o644)
        add_file(tar, "www/health", b'{"status": "healthy"}\n', 0o644)
    raw = layer.getvalue()
    compressed = gzip.compress(raw, mtime=0)
    layer_desc = dict(blob(layout, compressed),
                      mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/bin"],
            "ExposedPorts": {f"{port}/tcp": {}},
            "Cmd": ["/bin/sh", "-c",
                    f"echo {app} stand-in listening on port {port}; exec httpd -f -v -p {port} -h /www"],
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
    }
    config_desc = dict(blob(layout, json.dumps(config, sort_keys=True).encode()),
                       mediaType="application/vnd.oci.image.config.v1+json")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [layer_desc],
    }
    manifest_desc = dict(blob(layout, json.dumps(manifest, sort_keys=True).encode()),
                         mediaType="application/vnd.oci.image.manifest.v1+json")
    manifest_desc["annotations"] = {"org.opencontainers.image.ref.name": "first-run"}
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [manifest_desc]}, f)
    print(manifest_desc["digest"])


if __name__ == "__main__":
    main()
