"""Colour for everyone: a colour-blind-safe palette for every series that shares a plot, and the
colour science that checks it (NumPy only).

- sRGB (IEC 61966-2-1) ↔ linear RGB, → CIE XYZ (D65) → CIELAB.
- CIEDE2000 colour difference ΔE₀₀ (CIE 142-2001, as written out by Sharma, Wu & Dalal 2005).
- Colour-vision-deficiency simulation: the Machado, Oliveira & Fernandes (2009) matrices at
  severity 1.0 (protanopia, deuteranopia, tritanopia), applied to linear RGB, clipped to [0, 1].
- WCAG 2.x relative luminance and contrast ratio (L₁ + 0.05) / (L₂ + 0.05).

The palette is built on Okabe & Ito's (2008) colour-universal-design set. Colours are "#rrggbb"
strings; faint colours are given opaque, as they show on the white plot background.
"""
from __future__ import annotations

import math

import numpy as np

#: Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
}

#: Machado, Oliveira & Fernandes (2009), Table 1, severity 1.0: linear RGB → simulated linear RGB.
MACHADO_2009 = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
VISIONS = ("normal",) + tuple(MACHADO_2009)

#: sRGB (linear) → XYZ, D65 (IEC 61966-2-1), and the D65 white point (Y = 1).
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
WHITE_D65 = SRGB_TO_XYZ.sum(axis=1)


# -- conversions -----------------------------------------------------------------------------------
def hex_to_rgb(colour: str) -> np.ndarray:
    """"#rrggbb" → (3,) sRGB in [0, 1]."""
    s = colour.lstrip("#")
    if len(s) != 6:
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return np.array([int(s[i:i + 2], 16) / 255.0 for i in (0, 2, 4)])


def rgb_to_hex(rgb) -> str:
    """(3,) sRGB in [0, 1] → "#rrggbb" (rounded, clipped)."""
    v = np.clip(np.round(np.asarray(rgb, dtype=np.float64) * 255.0), 0, 255).astype(int)
    return "#{:02x}{:02x}{:02x}".format(*v)


def srgb_to_linear(rgb) -> np.ndarray:
    """The sRGB transfer function inverted: c ≤ 0.04045 → c/12.92, else ((c + 0.055)/1.055)^2.4."""
    c = np.asarray(rgb, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin) -> np.ndarray:
    """The sRGB transfer function: c ≤ 0.0031308 → 12.92 c, else 1.055 c^(1/2.4) − 0.055."""
    c = np.clip(np.asarray(lin, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def srgb_to_lab(rgb) -> np.ndarray:
    """(…, 3) sRGB in [0, 1] → (…, 3) CIELAB (L*, a*, b*) under D65."""
    xyz = srgb_to_linear(rgb) @ SRGB_TO_XYZ.T / WHITE_D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def simulate_cvd(rgb, vision: str) -> np.ndarray:
    """(…, 3) sRGB as seen with `vision` ("normal" or a MACHADO_2009 key), back in sRGB."""
    rgb = np.asarray(rgb, dtype=np.float64)
    if vision == "normal":
        return rgb.copy()
    if vision not in MACHADO_2009:
        raise ValueError(f"unknown vision {vision!r}; choose one of {', '.join(VISIONS)}")
    return linear_to_srgb(srgb_to_linear(rgb) @ MACHADO_2009[vision].T)


def over_white(colour: str, alpha: float) -> str:
    """The opaque colour `colour` at opacity `alpha` shows on white (blended in sRGB, as Qt
    paints): α c + (1 − α) · 1."""
    return rgb_to_hex(alpha * hex_to_rgb(colour) + (1.0 - alpha))


# -- CIEDE2000 ---------------------------------------------------------------------------------
def _hue(b, a):
    h = np.degrees(np.arctan2(b, a))
    return np.where(h < 0, h + 360.0, h)


def ciede2000(lab1, lab2) -> np.ndarray:
    """ΔE₀₀ between (…, 3) CIELAB colours (k_L = k_C = k_H = 1), Sharma et al. (2005) eqs. 1–17."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    cbar = 0.5 * (np.hypot(a1, b1) + np.hypot(a2, b2))
    g = 0.5 * (1 - np.sqrt(cbar ** 7 / (cbar ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where(c1p == 0, 0.0, _hue(b1, a1p))
    h2p = np.where(c2p == 0, 0.0, _hue(b2, a2p))
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dL, dC = L2 - L1, c2p - c1p
    dH = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    Lbar, Cbar = 0.5 * (L1 + L2), 0.5 * (c1p + c2p)
    hsum = h1p + h2p
    hbar = np.where(np.abs(h1p - h2p) <= 180, hsum / 2,
                    np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2))
    hbar = np.where(c1p * c2p == 0, hsum, hbar)
    t = (1 - 0.17 * np.cos(np.radians(hbar - 30)) + 0.24 * np.cos(np.radians(2 * hbar))
         + 0.32 * np.cos(np.radians(3 * hbar + 6)) - 0.20 * np.cos(np.radians(4 * hbar - 63)))
    dtheta = 30 * np.exp(-(((hbar - 275) / 25) ** 2))
    rc = 2 * np.sqrt(Cbar ** 7 / (Cbar ** 7 + 25.0 ** 7))
    sl = 1 + 0.015 * (Lbar - 50) ** 2 / np.sqrt(20 + (Lbar - 50) ** 2)
    sc, sh = 1 + 0.045 * Cbar, 1 + 0.015 * Cbar * t
    rt = -np.sin(np.radians(2 * dtheta)) * rc
    return np.sqrt((dL / sl) ** 2 + (dC / sc) ** 2 + (dH / sh) ** 2 + rt * (dC / sc) * (dH / sh))


def delta_e(colour1: str, colour2: str, vision: str = "normal") -> float:
    """ΔE₀₀ between two "#rrggbb" colours as seen with `vision`."""
    rgb = simulate_cvd(np.stack([hex_to_rgb(colour1), hex_to_rgb(colour2)]), vision)
    lab = srgb_to_lab(rgb)
    return float(ciede2000(lab[0], lab[1]))


# -- WCAG ----------------------------------------------------------------------------------------
def relative_luminance(colour: str) -> float:
    """WCAG 2.x: L = 0.2126 R + 0.7152 G + 0.0722 B of the linearised channels (threshold 0.03928
    as the recommendation writes it)."""
    c = hex_to_rgb(colour)
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(lin @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(colour1: str, colour2: str) -> float:
    """WCAG 2.x contrast ratio (L_lighter + 0.05) / (L_darker + 0.05), from 1 to 21."""
    la, lb = relative_luminance(colour1), relative_luminance(colour2)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def worst_pair(colours: dict, vision: str = "normal") -> tuple[float, str, str]:
    """(min ΔE₀₀, name, name) over every pair of `colours` (name → "#rrggbb") seen with `vision`."""
    names = list(colours)
    best = (math.inf, "", "")
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = delta_e(colours[a], colours[b], vision)
            if d < best[0]:
                best = (d, a, b)
    return best


# -- the palette ---------------------------------------------------------------------------------
#: Curves, marks and text of the normal theme: role → "#rrggbb" (the names gui/style.py uses).
#: σ₁ and the RNN are Okabe–Ito vermillion; the measured norm and the LSTM a darkened Okabe–Ito
#: blue; the bounds that are drawn beside them a sky blue; ρ, the LSTM's cell path and the GRU
#: black; the clipped norm a warm dark grey; faint companions light greys. Shading colours are
#: opaque (vermillion and blue at about 10 % on white).
PALETTE = {
    "MEASURED": "#1469A0",          # ‖∂s_t/∂s_0‖ of the current cell
    "CELL_PATH": "#000000",         # LSTM ‖∂C_t/∂C_0‖
    "CAROUSEL": "#3CAFF5",          # ∏ f_t, the conveyor belt alone
    "SIGMA1": "#D55E00",            # σ₁ᵗ, the σ₁ bar and circle
    "SIGMA_I": "#E0E0E0",           # every σᵢᵗ, faint (opaque)
    "PASCANU": "#3CAFF5",           # (γσ₁)ᵗ bound (never drawn with the carousel: RNN only)
    "CLIPPED": "#5A5550",           # clipped gradient norm
    "RHO": "#000000",               # eigenvalues, ρ, ρᵗ (never drawn with the cell path)
    "SIGMA1_COMPARE": "#888888",    # σ₁ᵗ in Compare, where the RNN's own colour is σ₁'s
    "CELL_PATH_COMPARE": "#3CAFF5",  # the LSTM's cell path in Compare
    "SV_REST": "#9C9C9C",           # the singular values after σ₁ (bars)
    "UNIT_CIRCLE": "#666666",       # the unit circle of the eigenvalue plot
    "CHANCE": "#D2D2D2",            # chance level (Training lab, sweep), faint
    "REACH_INIT": "#9C9C9C",        # the lab's gradient reach at initialisation (dashed)
    "CURSOR": "#222222",
    "GROWTH": "#FAEDE3",            # shading above 10⁰
    "DECAY": "#E7F2F8",             # shading below 10⁰
    "TEXT": "#222222",
    "MUTED_TEXT": "#555555",
    "DISABLED_TEXT": "#767676",
    "AXIS": "#444444",
}
#: The high-contrast theme: every text ≥ 4.5:1 on its background (WCAG AA) with room to spare on
#: the tinted notice boxes, lines ≥ 3:1 on white, stronger shading.
PALETTE_HIGH_CONTRAST = {
    "MEASURED": "#004B87",
    "CELL_PATH": "#000000",
    "CAROUSEL": "#558CDC",
    "SIGMA1": "#A05F0F",
    "SIGMA_I": "#B0B0B0",
    "PASCANU": "#558CDC",
    "CLIPPED": "#55504B",
    "RHO": "#000000",
    "SIGMA1_COMPARE": "#767676",
    "CELL_PATH_COMPARE": "#4B8CDC",
    "SV_REST": "#949494",
    "UNIT_CIRCLE": "#575757",
    "CHANCE": "#949494",
    "REACH_INIT": "#949494",
    "CURSOR": "#000000",
    "GROWTH": "#F5D9C3",
    "DECAY": "#C8E1EE",
    "TEXT": "#000000",
    "MUTED_TEXT": "#333333",
    "DISABLED_TEXT": "#595959",
    "AXIS": "#000000",
}
#: The cells (Compare columns and curves, the sweep, the Explain heading).
KIND_PALETTE = {"rnn": "#D55E00", "lstm": "#0064A0", "gru": "#000000"}
KIND_PALETTE_HIGH_CONTRAST = {"rnn": "#BE4B00", "lstm": "#004678", "gru": "#000000"}
#: Backgrounds text is drawn on: plots and (high contrast) the window, the Explain panel's
#: "What to notice" box, the first-run hint, a disabled field.
BACKGROUNDS = {"PLOT": "#FFFFFF", "NOTICE": "#FFF4D6", "HINT": "#FFF8D6", "DISABLED_FIELD": "#EEEEEE"}

#: Every set of series drawn together in one plot (read from the views): each pair must stay
#: apart. Kinds are named "rnn", "lstm", "gru".
PLOT_GROUPS = {
    "gradient flow, RNN": ("MEASURED", "SIGMA1", "SIGMA_I", "RHO", "PASCANU", "CLIPPED"),
    "gradient flow, LSTM": ("MEASURED", "CELL_PATH", "CAROUSEL", "SIGMA1", "SIGMA_I", "CLIPPED"),
    "compare": ("rnn", "lstm", "gru", "CELL_PATH_COMPARE", "SIGMA1_COMPARE"),
    "spectrum: singular values": ("SIGMA1", "SV_REST"),
    "spectrum: eigenvalues": ("RHO", "SIGMA1", "UNIT_CIRCLE"),
    "lab: loss and accuracy": ("MEASURED", "CLIPPED", "CHANCE"),
    "lab: how far back the gradient reaches": ("MEASURED", "CELL_PATH", "REACH_INIT"),
    "lab: gradient norm before / after clipping": ("SIGMA1", "CLIPPED"),
    "sweep": ("rnn", "lstm", "gru", "CHANCE"),
    "cell-state flow": ("MEASURED", "CELL_PATH"),
}
#: Series drawn over the growth / decay shading (gradient flow and Compare), and on plain white.
ON_SHADING = ("MEASURED", "CELL_PATH", "CAROUSEL", "SIGMA1", "PASCANU", "CLIPPED", "RHO", "rnn",
              "lstm", "gru", "SIGMA1_COMPARE", "CELL_PATH_COMPARE")
ON_WHITE = ("SV_REST", "UNIT_CIRCLE", "REACH_INIT")
#: Faint by design (companions behind the main curves): exempt from the background check.
FAINT = ("SIGMA_I", "CHANCE")
#: Colours used for text (readouts, Explain, titles) and the backgrounds each is shown on.
TEXT_ROLES = ("TEXT", "MUTED_TEXT", "MEASURED", "SIGMA1", "CELL_PATH", "RHO", "CLIPPED", "rnn",
              "lstm", "gru")
TEXT_BACKGROUNDS = ("PLOT", "NOTICE", "HINT")


def palette(high_contrast: bool = False) -> dict:
    """Role → "#rrggbb" for the theme, cells included (keys "rnn", "lstm", "gru")."""
    if high_contrast:
        return {**PALETTE_HIGH_CONTRAST, **KIND_PALETTE_HIGH_CONTRAST}
    return {**PALETTE, **KIND_PALETTE}
