"""The four endpoints, through Flask's test client (no server, no network)."""

from datetime import datetime

import pytest

from app import create_app


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("APP_VERSION", "9.9.9")
    return create_app().test_client()


def test_home_names_the_app_its_version_and_the_time(client):
    answer = client.get("/")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["name"] == "multi-stage-app"
    assert body["version"] == "9.9.9"
    assert body["status"] == "running"
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


def test_health_is_200_and_healthy(client):
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "healthy"}


def test_info_describes_the_host_and_the_runtime(client):
    body = client.get("/info").get_json()
    assert body["hostname"]
    assert body["python"].count(".") == 2
    assert body["pid"] > 0
    assert "task_metadata_endpoint" in body


def test_metrics_reports_cpu_and_memory(client):
    body = client.get("/metrics").get_json()
    assert 0 <= body["cpu_percent"] <= 100 * body["cpu_count"]
    assert body["memory_total_bytes"] > 0
    assert 0 < body["memory_used_percent"] <= 100
    assert body["process_rss_bytes"] > 0


def test_unknown_paths_are_404(client):
    assert client.get("/nope").status_code == 404
