"""How the CLI reaches a cluster: the options every command that talks to OpenSearch takes
(:func:`cluster_options`), and where the password comes from (environment, a file, stdin or a
prompt; a password typed on the command line works, with a warning)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import click

from xqg_os.cli.params import finite_float

CLIENT_CONFIG = "xqg_os.client_config"  # ctx.meta key: the running command's ClientConfig


def _interactive() -> bool:
    """Whether a person can answer a prompt (stdin is a terminal)."""
    return sys.stdin.isatty()


def _url_password(ctx: click.Context, typed: bool = True) -> bool:
    """Whether ``--url`` holds a ``user:password@`` part (``typed``: on the command line)."""
    from click.core import ParameterSource

    netloc = urlsplit(str(ctx.params.get("url") or "")).netloc
    return (":" in netloc.rpartition("@")[0]
            and (not typed or ctx.get_parameter_source("url") == ParameterSource.COMMANDLINE))


def _password(ctx: click.Context, user: str | None, password: str | None,
              password_file: str | None, auth: str) -> str | None:
    """The password from ``--password``, ``--password-file`` or their environment variables
    (the command line wins over the environment), else a hidden prompt on a terminal."""
    from click.core import ParameterSource

    from xqg_os.opensearch.client import read_password_file

    typed = {name for name in ("password", "password_file")
             if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE}
    if password is not None and password_file is not None:
        if len(typed) != 1:
            raise click.UsageError("give one of --password and --password-file (or of "
                                   "XQG_OPENSEARCH_PASSWORD and XQG_OPENSEARCH_PASSWORD_FILE)")
        password, password_file = (password, None) if "password" in typed else (None,
                                                                                password_file)
    if "password" in typed and password is not None or _url_password(ctx):
        click.echo("warning: a password on the command line is visible to every local user "
                   "in the process list; prefer XQG_OPENSEARCH_PASSWORD or --password-file",
                   err=True)
    if password_file == "-":
        return sys.stdin.readline().rstrip("\r\n")
    if password_file is not None:
        return read_password_file(password_file)
    if (password is None and user and auth == "basic" and not _url_password(ctx, typed=False)
            and _interactive()):
        return str(click.prompt(f"Password for {user}", hide_input=True, err=True))
    return password


def cluster_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options every command that talks to OpenSearch takes; passes a ``client_config``."""
    from xqg_os.opensearch.aws import AWS_SERVICES
    from xqg_os.opensearch.client import AUTHS, DEFAULT_URL

    @click.option("--url", envvar="XQG_OPENSEARCH_URL", default=DEFAULT_URL,
                  show_default=True, help="OpenSearch URL (env XQG_OPENSEARCH_URL); a "
                  "user:password@ in it is accepted and never printed.")
    @click.option("--user", envvar="XQG_OPENSEARCH_USER", default=None,
                  help="Basic-auth user (env XQG_OPENSEARCH_USER); its password is asked for "
                       "on a terminal when none is given.")
    @click.option("--password", envvar="XQG_OPENSEARCH_PASSWORD", default=None,
                  help="Basic-auth password (env XQG_OPENSEARCH_PASSWORD). On the command line "
                       "every local user can read it: prefer the environment or a file.")
    @click.option("--password-file", envvar="XQG_OPENSEARCH_PASSWORD_FILE", default=None,
                  type=click.Path(dir_okay=False, allow_dash=True),
                  help="A file whose first line is the password, or - for stdin "
                       "(env XQG_OPENSEARCH_PASSWORD_FILE).")
    @click.option("--ca-certs", envvar="XQG_OPENSEARCH_CA_CERTS", default=None,
                  type=click.Path(dir_okay=False),
                  help="The CA file that signed the cluster's certificate (env "
                       "XQG_OPENSEARCH_CA_CERTS).")
    @click.option("--insecure", is_flag=True, default=False,
                  help="Do not verify TLS certificates (local development only).")
    @click.option("--auth", type=click.Choice(AUTHS), envvar="XQG_OPENSEARCH_AUTH",
                  default="basic", show_default=True,
                  help="basic (user and password) or sigv4: AWS SigV4 for Amazon OpenSearch "
                       "Service, with the standard AWS credential chain (pip install "
                       "'xqg-os[aws]').")
    @click.option("--aws-region", envvar="XQG_OPENSEARCH_AWS_REGION", default=None,
                  help="The AWS region for sigv4 (default: AWS_REGION or the AWS config).")
    @click.option("--aws-service", type=click.Choice(AWS_SERVICES),
                  envvar="XQG_OPENSEARCH_AWS_SERVICE", default="es", show_default=True,
                  help="For sigv4: es (managed domains) or aoss (OpenSearch Serverless).")
    @click.option("--timeout", envvar="XQG_OPENSEARCH_TIMEOUT", default=60.0,
                  type=finite_float(min=1.0), show_default=True,
                  help="Seconds to wait for each answer of the cluster (env "
                       "XQG_OPENSEARCH_TIMEOUT); bulk requests wait at least twice as long.")
    @functools.wraps(func)
    def wrapper(*args: Any, url: str, user: str | None, password: str | None,
                password_file: str | None, ca_certs: str | None, insecure: bool, auth: str,
                aws_region: str | None, aws_service: str, timeout: float,
                **kwargs: Any) -> Any:
        from xqg_os.opensearch.client import ClientConfig

        ctx = click.get_current_context()
        config = ClientConfig(url=url, user=user,
                              password=_password(ctx, user, password, password_file, auth),
                              ca_certs=ca_certs, verify_certs=not insecure, auth=auth,
                              aws_region=aws_region, aws_service=aws_service,
                              timeout=timeout)
        ctx.meta[CLIENT_CONFIG] = config
        kwargs["client_config"] = config
        return func(*args, **kwargs)

    return wrapper
