"""Settings: one table, each documented in the README, bad values refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from discuss import create_app
from discuss.config import SETTINGS, ConfigError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_documents_every_setting():
    text = README.read_text()
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DISCUSS_RATELIMIT_ENABLED", "maybe"),
        ("DISCUSS_PAGE_SIZE", "fifty"),
        ("DISCUSS_PUBLIC_URL", "ftp://example.com"),
        ("DISCUSS_SECRET_KEY", "short"),
    ],
)
def test_a_bad_setting_stops_start_up_with_its_name(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv("DISCUSS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app({"DISCUSS_DATABASE_URL": "sqlite://"})


def test_without_settings_a_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("DISCUSS_INSTANCE_PATH", str(tmp_path))
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    first = create_app()
    second = create_app()
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert str(tmp_path) in first.config["SQLALCHEMY_DATABASE_URI"]


def test_https_public_url_makes_cookies_work_inside_a_cross_site_iframe(tmp_path, monkeypatch):
    monkeypatch.setenv("DISCUSS_INSTANCE_PATH", str(tmp_path))
    app = create_app({"DISCUSS_DATABASE_URL": "sqlite://",
                      "DISCUSS_PUBLIC_URL": "https://comments.example.net"})
    assert app.config["SESSION_COOKIE_SAMESITE"] == "None"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_PARTITIONED"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


@pytest.mark.parametrize("public_url", ["http://127.0.0.1:5000", "http://localhost:8000",
                                        "http://[::1]:5000"])
def test_loopback_public_url_gets_partitioned_cookies_but_no_hsts(tmp_path, monkeypatch,
                                                                   public_url):
    # Browsers treat loopback as a secure context: Secure cookies work there over http.
    monkeypatch.setenv("DISCUSS_INSTANCE_PATH", str(tmp_path))
    app = create_app({"DISCUSS_DATABASE_URL": "sqlite://", "DISCUSS_PUBLIC_URL": public_url})
    assert app.config["SESSION_COOKIE_SAMESITE"] == "None"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_PARTITIONED"] is True
    assert app.config["DISCUSS_SECURE"] is False
    response = app.test_client().get("/embed.js")
    assert "Strict-Transport-Security" not in response.headers


def test_plain_http_on_a_real_host_keeps_cookies_first_party(tmp_path, monkeypatch):
    monkeypatch.setenv("DISCUSS_INSTANCE_PATH", str(tmp_path))
    app = create_app({"DISCUSS_DATABASE_URL": "sqlite://",
                      "DISCUSS_PUBLIC_URL": "http://comments.example.net"})
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_PARTITIONED"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
