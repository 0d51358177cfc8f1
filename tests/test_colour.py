"""Colour for everyone: the colour science against published data (Sharma et al. 2005 for CIEDE2000,
the sRGB / CIELAB reference values, WCAG's examples, colorspacious where installed), then the
palette: every pair of series sharing a plot stays ΔE₀₀ ≥ 20 apart for normal vision and under
the Machado et al. (2009) simulations of protanopia, deuteranopia and tritanopia, and every text
of the high-contrast theme reaches 4.5:1."""
import itertools

import numpy as np
import pytest
from gatescope.core import colour as C

# Sharma, Wu & Dalal (2005), Table 1: (L*, a*, b*)₁, (L*, a*, b*)₂, ΔE₀₀ — all 34 pairs.
SHARMA_2005 = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


# -- the colour science ----------------------------------------------------------------------------
def test_ciede2000_reproduces_every_published_pair_of_sharma_2005():
    lab1 = np.array([p[0] for p in SHARMA_2005])
    lab2 = np.array([p[1] for p in SHARMA_2005])
    published = np.array([p[2] for p in SHARMA_2005])
    np.testing.assert_allclose(C.ciede2000(lab1, lab2), published, atol=5e-5)   # 4 decimals
    np.testing.assert_allclose(C.ciede2000(lab2, lab1), C.ciede2000(lab1, lab2), atol=1e-12)
    assert C.ciede2000(lab1[0], lab1[0]) == 0


def test_srgb_to_lab_matches_the_reference_values():
    # D65 white and black, and the sRGB primaries' published CIELAB coordinates
    np.testing.assert_allclose(C.srgb_to_lab(np.ones(3)), [100, 0, 0], atol=1e-6)
    np.testing.assert_allclose(C.srgb_to_lab(np.zeros(3)), [0, 0, 0], atol=1e-9)
    primaries = C.srgb_to_lab(np.eye(3))
    np.testing.assert_allclose(primaries, [[53.2408, 80.0925, 67.2032],
                                           [87.7347, -86.1827, 83.1793],
                                           [32.2970, 79.1875, -107.8602]], atol=2e-3)
    x = np.linspace(0, 1, 101)
    np.testing.assert_allclose(C.linear_to_srgb(C.srgb_to_linear(x)), x, atol=1e-12)
    assert C.rgb_to_hex(C.hex_to_rgb("#1a9641")) == "#1a9641"


def test_machado_matrices_keep_white_and_grey_and_merge_red_with_green():
    for m in C.MACHADO_2009.values():
        np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=2e-6)          # white stays white
    grey = np.full(3, 0.5)
    for vision in C.VISIONS:
        np.testing.assert_allclose(C.simulate_cvd(grey, vision), grey, atol=1e-5)
    # the pair the issue names: yesterday's red RNN and green LSTM
    assert C.delta_e("#d7301f", "#1a9641") > 40
    assert C.delta_e("#d7301f", "#1a9641", "deuteranopia") < 10
    assert C.delta_e("#d7301f", "#1a9641", "protanopia") < 20
    with pytest.raises(ValueError, match="unknown vision"):
        C.simulate_cvd(grey, "monochromacy")


def test_cvd_simulation_agrees_with_colorspacious():
    cs = pytest.importorskip("colorspacious")
    rgb = np.random.default_rng(0).random((200, 3))
    for vision, name in (("protanopia", "protanomaly"), ("deuteranopia", "deuteranomaly"),
                         ("tritanopia", "tritanomaly")):
        theirs = cs.cspace_convert(rgb, {"name": "sRGB1+CVD", "cvd_type": name, "severity": 100},
                                   "sRGB1")
        np.testing.assert_allclose(C.simulate_cvd(rgb, vision), np.clip(theirs, 0, 1), atol=1e-9)
    np.testing.assert_allclose(C.srgb_to_lab(rgb), cs.cspace_convert(rgb, "sRGB1", "CIELab"),
                               atol=0.05)             # their XYZ matrix has fewer digits


def test_wcag_contrast_ratio_reference_points():
    assert C.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert C.contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert C.contrast_ratio("#1469a0", "#1469a0") == pytest.approx(1.0)
    # #767676 is the lightest grey that passes AA (4.5:1) on white; #777777 is not
    assert C.contrast_ratio("#767676", "#ffffff") >= 4.5 > C.contrast_ratio("#777777", "#ffffff")


def test_over_white_is_alpha_blending():
    assert C.over_white("#000000", 0.25) == "#bfbfbf"
    assert C.over_white("#d55e00", 1.0) == "#d55e00" and C.over_white("#d55e00", 0) == "#ffffff"


# -- the palette --------------------------------------------------------------------------------
THEMES = {"normal": False, "high contrast": True}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("vision", C.VISIONS)
@pytest.mark.parametrize("group", C.PLOT_GROUPS)
def test_every_pair_of_series_sharing_a_plot_stays_apart(theme, vision, group):
    pal = C.palette(THEMES[theme])
    for a, b in itertools.combinations(C.PLOT_GROUPS[group], 2):
        d = C.delta_e(pal[a], pal[b], vision)
        assert d >= 20, f"{group}: {a} {pal[a]} vs {b} {pal[b]}: ΔE₀₀ = {d:.1f} ({vision})"


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("vision", C.VISIONS)
def test_every_series_stands_out_from_its_background(theme, vision):
    pal = C.palette(THEMES[theme])
    for role in C.ON_SHADING:
        for bg in (C.BACKGROUNDS["PLOT"], pal["GROWTH"], pal["DECAY"]):
            assert C.delta_e(pal[role], bg, vision) >= 20, (role, bg)
    for role in C.ON_WHITE:
        assert C.delta_e(pal[role], C.BACKGROUNDS["PLOT"], vision) >= 20, role
    # the faint companions are still visible, just quiet
    for role in C.FAINT:
        assert C.contrast_ratio(pal[role], C.BACKGROUNDS["PLOT"]) > 1.2


def test_every_role_in_a_plot_group_has_a_colour_in_both_themes():
    roles = {r for g in C.PLOT_GROUPS.values() for r in g}
    roles |= set(C.ON_SHADING) | set(C.ON_WHITE) | set(C.FAINT) | set(C.TEXT_ROLES)
    for hc in (False, True):
        assert roles <= set(C.palette(hc))
    assert set(C.PALETTE) == set(C.PALETTE_HIGH_CONTRAST)


def test_high_contrast_text_reaches_wcag_aa_on_every_background():
    pal = C.palette(True)
    for role in C.TEXT_ROLES:
        for bg in C.TEXT_BACKGROUNDS:
            ratio = C.contrast_ratio(pal[role], C.BACKGROUNDS[bg])
            assert ratio >= 4.5, f"{role} {pal[role]} on {bg}: {ratio:.2f}:1"
    for bg in ("PLOT", "DISABLED_FIELD"):
        assert C.contrast_ratio(pal["DISABLED_TEXT"], C.BACKGROUNDS[bg]) >= 4.5
    # lines and marks: WCAG's 3:1 for graphical objects
    for role in set(C.ON_SHADING) | set(C.ON_WHITE):
        assert C.contrast_ratio(pal[role], C.BACKGROUNDS["PLOT"]) >= 3.0, role


def test_normal_theme_text_is_readable_as_bold_readout_text():
    pal = C.palette(False)
    for role in C.TEXT_ROLES:
        assert C.contrast_ratio(pal[role], C.BACKGROUNDS["PLOT"]) >= 3.0, role   # large / bold


def test_the_palette_is_okabe_ito_based():
    """Each chromatic colour of the normal theme lies within ΔE₀₀ 10 of an Okabe–Ito colour;
    the rest are near-neutral greys (chroma < 5, black included)."""
    oi = list(C.OKABE_ITO.values())
    for role, c in C.palette(False).items():
        lab = C.srgb_to_lab(C.hex_to_rgb(c))
        chroma = float(np.hypot(lab[1], lab[2]))
        if chroma < 5 or role in ("GROWTH", "DECAY"):
            continue
        assert min(C.delta_e(c, o) for o in oi) <= 10, (role, c)
