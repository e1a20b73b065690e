"""Production mode refuses to start with an unsafe setting, and is clean under `check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REGARD = Path(sys.executable).with_name("regard")
GOOD_KEY = secrets.token_urlsafe(48)


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    # Nothing of the test run's own environment: its REGARD_* and DATABASE_URL, nor the
    # async-unsafe switch the browser tests need (check --deploy rightly refuses that).
    inherited = {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGARD_") and k not in inherited}
    env |= {
        "DJANGO_SETTINGS_MODULE": "regard.config.settings",
        "REGARD_ENV": "production",
        "REGARD_DATA_DIR": str(tmp_path),
        "REGARD_SECRET_KEY": GOOD_KEY,
        "REGARD_ALLOWED_HOSTS": "crm.example.com",
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"REGARD_SECRET_KEY": None}, "REGARD_SECRET_KEY"),
        ({"REGARD_SECRET_KEY": "short-but-not-default"}, "REGARD_SECRET_KEY"),
        ({"REGARD_DEBUG": "1"}, "REGARD_DEBUG"),
        ({"REGARD_DEBUG": "true"}, "REGARD_DEBUG"),
        ({"REGARD_ALLOWED_HOSTS": None}, "REGARD_ALLOWED_HOSTS"),
        ({"REGARD_ALLOWED_HOSTS": " , "}, "REGARD_ALLOWED_HOSTS"),
        ({"REGARD_SECRET_KEY": "a" * 60}, "REGARD_SECRET_KEY"),
        ({"REGARD_SECRET_KEY": "ab" * 40}, "REGARD_SECRET_KEY"),
        (
            {"REGARD_SECRET_KEY": "regard-development-key-do-not-use-in-production-0123456789abcdefXYZ"},
            "REGARD_SECRET_KEY",
        ),
    ],
)
def test_production_refuses_to_start_with_an_unsafe_setting(
    tmp_path: Path, overrides: dict[str, str | None], named: str
) -> None:
    result = start(production_env(tmp_path, **overrides))
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert named in result.stderr


def test_production_names_every_unsafe_setting_at_once(tmp_path: Path) -> None:
    env = production_env(tmp_path, REGARD_SECRET_KEY=None, REGARD_DEBUG="on", REGARD_ALLOWED_HOSTS=None)
    result = start(env)
    assert result.returncode != 0
    for name in ("REGARD_SECRET_KEY", "REGARD_DEBUG", "REGARD_ALLOWED_HOSTS"):
        assert name in result.stderr


def test_production_starts_with_a_safe_configuration(tmp_path: Path) -> None:
    result = start(production_env(tmp_path))
    assert result.returncode == 0, result.stderr


def test_development_starts_with_the_defaults(tmp_path: Path) -> None:
    result = start(
        production_env(tmp_path, REGARD_ENV=None, REGARD_SECRET_KEY=None, REGARD_ALLOWED_HOSTS=None)
    )
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_in_production(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(REGARD), "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("value", ["prod", "Prod", "staging", "live"])
def test_an_unknown_environment_is_refused_not_run_as_development(tmp_path: Path, value: str) -> None:
    result = start(production_env(tmp_path, REGARD_ENV=value, REGARD_SECRET_KEY=None))
    assert result.returncode != 0
    assert "REGARD_ENV" in result.stderr
    assert value.lower() in result.stderr


def test_production_spelled_with_capitals_is_production(tmp_path: Path) -> None:
    result = start(production_env(tmp_path, REGARD_ENV="Production", REGARD_SECRET_KEY=None))
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr


def test_check_deploy_warns_on_a_wildcard_host(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(REGARD), "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(tmp_path, REGARD_ALLOWED_HOSTS="*"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "regard.W001" in result.stdout + result.stderr
