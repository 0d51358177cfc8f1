"""The app, driven like a user: widgets by objectName, clicks, keys and slider values; the drawn
data read back from the plot items and compared with an independent run of the engine."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gatescope.core import Config, simulate
from gatescope.core.presets import list_presets
from gatescope.gui import dialogs
from gatescope.gui.app import create_window
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QComboBox, QSlider, QSpinBox, QToolButton

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def messages(monkeypatch):
    seen = []
    monkeypatch.setattr(dialogs, "warn", lambda parent, msg, details="": seen.append(msg))
    return seen


@pytest.fixture
def app_window(qtbot, messages):
    def make(config=None):
        session, window = create_window(config or Config())
        qtbot.addWidget(window)
        window.resize(1600, 1000)
        window.show()
        qtbot.waitExposed(window)
        assert session.wait_idle()
        made.append(session)
        return session, window
    made = []
    yield make
    for s in made:
        s.shutdown()


def reference(config):
    """The trace the Explore views must draw, computed independently of the app."""
    if config.model:                       # a trained preset: its model on its own encoding
        from gatescope.core.models.trained import load_trained
        m = load_trained(config.model)
        return simulate(m.stack.direction(0).cell, m.encode(config.text)[0])
    return simulate(config.build_cell(), config.build_inputs()[0])


def drawn(item):
    x, y = item.getData()
    return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))


def test_choosing_a_non_normal_w_draws_rho_t_which_the_curve_follows(app_window, qtbot):
    cfg = Config(cell="rnn", activation="identity", sigma1=1.05, length=300)
    session, window = app_window(cfg)
    g = window.gradient
    assert len(drawn(g.rho)[1]) == 0                      # normal W: ρ = σ₁, nothing extra drawn
    box = window.findChild(QComboBox, "structure")
    with qtbot.waitSignal(session.analysis_changed, timeout=10000):
        box.setCurrentIndex(box.findData("non-normal"))
    session.wait_idle()
    assert session.config.structure == "non-normal" and session.config.normal is False
    W = session.analysis.cell.weight_hh
    rho = float(np.max(np.abs(np.linalg.eigvals(W))))         # independent: the eigenvalues of W
    x, y = drawn(g.rho)
    np.testing.assert_array_equal(x, np.arange(301))
    np.testing.assert_allclose(y, np.arange(301) * np.log10(rho), atol=1e-9)
    # the measured ‖Wᵗ‖ ends parallel to ρᵗ (Gelfand), far below σ₁ᵗ
    _, m = drawn(g.measured)
    assert abs((m[300] - m[200]) / 100 - np.log10(rho)) < 0.01
    assert m[300] < 300 * np.log10(1.05) - 10
    assert "ρt = " in g.readout_text() and "ρ<sup>t</sup>" in g.readout.text()
    assert any("ρᵗ" in label.text for _, label in g.legend.items)


def test_sigma1_slider_redraws_gradient_curve(app_window, qtbot):
    session, window = app_window()
    slider = window.findChild(QSlider, "sigma1") or window.findChild(object, "sigma1")
    with qtbot.waitSignal(session.analysis_changed, timeout=10000):
        slider.setValue(1.02)
    session.wait_idle()
    assert session.config.sigma1 == pytest.approx(1.02)
    x, y = drawn(window.gradient.measured)
    ref = reference(Config(sigma1=1.02))
    np.testing.assert_allclose(y, ref.log10_jac_norm, atol=1e-12)
    np.testing.assert_array_equal(x, np.arange(366))
    _, s1 = drawn(window.gradient.sigma1)
    np.testing.assert_allclose(s1, np.arange(366) * np.log10(1.02), atol=1e-12)
    assert "1.02³⁶⁵ = 1377.4" in window.gradient.readout_text()
    assert window.findChild(object, "sigma1_spin").value() == pytest.approx(1.02)


def test_sigma1_spin_box_reaches_beyond_the_slider(app_window, qtbot):
    session, window = app_window()
    spin = window.findChild(object, "sigma1_spin")
    spin.setValue(2.5)
    session.wait_idle()
    assert session.config.sigma1 == pytest.approx(2.5)
    _, y = drawn(window.gradient.measured)
    assert y[-1] == pytest.approx(365 * np.log10(2.5), abs=1e-9)     # 10^145, drawn in log space


def test_stepping_moves_cursors_bars_and_flow(app_window, qtbot):
    cfg = Config(cell="lstm", length=40, sigma1=0.95)
    session, window = app_window(cfg)
    ref = reference(cfg)
    assert session.step == 40
    back = window.findChild(QToolButton, "step_back")
    for _ in range(3):
        qtbot.mouseClick(back, Qt.LeftButton)
    t = 37
    assert session.step == t
    assert window.gradient.cursor.value() == t
    rows = {r.key: r for r in window.gates.current_rows()}
    assert set(rows) == {"f", "i", "o", "g"}
    for key, row in rows.items():
        np.testing.assert_allclose(row.bar_values(), ref.gates[key][t - 1], atol=1e-6)
        assert row.cursor.value() == t
    assert window.states.h_row.cursor.value() == t
    window.flow.repaint()
    assert window.flow.values["f"] == pytest.approx(ref.gates["f"][t - 1].mean())
    np.testing.assert_array_equal(window.gradient.marker.getData()[1], [ref.log10_jac_norm[t]])
    qtbot.mouseClick(window.findChild(QToolButton, "step_forward"), Qt.LeftButton)
    assert session.step == t + 1
    timeline = window.findChild(QSlider, "timeline")
    assert timeline.value() == t + 1
    timeline.setValue(5)
    assert session.step == 5 and window.gradient.cursor.value() == 5


def test_keyboard_shortcuts(app_window, qtbot):
    session, window = app_window(Config(length=50))
    window.activateWindow()
    window.gradient.setFocus()
    qtbot.keyClick(window, Qt.Key_Home)
    assert session.step == 0
    qtbot.keyClick(window, Qt.Key_Right)
    qtbot.keyClick(window, Qt.Key_Right)
    assert session.step == 2
    qtbot.keyClick(window, Qt.Key_Left)
    assert session.step == 1
    qtbot.keyClick(window, Qt.Key_End)
    assert session.step == 50
    qtbot.keyClick(window, Qt.Key_Space)
    assert session.playing
    qtbot.waitUntil(lambda: session.step > 3, timeout=5000)
    qtbot.keyClick(window, Qt.Key_Space)
    assert not session.playing


def test_play_button_advances_and_stops_at_the_end(app_window, qtbot):
    session, window = app_window(Config(length=12))
    session.set_speed(200)
    play = window.findChild(QToolButton, "play")
    qtbot.mouseClick(play, Qt.LeftButton)     # at the end: play restarts from 0
    assert session.playing
    qtbot.waitUntil(lambda: not session.playing, timeout=5000)
    assert session.step == 12
    assert not play.isChecked()


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cell_kind_switch_draws_that_cells_trace(app_window, qtbot, kind):
    session, window = app_window(Config(cell="gru" if kind == "rnn" else "rnn", length=30))
    combo = window.findChild(QComboBox, "cell_kind")
    combo.setCurrentIndex(combo.findData(kind))
    session.wait_idle()
    cfg = Config(cell=kind, length=30)
    ref = reference(cfg)
    _, y = drawn(window.gradient.measured)
    np.testing.assert_allclose(y, ref.log10_jac_norm, atol=1e-12)
    _, yc = drawn(window.gradient.cell_path)
    assert (len(yc) > 0) == (kind == "lstm")
    for row in window.gates.current_rows():
        values = ref.gates[row.key] if kind != "rnn" else getattr(ref, row.key)
        expected = np.clip(values.T, *row.levels)          # drawn on the row's fixed colour scale
        np.testing.assert_allclose(row.image.image, expected, atol=1e-6)


def test_hidden_size_and_length_controls(app_window, qtbot):
    session, window = app_window(Config(length=20))
    window.findChild(QSpinBox, "hidden_size").setValue(5)
    window.findChild(QSpinBox, "seq_length").setValue(77)
    session.wait_idle()
    assert session.analysis.trace.h.shape == (78, 5)
    assert window.states.h_row.image.image.shape == (5, 78)
    assert window.spectrum.bars.opts["height"].shape == (5,)


def test_every_preset_loads_and_draws(app_window, qtbot):
    session, window = app_window()
    combo = window.findChild(QComboBox, "preset")
    presets = list_presets()
    assert len(presets) >= 8
    for k, preset in enumerate(presets, start=1):
        combo.setCurrentIndex(k)
        session.wait_idle()
        assert session.config == preset.config
        ref = reference(preset.config)
        _, y = drawn(window.gradient.measured)
        np.testing.assert_allclose(y, ref.log10_jac_norm, atol=1e-12, err_msg=preset.name)
        assert combo.currentIndex() == k
        assert preset.description in window.controls.preset_desc.text()


def test_text_input_labels_steps_with_tokens(app_window, qtbot):
    session, window = app_window(Config(source="text", text="the clouds are in the sky"))
    assert session.analysis.tokens == ["the", "clouds", "are", "in", "the", "sky"]
    session.set_step(2)
    assert "token “clouds”" in window.gradient.readout_text()
    axis = window.gradient.time_axis
    assert axis.tickStrings([1, 2, 6], 1, 1) == ["the", "clouds", "sky"]
    assert "clouds" in window.status_label.text()


def test_bad_sentence_keeps_previous_state(app_window, qtbot, messages):
    session, window = app_window(Config(source="text", text="the clouds are in the sky"))
    before = session.analysis
    session_config = session.config
    window.controls._set(sigma1=7.0)              # out of range, as a typed value would be
    assert messages and "sigma1" in messages[-1]
    assert session.config == session_config and session.analysis is before


def test_spectrum_view_shows_singular_values_and_eigenvalues(app_window, qtbot):
    cfg = Config(sigma1=1.05, shape="geometric", structure="non-normal", hidden=12)
    session, window = app_window(cfg)
    s = np.linalg.svd(cfg.build_cell().weight_hh, compute_uv=False)
    np.testing.assert_allclose(window.spectrum.bars.opts["height"], s, rtol=1e-12)
    ev = np.linalg.eigvals(cfg.build_cell().weight_hh)
    x, y = window.spectrum.eigs.getData()
    np.testing.assert_allclose(np.sort(x), np.sort(ev.real), atol=1e-12)
    assert "non-normal" in window.spectrum.header.text()
    assert "1.01³⁶⁵ = 37.8" in window.spectrum.table.text()


def test_session_save_and_open_round_trip(app_window, qtbot, tmp_path, messages):
    cfg = Config(cell="gru", convention="seed", sigma1=0.93, hidden=7, seed=3, length=60)
    session, window = app_window(cfg)
    session.set_step(17)
    path = tmp_path / "s.json"
    window.save_session(str(path))
    session2, window2 = app_window()
    window2.open_session(str(path))
    session2.wait_idle()
    assert session2.config == session.config
    assert session2.step == 17
    np.testing.assert_array_equal(drawn(window2.gradient.measured)[1], drawn(window.gradient.measured)[1])
    # a bad file changes nothing and says why
    (tmp_path / "bad.json").write_text('{"version": 1, "setup": {"sigma1": "big"}}')
    before = session2.config
    window2.open_session(str(tmp_path / "bad.json"))
    assert messages and "sigma1" in messages[-1] and session2.config == before


def test_open_weights_shows_their_spectrum(app_window, qtbot, tmp_path, messages):
    rng = np.random.default_rng(0)
    n = 6
    w_hh = rng.standard_normal((3 * n, n))
    np.savez(tmp_path / "gru.npz", weight_ih_l0=rng.standard_normal((3 * n, 2)), weight_hh_l0=w_hh)
    session, window = app_window(Config(length=25))
    window.open_weights(str(tmp_path / "gru.npz"))
    session.wait_idle()
    assert session.analysis.cell.kind == "gru" and session.weights_name == "gru.npz"
    shown = window.spectrum.bars.opts["height"]
    key = window.spectrum.block.currentData()
    block = {"r": 0, "z": 1, "n": 2}[key]
    np.testing.assert_allclose(shown, np.linalg.svd(w_hh[block * n:(block + 1) * n], compute_uv=False))
    window.open_weights(str(tmp_path / "missing.npz"))
    assert "cannot open" in messages[-1]
    assert session.weights_name == "gru.npz"


def test_exports_write_valid_files(app_window, qtbot, tmp_path):
    session, window = app_window(Config(length=30))
    window.export_png(str(tmp_path / "w.png"))
    img = QImage(str(tmp_path / "w.png"))
    assert not img.isNull() and img.width() > 100
    window.export_trace(str(tmp_path / "t.npz"))
    with np.load(tmp_path / "t.npz") as z:
        np.testing.assert_array_equal(z["log10_jac_norm"], session.analysis.trace.log10_jac_norm)
    window.export_trace(str(tmp_path / "t.csv"))
    assert (tmp_path / "t.csv").read_text().count("\n") == 32


def test_screenshot_command_writes_a_full_size_image(tmp_path):
    out = tmp_path / "shot.png"
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "--screenshot", str(out), "--preset",
                        "lstm-carousel", "--step", "100"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1600, 1000)
    small = img.scaled(160, 100)
    colours = {small.pixel(x, y) for x in range(160) for y in range(100)}
    assert len(colours) > 200          # a real picture, not a blank window


def test_hover_shows_exact_values(app_window, qtbot):
    cfg = Config(cell="lstm", length=30)
    session, window = app_window(cfg)
    ref = reference(cfg)
    view = window.gradient
    vb = view.plot.vb
    scene_pos = vb.mapViewToScene(pg_point(12, 0.0))
    view._on_mouse(scene_pos)
    assert view.hover.isVisible()
    text = view.hover.textItem.toPlainText()
    assert text.startswith("t = 12")
    assert f"{ref.log10_jac_norm[12]:.6g}" in text


def pg_point(x, y):
    from PySide6.QtCore import QPointF
    return QPointF(x, y)


def test_presentation_scale_and_high_contrast(app_window, qtbot):
    session, window = app_window(Config(length=20))
    base_tick = window.gradient.plot.getAxis("left").style["tickFont"].pointSizeF()
    base_readout = window.gradient.readout.font().pointSizeF()
    try:
        window.findChild(object, "scale_2").trigger()
        assert session.view.scale == 2.0 and window.theme.scale == 2.0
        assert window.gradient.readout.font().pointSizeF() == pytest.approx(2 * base_readout)
        assert window.gradient.plot.getAxis("left").style["tickFont"].pointSizeF() == pytest.approx(2 * base_tick)
        assert window.gradient.measured.opts["pen"].widthF() == pytest.approx(2 * 3.5)
        window.findChild(object, "high_contrast").trigger()
        assert session.view.high_contrast and window.theme.high_contrast
        assert window.gradient.measured.opts["pen"].widthF() == pytest.approx(2 * 3.5 * 1.6)
        # a disabled control (the LSTM forget bias of an RNN) still reads as disabled: its text
        # is lighter than an enabled one's
        from PySide6.QtGui import QPalette
        fb = window.findChild(object, "forget_bias")
        assert not fb.isEnabled()
        pal = fb.palette()
        off = pal.color(QPalette.Disabled, QPalette.Text).lightness()
        on = pal.color(QPalette.Active, QPalette.Text).lightness()
        assert off - on > 80
    finally:
        window.set_high_contrast(False)
        window.set_scale(1.0)
    assert window.gradient.readout.font().pointSizeF() == pytest.approx(base_readout)


def test_scaling_up_and_down_gives_the_dock_its_width_back(app_window, qtbot):
    session, window = app_window(Config(length=20))
    base = window.dock.width()
    window.set_scale(2.0)
    qtbot.wait(50)
    assert window.dock.width() > base
    window.set_scale(1.0)
    qtbot.wait(50)
    assert window.dock.width() <= base + 10


def test_the_legend_fits_its_plot_in_a_small_window(app_window, qtbot):
    session, window = app_window(Config(cell="lstm", length=100))
    window.resize(1280, 720)
    qtbot.wait(100)
    session.update(sigma1=0.9)
    assert session.wait_idle()
    qtbot.wait(50)
    g = window.gradient
    # the legend has its own row: inside the plot's widget, and never over the curves' box
    legend = g.legend.mapRectToScene(g.legend.boundingRect())
    box = g.plot.vb.mapRectToScene(g.plot.vb.boundingRect())
    assert legend.width() <= g.plot_widget.width() and not legend.intersects(box)
    assert legend.bottom() <= box.top()


def test_hide_controls_and_fullscreen_actions(app_window, qtbot):
    session, window = app_window(Config(length=20))
    assert window.dock.isVisible()
    window.dock_action.trigger()
    assert not window.dock.isVisible()
    window.dock_action.trigger()
    assert window.dock.isVisible()


def test_help_notes_are_rendered_without_latex(app_window, qtbot):
    session, window = app_window(Config(length=20))
    window.findChild(object, "notes").trigger()
    text = window.notes_dialog.findChild(object, "notes_text").toPlainText()
    assert "1.01³⁶⁵ = 37.8" in text and "I speak fluent" in text and "W_z" in text
    assert "\\frac" not in text and "\\sigma" not in text and "<img" not in text
    window.notes_dialog.close()


@pytest.mark.parametrize("key", ["gradient", "gates", "states", "spectrum", "flow"])
@pytest.mark.parametrize("ext", [".png", ".svg"])
def test_export_every_plot(app_window, qtbot, tmp_path, key, ext):
    session, window = app_window(Config(cell="lstm", length=20))
    path = tmp_path / f"{key}{ext}"
    window.export_plot(key, str(path))
    data = path.read_bytes()
    if ext == ".png":
        img = QImage(str(path))
        assert not img.isNull() and img.width() > 50 and img.height() > 50
    else:
        assert data.lstrip().startswith(b"<?xml") and b"<svg" in data[:2000]


def test_window_svg_export(app_window, qtbot, tmp_path, messages):
    session, window = app_window(Config(length=20))
    window.export_png(str(tmp_path / "w.svg"))
    assert b"<svg" in (tmp_path / "w.svg").read_bytes()[:3000]
    window.export_png(str(tmp_path / "w.bmp"))
    assert messages and ".png or .svg" in messages[-1]


def test_recent_files_and_drop(app_window, qtbot, tmp_path):
    session, window = app_window(Config(length=20))
    window.settings.setValue("recent", [])
    p = tmp_path / "a.json"
    window.save_session(str(p))
    assert window.recent_files()[0] == str(p)
    window._fill_recent()
    assert [a.text() for a in window.recent_menu.actions()] == [str(p)]


def test_corrupt_settings_start_cleanly(app_window, qtbot):
    from gatescope.gui.app import last_session
    session, window = app_window(Config(length=20))
    window.settings.setValue("geometry", b"garbage")
    window.settings.setValue("window_state", "not a state")
    assert window.restore_settings() is False
    assert window.isVisible()
    window.settings.setValue("last_session", '{"version": 1, "setup": {"sigma1": 99}}')
    assert last_session(window.settings) is None
    window.settings.setValue("last_session", '{"version": 1, "setup": {"sigma1": 0.7}}')
    assert last_session(window.settings).sigma1 == 0.7


def test_unexpected_exception_shows_dialog_logs_and_keeps_running(app_window, qtbot, messages, tmp_path):
    from gatescope.gui import errors
    session, window = app_window(Config(length=20))
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        errors.handle_exception(*sys.exc_info())
    qtbot.waitUntil(lambda: bool(messages), timeout=3000)
    assert "boom in a slot" in messages[-1]
    log = Path(errors.log_path()).read_text()
    assert "RuntimeError: boom in a slot" in log
    session.step_by(-1)
    assert session.step == 19


def test_cancel_keeps_the_last_picture(app_window, qtbot):
    session, window = app_window(Config(length=20))
    before = session.analysis
    session.update(cell="lstm", hidden=64, length=1000)
    assert session.busy
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton) if window.cancel_button.isVisible() else session.cancel()
    session.wait_idle()
    assert session.analysis is before
    assert session.config == before.config
    assert window.findChild(QComboBox, "cell_kind").currentData() == "rnn"


def test_compare_mode_from_the_menu_steps_all_three_in_lockstep(app_window, qtbot):
    cfg = Config(length=40, sigma1=1.01)
    session, window = app_window(cfg)
    window.findChild(object, "compare_mode").trigger()
    assert session.compare_mode
    session.wait_idle()
    assert window.pages.currentIndex() == 1
    for kind in ("rnn", "lstm", "gru"):
        ref = reference(cfg.replace(cell=kind))
        np.testing.assert_allclose(drawn(window.compare.curves[kind])[1], ref.log10_jac_norm, atol=1e-12)
    qtbot.keyClick(window, Qt.Key_Home)
    qtbot.keyClick(window, Qt.Key_Right)
    assert window.compare.cursor.value() == 1 == session.step
    window.findChild(object, "compare_mode").trigger()
    assert not session.compare_mode and window.pages.currentIndex() == 0


def test_explain_panel_numbers_equal_the_trace(app_window, qtbot):
    cfg = Config(cell="lstm", length=30)
    session, window = app_window(cfg)
    window.explain_action.trigger()
    assert window.explain_dock.isVisible()
    session.set_step(12)
    ref = reference(cfg)
    unit = window.explain.unit()
    vals = window.explain.values()
    assert vals["f"] == ref.gates["f"][11][unit] and vals["c"] == ref.c[12][unit]


def test_extreme_settings_draw_only_finite_values(app_window, qtbot):
    """σ₁ = 3 for an identity RNN: states reach 10^±hundreds; the gradient curve is exact in log
    space and nothing non-finite reaches an image or a readout."""
    session, window = app_window(Config(length=20))
    session.update(sigma1=3.0, length=600, input_scale=1e6)
    session.wait_idle()
    _, y = drawn(window.gradient.measured)
    assert y[-1] == pytest.approx(600 * np.log10(3.0), abs=1e-9)
    for row in window.gates.current_rows():
        assert np.all(np.isfinite(row.image.image))
    assert np.all(np.isfinite(window.states.h_row.image.image))
    assert "nan" not in window.gradient.readout_text().lower()
    assert "inf" not in window.status_label.text().lower()
    window.flow.repaint()
    assert all(np.isfinite(v) for v in window.flow.values.values())
    # beyond float64: the trace stops where h overflows and the readout says so
    session.update(length=1000)
    session.wait_idle()
    tr = session.analysis.trace
    assert tr.overflow_step is not None and session.steps == tr.overflow_step - 1
    assert f"float64 range at t = {tr.overflow_step}" in window.gradient.readout_text()
    assert np.all(np.isfinite(window.states.h_row.image.image))


def test_drop_a_session_file_onto_the_window(app_window, qtbot, tmp_path):
    from gatescope.core.session_file import write_session
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent
    session, window = app_window(Config(length=20))
    path = tmp_path / "dropped.json"
    write_session(path, Config(cell="gru", length=33))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(100, 100), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    session.wait_idle()
    assert session.config.cell == "gru" and session.steps == 33


def test_first_run_hint_points_at_sigma1_and_play_and_closes(app_window, qtbot):
    from gatescope.gui.hint import FirstRunHint
    session, window = app_window(Config(length=20))
    closed = []
    hint = FirstRunHint(window, lambda: closed.append(True))
    hint.place()
    hint.show()
    from PySide6.QtWidgets import QLabel
    text = hint.findChildren(QLabel)[0].text()
    assert "σ₁" in text and "play" in text
    qtbot.mouseClick(hint.findChild(object, "first_run_ok"), Qt.LeftButton)
    assert closed == [True] and not hint.isVisible()


def test_session_with_weights_reopens_the_same_cell(app_window, qtbot, tmp_path, messages):
    rng = np.random.default_rng(4)
    n = 5
    np.savez(tmp_path / "lstm.npz", weight_ih=rng.standard_normal((4 * n, 3)),
             weight_hh=rng.standard_normal((4 * n, n)) / 2)
    session, window = app_window(Config(length=25))
    window.open_weights(str(tmp_path / "lstm.npz"))
    session.wait_idle()
    session.set_step(9)
    window.save_session(str(tmp_path / "s.json"))
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["weights"] == "lstm.npz"
    session2, window2 = app_window()
    window2.open_session(str(tmp_path / "s.json"))
    session2.wait_idle()
    assert session2.weights_name == "lstm.npz" and session2.step == 9
    np.testing.assert_array_equal(drawn(window2.gradient.measured)[1], drawn(window.gradient.measured)[1])
    # the weights gone: a clear message, nothing changes
    (tmp_path / "lstm.npz").unlink()
    before = session2.config
    window2.open_session(str(tmp_path / "s.json"))
    assert "cannot open" in messages[-1] and session2.config == before


def test_gate_biases_are_editable_in_compare_mode(app_window, qtbot):
    session, window = app_window(Config(cell="rnn", length=30))
    fb = window.findChild(object, "forget_bias")
    assert not fb.isEnabled()
    session.set_compare_mode(True)
    session.wait_idle()
    assert fb.isEnabled()
    fb.setValue(4.0)
    session.wait_idle()
    ref = reference(Config(cell="lstm", length=30, forget_bias=4.0))
    np.testing.assert_allclose(drawn(window.compare.curves["lstm"])[1], ref.log10_jac_norm, atol=1e-12)


def test_weights_beyond_the_apps_limits_are_refused_and_change_nothing(app_window, qtbot, tmp_path, messages):
    np.savez(tmp_path / "big.npz", weight_ih=np.zeros((300, 2)), weight_hh=np.zeros((300, 300)))
    session, window = app_window(Config(length=20))
    before, analysis = session.config, session.analysis
    window.open_weights(str(tmp_path / "big.npz"))
    assert messages and "hidden size n = 300 is above the limit 256" in messages[-1]
    session.wait_idle()
    assert session.config == before and session.analysis is analysis and session.weights_name is None
