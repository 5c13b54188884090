"""Credentials without a node: a password in the URL moves out of it, files and stdin feed the
password, the command line beats the environment, and a typed password draws a warning."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from xqg_os.cli.common import XQGGroup, cluster_options
from xqg_os.errors import ClusterError, InputError
from xqg_os.opensearch.client import ClientConfig, make_client, read_password_file
from xqg_os.opensearch.failures import redact_url

SECRET = "s3cr3t-Pa55"


def test_a_password_in_the_url_moves_into_the_config_and_out_of_its_repr() -> None:
    config = ClientConfig(url=f"https://ann:{SECRET}@db.example:9443/")
    assert (config.url, config.user, config.password) == ("https://db.example:9443/", "ann",
                                                          SECRET)
    assert SECRET not in repr(config) and SECRET not in str(config)
    # explicit values win over the URL's; percent-escapes are undone
    given = ClientConfig(url="https://ann:a%40b@h:1", user="bob", password="pw")
    assert (given.user, given.password, given.url) == ("bob", "pw", "https://h:1")
    assert ClientConfig(url="https://ann:a%40b@h:1").password == "a@b"
    assert redact_url(f"htps://ann:{SECRET}@h:1/x") == "htps://h:1/x"


def test_messages_about_a_bad_url_do_not_show_its_password() -> None:
    with pytest.raises(ClusterError) as caught:
        make_client(ClientConfig(url=f"htps://ann:{SECRET}@h:1"))
    assert SECRET not in str(caught.value)


def test_auth_values_are_checked() -> None:
    with pytest.raises(InputError, match="unknown auth"):
        ClientConfig(auth="kerberos")
    with pytest.raises(InputError, match="give no user"):
        ClientConfig(auth="sigv4", user="ann")


def test_password_file_first_line_and_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text(f"{SECRET}\nsecond line\n", encoding="utf-8")
    assert read_password_file(path) == SECRET
    with pytest.raises(InputError, match="cannot read the password file") as caught:
        read_password_file(tmp_path / "missing")
    assert caught.value.params == ("password_file",)


@click.group(cls=XQGGroup)
def cli() -> None:
    """A group with one command that prints what cluster_options made."""


@cli.command()
@cluster_options
def show(client_config: ClientConfig) -> None:
    click.echo(f"user={client_config.user} password={client_config.password} "
               f"url={client_config.url}")


def _run(args: list[str], env: dict[str, str] | None = None, stdin: str | None = None
         ) -> click.testing.Result:
    clean = {"XQG_OPENSEARCH_PASSWORD": None, "XQG_OPENSEARCH_PASSWORD_FILE": None,
             "XQG_OPENSEARCH_USER": None, "XQG_OPENSEARCH_URL": None}
    return CliRunner().invoke(cli, ["show", *args], env={**clean, **(env or {})}, input=stdin)


def test_password_sources_and_precedence(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("from-file\n", encoding="utf-8")
    env = {"XQG_OPENSEARCH_USER": "ann", "XQG_OPENSEARCH_PASSWORD": "from-env"}
    assert "password=from-env" in _run([], env).stdout
    assert "password=from-file" in _run(["--password-file", str(path)], env).stdout
    assert "password=from-stdin" in _run(["--password-file", "-"], env, "from-stdin\n").stdout
    file_env = {"XQG_OPENSEARCH_USER": "ann", "XQG_OPENSEARCH_PASSWORD_FILE": str(path)}
    assert "password=from-file" in _run([], file_env).stdout
    both = _run([], {**env, **file_env})
    assert both.exit_code == 2 and "give one of --password and --password-file" in both.output


def test_a_typed_password_works_with_a_warning_and_a_missing_file_is_one_line(
        tmp_path: Path) -> None:
    typed = _run(["--user", "ann", "--password", SECRET])
    assert typed.exit_code == 0 and f"password={SECRET}" in typed.stdout
    assert "visible to every local user" in typed.stderr
    in_url = _run(["--url", f"https://ann:{SECRET}@h:1"])
    assert in_url.stdout.split() == ["user=ann", f"password={SECRET}", "url=https://h:1"]
    assert "visible to every local user" in in_url.stderr
    assert "warning" not in _run([], {"XQG_OPENSEARCH_PASSWORD": SECRET}).stderr
    missing = _run(["--password-file", str(tmp_path / "none")])
    assert missing.exit_code == 1
    assert missing.stderr.strip().splitlines() == [
        f"error: cannot read the password file {str(tmp_path / 'none')!r}: "
        "No such file or directory"]


def test_a_user_without_password_is_asked_on_a_terminal_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert "password=None" in _run(["--user", "ann"]).stdout  # no terminal: no prompt
    monkeypatch.setattr("xqg_os.cli.connection._interactive", lambda: True)
    asked = _run(["--user", "ann"], stdin=f"{SECRET}\n")
    assert asked.exit_code == 0 and f"password={SECRET}" in asked.stdout
    assert "Password for ann: " in asked.stderr and SECRET not in asked.stderr
    assert "password=None" in _run([]).stdout  # no user: nothing to ask
    in_url = _run(["--user", "ann"], {"XQG_OPENSEARCH_URL": f"https://ann:{SECRET}@h:1"})
    assert f"password={SECRET}" in in_url.stdout and "Password for" not in in_url.stderr
