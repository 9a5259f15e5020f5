from __future__ import annotations

from pathlib import Path

import pytest

from mecm.config import load_settings
from mecm.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    """Without settings, the state is in the user's data directory, whatever the working directory."""
    env = {"HOME": str(tmp_path / "home")}
    settings = load_settings(env=env, cwd=tmp_path)
    assert settings.var_dir == str(tmp_path / "home" / ".local" / "share" / "mecm")
    assert settings.database_url == f"sqlite:///{tmp_path / 'home' / '.local' / 'share' / 'mecm' / 'mecm.db'}"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert load_settings(env={**env, "XDG_DATA_HOME": str(tmp_path / "data")}, cwd=tmp_path).var_dir == str(
        tmp_path / "data" / "mecm")


def test_a_mecm_toml_is_found_upward_and_its_paths_are_relative_to_its_folder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    (project / "mecm.toml").write_text('var_dir = "state"\nport = 9001\n')
    env = {"HOME": str(tmp_path / "home")}
    for cwd in (project, deep):
        settings = load_settings(env=env, cwd=cwd)
        assert settings.port == 9001
        assert settings.var_dir == str(project / "state")
        assert settings.database_url == f"sqlite:///{project / 'state' / 'mecm.db'}"
    # a relative SQLite path in the file is relative to the file too
    (project / "mecm.toml").write_text('database_url = "sqlite:///db/main.db"\n')
    assert load_settings(env=env, cwd=deep).database_url == f"sqlite:///{project / 'db' / 'main.db'}"
    # the environment wins over the file
    assert load_settings(env={**env, "MECM_VAR_DIR": str(tmp_path / "v")}, cwd=deep).var_dir == str(tmp_path / "v")
    # a folder outside the project finds no file: the default
    assert load_settings(env=env, cwd=tmp_path).port == 8080


def test_the_sources_are_described_for_an_error(tmp_path: Path) -> None:
    from mecm.config import describe_sources

    env = {"HOME": str(tmp_path / "home")}
    described = describe_sources(env, tmp_path)
    assert f"no mecm.toml in {tmp_path}" in described and str(tmp_path / "home" / ".local" / "share" / "mecm") in described
    (tmp_path / "mecm.toml").write_text("")
    assert f"settings file {tmp_path / 'mecm.toml'}" in describe_sources(env, tmp_path)
    assert "MECM_CONFIG names" in describe_sources({"MECM_CONFIG": str(tmp_path / "missing.toml")}, tmp_path)


def test_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "mecm.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\nhttp_error_codes = true\n')
    settings = load_settings(env={"MECM_CONFIG": str(config), "MECM_PORT": "9100"})
    assert settings.port == 9100 and settings.host == "0.0.0.0" and settings.http_error_codes is True


def test_bad_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="port"):
        load_settings(env={"MECM_PORT": "eighty"})
    config = tmp_path / "mecm.toml"
    config.write_text("colour = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_settings(env={"MECM_CONFIG": str(config)})


def test_http_bounds_must_be_positive() -> None:
    assert load_settings(env={"MECM_HTTP_READ_TIMEOUT_S": "0.5"}).http_read_timeout_s == 0.5
    for name in ("HTTP_MAX_URL_BYTES", "HTTP_MAX_HEADERS", "HTTP_READ_TIMEOUT_S", "HTTP_MAX_CONNECTIONS"):
        with pytest.raises(ConfigError, match=f"setting {name.lower()}: must be above 0"):
            load_settings(env={f"MECM_{name}": "0"})


def test_a_delivery_worker_takes_its_own_node_id() -> None:
    import dataclasses

    from mecm.config import Settings
    from mecm.errors import ConfigError
    from mecm.worker import worker_settings

    assert worker_settings(dataclasses.replace(Settings(), node_id=3)).node_id == 515
    with pytest.raises(ConfigError, match="node_id"):
        worker_settings(dataclasses.replace(Settings(), node_id=600))


def test_outbound_allow_is_a_comma_list_of_networks_from_the_environment_or_the_file(tmp_path: Path) -> None:
    from ipaddress import ip_network

    assert load_settings(env={}).outbound_networks == ()  # nothing internal is allowed by default
    settings = load_settings(env={"MECM_OUTBOUND_ALLOW": "127.0.0.1/32, 10.0.0.0/8"})
    assert settings.outbound_networks == (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))
    config = tmp_path / "mecm.toml"
    config.write_text('outbound_allow = ["::1/128", "192.168.0.0/16"]\n')
    assert load_settings(env={"MECM_CONFIG": str(config)}).outbound_networks == (
        ip_network("::1/128"), ip_network("192.168.0.0/16"))
    with pytest.raises(ConfigError, match=r"setting outbound_allow: '10\.0\.0\.1/8' is not a network"):
        load_settings(env={"MECM_OUTBOUND_ALLOW": "127.0.0.1/32,10.0.0.1/8"})
