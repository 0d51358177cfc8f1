"""`python main.py export-animation`: the options, and the checks of an animation's settings that
run before anything is rendered (no Qt here; the rendering is gatescope.gui.animation's).

    main.py export-animation --preset NAME --steps A:B --fps N --size WxH --out FILE.gif|.mp4

writes exactly B − A + 1 frames of W × H pixels: frame k shows step A + k.
"""
from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass

from ..config import Config, ConfigError
from ..inputs import tokenize

FORMATS = (".gif", ".mp4")
FPS_RANGE = (1, 60)
GIF_MAX_FPS = 50               # GIF delays are in 1/100 s, and viewers slow delays below 2/100 s
SIZE_RANGE = (16, 3840)
MAX_FRAMES = 5001
#: A GIF is assembled in memory, one byte a pixel a frame: W·H·frames at most this.
MAX_GIF_BYTES = 512 * 1024 * 1024
VIEWS = ("window", "gradient", "flow", "gates", "states", "spectrum", "compare")


class AnimationError(ValueError):
    """Animation settings that cannot be used; the message is one line."""


@dataclass(frozen=True)
class AnimationSpec:
    """Frames of steps first…last (inclusive) at `fps`, each width × height, written to `path`."""
    first: int
    last: int
    fps: float
    width: int
    height: int
    path: str

    @property
    def frames(self) -> int:
        return self.last - self.first + 1

    @property
    def format(self) -> str:
        return os.path.splitext(self.path)[1].lower()

    @property
    def frame_bytes(self) -> int:
        """Bytes of one RGB frame (3 a pixel)."""
        return 3 * self.width * self.height


def steps_of(config: Config) -> int:
    """The last step T of a setup's run (its steps are 0…T)."""
    return len(tokenize(config.text)) if config.source == "text" else config.length


def parse_steps(text: str) -> tuple[int, int]:
    """'A:B' → (A, B), 0 ≤ A ≤ B."""
    m = re.fullmatch(r"\s*(\d{1,6})\s*:\s*(\d{1,6})\s*", str(text))
    if not m:
        raise AnimationError(f"--steps must be A:B (first and last step, e.g. 0:100), got '{text}'")
    a, b = int(m.group(1)), int(m.group(2))
    if a > b:
        raise AnimationError(f"--steps {a}:{b}: the first step is after the last")
    return a, b


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' (or W×H) → (W, H)."""
    m = re.fullmatch(r"\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*", str(text))
    if not m:
        raise AnimationError(f"--size must be WxH in pixels (e.g. 1280x720), got '{text}'")
    return int(m.group(1)), int(m.group(2))


def check_spec(spec: AnimationSpec, steps: int | None = None) -> AnimationSpec:
    """Refuse settings that cannot be rendered or encoded, before any frame is made. `steps`:
    the run's last step T, if known (frames must show steps within 0…T)."""
    fmt = spec.format
    if fmt not in FORMATS:
        raise AnimationError(f"cannot write '{os.path.basename(spec.path) or spec.path}': "
                             "use a .gif or .mp4 file name")
    lo, hi = SIZE_RANGE
    if not (lo <= spec.width <= hi and lo <= spec.height <= hi):
        raise AnimationError(f"size {spec.width}×{spec.height}: each side must be {lo}–{hi} pixels")
    if fmt == ".mp4" and (spec.width % 2 or spec.height % 2):
        raise AnimationError(f"size {spec.width}×{spec.height}: MP4 (H.264) needs an even width and height")
    top = GIF_MAX_FPS if fmt == ".gif" else FPS_RANGE[1]
    if not FPS_RANGE[0] <= spec.fps <= top:
        raise AnimationError(f"--fps {spec.fps:g}: {fmt[1:].upper()} takes {FPS_RANGE[0]}–{top} frames a second")
    if spec.first < 0:
        raise AnimationError(f"steps {spec.first}:{spec.last}: steps start at 0")
    if spec.last < spec.first:
        raise AnimationError(f"steps {spec.first}:{spec.last}: the first step is after the last")
    if steps is not None and spec.last > steps:
        raise AnimationError(f"steps {spec.first}:{spec.last}: this run has steps 0 to {steps}")
    if spec.frames > MAX_FRAMES:
        raise AnimationError(f"{spec.frames} frames: at most {MAX_FRAMES} in one animation")
    if fmt == ".gif" and spec.frames * spec.width * spec.height > MAX_GIF_BYTES:
        raise AnimationError(f"{spec.frames} frames of {spec.width}×{spec.height} are too many for a GIF "
                             f"(at most {MAX_GIF_BYTES // 2**20} MiB of pixels): use MP4, fewer steps "
                             "or a smaller size")
    return spec


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_export_animation_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="main.py export-animation",
                description="Render the window (or one view) off screen over a range of steps and "
                            "write it as an animated GIF or an MP4 video; frame k shows step A + k.")
    p.add_argument("--preset", metavar="NAME", help="the setup of a preset (see --list-presets)")
    p.add_argument("--setup", metavar="TEXT", help="the setup of a 'gatescope:…' setup link "
                                                   "(on top of --preset, if given)")
    p.add_argument("--steps", metavar="A:B", required=True, help="first and last step, inclusive")
    p.add_argument("--fps", type=float, default=10.0, metavar="N",
                   help=f"frames a second ({FPS_RANGE[0]}–{GIF_MAX_FPS} for GIF, up to {FPS_RANGE[1]} "
                        "for MP4; default 10)")
    p.add_argument("--size", default="1280x720", metavar="WxH", help="frame size in pixels (default 1280x720)")
    p.add_argument("--view", choices=VIEWS, default="window",
                   help="the whole window (default) or one view")
    p.add_argument("--out", metavar="FILE.gif|FILE.mp4", required=True, help="the file to write")
    return p


def config_from_args(args) -> Config:
    """The setup of --preset and --setup (defaults if neither)."""
    from ..presets import get_preset
    from ..setup_link import SetupLinkError, parse_link
    try:
        base = get_preset(args.preset).config if args.preset else Config()
        if args.setup is not None:
            base = parse_link(args.setup).config(base)
    except SetupLinkError as exc:
        raise AnimationError(f"--setup: {exc}") from None
    except ConfigError as exc:
        raise AnimationError(str(exc)) from None
    return base


def spec_from_args(args) -> tuple[Config, AnimationSpec]:
    """The setup and the checked animation settings of parsed arguments (AnimationError if bad);
    the output's folder is checked for writing too."""
    config = config_from_args(args)
    first, last = parse_steps(args.steps)
    width, height = parse_size(args.size)
    spec = check_spec(AnimationSpec(first, last, float(args.fps), width, height, args.out),
                      steps_of(config))
    from ..fileio import WriteError, check_writable
    try:
        check_writable(spec.path)
    except WriteError as exc:
        raise AnimationError(str(exc)) from None
    return config, spec
