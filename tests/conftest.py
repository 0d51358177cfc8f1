"""Test set-up: Qt runs off screen, so `python -m pytest` needs no display, and nothing is read
from or written to the user's settings, log or last session: they go to a temporary folder."""
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_SCALE_FACTOR", "1")
# settings, the log and the last session of every test (and of every app a test starts)
_CONFIG_DIR = tempfile.mkdtemp(prefix="gatescope-test-config-")
os.environ["GATESCOPE_CONFIG_DIR"] = _CONFIG_DIR
# Bytecode: where the environment forbids writing it (PYTHONDONTWRITEBYTECODE), every test worker
# and every app or command a test starts (≈ 90 launches a run) compiled Gatescope's modules from
# source again; the run gets one private bytecode folder instead, shared by all of them (the
# workers and children inherit it) and removed when the run ends. Nothing is written elsewhere.
_BYTECODE = None
if os.environ.get("PYTHONDONTWRITEBYTECODE") and not os.environ.get("GATESCOPE_TEST_BYTECODE"):
    _BYTECODE = tempfile.mkdtemp(prefix="gatescope-test-bytecode-")
    os.environ["GATESCOPE_TEST_BYTECODE"] = os.environ["PYTHONPYCACHEPREFIX"] = _BYTECODE
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    sys.pycache_prefix, sys.dont_write_bytecode = _BYTECODE, False


def pytest_unconfigure(config):
    if _BYTECODE is not None:                   # the process that made the folder removes it
        import shutil
        shutil.rmtree(_BYTECODE, ignore_errors=True)


ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

try:
    from PySide6.QtCore import QStandardPaths
    QStandardPaths.setTestModeEnabled(True)
except ImportError:  # core-only environments
    pass


import pytest  # noqa: E402


@pytest.fixture
def window_at(qtbot):
    """window_at(config, w=1600, h=1000, scale=None, **create_window options) → (session, window):
    the real window, shown off screen at w × h (and the presentation scale), its first
    computation done; shut down after the test."""
    made = []

    def make(config, w=1600, h=1000, scale=None, **options):
        from gatescope.gui.app import create_window
        session, window = create_window(config, **options)
        qtbot.addWidget(window)
        window.resize(w, h)
        window.show()
        qtbot.waitExposed(window)
        if scale is not None:
            session.set_scale(scale)
        assert session.wait_until_idle()
        made.append(session)
        return session, window
    yield make
    for s in made:
        s.shutdown()


@pytest.fixture
def sessions(qapp, tmp_path):
    """sessions(config=None, store_name=None) → a Session with no window (its settings in
    tmp_path: a store of its own, or the one named, shared by the sessions that name it), its
    first computation done; shut down after the test."""
    from gatescope.core.config import Config
    from gatescope.gui.session import Session
    from gatescope.gui.settings_store import SettingsStore
    made = []

    def make(config=None, store_name=None):
        store = SettingsStore(str(tmp_path / (store_name or f"s{len(made)}.ini")))
        s = Session(config or Config(length=30), store=store)
        s.refresh()
        assert s.wait_until_idle()
        made.append(s)
        return s
    yield make
    for s in made:
        s.shutdown()
