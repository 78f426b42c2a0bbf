"""Capabilities: what a (model, task) pair offers beyond the common interface, by name.

A scorer declares the capabilities it needs (`kae_zoo.scoring.Scorer`); `score` runs it on every cell whose model
and task offer them, so no scorer ever tests for a concrete family or task class, and a plugin family that declares
a capability (and implements what it promises) gets that capability's scores too.

Model capabilities are declared by the family class (`Surrogate.capabilities`); the conformance check
(`kae_zoo.testing.check_family`) verifies that a family implements what it declares:
- DICTIONARY: `dictionary() -> Tensor` (atom_length, n_atoms), the learned atoms as columns.
- LINEAR_OPERATOR: `operator(t: float) -> Tensor` (p, p), the linear map that advances latents by time t
  (z_{t} = K^(t) z), and `add_operator_edit(edit: Tensor)`, which adds a (p, p) matrix to K^(1) in place.
- LATENT_MAP: `latent_map(z: Tensor) -> Tensor`, a map of latents to latents whose iterates converge to
  attractors (e.g. f = E(D(z))).
- GRID_INVARIANT: the model runs natively on 1-D grids of any size (its atoms are functions).
- CODES: `encode` returns the coefficients of the decoder's atoms (a sparse code, or PCA's dense one), so the
  number of non-zero entries (L0) and the fraction of atoms ever used mean something.
- LATENT_PATH: `advance(z, t)` for t between 0 and 1 is a meaningful intermediate state (K^t, iterates of a latent
  map), so the decoded trajectory from the source to the prediction is a path whose Betti numbers can be scored.
  A family without one (an autoencoder whose advance is the identity, a direct MLP map) has no Betti curve.

Task capabilities are read off the loaded data (`kae_zoo.tasks.TaskData.capabilities`):
- LABELS: the test split has class labels.
- HEAD: the task has a base network whose head maps target states to class logits.
- BASE_LOGITS: the base network's logits on the test split.
- LAYER_STATES: the base network's states at every layer on the test split.
- GROUND_TRUTH: a known sparse generative model (the true dictionary).
- GRIDS: the ground truth re-samples its signals on other 1-D grids (states of shape (1, n)).
"""

from __future__ import annotations

DICTIONARY = "dictionary"
LINEAR_OPERATOR = "linear_operator"
LATENT_MAP = "latent_map"
GRID_INVARIANT = "grid_invariant"
CODES = "codes"
LATENT_PATH = "latent_path"
MODEL_CAPABILITIES = (DICTIONARY, LINEAR_OPERATOR, LATENT_MAP, GRID_INVARIANT, CODES, LATENT_PATH)

LABELS = "labels"
HEAD = "head"
BASE_LOGITS = "base_logits"
LAYER_STATES = "layer_states"
GROUND_TRUTH = "ground_truth"
GRIDS = "grids"
TASK_CAPABILITIES = (LABELS, HEAD, BASE_LOGITS, LAYER_STATES, GROUND_TRUTH, GRIDS)

# the methods each model capability promises, checked by the conformance check
MODEL_CAPABILITY_METHODS = {
    DICTIONARY: ("dictionary",),
    LINEAR_OPERATOR: ("operator", "add_operator_edit"),
    LATENT_MAP: ("latent_map",),
    GRID_INVARIANT: (),
    CODES: (),
    LATENT_PATH: (),
}


def check_model_capabilities(name: str, declared: frozenset[str]) -> None:
    """ValueError naming an unknown capability among those a family declares."""
    unknown = sorted(set(declared) - set(MODEL_CAPABILITIES))
    if unknown:
        raise ValueError(f"family {name!r} declares unknown capabilities {unknown}; valid: "
                         f"{', '.join(MODEL_CAPABILITIES)}")
