"""A trained model's readout in the Connectivity view: log10 ‖∂ŷ_t/∂x_k‖, how much "France"
drives the prediction at "fluent" (issue 15 req 6), equal to the engine's output_connectivity."""
import numpy as np
from gatescope.core.connectivity import output_connectivity
from gatescope.core.presets import get_preset
from gatescope.gui.app import create_window
from gatescope.gui.settings_store import SettingsStore


def test_the_output_toggle_shows_the_engines_output_connectivity(qtbot, tmp_path):
    session, window = create_window(get_preset("trained-lstm-france").config,
                                    store=SettingsStore(str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    assert session.wait_until_idle()
    a = session.analysis
    assert a.readout is not None and a.predictions
    window.explore.show_panel("connectivity")
    view = window.connectivity
    qtbot.waitUntil(lambda: view.output_toggle.isVisible(), timeout=10000)
    view.output_toggle.setChecked(True)
    qtbot.waitUntil(lambda: view.mode == "output" and view.matrix() is not None, timeout=60000)
    ro = a.readout
    want = output_connectivity(a.cell, a.trace.inputs, np.asarray(ro.weight), np.asarray(ro.bias),
                               softmax=getattr(ro, "activation", "linear") == "softmax")
    got = view.matrix()
    finite = np.isfinite(want)
    assert np.array_equal(finite, np.isfinite(got))
    np.testing.assert_allclose(got[finite], want[finite], atol=1e-9)
    # the row at "fluent" (the last step): "france" drives the prediction far less than "fluent"
    T = a.steps
    k_france = a.tokens.index("france") + 1
    assert want[T - 1, k_france - 1] < want[T - 1, T - 1]
    session.shutdown()
