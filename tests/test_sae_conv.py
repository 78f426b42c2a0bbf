"""The function-space SAEs (sae_cnn, sae_fno) and the resolution scores: operators checked against conv1d and
their adjoints, grids from 32 to 512 points, ISTA on a known signal, and the resampling path."""

import pytest
import torch
import torch.nn.functional as F
from helpers import tiny_model

from kae_zoo.core.types import DataSpec
from kae_zoo.experiments.runner import run_cell
from kae_zoo.families import create_surrogate
from kae_zoo.families.conv_coding import circular_step_size, circular_synthesis, spectral_ista
from kae_zoo.families.sparse_coding import ista
from kae_zoo.scoring import ScoringContext
from kae_zoo.scoring.resolution import predict_on_grid, resample_periodic, resolution_grids, resolution_scores
from kae_zoo.tasks import get_task

FNO_VARIANTS = [{}, {"modes": "all"}, {"modes": "truncated", "n_modes": 8}]


def model_on_grid(name: str, n_grid: int, seed: int = 0, **overrides):
    return create_surrogate(name, DataSpec(state_shape=(1, n_grid)), preset="smoke", seed=seed, **overrides)


@pytest.mark.parametrize("name", ["sae_cnn", "sae_fno"])
@pytest.mark.parametrize("n_grid", [32, 64, 128])
def test_shapes_and_unit_norm_atoms(name, n_grid):
    model = model_on_grid(name, n_grid)
    x = torch.randn(5, 1, n_grid)
    assert model.encode(x).shape == (5, 12 * n_grid) and model(x).shape == x.shape
    atoms = model.dictionary()
    assert atoms.shape == ((n_grid // 2 + 1) if name == "sae_cnn" else n_grid, 12)
    assert torch.allclose(atoms.norm(dim=0), torch.ones(12), atol=1e-5)


@pytest.mark.parametrize("overrides", FNO_VARIANTS)
def test_sae_fno_runs_natively_from_32_to_512_points(overrides):
    model = model_on_grid("sae_fno", 128, **overrides)
    assert "grid_invariant" in model.capabilities
    for n_points in (32, 64, 128, 256, 512):
        x = torch.randn(3, 1, n_points)
        assert model.encode(x).shape == (3, 12 * n_points)
        output = model(x)
        assert output.shape == x.shape and torch.isfinite(output).all()


@pytest.mark.parametrize("overrides", FNO_VARIANTS)
@pytest.mark.parametrize("n_points", [32, 64, 256])
def test_fno_atom_spectra_are_its_decoder_on_every_grid(overrides, n_points):
    # the encoder applies D and D^T through atom_spectra; the decoder is neuraloperator's SpectralConv: on every grid
    # (coarser than training too) both must be the same operator
    model = model_on_grid("sae_fno", 64, **overrides)
    codes = torch.randn(4, 12, n_points)
    with torch.no_grad():
        expected = circular_synthesis(codes, model.atom_spectra(n_points))
        assert torch.allclose(model.synthesize(codes), expected, atol=1e-4 * float(expected.abs().max()))


def test_cnn_synthesis_is_a_circular_conv1d_with_centred_filters():
    model = model_on_grid("sae_cnn", 32)
    kernel_size, centre = model.kernel_size, model.centre
    codes = torch.randn(2, 12, 32)
    with torch.no_grad():
        padded = F.pad(codes, (kernel_size - 1 - centre, centre), mode="circular")
        expected = F.conv1d(padded, model.dictionary().T.flip(-1)[None])
        assert torch.allclose(model.synthesize(codes), expected, atol=1e-5)


def test_fno_atoms_are_functions_and_coarse_grids_clamp_the_modes():
    # one event at u = 0.25 decodes to the same function on 64 and 128 points (the modes fit both grids) ...
    model = model_on_grid("sae_fno", 64, n_modes=32)
    coarse, fine = torch.zeros(1, 12, 64), torch.zeros(1, 12, 128)
    coarse[0, 2, 16], fine[0, 2, 32] = 1.5, 1.5
    with torch.no_grad():
        assert torch.allclose(model.decode(coarse.flatten(1)), model.decode(fine.flatten(1))[..., ::2], atol=1e-5)
        # ... and on 32 points (17 frequencies of the 33 kept) neuraloperator keeps the lowest ones, as the
        # clamped spectra do
        codes = torch.randn(2, 12, 32)
        expected = circular_synthesis(codes, model.atom_spectra(32))
        assert torch.allclose(model.synthesize(codes), expected, atol=1e-4)


def test_conv_ista_finds_a_single_event():
    model = model_on_grid("sae_cnn", 64, n_atoms=3, n_kept=1)  # n_kept is unused by ISTA
    taps = torch.arange(model.kernel_size, dtype=torch.float32) - model.centre
    with torch.no_grad():  # three distinct atoms: a narrow and a wide Gaussian, a box
        model.weight.copy_(torch.stack([torch.exp(-0.5 * (taps / 2) ** 2), torch.exp(-0.5 * (taps / 6) ** 2),
                                        (taps.abs() <= 4).float()], dim=1))
        codes = torch.zeros(1, 3, 64)
        codes[0, 1, 40] = -2.0
        signal = model.synthesize(codes)
        step_size = float(circular_step_size(model.atom_spectra(64)))
        estimate = spectral_ista(signal, model.atom_spectra(64), n_steps=300, step_size=step_size,
                                 threshold=step_size * 0.01)
    assert divmod(int(estimate.abs().argmax()), 64) == (1, 40)
    assert float(estimate[0, 1, 40]) < 0  # the sign; ISTA converges slowly on shifts of a smooth atom


@pytest.mark.parametrize(("name", "overrides"), [("sae_cnn", {}), ("sae_fno", {"modes": "all"}),
                                                  ("sae_fno", {"n_modes": 8})])
@pytest.mark.parametrize("accelerated", [False, True])
def test_spectral_ista_is_ista_with_the_dense_convolution_matrix(name, overrides, accelerated):
    # the dictionary as an explicit (n, n_atoms * n) matrix, column (k, j) = the decoder's output for a unit event
    # of atom k at point j; vector ISTA (and FISTA written out here) on it must give the Fourier-domain iterates
    model = model_on_grid(name, 16, n_atoms=3, n_kept=1, **overrides)  # n_kept is unused by ISTA
    with torch.no_grad():
        matrix = model.decode(torch.eye(3 * 16)).reshape(3 * 16, 16).T
        x = torch.randn(4, 1, 16, generator=torch.Generator().manual_seed(1)) * 3
        step = 1.0 / float(torch.linalg.matrix_norm(matrix, ord=2)) ** 2
        assert step == pytest.approx(float(circular_step_size(model.atom_spectra(16))), rel=1e-4)
        fourier = spectral_ista(x, model.atom_spectra(16), n_steps=7, step_size=step, threshold=step * 0.5,
                                accelerated=accelerated).flatten(1)
        if not accelerated:
            dense = ista(x.flatten(1), matrix, n_steps=7, sparsity_weight=0.5, step_size=step)
        else:
            dense = previous = point = torch.zeros(4, 48)
            momentum = 1.0
            for _ in range(7):
                previous, dense = dense, point + step * (x.flatten(1) - point @ matrix.T) @ matrix
                dense = dense.sign() * (dense.abs() - step * 0.5).clamp(min=0)
                next_momentum = (1 + (1 + 4 * momentum**2) ** 0.5) / 2
                point, momentum = dense + (momentum - 1) / next_momentum * (dense - previous), next_momentum
    assert (dense != 0).any() and (dense == 0).any()  # a real shrinkage case: some codes cut, some kept
    assert torch.allclose(fourier, dense, atol=1e-4)
    # with a graph (code_gradient="unrolled") the step is taken out of place: the same iterates
    unrolled = spectral_ista(x, model.atom_spectra(16), n_steps=7, step_size=step, threshold=step * 0.5,
                             accelerated=accelerated)
    assert unrolled.requires_grad and torch.allclose(unrolled.flatten(1), dense, atol=1e-4)


def test_resample_periodic_by_hand():
    signal = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    assert torch.equal(resample_periodic(signal, 8), torch.tensor([[0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 1.5]]))
    assert torch.equal(resample_periodic(resample_periodic(signal, 8), 4), signal)  # decimation is exact


def test_resolution_grids():
    assert resolution_grids(128, 32) == [64, 128, 256, 512]
    assert resolution_grids(32, 32) == [32, 64, 128]


def test_cnn_is_resampled_to_its_training_grid():
    model = model_on_grid("sae_cnn", 64)
    grids = []
    model.register_forward_pre_hook(lambda module, inputs: grids.append(inputs[0].shape[-1]))
    assert predict_on_grid(model, torch.randn(3, 1, 256)).shape == (3, 1, 256) and grids == [64]
    data = get_task("sparse_fn")().load(0, "smoke", "autoencode", torch.device("cpu"), progress=False)
    context = ScoringContext(tiny_model("sae_cnn"), data, report=None, seed=0)
    context.test_predictions  # computed by the prediction scorer before this one
    grids.clear()
    context.model.register_forward_pre_hook(lambda module, inputs: grids.append(inputs[0].shape[-1]))
    scalars, curves = resolution_scores(context)  # trained on 32 points: 32 .. 128
    # the model's grid is 32, the test split's 128: the signals on 32 points run once and are reused for 64 and
    # 128 decimated to 32; the direct path runs 64 and reuses the test split's own reconstructions for 128
    assert grids == [32, 64]
    assert scalars["resolution_native"] == 0.0 and scalars["resolution_robustness"] >= 1.0
    assert curves["resolution_error"][1] == {"resolution": [32, 64, 128]}
    # the direct path feeds each grid as it is: same error on the training grid, different elsewhere
    resampled, direct = curves["resolution_error"][2], curves["resolution_error_direct"][2]
    assert direct[0] == pytest.approx(resampled[0]) and direct[2] != pytest.approx(resampled[2])
    assert scalars["resolution_robustness_direct"] == pytest.approx(direct.max() / direct.min())


def test_cnn_filter_longer_than_the_grid_wraps_around():
    model = model_on_grid("sae_cnn", 64)  # 33 taps, run on 16 points: taps s and s + 16 land on one point
    codes = torch.zeros(1, 12, 16)
    codes[0, 0, 0] = 1.0
    with torch.no_grad():
        taps = model.dictionary()[:, 0]
        expected = torch.zeros(16).index_add(0, (torch.arange(33) - 16) % 16, taps)
        assert torch.allclose(model.synthesize(codes)[0, 0], expected, atol=1e-5)


@pytest.mark.parametrize("name", ["sae_cnn", "sae_fno"])
def test_fista_and_detached_codes(name):
    unrolled = model_on_grid(name, 32, n_ista_steps=40, solver="ista", code_gradient="unrolled")
    fista = model_on_grid(name, 32, n_ista_steps=40, solver="fista", code_gradient="detached")
    generator = torch.Generator().manual_seed(0)
    events = (torch.rand(4, 12 * 32, generator=generator) < 0.02) * 20.0  # amplitudes well above the threshold
    x = unrolled.decode(events).detach()

    def objective(model):
        with torch.no_grad():
            return float(model.loss({"source": x})["total"])

    assert objective(fista) < objective(unrolled)  # same atoms (same seed), FISTA gets closer to the optimum
    unrolled.loss({"source": x})["total"].backward()  # the ISTA codes carry a graph back to the atoms
    assert unrolled.encode(x).requires_grad
    # detached codes: the dictionary still gets a gradient (through the decoder), the solver builds no graph
    fista.loss({"source": x})["total"].backward()
    assert all(parameter.grad is not None for parameter in fista.parameters())
    codes = fista.encode(x)
    assert not codes.requires_grad
    with pytest.raises(ValueError, match="solver = 'newton' .* it takes one of 'ista', 'fista'"):
        model_on_grid(name, 32, solver="newton")


def test_resolution_curve_in_a_sparse_fn_run():
    result = run_cell("sae_fno", "sparse_fn", 0, preset="smoke", device="cpu", overrides={"n_epochs": 3},
                      progress=False)
    assert result.status == "ok", result.error
    dims, coords, errors = result.curves["resolution_error"]
    assert dims == ("resolution",) and coords == {"resolution": [64, 128, 256, 512]}
    assert (result.curves["resolution_error_direct"][2] == errors).all()  # native: the direct path is the same
    assert errors.shape == (4,) and (errors > 0).all()
    assert result.scalars["resolution_native"] == 1.0 and result.scalars["resolution_robustness"] >= 1.0
    assert 0 <= result.scalars["dictionary_recovery"] <= 1
