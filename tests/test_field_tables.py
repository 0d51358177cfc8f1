"""One table drives every surface: each setup field's range, default and choices are the same
in the control dock, on the command line (the app and `simulate`), and in the validator of
session, preset and lesson files."""
import argparse
import json

import pytest
from gatescope.core.cli.options import add_field_options
from gatescope.core.config import FIELDS, VIEW_FIELDS, Config, ConfigError, ViewState
from gatescope.core.session_file import SessionFileError, parse_session_doc
from PySide6.QtWidgets import QComboBox

from gatescope.launcher import build_parser, build_simulate_parser

NUMERIC = [f for f in FIELDS if f.type in (int, float) and f.lo is not None]
CHOICE = [f for f in FIELDS if f.choices is not None]


def _eps(f):
    return 1 if f.type is int else max(1e-9, abs(f.hi) * 1e-9)


def _parse(parser, argv):
    """(namespace or None, the exit code) — argparse exits with 2 on a refused value."""
    try:
        return parser.parse_args(argv), 0
    except SystemExit as exc:
        return None, exc.code


@pytest.fixture(scope="module")
def dock(qapp):
    import tempfile

    from gatescope.gui.controls import ControlPanel
    from gatescope.gui.session import Session
    from gatescope.gui.settings_store import SettingsStore
    s = Session(store=SettingsStore(tempfile.mkdtemp() + "/s.ini"))
    panel = ControlPanel(s)
    yield panel
    panel.deleteLater()
    s.shutdown()


@pytest.mark.parametrize("f", NUMERIC, ids=lambda f: f.name)
def test_the_dock_box_has_the_tables_range_and_default(dock, f):
    box = dock.bound[f.name]
    assert box.minimum() == pytest.approx(f.lo) and box.maximum() == pytest.approx(f.hi)
    assert box.value() == pytest.approx(f.default)
    assert not box.keyboardTracking()          # committed on Enter / focus-out, not per keystroke
    lo, hi = (int(f.lo), int(f.hi)) if f.type is int else (f.lo, f.hi)
    assert f"Range {lo:g} to {hi:g}" in box.toolTip()     # the tooltip states the table's range


@pytest.mark.parametrize("f", CHOICE, ids=lambda f: f.name)
def test_the_dock_combo_offers_exactly_the_tables_choices(dock, f):
    if f.name == "source":
        pytest.skip("the source is the sentence / signal radio pair")
    combo = dock.bound[f.name]
    assert isinstance(combo, QComboBox)
    assert [combo.itemData(i) for i in range(combo.count())] == list(f.choices)
    assert combo.currentData() == f.default


@pytest.mark.parametrize("make", [build_parser, build_simulate_parser], ids=["app", "simulate"])
@pytest.mark.parametrize("f", NUMERIC, ids=lambda f: f.name)
def test_the_command_line_accepts_exactly_the_tables_range(make, f, capsys):
    parser = make()
    for ok in (f.lo, f.hi, f.default):
        args, code = _parse(parser, [f.flag, str(int(ok) if f.type is int else repr(float(ok)))])
        assert code == 0 and getattr(args, f.name) == pytest.approx(ok)
    for bad in (f.lo - _eps(f), f.hi + _eps(f)):
        text = str(int(bad)) if f.type is int else repr(float(bad))
        args, code = _parse(parser, [f.flag, text])
        assert code == 2, (f.name, text)
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f.flag in err[0] and "out of range" in err[0]


@pytest.mark.parametrize("make", [build_parser, build_simulate_parser], ids=["app", "simulate"])
@pytest.mark.parametrize("f", [f for f in CHOICE if f.flag], ids=lambda f: f.name)
def test_the_command_line_offers_exactly_the_tables_choices(make, f):
    parser = make()
    action = next(a for a in parser._actions if f.flag in a.option_strings)
    assert tuple(action.choices) == tuple(f.choices)


@pytest.mark.parametrize("f", NUMERIC, ids=lambda f: f.name)
def test_the_file_validator_accepts_exactly_the_tables_range(f):
    for ok in (f.lo, f.hi):
        assert getattr(Config(**{f.name: f.type(ok)}), f.name) == pytest.approx(ok)
        doc = parse_session_doc(json.dumps({"version": 2, "setup": {f.name: f.type(ok)}}))
        assert getattr(doc.config, f.name) == pytest.approx(ok)
    for bad in (f.lo - _eps(f), f.hi + _eps(f)):
        with pytest.raises(ConfigError, match=f.name):
            Config(**{f.name: f.type(bad)})
        with pytest.raises(SessionFileError, match=f.name):
            parse_session_doc(json.dumps({"version": 2, "setup": {f.name: f.type(bad)}}))


def test_every_field_has_a_surface_and_a_default_that_validates():
    assert Config() == Config(**{f.name: f.default for f in FIELDS})
    assert ViewState() == ViewState(**{f.name: f.default for f in VIEW_FIELDS})
    names = {a.dest for a in build_simulate_parser()._actions}
    for f in FIELDS:
        assert f.name in names or f.flag is None, f.name


@pytest.mark.parametrize("f", [f for f in VIEW_FIELDS if f.type in (int, float)], ids=lambda f: f.name)
def test_view_options_follow_the_view_table(f):
    parser = add_field_options(argparse.ArgumentParser(exit_on_error=False), VIEW_FIELDS)
    good = f.choices if f.choices else (f.lo, f.hi)
    for v in good:
        if f.flag is not None:
            assert getattr(parser.parse_args([f.flag, str(v)]), f.name) == pytest.approx(v)
        assert getattr(ViewState(**{f.name: f.type(v)}), f.name) == pytest.approx(v)
        doc = parse_session_doc(json.dumps({"version": 2, "setup": {}, "view": {f.name: f.type(v)}}))
        assert getattr(doc.view, f.name) == pytest.approx(v)
    bad = 7.0 if f.choices else f.hi + 1
    with pytest.raises(ConfigError):
        ViewState(**{f.name: f.type(bad)})
    with pytest.raises(SessionFileError, match=f.name):
        parse_session_doc(json.dumps({"version": 2, "setup": {}, "view": {f.name: f.type(bad)}}))
    if f.lo is not None:
        with pytest.raises(SessionFileError, match=f.name):
            parse_session_doc(json.dumps({"version": 2, "setup": {}, "view": {f.name: f.type(f.lo - 1)}}))


def test_the_layer_and_direction_are_view_state_without_a_command_line_option():
    """The app's command line cannot load a model file, so it offers no layer to draw; the view
    table's range is every layer core.models reads."""
    from gatescope.core.config import VIEW_FIELD
    from gatescope.core.models import MAX_LAYERS
    layer, reverse = VIEW_FIELD["layer"], VIEW_FIELD["reverse"]
    assert (layer.type, layer.default, layer.lo, layer.hi) == (int, 0, 0, MAX_LAYERS - 1)
    assert (reverse.type, reverse.default) == (bool, False) and layer.help and reverse.help
    dests = {a.dest for a in build_parser()._actions}
    assert "layer" not in dests and "reverse" not in dests and "step" in dests
    assert ViewState().to_dict()["layer"] == 0 and ViewState().to_dict()["reverse"] is False
