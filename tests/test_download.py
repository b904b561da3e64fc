"""Downloads and safe extraction against a local HTTP server on 127.0.0.1 (no internet needed)."""

from __future__ import annotations

import hashlib
import io
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import REPO, make_tiny_davis

from davis_c.__main__ import main
from davis_c.download import ASSETS, download_file, read_sidecar, safe_extract, sha256_file
from davis_c.errors import UserError


class _Handler(BaseHTTPRequestHandler):
    """Serves `server.files`; honours `Range: bytes=N-`; `server.truncate[path] = n` cuts the body."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 (http.server API)
        srv = self.server
        srv.log.append((self.path, self.headers.get("Range")))
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and self.path not in srv.ignore_range:
            start = int(rng.split("=")[1].split("-")[0])
            start = srv.bad_range.get(self.path, start)  # a broken server answering another range
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = srv.truncate.pop(self.path, None)
        self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:
            self.wfile.flush()
            self.close_connection = True


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.log, srv.truncate, srv.ignore_range, srv.bad_range = {}, [], {}, set(), {}
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/file.zip"


PAYLOAD = bytes(range(256)) * 4000  # ~1 MB: more than one read chunk


def test_download_verifies_hash_and_is_idempotent(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    dest = tmp_path / "a.bin"
    good = hashlib.sha256(PAYLOAD).hexdigest()
    assert download_file(server.url + "/a.bin", dest, sha256=good) == dest
    assert dest.read_bytes() == PAYLOAD
    assert not Path(str(dest) + ".part").exists()
    n = len(server.log)
    download_file(server.url + "/a.bin", dest, sha256=good)  # second run: verified on disk, no request
    assert len(server.log) == n


def test_hash_mismatch_moves_file_aside(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    dest = tmp_path / "a.bin"
    with pytest.raises(UserError) as exc:
        download_file(server.url + "/a.bin", dest, sha256="0" * 64)
    msg = str(exc.value)
    assert str(dest) in msg and "0" * 64 in msg and hashlib.sha256(PAYLOAD).hexdigest() in msg
    assert "\n" not in msg
    assert not dest.exists() and not Path(str(dest) + ".part").exists()
    assert Path(str(dest) + ".bad").read_bytes() == PAYLOAD


def test_unknown_hash_is_recorded_then_enforced(server, tmp_path, capsys):
    server.files["/a.bin"] = PAYLOAD
    dest = tmp_path / "a.bin"
    download_file(server.url + "/a.bin", dest)
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    assert digest in capsys.readouterr().out
    assert read_sidecar(dest) == digest
    dest.write_bytes(PAYLOAD[:-1] + b"x")  # corrupted after the fact
    with pytest.raises(UserError, match="sha256 mismatch"):
        download_file(server.url + "/a.bin", dest)
    assert not dest.exists()


def test_resume_uses_range_and_appends(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    dest = tmp_path / "a.bin"
    half = len(PAYLOAD) // 2
    Path(str(dest) + ".part").write_bytes(PAYLOAD[:half])
    download_file(server.url + "/a.bin", dest, sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert server.log[-1] == ("/a.bin", f"bytes={half}-")
    assert dest.read_bytes() == PAYLOAD


def test_interrupted_download_keeps_part_and_resumes(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    server.truncate["/a.bin"] = 300_000
    dest = tmp_path / "a.bin"
    url = server.url + "/a.bin"
    with pytest.raises(UserError, match="re-run to resume") as exc:
        download_file(url, dest, sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert url in str(exc.value)
    part = Path(str(dest) + ".part")
    assert part.stat().st_size == 300_000 and not dest.exists()
    download_file(url, dest, sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert server.log[-1] == ("/a.bin", "bytes=300000-")
    assert dest.read_bytes() == PAYLOAD and not part.exists()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    server.ignore_range.add("/a.bin")
    dest = tmp_path / "a.bin"
    Path(str(dest) + ".part").write_bytes(b"junk" * 100)
    download_file(server.url + "/a.bin", dest, sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD


def test_wrong_range_answer_is_refused(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    server.bad_range["/a.bin"] = 10
    dest = tmp_path / "a.bin"
    Path(str(dest) + ".part").write_bytes(PAYLOAD[:1000])
    with pytest.raises(UserError, match="different range"):
        download_file(server.url + "/a.bin", dest)
    assert not dest.exists() and Path(str(dest) + ".part").read_bytes() == PAYLOAD[:1000]


def test_complete_part_file_is_finished_without_body(server, tmp_path):
    server.files["/a.bin"] = PAYLOAD
    dest = tmp_path / "a.bin"
    Path(str(dest) + ".part").write_bytes(PAYLOAD)
    download_file(server.url + "/a.bin", dest, sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD


def test_offline_error_names_url_and_manual_alternative(tmp_path):
    url = _closed_port_url()
    with pytest.raises(UserError) as exc:
        download_file(url, tmp_path / "x.zip", timeout=5)
    msg = str(exc.value)
    assert url in msg and "yourself" in msg and "\n" not in msg
    assert not (tmp_path / "x.zip").exists()


def test_http_404_is_a_user_error(server, tmp_path):
    with pytest.raises(UserError, match="HTTP 404"):
        download_file(server.url + "/missing.zip", tmp_path / "m.zip")


def test_non_http_url_rejected(tmp_path):
    with pytest.raises(UserError, match="only http"):
        download_file("file:///etc/passwd", tmp_path / "p")


# ---------------------------------------------------------------- extraction


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for m in members:
            if isinstance(m, tuple):
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tf.addfile(info, io.BytesIO(m[1]))
            else:
                tf.addfile(m)
    return path


def _link(name: str, target: str, kind=tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize("bad, why", [
    (("../evil.txt", b"x"), "'..'"),
    (("/tmp/evil-abs.txt", b"x"), "absolute"),
    (("ok/../../evil.txt", b"x"), "'..'"),
    (_link("ok/link", "../../outside"), "symlink"),
    (_link("ok/abs", "/etc/passwd"), "symlink"),
    (_link("ok/hard", "../outside", tarfile.LNKTYPE), "hard link"),
])
def test_malicious_tar_rejected_and_nothing_written(tmp_path, bad, why):
    arc = _tar(tmp_path / "bad.tar.gz", [("ok/good.txt", b"fine"), bad])
    dest = tmp_path / "out"
    with pytest.raises(UserError, match=why) as exc:
        safe_extract(arc, dest)
    assert str(arc) in str(exc.value)
    assert not (dest / "ok").exists() and not (tmp_path / "evil.txt").exists()
    assert [p.name for p in dest.iterdir()] == []


def test_tar_with_inner_links_extracts(tmp_path):
    arc = _tar(tmp_path / "good.tar", [("top/a.txt", b"A"), _link("top/b.txt", "a.txt")])
    assert safe_extract(arc, tmp_path / "out") == ["top"]
    assert (tmp_path / "out" / "top" / "b.txt").read_bytes() == b"A"


def test_malicious_zip_rejected(tmp_path):
    arc = tmp_path / "bad.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("DAVIS/ok.txt", b"ok")
        zf.writestr("DAVIS/../../evil.txt", b"x")
    with pytest.raises(UserError, match=r"'\.\.'"):
        safe_extract(arc, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out" / "DAVIS").exists()


def test_zip_symlink_outside_rejected(tmp_path):
    arc = tmp_path / "link.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        info = zipfile.ZipInfo("DAVIS/link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "../../../etc/passwd")
    with pytest.raises(UserError, match="symlink"):
        safe_extract(arc, tmp_path / "out")


def test_not_an_archive(tmp_path):
    p = tmp_path / "x.zip"
    p.write_bytes(b"<html>not found</html>")
    with pytest.raises(UserError, match="not a zip or tar"):
        safe_extract(p, tmp_path / "out")


# ---------------------------------------------------------------- the CLI


def _davis_zip(tmp_path: Path) -> Path:
    src = make_tiny_davis(tmp_path / "src" / "DAVIS", {"alpha": (3, 24, 32)})
    arc = tmp_path / "DAVIS-2017-trainval-480p.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, p.relative_to(src.parent).as_posix())
    return arc


def test_cli_davis2017_download_extract_validate_and_noop(server, tmp_path, capsys):
    arc = _davis_zip(tmp_path)
    server.files["/d.zip"] = arc.read_bytes()
    out = tmp_path / "data"
    argv = ["download", "davis2017", "--out", str(out), "--url", server.url + "/d.zip"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert str(out / "DAVIS") in text and "ok: valid" in text
    assert (out / "DAVIS" / "JPEGImages" / "480p" / "alpha" / "00000.jpg").is_file()
    assert read_sidecar(out / "downloads" / ASSETS["davis2017"]["filename"]) == sha256_file(arc)
    assert (out / "download-davis2017.json").is_file()
    n = len(server.log)
    assert main(argv) == 0  # second run: no-op
    assert "nothing to do" in capsys.readouterr().out and len(server.log) == n


def test_cli_from_local_archive(tmp_path, capsys):
    arc = _davis_zip(tmp_path)
    out = tmp_path / "data"
    assert main(["download", "davis2017", "--out", str(out), "--from", str(arc)]) == 0
    assert sha256_file(arc) in capsys.readouterr().out
    assert (out / "DAVIS" / "ImageSets" / "2017" / "val.txt").is_file()
    assert main(["download", "davis2017", "--out", str(out), "--from", str(arc), "--sha256", "1" * 64]) == 0
    # --from a file with a wrong expected hash (fresh target) is refused
    assert main(["download", "davis2017", "--out", str(tmp_path / "o2"), "--from", str(arc),
                 "--sha256", "1" * 64]) == 2
    assert "sha256 mismatch" in capsys.readouterr().err


def test_cli_styles_from_server_verifies_hashes(server, tmp_path, capsys):
    for name in ASSETS["styles"]["files"]:
        server.files[f"/styles/{name}"] = b"not the real style image"
    rc = main(["download", "styles", "--out", str(tmp_path), "--url", server.url + "/styles/"])
    assert rc == 2
    last = capsys.readouterr().err.split("\r")[-1]  # after the progress bar
    assert last.startswith("error: ") and "sha256 mismatch" in last and last.count("\n") == 1


def test_cli_styles_from_shared_copy(shared_dir, tmp_path):
    assert main(["download", "styles", "--out", str(tmp_path), "--from", str(shared_dir / "styles")]) == 0
    for name, (_, sha) in ASSETS["styles"]["files"].items():
        assert sha256_file(tmp_path / "styles" / name) == sha


def test_style_hashes_match_shared_sums(shared_dir):
    sums = dict(reversed(line.split()) for line in (shared_dir / "styles" / "SHA256SUMS").read_text().splitlines()
                if line.strip())
    assert {n: sha for n, (_, sha) in ASSETS["styles"]["files"].items()} == sums


def test_cli_offline_one_line_error_exit_2(tmp_path):
    url = _closed_port_url()
    r = subprocess.run([sys.executable, "-m", "davis_c", "download", "davis-c", "--out", str(tmp_path),
                        "--url", url, "--timeout", "5"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 2
    assert r.stderr.startswith("error: cannot download " + url) and r.stderr.count("\n") == 1
    assert "--from PATH" in r.stderr and "Traceback" not in r.stderr


def test_cli_davis_c_tarball_checks_variant_folders(server, tmp_path, capsys):
    from davis_c.corruptions.base import CORRUPTION_NAMES, STRENGTHS

    members = [(f"DAVIS-C/{s}/{c}/alpha/00000.jpg", b"jpg") for s in STRENGTHS for c in CORRUPTION_NAMES]
    server.files["/full.tar.gz"] = _tar(tmp_path / "full.tar.gz", members).read_bytes()
    server.files["/part.tar.gz"] = _tar(tmp_path / "part.tar.gz", members[:-1]).read_bytes()
    assert main(["download", "davis-c", "--out", str(tmp_path / "a"), "--url", server.url + "/full.tar.gz"]) == 0
    assert "all 42 variant folders present" in capsys.readouterr().out
    assert main(["download", "davis-c", "--out", str(tmp_path / "b"), "--url", server.url + "/part.tar.gz"]) == 1
    assert "lacks 1 of 42" in capsys.readouterr().out
    assert not (tmp_path / "b" / ".download-davis-c.done").exists()  # not marked done: a re-run re-checks
