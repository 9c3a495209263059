"""The Python client is secure by default, like the Java client: TLS unless `plaintext=True`,
a private CA with `trust_certificate`, a client certificate, the bearer token only over TLS
unless `allow_insecure_token`, and a TLS/plaintext mismatch that names the fix. The same
through the CLI's flags. Connection checks only (catalogue calls, a validate-only submit):
nothing trains."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from bridge import DistillError
from bridge.cli import main
from bridge.remote import RETRIES, RETRY_BACKOFF_SECONDS, RemoteClient
from tests.serverkit import Certs, make_certs

TOKEN = "tls-token"
DIGITS = ["--teacher", "digits-mlp", "--dataset", "digits", "--mlp", "8", "--dry-run"]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def _in_process_server(data_dir: Path, certs: Certs, *, client_ca: bool) -> Iterator[str]:
    """A TLS server that wants TOKEN (and a client certificate when `client_ca`)."""
    from bridge.server import DistillServer, ServerConfig

    token_file = data_dir / "token"
    token_file.write_text(TOKEN + "\n")
    srv = DistillServer(
        ServerConfig(
            host="127.0.0.1",
            port=0,
            data_dir=data_dir,
            auth_token_file=token_file,
            tls_cert=certs.server_cert,
            tls_key=certs.server_key,
            tls_client_ca=certs.ca if client_ca else None,
        )
    ).start()
    try:
        yield f"127.0.0.1:{srv.port}"
    finally:
        srv.stop(grace=1)


@pytest.fixture(scope="module")
def tls_target(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[str]:
    yield from _in_process_server(tmp_path_factory.mktemp("tls"), certs, client_ca=False)


@pytest.fixture(scope="module")
def mtls_target(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[str]:
    yield from _in_process_server(tmp_path_factory.mktemp("mtls"), certs, client_ca=True)


@pytest.fixture(scope="module")
def plain_target(server) -> str:
    return f"127.0.0.1:{server.port}"


def _teachers(client: RemoteClient) -> set[str]:
    with client:
        return {t.name for t in client.list_teachers()}


# ---------------------------------------------------------------- TLS by default


def test_the_default_client_reaches_a_tls_server_trusting_its_ca(tls_target, certs):
    client = RemoteClient(tls_target, trust_certificate=certs.ca, bearer_token=TOKEN)
    assert "digits-mlp" in _teachers(client)
    assert TOKEN not in repr(client.options)  # options get logged; the token must not


def test_the_token_goes_over_tls_and_without_it_the_server_refuses(tls_target, certs):
    with (
        RemoteClient(tls_target, trust_certificate=certs.ca) as client,
        pytest.raises(DistillError) as error,
    ):
        client.list_teachers()
    assert error.value.code == "UNAUTHENTICATED"


def test_without_trust_the_default_roots_refuse_a_private_ca_naming_trust_certificate(
    tls_target,
):
    with RemoteClient(tls_target, bearer_token=TOKEN) as client, pytest.raises(DistillError) as e:
        client.list_teachers()
    assert e.value.code == "UNAVAILABLE"
    assert "trust_certificate=" in str(e.value) and "--trust-certificate" in str(e.value)


def test_a_client_certificate_when_the_server_asks_for_one(mtls_target, certs):
    options = dict(trust_certificate=certs.ca, bearer_token=TOKEN)
    with RemoteClient(mtls_target, **options) as client, pytest.raises(DistillError) as error:
        client.list_teachers()
    assert error.value.code == "UNAVAILABLE" and "client_certificate=" in str(error.value)
    pair = dict(client_certificate=certs.client_cert, client_key=certs.client_key)
    assert "digits-mlp" in _teachers(RemoteClient(mtls_target, **options, **pair))


# ---------------------------------------------------------------- TLS/plaintext mismatch


def test_a_tls_client_against_a_plaintext_server_names_plaintext_and_does_not_retry(
    plain_target,
):
    with RemoteClient(plain_target) as client, pytest.raises(DistillError) as error:
        client.list_teachers()
    assert error.value.code == "UNAVAILABLE"
    assert "plaintext=True" in str(error.value) and "--plaintext" in str(error.value)
    started = time.monotonic()
    with RemoteClient(plain_target) as client, pytest.raises(DistillError) as error:
        client.watch("job-0")  # a stream retries UNAVAILABLE, but not a TLS setup problem
    assert "plaintext=True" in str(error.value)
    assert time.monotonic() - started < RETRY_BACKOFF_SECONDS * RETRIES


def test_a_plaintext_client_against_a_tls_server_names_plaintext(tls_target):
    with RemoteClient(tls_target, plaintext=True) as client, pytest.raises(DistillError) as error:
        client.list_teachers()
    assert error.value.code == "UNAVAILABLE" and "drop plaintext=True" in str(error.value)


def test_plaintext_is_the_explicit_opt_out(plain_target):
    assert "digits-mlp" in _teachers(RemoteClient(plain_target, plaintext=True))


# ---------------------------------------------------------------- the token on plaintext


def test_a_token_on_plaintext_is_refused_before_connecting_unless_allowed(plain_target):
    with pytest.raises(ValueError, match="allow_insecure_token=True") as error:
        RemoteClient(plain_target, plaintext=True, bearer_token=TOKEN)
    assert str(error.value).startswith("bearer_token: refusing to send the token")
    allowed = dict(plaintext=True, bearer_token=TOKEN, allow_insecure_token=True)
    assert "digits-mlp" in _teachers(RemoteClient(plain_target, **allowed))


def test_on_a_channel_passed_in_the_token_is_call_credentials(plain_target):
    with grpc.insecure_channel(plain_target) as channel:
        client = RemoteClient(plain_target, channel=channel, bearer_token=TOKEN)
        with pytest.raises(DistillError) as error:
            client.list_teachers()  # gRPC itself refuses call credentials without TLS
        assert error.value.code == "UNAUTHENTICATED"
        assert "allow_insecure_token=True" in str(error.value)
        allowed = RemoteClient(
            plain_target, channel=channel, bearer_token=TOKEN, allow_insecure_token=True
        )
        assert allowed.list_teachers()


# ---------------------------------------------------------------- checked before connecting


@pytest.fixture(scope="module")
def pem_files(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pem")
    (d / "not.pem").write_text("hello\n")
    return {"not_pem": d / "not.pem", "missing": d / "missing.pem"}


@pytest.mark.parametrize(
    "options, named",
    [
        (dict(plaintext=True, trust_certificate="ca"), "plaintext=True: cannot be combined"),
        (dict(plaintext=True, client_certificate="cert", client_key="key"), "plaintext=True"),
        (dict(client_key="key"), "client_certificate: missing"),
        (dict(client_certificate="cert"), "client_key: missing"),
        (dict(trust_certificate="missing"), "trust_certificate: no such file"),
        (dict(trust_certificate="not_pem"), "trust_certificate: "),
        (dict(client_certificate="cert", client_key="not_pem"), "client_certificate: cannot load"),
        (dict(client_certificate="cert", client_key="server_key"), "client_key: "),
        (dict(bearer_token=" "), "bearer_token: must not be blank"),
    ],
)
def test_bad_options_raise_value_error_naming_the_option(options, named, certs, pem_files):
    files = {
        "ca": certs.ca,
        "cert": certs.client_cert,
        "key": certs.client_key,
        "server_key": certs.server_key,
        **pem_files,
    }
    resolved = {k: files.get(v, v) if isinstance(v, str) else v for k, v in options.items()}
    with pytest.raises(ValueError) as error:
        RemoteClient("127.0.0.1:1", **resolved)
    assert str(error.value).startswith(named), str(error.value)


def test_channel_passed_in_takes_no_tls_options(certs):
    with grpc.insecure_channel("127.0.0.1:1") as channel, pytest.raises(ValueError) as error:
        RemoteClient("127.0.0.1:1", channel=channel, trust_certificate=certs.ca)
    assert str(error.value).startswith("trust_certificate: not with channel=")


def test_the_old_names_still_work_with_a_deprecation_warning(tls_target, certs):
    with pytest.warns(DeprecationWarning) as caught:
        client = RemoteClient(tls_target, token=TOKEN, tls_root_cert=certs.ca)
    assert [str(w.message).split(" (")[0] for w in caught] == [
        "token= is now bearer_token=",
        "tls_root_cert= is now trust_certificate=",
    ]
    assert client.options.bearer_token == TOKEN and client.options.trust_certificate == certs.ca
    assert "digits-mlp" in _teachers(client)
    with warnings.catch_warnings(), pytest.raises(TypeError, match="pass bearer_token= only"):
        warnings.simplefilter("ignore", DeprecationWarning)
        RemoteClient(tls_target, token="a", bearer_token="b")
    with pytest.raises(TypeError, match="'tls_root'"):
        RemoteClient(tls_target, tls_root=certs.ca)


# ---------------------------------------------------------------- the CLI


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(["distill", *DIGITS, *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_connects_over_tls_with_the_flags(tls_target, certs, tmp_path, capsys):
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")  # the trailing newline an editor leaves is not the token
    tls = ["--remote", tls_target, "--trust-certificate", str(certs.ca)]
    code, out, err = _cli([*tls, "--token-file", str(token)], capsys)
    assert code == 0, err
    assert '"reference": "digits-mlp"' in out
    code, _, err = _cli(tls, capsys)  # no token: the server refuses, exit 1
    assert code == 1 and "bearer token" in err


def test_cli_plaintext_server_needs_plaintext(plain_target, capsys):
    code, _, err = _cli(["--remote", plain_target], capsys)
    assert code == 1 and "--plaintext" in err
    code, out, err = _cli(["--remote", plain_target, "--plaintext"], capsys)
    assert code == 0 and '"reference": "digits-mlp"' in out, err
