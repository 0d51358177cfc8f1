"""Animation export: the window or one view, rendered off screen step by step, written as an
animated GIF (Pillow) or an MP4 video (H.264 through the ffmpeg that imageio-ffmpeg ships).

Qt widgets can only be painted on the GUI thread, so `AnimationExporter` renders there, one frame a
timer tick (set the step; let the views update; render; hand the pixels over), and a worker thread
encodes; the event loop keeps running, so the progress bar moves and Cancel works. Frame k shows
step first + k; every frame is exactly width × height (the widget is drawn scaled to fit, centred).

    File → Export animation…         AnimationDialog
    main.py export-animation …       run_export_animation(argv)
"""
from __future__ import annotations

import os
import queue
import tempfile
import threading

import numpy as np
from gatescope.core.cli.animation import (
    FORMATS,
    FPS_RANGE,
    SIZE_RANGE,
    AnimationError,
    AnimationSpec,
    check_spec,
)
from PySide6.QtCore import QObject, QPoint, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

_END, _CANCEL = object(), object()


def encoders() -> dict[str, str | None]:
    """For each format, None if it can be written here, else why not (the package to install)."""
    found = {}
    try:
        import PIL.Image  # noqa: F401
        found[".gif"] = None
    except ImportError:
        found[".gif"] = "GIF export needs Pillow (pip install pillow)"
    try:
        import imageio_ffmpeg
        imageio_ffmpeg.get_ffmpeg_exe()
        found[".mp4"] = None
    except (ImportError, RuntimeError):
        found[".mp4"] = "MP4 export needs imageio-ffmpeg (pip install imageio-ffmpeg)"
    return found


# -- rendering (GUI thread) ----------------------------------------------------------------------
def render_frame(widget: QWidget, width: int, height: int, background=None) -> QImage:
    """The widget painted into a width × height image: scaled uniformly to fit (vector drawing,
    so text and lines stay sharp), centred on the window colour."""
    img = QImage(width, height, QImage.Format_RGB32)
    img.fill(background or widget.palette().window().color() or QColor("white"))
    w, h = max(1, widget.width()), max(1, widget.height())
    s = min(width / w, height / h)
    painter = QPainter(img)
    painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing
                           | QPainter.SmoothPixmapTransform)
    painter.translate((width - w * s) / 2, (height - h * s) / 2)
    painter.scale(s, s)
    widget.render(painter, QPoint(0, 0))
    painter.end()
    return img


def image_to_rgb(img: QImage) -> np.ndarray:
    """(H, W, 3) uint8 copy of a QImage's pixels."""
    img = img.convertToFormat(QImage.Format_RGB888)
    h, w, stride = img.height(), img.width(), img.bytesPerLine()
    rows = np.frombuffer(img.constBits(), np.uint8, count=h * stride).reshape(h, stride)
    return rows[:, :3 * w].reshape(h, w, 3).copy()      # a copy: the image's memory goes with it


# -- encoding (worker thread) --------------------------------------------------------------------
def gif_durations(frames: int, fps: float) -> list[int]:
    """Per-frame delays in ms, multiples of 10 (GIF counts 1/100 s), summing to frames/fps."""
    ticks = [round(100 * k / fps) for k in range(frames + 1)]
    return [10 * max(1, b - a) for a, b in zip(ticks[:-1], ticks[1:])]


def _codes(rgb: np.ndarray) -> np.ndarray:
    """24-bit colour codes r·2¹⁶ + g·2⁸ + b of an (H, W, 3) uint8 image, flattened."""
    c = rgb.reshape(-1, 3).astype(np.int32)
    return (c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]


def gif_palette(rgb: np.ndarray, size: int = 255) -> np.ndarray:
    """(size, 3) uint8 palette for a user-interface picture: its most frequent colours exactly
    (backgrounds, text, curves), the rest of the room filled by median cut of the whole picture."""
    from PIL import Image
    colours, counts = np.unique(_codes(rgb), return_counts=True)
    order = colours[np.argsort(-counts, kind="stable")]
    exact = order[:size if len(order) <= size else (2 * size) // 3]
    pal = np.stack([(exact >> 16) & 255, (exact >> 8) & 255, exact & 255], axis=1)
    room = size - len(pal)
    if room > 0 and len(order) > len(exact):
        q = Image.fromarray(rgb, "RGB").quantize(room, method=Image.Quantize.MEDIANCUT,
                                                 dither=Image.Dither.NONE)
        extra = np.asarray(q.getpalette()[:3 * room], dtype=np.int64).reshape(-1, 3)
        pal = np.vstack([pal, extra])
    out = np.zeros((size, 3), np.uint8)
    out[:len(pal)] = pal[:size]
    return out


def map_to_palette(rgb: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """(H, W) indices of each pixel's nearest palette colour (squared RGB distance); a colour in
    the palette maps to itself exactly."""
    colours, inverse = np.unique(_codes(rgb), return_inverse=True)
    c = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1).astype(np.int32)
    p = palette.astype(np.int32)
    best = np.empty(len(c), np.uint8)
    for a in range(0, len(c), 4096):                       # (4096 × 256) distances at a time
        d = ((c[a:a + 4096, None, :] - p[None, :, :]) ** 2).sum(axis=2)
        best[a:a + 4096] = np.argmin(d, axis=1)
    return best[inverse.reshape(-1)].reshape(rgb.shape[:2])


class _GifWriter:
    """Frames mapped to one shared palette (made from the first frame), so the colours never
    flicker and frames compare index by index. Pillow drops a frame identical to the one before;
    to keep one frame a step, such a frame has pixel (0,0) switched to its colour's twin entry
    (index 255 repeats the colour of the first frame's pixel (0,0)), so it looks the same."""

    def __init__(self, spec: AnimationSpec):
        self.spec, self.frames, self.palette, self.twin = spec, [], None, 0

    def add(self, rgb: np.ndarray):
        if self.palette is None:
            pal = gif_palette(rgb)
            self.twin = int(map_to_palette(rgb[:1, :1], pal)[0, 0])
            self.palette = np.vstack([pal, pal[self.twin:self.twin + 1]]).reshape(-1).tolist()
            self._pal = pal
            self._lut = np.full(1 << 24, 0xFFFF, np.uint16)     # colour code → index (32 MiB)
        index = self._index(rgb)
        if self.frames and np.array_equal(index, self.frames[-1]):
            index = index.copy()
            index[0, 0] = 255 if index[0, 0] != 255 else self.twin
        self.frames.append(index)

    def _index(self, rgb: np.ndarray) -> np.ndarray:
        """map_to_palette through a cache of the colours seen before (a frame shares nearly all
        its colours with the previous one)."""
        codes = _codes(rgb)
        index = self._lut[codes]
        new = index == 0xFFFF
        if new.any():
            fresh = np.unique(codes[new])
            rgb_new = np.stack([(fresh >> 16) & 255, (fresh >> 8) & 255, fresh & 255], axis=1)
            self._lut[fresh] = map_to_palette(rgb_new.astype(np.uint8)[None], self._pal)[0]
            index = self._lut[codes]
        return index.astype(np.uint8).reshape(rgb.shape[:2])

    def _image(self, index):
        from PIL import Image
        im = Image.fromarray(index, "P")
        im.putpalette(self.palette)
        return im

    def finish(self):
        from gatescope.core.fileio import atomic_writer
        images = [self._image(f) for f in self.frames]
        with atomic_writer(self.spec.path) as fh:
            images[0].save(fh, format="GIF", save_all=True, append_images=images[1:], loop=0,
                           optimize=False, duration=gif_durations(len(images), self.spec.fps))
        self.frames = []

    def abort(self):
        self.frames = []


class _Mp4Writer:
    """H.264 (yuv420p) through imageio-ffmpeg's own ffmpeg, into a temporary file beside the
    target that replaces it only when complete."""

    def __init__(self, spec: AnimationSpec):
        import imageio_ffmpeg
        self.spec = spec
        folder = os.path.dirname(os.path.abspath(spec.path))
        fd, self.tmp = tempfile.mkstemp(prefix="." + os.path.basename(spec.path)[:60] + ".",
                                        suffix=".gatescope-tmp", dir=folder)
        os.close(fd)
        self.gen = imageio_ffmpeg.write_frames(
            self.tmp, (spec.width, spec.height), fps=spec.fps, codec="libx264", quality=None,
            pix_fmt_in="rgb24", pix_fmt_out="yuv420p", macro_block_size=1, ffmpeg_log_level="error",
            output_params=["-f", "mp4", "-crf", "18", "-movflags", "+faststart"])
        self.gen.send(None)

    def add(self, rgb: np.ndarray):
        self.gen.send(rgb)

    def finish(self):
        self.gen.close()
        os.replace(self.tmp, self.spec.path)

    def abort(self):
        try:
            self.gen.close()
        except Exception:  # noqa: BLE001 — the partial video is discarded anyway
            pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"


class _Encoder(threading.Thread):
    """Takes RGB frames from a bounded queue and writes them; `error` is set on failure."""

    def __init__(self, spec: AnimationSpec, frames: queue.Queue):
        super().__init__(name="gatescope-encode", daemon=True)
        self.spec, self.frames, self.error, self.written = spec, frames, None, 0

    def run(self):
        writer = None
        try:
            writer = (_GifWriter if self.spec.format == ".gif" else _Mp4Writer)(self.spec)
            while True:
                item = self.frames.get()
                if item is _CANCEL:
                    writer.abort()
                    return
                if item is _END:
                    writer.finish()
                    return
                writer.add(item)
                self.written += 1
        except Exception as exc:  # noqa: BLE001 — reported as one line, never a traceback
            self.error = f"cannot write {self.spec.path}: {_one_line(exc)}"
            if writer is not None:
                writer.abort()


# -- the exporter (GUI thread) -------------------------------------------------------------------
class AnimationExporter(QObject):
    """Renders `target` at steps spec.first … spec.last and writes the animation. Signals:
    progress(done, total), finished(path), failed(message), cancelled(). The session's step and
    play state are restored afterwards."""

    progress = Signal(int, int)
    finished = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, session, target: QWidget, spec: AnimationSpec, parent=None):
        super().__init__(parent)
        self.session, self.target, self.spec = session, target, spec
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._encoder: _Encoder | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)
        self._k, self._phase, self._frame = 0, "idle", None
        self._cancel = False
        self._restore = None
        self.result: str | None = None          # "finished", "failed" or "cancelled" once done
        self.message = ""

    @property
    def running(self) -> bool:
        return self._phase not in ("idle", "done")

    def start(self):
        """Check everything first (AnimationError: nothing started), then render in the background."""
        problem = encoders().get(self.spec.format)
        if problem:
            raise AnimationError(problem)
        check_spec(self.spec, None if self.session.busy else self.session.steps)
        from gatescope.core.fileio import WriteError, check_writable
        try:
            check_writable(self.spec.path)
        except WriteError as exc:
            raise AnimationError(str(exc)) from None
        self._restore = (self.session.step, self.session.playing)
        self.session.set_playing(False)
        self.target.ensurePolished()
        self._encoder = _Encoder(self.spec, self._queue)
        self._encoder.start()
        self._k, self._phase = 0, "set"
        self._timer.start()

    def cancel(self):
        """Stop: nothing is written (an existing file stays as it was)."""
        if self.running:
            self._cancel = True

    def wait(self, timeout_ms: int = 120000) -> bool:
        """Process events until done (for the command line and tests); True when finished."""
        from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop
        deadline = QDeadlineTimer(timeout_ms)
        while self.running and not deadline.hasExpired():
            QCoreApplication.processEvents(QEventLoop.AllEvents, 20)
            if self._phase == "finish" and self._encoder is not None:
                self._encoder.join(0.005)
        return self.result == "finished"

    def _tick(self):
        if self._cancel:
            return self._stop("cancelled")
        if self._encoder.error:
            return self._stop("failed", self._encoder.error)
        if self._phase == "set":
            self._set()
        elif self._phase == "render":
            self._render()
        elif self._phase == "push":
            self._push()
        elif self._phase == "finish" and not self._encoder.is_alive():
            if self._encoder.error:
                return self._stop("failed", self._encoder.error)
            self._stop("finished")

    def _set(self):
        if self.session.busy:
            return
        self.session.set_step(self.spec.first + self._k)
        self._phase = "render"                   # next tick: the views have processed the step

    def _render(self):
        if self.session.busy:
            return
        if self.session.step != self.spec.first + self._k:
            return self._stop("failed", f"step {self.spec.first + self._k} is beyond this run's "
                                        f"last step ({self.session.steps})")
        self._frame = image_to_rgb(render_frame(self.target, self.spec.width, self.spec.height))
        self._phase = "push"
        self._push()

    def _push(self):
        try:
            self._queue.put_nowait(self._frame)
        except queue.Full:
            return                                 # the encoder is behind: try again next tick
        self._frame, self._k = None, self._k + 1
        self.progress.emit(self._k, self.spec.frames)
        if self._k < self.spec.frames:
            self._phase = "set"
            return
        self._queue.put(_END)
        self._phase = "finish"
        self._timer.setInterval(15)

    def _stop(self, result: str, message: str = ""):
        self._timer.stop()
        if result != "finished" and self._encoder is not None and self._encoder.is_alive():
            while True:                            # drop the frames waiting, then stop the writer
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._queue.put(_CANCEL)
            self._encoder.join(10)
        self._phase, self.result, self.message = "done", result, message
        if self._restore is not None:
            step, playing = self._restore
            self.session.set_step(step)
            self.session.set_playing(playing)
        {"finished": lambda: self.finished.emit(self.spec.path), "failed": lambda: self.failed.emit(message),
         "cancelled": self.cancelled.emit}[result]()


# -- File → Export animation ---------------------------------------------------------------------
def window_targets(window) -> dict:
    """{key: (label, widget)}: the whole window and each of its views that can be exported."""
    targets = {"window": ("The whole window", window)}
    for key, frame in getattr(window, "frames", {}).items():
        targets[key] = (getattr(frame, "full_title", key), frame)
    compare = getattr(window, "compare", None)
    if compare is not None:
        targets["compare"] = ("Compare RNN · LSTM · GRU", compare)
    return targets


def show_target(window, key: str) -> None:
    """Bring a target's tab forward (a view can only be drawn where it is laid out)."""
    pages = getattr(window, "pages", None)
    if pages is not None and key != "window":
        pages.setCurrentIndex(1 if key == "compare" else 0)
    explore = getattr(window, "explore", None)
    if explore is not None and key in getattr(window, "frames", {}):
        explore.show_panel(key)        # its tab forward too: a view behind a tab is not redrawn


class AnimationDialog(QDialog):
    """File → Export animation: what (the window or one view), which steps, frame rate, size and
    format; Export renders in the background with a progress bar and Cancel."""

    exported = Signal(str)

    def __init__(self, session, targets: dict, parent=None, *, window=None):
        super().__init__(parent)
        self.setObjectName("animation_dialog")
        self.setWindowTitle("Export animation")
        self.session, self.targets, self.window_ = session, targets, window
        self.exporter: AnimationExporter | None = None
        self._build()
        self._on_target()

    def _spin(self, name, lo, hi, value, suffix=""):
        box = QSpinBox()
        box.setObjectName(name)
        box.setRange(lo, hi)
        box.setValue(value)
        box.setSuffix(suffix)
        box.valueChanged.connect(self._update_summary)
        return box

    def _build(self):
        form = QFormLayout()
        self.target = QComboBox()
        self.target.setObjectName("anim_target")
        for key, (label, _) in self.targets.items():
            self.target.addItem(label, key)
        self.target.currentIndexChanged.connect(self._on_target)
        form.addRow("Export", self.target)
        T = self.session.steps
        self.first, self.last = self._spin("anim_first", 0, T, 0), self._spin("anim_last", 0, T, T)
        steps = QHBoxLayout()
        steps.addWidget(self.first)
        steps.addWidget(QLabel("to"))
        steps.addWidget(self.last)
        form.addRow("Steps", steps)
        self.fps = self._spin("anim_fps", FPS_RANGE[0], FPS_RANGE[1], 10, " frames/s")
        form.addRow("Frame rate", self.fps)
        lo, hi = SIZE_RANGE
        self.width_, self.height_ = self._spin("anim_width", lo, hi, 1280), self._spin("anim_height", lo, hi, 720)
        size = QHBoxLayout()
        size.addWidget(self.width_)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_)
        form.addRow("Size (pixels)", size)
        self.format = QComboBox()
        self.format.setObjectName("anim_format")
        for ext, problem in encoders().items():
            self.format.addItem({".gif": "Animated GIF (.gif)", ".mp4": "MP4 video, H.264 (.mp4)"}[ext], ext)
            if problem:
                item = self.format.model().item(self.format.count() - 1)
                item.setEnabled(False)
                item.setToolTip(problem)
        self.format.currentIndexChanged.connect(self._on_format)
        form.addRow("Format", self.format)
        self.path = QLineEdit(os.path.abspath("gatescope-animation.gif"))
        self.path.setObjectName("anim_path")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("File", row)
        self.summary = QLabel()
        self.summary.setObjectName("anim_summary")
        self.bar = QProgressBar()
        self.bar.setObjectName("anim_progress")
        self.bar.hide()
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("anim_export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("anim_cancel")
        self.cancel_button.clicked.connect(self._cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.bar, 1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.summary)
        lay.addLayout(buttons)

    def configure(self, *, target=None, first=None, last=None, fps=None, size=None, path=None):
        """Preset the fields (a lesson's clip, a test)."""
        if target is not None:
            self.target.setCurrentIndex(self.target.findData(target))
        for box, value in ((self.first, first), (self.last, last), (self.fps, fps)):
            if value is not None:
                box.setValue(int(value))
        if size is not None:
            self.width_.setValue(int(size[0]))
            self.height_.setValue(int(size[1]))
        if path is not None:
            self.path.setText(os.fspath(path))
            ext = os.path.splitext(self.path.text())[1].lower()
            if self.format.findData(ext) >= 0:
                self.format.setCurrentIndex(self.format.findData(ext))

    def spec(self) -> AnimationSpec:
        return AnimationSpec(self.first.value(), self.last.value(), float(self.fps.value()),
                             self.width_.value(), self.height_.value(), self.path.text().strip())

    def _on_target(self):
        key = self.target.currentData()
        widget = self.targets[key][1]
        w, h = widget.width(), widget.height()
        if w >= SIZE_RANGE[0] and h >= SIZE_RANGE[0]:
            self.width_.setValue(min(w - w % 2, SIZE_RANGE[1]))
            self.height_.setValue(min(h - h % 2, SIZE_RANGE[1]))
        self._update_summary()

    def _on_format(self):
        ext = self.format.currentData()
        root = os.path.splitext(self.path.text())[0] or "gatescope-animation"
        self.path.setText(root + ext)
        self._update_summary()

    def _browse(self):
        ext = self.format.currentData()
        chosen, _ = QFileDialog.getSaveFileName(self, "Export animation", self.path.text(),
                                                f"{ext[1:].upper()} (*{ext})")
        if chosen:
            self.configure(path=chosen)

    def _update_summary(self, *_):
        s = self.spec()
        self.summary.setText(f"{max(0, s.frames)} frames of {s.width}×{s.height}, "
                             f"{max(0, s.frames) / max(1.0, s.fps):.1f} s")

    def start(self) -> bool:
        """Export with the fields' settings; a bad setting gets one message and changes nothing."""
        from . import dialogs
        if self.exporter is not None and self.exporter.running:
            return False
        key = self.target.currentData()
        if self.window_ is not None:
            show_target(self.window_, key)
        self.exporter = AnimationExporter(self.session, self.targets[key][1], self.spec(), self)
        self.exporter.progress.connect(lambda k, n: self.bar.setValue(int(100 * k / n)))
        self.exporter.finished.connect(self._done)
        self.exporter.failed.connect(lambda msg: (self._reset(), dialogs.warn(self, msg)))
        self.exporter.cancelled.connect(lambda: (self._reset(), self.summary.setText("Cancelled: nothing written")))
        try:
            self.exporter.start()
        except AnimationError as exc:
            self.exporter = None
            dialogs.warn(self, str(exc))
            return False
        self.bar.setValue(0)
        self.bar.show()
        self.export_button.setEnabled(False)
        return True

    def _reset(self):
        self.bar.hide()
        self.export_button.setEnabled(True)

    def _done(self, path):
        self._reset()
        self.summary.setText(f"Wrote {self.exporter.spec.frames} frames to {path}")
        self.exported.emit(path)

    def _cancel_or_close(self):
        if self.exporter is not None and self.exporter.running:
            self.exporter.cancel()
        else:
            self.reject()

    def closeEvent(self, event):
        if self.exporter is not None and self.exporter.running:
            self.exporter.cancel()
        super().closeEvent(event)


__all__ = ["FORMATS", "AnimationDialog", "AnimationExporter", "encoders", "render_frame",
           "show_target", "window_targets"]
