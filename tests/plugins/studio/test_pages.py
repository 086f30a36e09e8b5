"""Every page and every bad input: the routes answer, forms come from the registry (a third-party
plugin's components included), bad values get the CLI's message, uploads are guarded."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from studio_support import error_of, fake_run, png_bytes, post

from genart import GenartError
from genart_studio.jobforms import build_argv


def test_every_page_answers(client, runs_dir: Path) -> None:
    fake_run(runs_dir, "r1", eval_figures={"shapes": {"results": {"precision": 0.75, "fd": 1.25}}})
    fake_run(runs_dir, "r2", model="gan")
    (runs_dir / "uploads" / "u1").mkdir(parents=True)
    (runs_dir / "uploads" / "u1" / "a.png").write_bytes(png_bytes())
    job = client.app.state.studio.queue.add("test", ["echo", "hi"])
    for url in ["/", "/?sort=steps&q=gan", "/?status=complete", "/compare?run=r1&run=r2", "/runs/r1", "/jobs",
                f"/jobs/{job}", f"/jobs/{job}/status", "/upload", "/image?path=r1/grid.png",
                "/files/r1/grid.png", "/static/studio.css", "/static/studio.js",
                *[f"/new?kind={kind}" for kind in ("train", "sample", "post", "stylize", "eval")]]:
        response = client.get(url)
        assert response.status_code == 200, (url, error_of(response.text))
    runs = client.get("/").text
    assert "precision" in runs and "0.75" in runs and "r2" in runs  # eval figures on the card
    assert client.get("/?q=gan").text.count('<article class="card') == 1
    compare = client.get("/compare?run=r1&run=r2").text
    assert "gan" in compare and "fd" in compare


def test_pages_reference_nothing_outside_the_studio(client, runs_dir: Path) -> None:
    fake_run(runs_dir, "r1")
    for url in ["/", "/runs/r1", "/new?kind=train", "/upload", "/jobs", "/image?path=r1/grid.png"]:
        html = client.get(url).text
        assert not re.search(r'(src|href|action)="(https?:)?//', html), url
    assert not re.search(r"https?://", client.get("/static/studio.js").text)
    assert "url(" not in client.get("/static/studio.css").text


def test_bad_requests_are_one_line_messages(client, runs_dir: Path) -> None:
    for url, status in [("/runs/nope", 400), ("/compare?run=only-one", 400), ("/image?path=nope.png", 400),
                        ("/jobs/999", 400), ("/jobs/999/events", 400), ("/nope", 404), ("/new?kind=bogus", 200)]:
        response = client.get(url)
        assert response.status_code == status, url
        assert "Traceback" not in response.text
    assert error_of(client.get("/runs/nope").text) == "no run 'nope' in the runs folder"


def test_a_bug_is_a_message_on_the_page_not_a_traceback(client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(client.app.state.studio.runs, "listing", broken)
    response = client.get("/")
    assert response.status_code == 500
    assert error_of(response.text) == "the studio failed: RuntimeError: disk on fire"
    assert "Traceback" not in response.text and "second line" not in response.text


def test_forms_are_generated_from_the_registry_with_a_third_party_plugin(client) -> None:
    train = client.get("/new?kind=train").text
    for name in ("vae", "gan", "diffusion", "shapes", "folder", "restore", "upsample"):
        assert f'value="{name}"' in train, name
    # genart-hello-plugin (installed beside genart) adds a dataset and a post-processor; no studio code knows them
    assert 'value="stripes"' in train and 'value="posterize"' in train
    assert 'name="data.stripes.count"' in train and 'value="64"' in train
    assert 'name="post0.posterize.levels"' in train and "number of levels per channel" in train
    assert '<select name="model.vae.lr_schedule">' in train  # a Literal is a select
    assert 'type="number" step="1" name="model.vae.width" value="32"' in train  # an int a number field
    stylize = client.get("/new?kind=stylize").text
    assert 'name="style.method"' in stylize and 'name="style.size" value="512"' in stylize


def test_a_submitted_form_becomes_the_command_line(builtin_app, runs_dir: Path) -> None:
    registry = builtin_app.registry
    form = {"model": "vae", "model.vae.width": "8", "model.vae.width_unused": "1", "model.vae.loss": "mixlogistic",
            "data": "stripes", "data.stripes.count": "32", "--steps": "5", "--seed": "0", "post0": "posterize",
            "post0.posterize.levels": "3", "post1": "", "post2": "upsample", "post2.upsample.scale": "2"}
    argv, resumable = build_argv("train", form, registry, runs_dir)
    assert argv == ["genart", "run", "--model", "vae:width=8", "--data", "stripes:count=32", "--steps", "5",
                    "--seed", "0", "--post", "posterize:levels=3", "--post", "upsample:scale=2", "--out",
                    str(runs_dir), "--progress", "json"]
    assert resumable
    quoted, _ = build_argv("train", {"model": "vae", "data": "folder", "data.folder.path": "/a,b/c d"}, registry,
                           runs_dir)
    assert quoted[5] == "folder:path='/a,b/c d'"


@pytest.mark.parametrize("form, message", [
    ({"model": "vae", "model.vae.width": "wide"}, "model 'vae': bad value for width: 'wide' is not an integer"),
    ({"model": "vea"}, "unknown model 'vea'; did you mean 'vae'?"),
    ({"model": "vae", "model.vae.lr_schedule": "cosin"}, "bad value for lr_schedule: 'cosin' is not one of"),
    ({"model": "vae", "post0": "posterize", "post0.posterize.levels": "1"}, "levels must be between 2 and 256"),
    ({"model": "vae", "--steps": "ten"}, "Invalid value for '--steps': 'ten' is not a valid integer."),
    ({"model": "vae", "--steps": "-3"}, "Invalid value for '--steps': -3 is not in the range x>=0."),
])
def test_bad_values_get_the_command_lines_message(client, form: dict[str, str], message: str) -> None:
    response = post(client, "/new", {"kind": "train", "data": "shapes", **form})
    assert response.status_code == 400
    assert message in error_of(response.text)
    assert not client.app.state.studio.queue.jobs()


def test_paths_in_forms_must_be_inside_the_runs_folder(client, runs_dir: Path) -> None:
    fake_run(runs_dir, "r1")
    for value in ["../../etc", "/etc/passwd", "nope"]:
        response = post(client, "/new", {"kind": "sample", "RUN": value})
        assert response.status_code == 400 and error_of(response.text), value
    ok = post(client, "/new", {"kind": "sample", "RUN": "r1", "--num-samples": "4"})
    assert ok.status_code == 303
    job = client.app.state.studio.queue.jobs()[0]
    assert job.argv[:3] == ["genart", "sample", str(runs_dir / "r1")] and "--out" in job.argv
    empty = post(client, "/new", {"kind": "post", "IMAGES": "r1/grid.png"})
    assert "give at least one --post" in error_of(empty.text)


def upload(client, files: list[tuple[str, bytes]]):  # type: ignore[no-untyped-def]
    return post(client, "/upload", files=[("files", (name, io.BytesIO(data), "image/png")) for name, data in files])


def test_upload_keeps_good_images_and_refuses_bad_ones(client, runs_dir: Path) -> None:
    from PIL import Image

    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, format="PNG")  # 400 megapixels, a few kB: over genart's limit
    good = png_bytes(16)
    response = upload(client, [("../../evil name.png", good), ("truncated.png", good[: len(good) // 2]),
                               ("bomb.png", bomb.getvalue()), ("notes.txt", b"hello"), ("fake.png", b"not a png")])
    body = response.json()
    assert response.status_code == 200 and body["kept"] == ["evil_name.png"]
    refused = " | ".join(body["refused"])
    assert "truncated.png" in refused and "bomb.png" in refused and "decompression bomb" in refused
    assert "notes.txt" in refused and "fake.png" in refused
    kept = runs_dir / body["folder"] / "evil_name.png"
    assert kept.read_bytes() == good and kept.resolve().parent.parent == (runs_dir / "uploads").resolve()
    assert body["post"] == f"/new?kind=post&IMAGES={body['folder']}"
    assert client.get(body["post"]).status_code == 200


def test_upload_size_limit_and_csrf(make_client, runs_dir: Path) -> None:
    client = make_client(max_upload=1000)
    response = upload(client, [("big.png", png_bytes(256, text={"pad": "x" * 5000}))])
    assert response.status_code == 400 and "upload limit" in response.json()["error"]
    forged = client.post("/upload", files=[("files", ("a.png", io.BytesIO(png_bytes()), "image/png"))],
                         headers={"origin": "http://testserver"})
    assert forged.status_code == 403
    assert not list(runs_dir.rglob("*.png"))  # nothing kept, not even a part file


def test_image_page_shows_the_recipe_and_the_command_and_reproduce_queues_it(client, runs_dir: Path) -> None:
    fake_run(runs_dir, "r1")
    page = client.get("/image?path=r1/samples/0000.png").text
    assert "genart run --model vae" in page and "genart-recipe-1" in page
    response = post(client, "/reproduce", {"path": "r1/samples/0000.png"})
    assert response.status_code == 303
    job = client.app.state.studio.queue.jobs()[0]
    assert job.argv[:3] == ["genart", "reproduce", str(runs_dir / "r1" / "samples" / "0000.png")]
    (runs_dir / "plain.png").write_bytes(png_bytes())
    assert "no genart recipe" in client.get("/image?path=plain.png").text
    assert post(client, "/reproduce", {"path": "plain.png"}).status_code == 400


def test_report_html_is_served_without_scripts(client, runs_dir: Path) -> None:
    run = fake_run(runs_dir, "r1")
    (run / "report.html").write_text("<html><script>alert(1)</script></html>")
    response = client.get("/files/r1/report.html")
    assert response.status_code == 200 and "script-src 'none'" in response.headers["content-security-policy"]
    assert client.get("/static/evil.html").status_code == 404


def test_runs_page_lists_runs_written_by_the_cli_meanwhile(client, runs_dir: Path) -> None:
    assert "No runs here yet" in client.get("/").text
    fake_run(runs_dir, "later")  # as `genart run --out RUNS_DIR` in a terminal would, while the studio runs
    assert "later" in client.get("/").text
    manifest = runs_dir / "later" / "manifest.json"
    value = json.loads(manifest.read_text())
    value["train"]["steps_done"] = 777
    time.sleep(0.01)
    manifest.write_text(json.dumps(value))
    assert "777" in client.get("/").text  # the card cache notices the rewrite


@pytest.mark.slow
def test_a_third_party_plugins_components_train_and_post_from_the_page(make_client, runs_dir: Path) -> None:
    """The real path: the form -> the queue -> a `genart run` subprocess with the example plugin's dataset
    and post-processor -> a run folder with a grid, on the runs page."""
    client = make_client(start_worker=True)
    response = post(client, "/new", {
        "kind": "train", "model": "vae", "model.vae.width": "8", "model.vae.image_size": "16",
        "model.vae.prior": "normal", "data": "stripes", "data.stripes.count": "16", "--steps": "2",
        "--batch-size": "4", "--num-samples": "4", "post0": "posterize", "post0.posterize.levels": "3"})
    assert response.status_code == 303, error_of(response.text)
    job_url = response.headers["location"]
    events = []
    with client.stream("GET", f"{job_url}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: {"):
                events.append(json.loads(line[6:]).get("event"))
            if line.startswith("event: end"):
                break
    status = client.get(f"{job_url}/status").json()
    assert status["state"] == "done", status
    assert "start" in events and "step" in events and "done" in events
    run = Path(status["run_dir"])
    assert (run / "grid.png").is_file()
    assert json.loads((run / "manifest.json").read_text())["post"] == ["posterize:levels=3"]
    assert run.name in client.get("/").text and client.get(f"/runs/{run.name}").status_code == 200


def test_a_plugin_model_gets_its_form_with_no_studio_code(builtin_app, register_plugin, runs_dir: Path) -> None:
    """The example plugin has no model; the test suite's toy plugin, registered like any third party, has one."""
    from starlette.testclient import TestClient
    from studio_support import csrf

    import genart_toy_plugin
    from genart_studio.app import create_app

    register_plugin(genart_toy_plugin, "toy", app=builtin_app)
    client = TestClient(create_app(runs_dir, builtin_app.registry, start_worker=False))
    html = client.get("/new?kind=train").text
    assert 'value="toy"' in html and "tiny test model" in html and 'name="model.toy.' in html
    assert 'value="dots"' in html and 'value="invert"' in html
    response = client.post("/new", data={"csrf": csrf(client), "kind": "train", "model": "toy", "data": "dots"},
                           headers={"origin": "http://testserver"}, follow_redirects=False)
    assert response.status_code == 303
    assert client.app.state.studio.queue.jobs()[0].argv[:6] == ["genart", "run", "--model", "toy", "--data", "dots"]


def test_stylize_eval_and_sample_forms_build_their_commands(builtin_app, runs_dir: Path) -> None:
    registry = builtin_app.registry
    run = fake_run(runs_dir, "r1")
    (runs_dir / "uploads").mkdir()
    for name in ("c.png", "s.png"):
        (runs_dir / "uploads" / name).write_bytes(png_bytes())
    argv, resumable = build_argv("stylize", {"CONTENT": "uploads/c.png", "--style": "uploads/s.png",
                                             "style.size": "64", "style.method": "gram"}, registry, runs_dir)
    uploads = runs_dir / "uploads"
    assert argv[:5] == ["genart", "stylize", str(uploads / "c.png"), "--style", str(uploads / "s.png")]
    assert argv[5:9] == ["--method", "gram", "--size", "64"] and argv[-2] == "--out" and not resumable
    assert argv[-1].startswith(str(runs_dir / "stylized")) and argv[-1].endswith(".png")
    eval_argv, _ = build_argv("eval", {"RUN": "r1", "data": "shapes", "data.shapes.split": "test", "--k": "20"},
                              registry, runs_dir)
    assert eval_argv == ["genart", "eval", str(run), "--data", "shapes:split=test", "--k", "20"]
    sample_argv, _ = build_argv("sample", {"RUN": "r1", "--seed": "3", "post0": "restore"}, registry, runs_dir)
    assert sample_argv[:5] == ["genart", "sample", str(run), "--seed", "3"]
    assert sample_argv[5:7] == ["--post", "restore"] and sample_argv[-1].startswith(str(run / "sampled"))
    with pytest.raises(GenartError, match="not one of"):
        build_argv("stylize", {"CONTENT": "uploads/c.png", "--style": "uploads/s.png", "style.method": "paint"},
                   registry, runs_dir)
