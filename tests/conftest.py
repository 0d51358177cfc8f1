"""Test set-up: Qt runs off screen, so `python -m pytest` needs no display."""
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_SCALE_FACTOR", "1")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# QSettings and app-data paths go to a test location, never the user's real settings
try:
    from PySide6.QtCore import QStandardPaths
    QStandardPaths.setTestModeEnabled(True)
except ImportError:  # core-only environments
    pass
