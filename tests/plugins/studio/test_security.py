"""Safe by default: paths stay in the runs folder, writes need the studio's own page, tokens guard
a studio bound beyond loopback, and a foreign Host header is refused (DNS rebinding)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from studio_support import ORIGIN, csrf, error_of, fake_run, post

from genart import UsageError
from genart_studio.security import Forbidden, allowed_hosts, is_loopback, resolve_token, safe_path


@pytest.mark.parametrize("bad", ["../secret.txt", "a/../../secret.txt", "%2e%2e/secret.txt", "%252e%252e/secret.txt",
                                 "/etc/passwd", "..\\secret.txt", "C:/x", "a/\x00b"])
def test_safe_path_refuses_escapes(tmp_path: Path, bad: str) -> None:
    root = tmp_path / "runs"
    (root / "a").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("secret")
    with pytest.raises(Forbidden):
        safe_path(root, bad)


def test_safe_path_refuses_a_symlink_out_but_keeps_one_inside(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (root / "inside.txt").write_text("ok")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    os.symlink(tmp_path, root / "linkdir")
    os.symlink(root / "inside.txt", root / "alias.txt")
    with pytest.raises(Forbidden):
        safe_path(root, "link.txt")
    with pytest.raises(Forbidden):
        safe_path(root, "linkdir/secret.txt")
    assert safe_path(root, "alias.txt") == (root / "inside.txt").resolve()
    assert safe_path(root, "inside.txt") == (root / "inside.txt").resolve()


def test_files_route_serves_inside_and_refuses_outside(client, runs_dir: Path) -> None:
    fake_run(runs_dir, "r1")
    (runs_dir.parent / "secret.txt").write_text("secret")
    os.symlink(runs_dir.parent / "secret.txt", runs_dir / "leak.png")
    assert client.get("/files/r1/grid.png").headers["content-type"] == "image/png"
    for url in ["/files/%2e%2e/secret.txt", "/files/..%2fsecret.txt", "/files/%252e%252e/secret.txt",
                "/files//etc/passwd", "/files/%2Fetc%2Fpasswd", "/files/leak.png", "/image?path=../secret.txt",
                "/image?path=/etc/passwd", "/static/..%2f..%2fapp.py", "/runs/%2e%2e", "/runs/..%2f..%2f"]:
        response = client.get(url)
        assert response.status_code in (400, 403, 404), url
        assert "secret" not in response.text and "root:" not in response.text, url


def test_static_serves_only_the_package_assets(client) -> None:
    assert "EventSource" in client.get("/static/studio.js").text
    assert client.get("/static/../templates/base.html").status_code in (403, 404)


def test_post_without_csrf_token_or_from_another_site_is_refused(client, runs_dir: Path) -> None:
    form = {"kind": "train", "model": "vae", "data": "shapes"}
    missing = client.post("/new", data=form, headers=ORIGIN)
    assert missing.status_code == 403 and "security token" in error_of(missing.text)
    wrong = client.post("/new", data={**form, "csrf": "forged"}, headers=ORIGIN)
    assert wrong.status_code == 403
    foreign = client.post("/new", data={**form, "csrf": csrf(client)}, headers={"origin": "http://evil.example"})
    assert foreign.status_code == 403 and "evil.example" in error_of(foreign.text)
    no_origin = client.post("/new", data={**form, "csrf": csrf(client)})
    assert no_origin.status_code == 403
    referer = client.post("/new", data={**form, "csrf": csrf(client)}, headers={"referer": "http://testserver/new"},
                          follow_redirects=False)
    assert referer.status_code == 303
    assert client.app.state.studio.queue.jobs()  # only the last one was queued
    assert len(client.app.state.studio.queue.jobs()) == 1


def test_a_foreign_host_header_is_refused(client) -> None:
    assert client.get("/", headers={"host": "attacker.example:8760"}).status_code == 403
    assert client.get("/", headers={"host": "127.0.0.1:8760"}).status_code == 200
    assert client.get("/", headers={"host": "localhost"}).status_code == 200


def test_a_token_guards_every_request(make_client) -> None:
    client = make_client(token="s3cret-token-value", hosts=None)
    client.cookies.clear()
    for url in ["/", "/jobs", "/static/studio.js", "/files/x.png", "/new"]:
        response = client.get(url)
        assert response.status_code == 401, url
        assert "access token" in error_of(response.text)
    assert client.get("/?token=wrong-token-value").status_code == 401
    assert client.get("/", headers={"authorization": "Bearer s3cret-token-value"}).status_code == 200
    assert client.get("/?token=s3cret-token-value").status_code == 200
    assert client.get("/jobs").status_code == 200  # the cookie set by the line above
    response = post(client, "/new", {"kind": "train", "model": "vae", "data": "shapes"})
    assert response.status_code == 303


def test_token_rules() -> None:
    assert resolve_token("127.0.0.1", None) == (None, False)
    token, generated = resolve_token("0.0.0.0", None)
    assert generated and token and len(token) >= 20
    assert resolve_token("0.0.0.0", "given-token") == ("given-token", False)
    with pytest.raises(UsageError):
        resolve_token("0.0.0.0", "short")
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("192.168.1.5")
    assert allowed_hosts("0.0.0.0") is None and "localhost" in (allowed_hosts("127.0.0.1") or set())


def test_the_command_refuses_a_short_token(genart_cli, builtin_app, tmp_path: Path) -> None:
    result = genart_cli(["studio", str(tmp_path), "--host", "0.0.0.0", "--token", "abc"], app=builtin_app)
    assert result.exit_code != 0 and "at least 8 characters" in result.output
