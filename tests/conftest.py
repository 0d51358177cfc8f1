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
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

try:
    from PySide6.QtCore import QStandardPaths
    QStandardPaths.setTestModeEnabled(True)
except ImportError:  # core-only environments
    pass
