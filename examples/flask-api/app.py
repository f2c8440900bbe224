"""The example API that shipit deploys: four JSON endpoints on port 5000.

    /         name, version, status and the time of the answer
    /health   what the ECS health check (and a load balancer) asks
    /info     where it runs: host, platform, Python, the container's task metadata endpoint
    /metrics  CPU and memory, from psutil
"""

import os
import platform
import socket
from datetime import datetime, timezone

import psutil
from flask import Flask, jsonify

APP_NAME = "multi-stage-app"


def create_app():
    app = Flask(__name__)
    version = os.environ.get("APP_VERSION", "1.0.0")

    @app.get("/")
    def home():
        return jsonify(
            name=APP_NAME,
            version=version,
            status="running",
            timestamp=datetime.now(timezone.utc).isoformat(),
        )

    @app.get("/health")
    def health():
        return jsonify(status="healthy")

    @app.get("/info")
    def info():
        return jsonify(
            hostname=socket.gethostname(),
            platform=platform.platform(),
            python=platform.python_version(),
            pid=os.getpid(),
            user=os.environ.get("USER") or str(os.getuid()),
            # Set by ECS on Fargate; absent elsewhere.
            task_metadata_endpoint=os.environ.get("ECS_CONTAINER_METADATA_URI_V4"),
        )

    @app.get("/metrics")
    def metrics():
        memory = psutil.virtual_memory()
        process = psutil.Process()
        return jsonify(
            cpu_percent=psutil.cpu_percent(interval=0.1),
            cpu_count=psutil.cpu_count(),
            memory_total_bytes=memory.total,
            memory_used_percent=memory.percent,
            process_rss_bytes=process.memory_info().rss,
        )

    return app


# gunicorn serves `app:app`; `python app.py` runs Flask's development server.
app = create_app()

if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
