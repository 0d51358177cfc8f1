"""Every number the README's `simulate` examples and the presets print is checked against a fresh
run: each example is run as written and its comment's numbers must be in what it prints (and
match the closed form where there is one); every number in a preset's title and description has a
check of its own below (a number added without one fails), and the README's presets table is the
presets' own text."""
import math
import re
import shlex
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from gatescope.core.analysis import analyse
from gatescope.core.build import build_cell
from gatescope.core.cells import GAMMA, sigmoid
from gatescope.core.inputs import tokenize
from gatescope.core.presets import list_presets
from gatescope.core.resources import asset
from gatescope.core.theory import format_pow10
from gatescope.core.weights import save_weights

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PRESETS = {p.name: p for p in list_presets()}
SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹"
FROM_SUP = str.maketrans(SUP + "⁻", "0123456789-")
#: a number as the texts write it: 1377.4, −4, 6×10⁻³⁴, 10⁻⁴², 1.01³⁶⁵ (a power), ¼
NUMBER = re.compile(rf"(?<![\w.])[−+]?(?:10⁻?[{SUP}]+|\d+(?:\.\d+)?(?:×10⁻?[{SUP}]+|[{SUP}]+)?)|[¼½¾]")


def numbers(text: str) -> list[str]:
    return NUMBER.findall(text)


def one_digit(log10: float) -> str:
    """10^x to one significant figure, as the descriptions write it: 0.2, 6×10⁻³⁴."""
    e = math.floor(log10)
    m = round(10 ** (log10 - e))
    if m == 10:
        m, e = 1, e + 1
    sup = str(e).translate(str.maketrans("-0123456789", "⁻" + SUP))
    return f"{m * 10.0 ** e:g}" if -3 <= e <= 3 else f"{m}×10{sup}"


# -- the README's simulate examples --------------------------------------------------------------
def simulate_examples():
    """(command, comment) of every `python main.py simulate …` line in the README's code blocks."""
    out = []
    for block in re.findall(r"```\n(.*?)```", README, re.S):
        for line in block.splitlines():
            if line.startswith("python main.py simulate"):
                command, _, comment = line.partition("  #")
                out.append((command.strip(), comment.strip()))
    return out


EXAMPLES = simulate_examples()


def test_the_readme_has_its_simulate_examples():
    assert len(EXAMPLES) >= 4
    assert any("--sigma1 2 --length 2000 --signal zeros" in c for c, _ in EXAMPLES)


def prepare_files(args, folder: Path):
    """The files an example reads, made in `folder`: a PyTorch-layout LSTM and a (T, d) input."""
    if "--weights" in args:
        cell = build_cell("lstm", 8, 3, sigma1=0.9, seed=5)
        save_weights(cell, folder / args[args.index("--weights") + 1])
    if "--inputs" in args:
        np.save(folder / args[args.index("--inputs") + 1],
                np.random.default_rng(0).standard_normal((50, 3)))


def run_example(command: str, folder: Path) -> str:
    args = shlex.split(command)[2:]                       # after "python main.py"
    prepare_files(args, folder)
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def printed_log10(out: str) -> float:
    return float(re.search(r"‖∂s_T/∂s_0‖₂ = \S+\s+\(log10 = (\S+)\)", out).group(1))


@pytest.mark.parametrize("command, comment", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_every_simulate_example_prints_what_its_comment_says(command, comment, tmp_path):
    out = run_example(command, tmp_path)
    assert re.search(r"‖∂s_T/∂s_0‖₂ = ", out)
    for number in numbers(comment):
        assert number in out, f"{number!r} (from the README) not in:\n{out}"
    for name in re.findall(r"--out (\S+)", command):
        assert (tmp_path / name).stat().st_size > 0


def test_sigma1_2_over_2000_steps_is_the_closed_form(tmp_path):
    """An identity RNN with a symmetric W and zero input: ‖∂h_T/∂h₀‖₂ = ‖Wᵀ‖₂ = σ₁ᵀ = 2²⁰⁰⁰."""
    out = run_example("python main.py simulate --sigma1 2 --length 2000 --signal zeros", tmp_path)
    assert printed_log10(out) == pytest.approx(2000 * math.log10(2), abs=1e-6)
    assert format_pow10(2000 * math.log10(2)) == "1.15×10⁶⁰²" and "T = 2000" in out
    # with the noise input the state itself leaves float64 range: the run stops and says where
    out = run_example("python main.py simulate --sigma1 2 --length 2000", tmp_path)
    T = int(re.search(r"T = (\d+)", out).group(1))
    assert 1000 < T < 1030                       # hₜ ~ 2ᵗ·|h₀|: float64 ends near 2¹⁰²⁴
    assert printed_log10(out) == pytest.approx(T * math.log10(2), abs=1e-6)
    assert "leaves float64 range" in out


def test_the_trace_the_clouds_example_writes_ends_at_the_printed_norm(tmp_path):
    command = next(c for c, _ in EXAMPLES if "--out trace.csv" in c)
    out = run_example(command, tmp_path)
    lines = (tmp_path / "trace.csv").read_text().splitlines()
    header = next(line for line in lines if line.startswith("t,") or ",log10_jac_norm" in line)
    col = header.split(",").index("log10_jac_norm")
    last = lines[-1].split(",")
    assert float(last[col]) == pytest.approx(printed_log10(out), abs=1e-6)
    assert len(tokenize("the clouds are in the sky")) == int(last[0])


# -- the presets ------------------------------------------------------------------------------------
@cache
def run(name, **changes):
    cfg = PRESETS[name].config
    return analyse(cfg.replace(**changes) if changes else cfg)


def final(name, **changes) -> float:
    return float(run(name, **changes).trace.log10_jac_norm[-1])


def gap_words(name) -> int:
    """Words strictly between "France ." and "I speak fluent French"."""
    t = run(name).tokens
    return len(t) - t.index("france") - 2 - 4


def formula_gru(name) -> bool:
    """The update the description writes, recomputed from the trace's own gates."""
    a = run(name)
    h, z, n = a.trace.h, a.trace.gates["z"], a.trace.gates["n"]
    if a.config.convention == "pytorch":
        want = (1 - z) * n + z * h[:-1]                     # h' = (1−z)·n + z·h
    else:
        want = (1 - z) * h[:-1] + z * n                     # hₜ = (1−z)·hₜ₋₁ + z·h̃
    return bool(np.allclose(h[1:], want, atol=1e-12))


def orthogonal_not_identity(name) -> bool:
    w = run(name).cell.weight_hh
    n = w.shape[0]
    return bool(np.allclose(w @ w.T, np.eye(n), atol=1e-12) and np.abs(w - np.eye(n)).max() > 0.5)


def top(mapping):
    """The (only) recurrent block's entry of a per-block dict (an RNN has one block)."""
    (value,) = mapping.values()
    return value


def spread_round_the_circle(name) -> bool:
    lam = top(run(name).eigenvalues)
    ang = np.sort(np.angle(lam))
    gaps = np.diff(np.concatenate([ang, [ang[0] + 2 * np.pi]]))
    return bool(np.allclose(np.abs(lam), 1, atol=1e-12) and gaps.max() < np.pi / 2)


def gelfand(name) -> bool:
    a = run(name)
    L, T = a.trace.log10_jac_norm, a.steps
    return abs((L[T] - L[T // 2]) / (T - T // 2) - math.log10(a.spectral_radius)) < 0.01


def notes_section(number: str, word: str) -> bool:
    text = asset("notes.md").read_text(encoding="utf-8")
    return bool(re.search(rf"^#+ {re.escape(number)}\b.*{word}", text, re.M | re.I))


def power_token(token: str) -> float:
    """ "1.01³⁶⁵" → 365 · log10 1.01."""
    base, exp = re.fullmatch(rf"([\d.]+)([{SUP}]+)", token).groups()
    return int(exp.translate(FROM_SUP)) * math.log10(float(base))


#: preset → [(number as written, check)]: one check for every time a number is written.

# -- the presets of the directions view and the trained models ---------------------------------------
@cache
def directions(name):
    from gatescope.core.directions import log10_singular_values
    a = run(name)
    return log10_singular_values(a.cell, a.trace.inputs)


def kept(name, t) -> int:
    """Directions keeping more than 10⁻³ of σ₁ after t steps (the Directions view's count)."""
    row = directions(name)[t]
    return int(np.count_nonzero(row > row[0] - 3))


@cache
def lyapunov_at(name, sigma1, with_input=True):
    from gatescope.core.lyapunov import top_lyapunov_exponent
    a = run(name, sigma1=sigma1)
    x = a.trace.inputs if with_input else np.zeros_like(a.trace.inputs)
    return top_lyapunov_exponent(a.cell, x, None, None, discard=len(x) // 4)


@cache
def trained(name):
    from gatescope.core.models.trained import load_trained
    return load_trained(name)


def predicts(name, word) -> bool:
    from gatescope.core.models.trained import predict_last
    return predict_last(trained(name))[1] == word


def accuracy(name, key="test_accuracy"):
    return round(100 * trained(name).meta[key], 1)


@cache
def cereal_movement():
    """The cereal-review model's gate movement on the notes' review (core.training.review_gates)."""
    from gatescope.core.training.review_gates import gate_movement
    return gate_movement(trained("cereal-review"))


def cereal_guess_rises_to(word) -> str | None:
    """p(positive) after `word` to two decimals, if it rose there (else None)."""
    m = cereal_movement()
    t = m.tokens.index(word)
    return f"{m.p[t]:.2f}" if m.p[t] > m.guess_before(t) else None


def sigma1_of(name) -> float:
    """σ₁ of the trained (one-layer) model's W_hh."""
    return float(np.linalg.svd(trained(name).stack.direction(0, 0).weight_hh, compute_uv=False)[0])


def fillers(name) -> int:
    words = PRESETS[name].config.text.lower().split()
    return len(words) - words.index("france") - 2 - 3           # between "France ." and "I speak fluent"


CLAIMS = {
    "every-direction": [
        ("1", lambda: directions("every-direction")[1][0] == pytest.approx(0.0, abs=1e-9)),      # σ₁ = 1
        ("0.1", lambda: directions("every-direction")[1][-1] == pytest.approx(-1.0, abs=1e-9)),  # σ₁₆ = 0.1
        ("10", lambda: kept("every-direction", 10) == 5),
        ("5", lambda: kept("every-direction", 10) == 5),
        ("16", lambda: directions("every-direction").shape[1] == 16),
        ("10⁻³", lambda: kept("every-direction", 50) == 1),
        ("50", lambda: kept("every-direction", 50) == 1),
        ("1", lambda: kept("every-direction", 50) == 1),
        ("100", lambda: run("every-direction").steps == 100),
        ("10⁻¹⁰⁰", lambda: directions("every-direction")[100][-1] == pytest.approx(-100, abs=1e-6)),
    ],
    "edge-of-chaos": [
        ("0", lambda: lyapunov_at("edge-of-chaos", 1.4) < 0 < lyapunov_at("edge-of-chaos", 1.6)),
        ("32", lambda: run("edge-of-chaos").cell.hidden_size == 32),
        ("1.5", lambda: run("edge-of-chaos").sigma1 == pytest.approx(1.5, abs=1e-12)),
        ("−0.20", lambda: round(lyapunov_at("edge-of-chaos", 1.0), 2) == -0.20),
        ("1", lambda: round(lyapunov_at("edge-of-chaos", 1.0), 2) == -0.20),
        ("+0.1", lambda: round(lyapunov_at("edge-of-chaos", 2.0), 1) == 0.1),
        ("2", lambda: lyapunov_at("edge-of-chaos", 2.0) > 0),
        ("0", lambda: lyapunov_at("edge-of-chaos", 1.4) < 0 < lyapunov_at("edge-of-chaos", 1.6)),
        ("1.4", lambda: lyapunov_at("edge-of-chaos", 1.4) < 0),
        ("1.6", lambda: lyapunov_at("edge-of-chaos", 1.6) > 0),
        ("1", lambda: lyapunov_at("edge-of-chaos", 0.97, False) < 0 < lyapunov_at("edge-of-chaos", 1.03, False)),
    ],
    "trained-lstm-france": [
        ("40", lambda: fillers("trained-lstm-france") == 40),
        ("1", lambda: predicts("trained-lstm-france", "French")),
        ("100.0", lambda: accuracy("trained-lstm-france") == 100.0),
        ("60", lambda: "test_accuracy_gap60" in trained("trained-lstm-france").meta),
        ("100.0", lambda: accuracy("trained-lstm-france", "test_accuracy_gap60") == 100.0),
    ],
    "trained-gru-france": [
        ("1", lambda: predicts("trained-gru-france", "French")),
        ("100.0", lambda: accuracy("trained-gru-france") == 100.0),
        ("60", lambda: "test_accuracy_gap60" in trained("trained-gru-france").meta),
        ("100.0", lambda: accuracy("trained-gru-france", "test_accuracy_gap60") == 100.0),
    ],
    "trained-rnn-france": [
        ("40", lambda: fillers("trained-rnn-france") == 40),
        ("1", lambda: sigma1_of("trained-rnn-france") > 1),
        ("60", lambda: "test_accuracy_gap60" in trained("trained-rnn-france").meta),
        ("100.0", lambda: accuracy("trained-rnn-france") == 100.0 and predicts("trained-rnn-france", "French")),
        ("60", lambda: "test_accuracy_gap60" in trained("trained-rnn-france").meta),
        ("0.0", lambda: accuracy("trained-rnn-france", "test_accuracy_gap60") == 0.0),
        ("2.80", lambda: f"{sigma1_of('trained-rnn-france'):.2f}" == "2.80"),
    ],
    "trained-rnn-clouds": [
        ("4", lambda: "the clouds are in the sky".split().index("sky")
         - "the clouds are in the sky".split().index("clouds") == 4
         and PRESETS["trained-rnn-clouds"].config.text == "the clouds are in the"),
        ("100.0", lambda: accuracy("trained-rnn-clouds") == 100.0 and predicts("trained-rnn-clouds", "sky")),
        ("2.48", lambda: f"{sigma1_of('trained-rnn-clouds'):.2f}" == "2.48"),
    ],
    "trained-lstm-cereal": [("100.0", lambda: accuracy("trained-lstm-cereal") == 100.0)],
    "notes-table": [
        ("1.01³⁶⁵", lambda: format_pow10(power_token("1.01³⁶⁵")) == "37.8"),
        ("37.8", lambda: format_pow10(final("notes-table")) == "37.8"),
        ("1.01", lambda: run("notes-table").sigma1 == pytest.approx(1.01, abs=1e-12)),
        ("365", lambda: run("notes-table").steps == 365),
        ("37.8", lambda: np.allclose(run("notes-table").trace.log10_jac_norm,
                                     run("notes-table").sigma_curves[0], atol=1e-9)),   # exactly σ₁ᵗ
    ],
    "clouds-sky": [
        ("4", lambda: run("clouds-sky").tokens.index("sky") - run("clouds-sky").tokens.index("clouds") == 4
         and final("clouds-sky") > -1),
    ],
    "france-french": [("40", lambda: gap_words("france-french") == 40 and final("france-french") < -4)],
    "vanishing": [
        ("0.98³⁶⁵", lambda: format_pow10(power_token("0.98³⁶⁵")) == "0.0006"),
        ("0.0006", lambda: format_pow10(final("vanishing")) == "0.0006"),
        ("0.98", lambda: run("vanishing").sigma1 == pytest.approx(0.98, abs=1e-12)),
        ("0.0006", lambda: run("vanishing").steps == 365 and format_pow10(final("vanishing")) == "0.0006"),
    ],
    "exploding": [
        ("1.02³⁶⁵", lambda: format_pow10(power_token("1.02³⁶⁵")) == "1377.4"),
        ("1377.4", lambda: format_pow10(final("exploding")) == "1377.4"),
        ("1.02", lambda: run("exploding").sigma1 == pytest.approx(1.02, abs=1e-12)),
        ("1377", lambda: math.floor(10 ** final("exploding")) == 1377),
        ("365", lambda: run("exploding").steps == 365),
    ],
    "edge-of-stability": [
        ("1", lambda: np.allclose(top(run("edge-of-stability").singular_values), 1, atol=1e-12)),
        ("1", lambda: run("edge-of-stability").sigma1 == pytest.approx(1, abs=1e-12)
         and orthogonal_not_identity("edge-of-stability")
         and spread_round_the_circle("edge-of-stability")),
        ("1", lambda: all(abs(np.linalg.norm(np.linalg.matrix_power(run("edge-of-stability").cell.weight_hh, t), 2) - 1)
                          < 1e-12 for t in (1, 7, 50, 365))),                       # ‖Wᵗ‖ = 1
        ("1", lambda: np.abs(run("edge-of-stability").trace.log10_jac_norm).max() < 1e-9),  # exactly 1
        ("365", lambda: run("edge-of-stability").steps == 365),
    ],
    "relu-remedy": [
        ("1", lambda: run("relu-remedy").sigma1 == pytest.approx(1, abs=1e-12)
         and orthogonal_not_identity("relu-remedy") and spread_round_the_circle("relu-remedy")),
        ("1", lambda: np.array_equal(run("relu-remedy").trace.slope,
                                     (run("relu-remedy").trace.preact > 0).astype(float))),  # ReLU' = 1
        ("¼", lambda: run("relu-remedy", activation="sigmoid").trace.slope.max() <= 0.25
         and GAMMA["sigmoid"] == 0.25),
        ("200", lambda: run("relu-remedy").steps == 200
         and 0.4 < (run("relu-remedy").trace.slope == 0).mean() < 0.6),             # about half off
        ("6×10⁻³⁴", lambda: one_digit(final("relu-remedy")) == "6×10⁻³⁴"),
        ("2×10⁻¹²⁶", lambda: one_digit(final("relu-remedy", activation="sigmoid")) == "2×10⁻¹²⁶"),
    ],
    "sigmoid-vanishing": [
        ("¼", lambda: GAMMA["sigmoid"] == 0.25),
        ("1.5", lambda: run("sigmoid-vanishing").sigma1 == pytest.approx(1.5, abs=1e-12)),
        ("1.5", lambda: run("sigmoid-vanishing").config.sigma1 == 1.5),
        ("¼", lambda: run("sigmoid-vanishing").trace.slope.max() <= 0.25),
        ("¼", lambda: float(sigmoid(0.0)) * (1 - float(sigmoid(0.0))) == 0.25),
        ("1.5", lambda: run("sigmoid-vanishing").pascanu[1] == pytest.approx(math.log10(0.375))),
        ("0.375", lambda: 0.25 * 1.5 == 0.375),
        ("100", lambda: run("sigmoid-vanishing").steps == 100),
        ("10⁻⁴²", lambda: final("sigmoid-vanishing") <= 100 * math.log10(0.375) + 1e-9 < -42),
    ],
    "lstm-carousel": [
        ("5", lambda: run("lstm-carousel").config.forget_bias == 5),
        ("5", lambda: run("lstm-carousel").config.forget_bias == 5),
        ("0.99", lambda: round(float(run("lstm-carousel").trace.gates["f"].mean()), 2) == 0.99),
        ("365", lambda: run("lstm-carousel").steps == 365),
        ("1", lambda: round(float((10 ** run("lstm-carousel").trace.log10_cell_norm).min())) >= 1),
        ("17", lambda: float((10 ** run("lstm-carousel").trace.log10_cell_norm).max()) <= 17),
        ("0.14", lambda: format_pow10(run("lstm-carousel").trace.log10_carousel[-1]) == "0.14"),
        ("0.9", lambda: run("lstm-carousel").sigma1 == pytest.approx(0.9, abs=1e-12)),
        ("10⁻¹⁷", lambda: round(run("lstm-carousel").sigma_curves[0][-1]) == -17),
    ],
    "gru-update-gate": [
        ("4", lambda: run("gru-update-gate").config.update_bias == 4 and final("gru-update-gate") > -1),
        ("1", lambda: float(run("gru-update-gate").trace.gates["z"].mean()) > 0.98),      # z ≈ 1
        ("1", lambda: formula_gru("gru-update-gate")),                                    # (1−z)
    ],
    "gru-notes-form": [
        ("0", lambda: float(run("gru-notes-form").trace.gates["z"].mean()) < 0.02),       # title
        ("1", lambda: formula_gru("gru-notes-form")),                                     # (1−z)
        ("−4", lambda: run("gru-notes-form").config.update_bias == -4),
        ("0", lambda: float(run("gru-notes-form").trace.gates["z"].mean()) < 0.02),       # z ≈ 0
        ("40", lambda: gap_words("gru-notes-form") == 40 and final("gru-notes-form") > -1),
        ("+4", lambda: final("gru-notes-form", update_bias=4.0) < -10),                   # vanishes
        ("1", lambda: float(run("gru-notes-form", update_bias=4.0).trace.gates["z"].mean()) > 0.98),
        ("1", lambda: final("gru-update-gate") > -1 and run("gru-update-gate").config.convention == "pytorch"),
    ],
    "non-normal": [
        ("1.05", lambda: run("non-normal").sigma1 == pytest.approx(1.05, abs=1e-12)
         and not run("non-normal").is_normal()),
        ("5×10⁷", lambda: one_digit(run("non-normal").sigma_curves[0][-1]) == "5×10⁷"),
        ("365", lambda: run("non-normal").steps == 365),
        ("1", lambda: gelfand("non-normal")),                                            # ‖Wᵗ‖^(1/t) → ρ
        ("0.54", lambda: round(run("non-normal").spectral_radius, 2) == 0.54),
        ("1", lambda: run("non-normal").spectral_radius < 1),
        ("5×10⁻⁹⁸", lambda: one_digit(final("non-normal")) == "5×10⁻⁹⁸"),
    ],
    "clipping-rescue": [
        ("1.03", lambda: run("clipping-rescue").sigma1 == pytest.approx(1.03, abs=1e-12)),
        ("10", lambda: run("clipping-rescue").config.clip == 10),
        ("10", lambda: final("clipping-rescue") > 1),                                    # ‖g‖ ≥ 10 somewhere
        ("10", lambda: np.max(run("clipping-rescue").clipped) == pytest.approx(1.0)
         and np.all(run("clipping-rescue").clipped <= 1.0)),
        ("3.1", lambda: notes_section("3.1", "explosion")),
    ],
    "cereal-review": [
        ("16", lambda: trained("cereal-review").stack.direction(0).hidden_size == 16),
        ("3.3", lambda: f"{cereal_movement().ratio:.1f}" == "3.3"),
        ("0.66", lambda: cereal_guess_rises_to("amazing") == "0.66"),
        ("0.82", lambda: cereal_guess_rises_to("perfectly") == "0.82"),
        ("0.84", lambda: cereal_guess_rises_to("definitely") == "0.84"),
        ("100.0", lambda: accuracy("cereal-review") == 100.0),
        ("3", lambda: run("cereal-review").config.input_scale == 3       # the built (seeded) cell
         and np.ptp(run("cereal-review").trace.gates["f"].mean(axis=1)) > 0.1),
    ],
    "rnn-vs-gated": [
        ("0.95", lambda: run("rnn-vs-gated").sigma1 == pytest.approx(0.95, abs=1e-12)),
        ("3", lambda: run("rnn-vs-gated").config.forget_bias == 3),
        ("4", lambda: run("rnn-vs-gated").config.update_bias == 4),
        ("200", lambda: run("rnn-vs-gated").steps == 200),
        ("2×10⁻¹⁶", lambda: one_digit(final("rnn-vs-gated")) == "2×10⁻¹⁶"),
        ("3.5×10⁻⁵", lambda: round(10 ** (run("rnn-vs-gated").sigma_curves[0][-1] + 5), 1) == 3.5),
        ("0.2", lambda: one_digit(final("rnn-vs-gated", cell="lstm")) == "0.2"),
        ("0.1", lambda: one_digit(final("rnn-vs-gated", cell="gru")) == "0.1"),
    ],
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_number_a_preset_writes_has_a_check(name):
    """The numbers in the title and description, as a multiset, are the numbers checked."""
    p = PRESETS[name]
    written = Counter(numbers(p.title) + numbers(p.description))
    checked = Counter(token for token, _ in CLAIMS.get(name, []))
    assert written == checked, f"{name}: written {dict(written)}, checked {dict(checked)}"


@pytest.mark.parametrize("name, index", [(n, i) for n in sorted(CLAIMS) for i in range(len(CLAIMS[n]))],
                         ids=[f"{n}-{t}-{i}" for n in sorted(CLAIMS) for i, (t, _) in enumerate(CLAIMS[n])])
def test_every_number_a_preset_writes_is_what_a_fresh_run_shows(name, index):
    token, check = CLAIMS[name][index]
    assert check(), f"{name}: the check of {token!r} fails"


def test_the_readme_presets_table_is_the_presets_own_text():
    rows = dict(re.findall(r"^\| `([\w-]+)` \| (.*) \|$", README, re.M))
    assert set(rows) == set(PRESETS)
    for name, p in PRESETS.items():
        assert rows[name] == p.description, name


def test_the_number_reader_reads_the_forms_the_texts_use():
    assert numbers("b_z = −4, then +4; 6×10⁻³⁴ and 10⁻⁴²; 1.01³⁶⁵ = 37.8; ¼ · 1.5; hₜ₋₁ §3.1") == \
        ["−4", "+4", "6×10⁻³⁴", "10⁻⁴²", "1.01³⁶⁵", "37.8", "¼", "1.5", "3.1"]
    assert one_digit(math.log10(5.58e-34)) == "6×10⁻³⁴" and one_digit(math.log10(0.23)) == "0.2"
    assert power_token("1.02³⁶⁵") == pytest.approx(365 * math.log10(1.02))
