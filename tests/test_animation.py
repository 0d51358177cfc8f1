"""Animation export: frame k shows step first + k, every frame is W × H, GIF and MP4 hold exactly
B − A + 1 frames (read back with Pillow and imageio-ffmpeg), Cancel writes nothing, and the
dialog and the command line refuse bad settings with one message."""
import os

import numpy as np
import pytest
from gatescope.core.cli.animation import (
    AnimationError,
    AnimationSpec,
    check_spec,
    parse_size,
    parse_steps,
)
from gatescope.core.config import Config
from gatescope.gui import dialogs
from gatescope.gui.animation import (
    AnimationDialog,
    AnimationExporter,
    gif_durations,
    image_to_rgb,
    render_frame,
    window_targets,
)
from gatescope.gui.animation_command import run_export_animation
from gatescope.gui.app import create_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

PIL = pytest.importorskip("PIL.Image")
imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")


@pytest.fixture(scope="module")
def shared(qapp):
    """One real window for the module (building one takes seconds on this machine)."""
    session, window = create_window(Config(length=40))
    window.resize(1024, 640)
    window.show()
    assert session.wait_idle()
    qapp.processEvents()
    yield session, window
    session.shutdown()
    window.close()


@pytest.fixture
def messages(monkeypatch):
    seen = []
    monkeypatch.setattr(dialogs, "warn", lambda parent, msg, details="": seen.append(msg))
    return seen


def gif_frames(path):
    im = PIL.open(path)
    frames = []
    for k in range(im.n_frames):
        im.seek(k)
        frames.append(np.asarray(im.convert("RGB"), dtype=float))
    return im.size, frames


def mp4_frames(path):
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return (w, h), [np.frombuffer(f, np.uint8).reshape(h, w, 3).astype(float) for f in gen]


def export(session, target, spec):
    exporter = AnimationExporter(session, target, spec)
    exporter.start()
    assert exporter.wait(60000), exporter.message
    return exporter


def test_gif_frames_show_the_steps_in_order_at_the_size_asked(shared, tmp_path):
    session, window = shared
    session.set_step(7)
    spec = AnimationSpec(3, 6, 5.0, 200, 125, str(tmp_path / "w.gif"))
    export(session, window, spec)
    size, frames = gif_frames(spec.path)
    assert size == (200, 125) and len(frames) == spec.frames
    assert session.step == 7                                     # the view is put back
    # each frame is nearest to a fresh render of its own step (independent of the encoder)
    fresh = {}
    for t in range(2, 8):
        session.set_step(t)
        fresh[t] = image_to_rgb(render_frame(window, 200, 125)).astype(float)
    for k, frame in enumerate(frames):
        dist = {t: np.abs(frame - img).mean() for t, img in fresh.items()}
        assert min(dist, key=dist.get) == 3 + k, dist


def test_a_widget_that_does_not_change_still_gets_one_frame_a_step(shared, tmp_path, qtbot):
    session, _ = shared
    still = QLabel("the same at every step")                 # Pillow would merge equal frames
    qtbot.addWidget(still)
    still.resize(120, 40)
    still.show()
    qtbot.waitExposed(still)
    spec = AnimationSpec(0, 3, 10.0, 64, 48, str(tmp_path / "s.gif"))
    export(session, still, spec)
    size, frames = gif_frames(spec.path)
    assert size == (64, 48) and len(frames) == 4
    for a, b in zip(frames, frames[1:]):
        assert np.count_nonzero(np.abs(a - b).sum(axis=2)) <= 1   # at most one pixel differs


def test_mp4_through_the_exporter_has_every_frame(shared, tmp_path):
    session, window = shared
    spec = AnimationSpec(10, 14, 12.0, 96, 64, str(tmp_path / "g.mp4"))
    export(session, window_targets(window)["gradient"][1], spec)
    size, frames = mp4_frames(spec.path)
    assert size == (96, 64) and len(frames) == 5


def test_gif_delays_add_up_to_the_frame_rate():
    for frames, fps in ((7, 3.0), (30, 12.0), (5, 50.0)):
        d = gif_durations(frames, fps)
        assert len(d) == frames and all(x % 10 == 0 and x >= 10 for x in d)
        assert sum(d) == 10 * round(100 * frames / fps)


def test_cancel_writes_nothing_and_restores_the_view(shared, tmp_path, qtbot):
    session, window = shared
    session.set_step(5)
    spec = AnimationSpec(0, 40, 10.0, 64, 48, str(tmp_path / "c.gif"))
    exporter = AnimationExporter(session, window, spec)
    exporter.progress.connect(lambda k, n: exporter.cancel() if k == 2 else None)
    with qtbot.waitSignal(exporter.cancelled, timeout=30000):
        exporter.start()
    assert exporter.result == "cancelled"
    assert os.listdir(tmp_path) == [] and session.step == 5


def test_export_refuses_a_range_beyond_the_run_before_starting(shared, tmp_path):
    session, window = shared
    spec = AnimationSpec(0, session.steps + 1, 10.0, 64, 48, str(tmp_path / "x.gif"))
    with pytest.raises(AnimationError, match="this run has steps 0 to 40"):
        AnimationExporter(session, window, spec).start()
    assert os.listdir(tmp_path) == []


def test_dialog_exports_a_gif_driven_like_a_user(shared, tmp_path, qtbot, messages):
    session, window = shared
    dlg = AnimationDialog(session, window_targets(window), window, window=window)
    qtbot.addWidget(dlg)
    dlg.show()
    combo = dlg.findChild(object, "anim_target")
    combo.setCurrentIndex(combo.findData("states"))
    dlg.findChild(object, "anim_first").setValue(20)
    dlg.findChild(object, "anim_last").setValue(22)
    dlg.findChild(object, "anim_width").setValue(90)
    dlg.findChild(object, "anim_height").setValue(60)
    path = tmp_path / "d.gif"
    dlg.findChild(object, "anim_path").setText(str(path))
    assert "3 frames of 90×60" in dlg.findChild(object, "anim_summary").text()
    with qtbot.waitSignal(dlg.exported, timeout=30000):
        qtbot.mouseClick(dlg.findChild(object, "anim_export"), Qt.LeftButton)
    size, frames = gif_frames(path)
    assert size == (90, 60) and len(frames) == 3 and messages == []
    # a bad setting: one message, nothing written
    dlg.findChild(object, "anim_first").setValue(22)
    dlg.findChild(object, "anim_last").setValue(21)
    dlg.findChild(object, "anim_path").setText(str(tmp_path / "bad.gif"))
    qtbot.mouseClick(dlg.findChild(object, "anim_export"), Qt.LeftButton)
    assert len(messages) == 1 and "\n" not in messages[0]
    assert not (tmp_path / "bad.gif").exists()


def test_the_command_writes_exactly_b_minus_a_plus_1_frames(tmp_path, capsys, qapp):
    out = tmp_path / "e.mp4"
    code = run_export_animation(["--preset", "exploding", "--steps", "100:103", "--fps", "8",
                                 "--size", "160x100", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    size, frames = mp4_frames(out)
    assert size == (160, 100) and len(frames) == 103 - 100 + 1
    assert f"wrote 4 frames of 160×100 to {out}" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["--steps", "0:400"], "this run has steps 0 to 365"),
    (["--steps", "5:2"], "the first step is after the last"),
    (["--steps", "five"], "--steps must be A:B"),
    (["--steps", "0:3", "--size", "33x20", "--out", "{tmp}/odd.mp4"], "needs an even width and height"),
    (["--steps", "0:3", "--size", "big"], "--size must be WxH"),
    (["--steps", "0:3", "--size", "9000x100"], "each side must be 16–3840 pixels"),
    (["--steps", "0:3", "--fps", "55"], "GIF takes 1–50 frames a second"),
    (["--steps", "0:3", "--out", "{tmp}/x.avi"], "use a .gif or .mp4 file name"),
    (["--steps", "0:3", "--out", "{tmp}/missing/x.gif"], "its folder does not exist"),
    (["--steps", "0:3", "--preset", "nope"], "unknown preset 'nope'"),
    (["--steps", "0:3", "--setup", "gatescope:sigma1=7"], "--setup: 'sigma1' = 7.0 is out of range"),
    (["--steps", "0:5000", "--size", "1920x1080"], "too many for a GIF"),
])
def test_bad_command_lines_get_one_line_and_exit_2(argv, words, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "a.gif")]
    if "--preset" not in argv and "--setup" not in argv:
        argv += ["--setup", "gatescope:length=5000"] if "0:5000" in argv else []
    assert run_export_animation(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("main.py export-animation: error: ") and words in err[0]
    assert os.listdir(tmp_path) == []


def test_argument_parsers():
    assert parse_steps(" 3 : 9 ") == (3, 9) and parse_size("640×360") == (640, 360)
    with pytest.raises(AnimationError):
        check_spec(AnimationSpec(0, 10, 0.5, 64, 64, "a.gif"))
