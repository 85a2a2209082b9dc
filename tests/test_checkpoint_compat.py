"""Checkpoints written before this version (the layout move, the EMA's own statistics) restore:
fixtures written by the code of commit 9861a60, with the values it restored."""

import os
import shutil

import jax
import numpy as np
import pytest
from flax.serialization import to_state_dict

from conftest import SHARED_TFDS
from gan_jax.run.evaluation import load_run

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'checkpoints_v1')


@pytest.mark.parametrize('run', ['ring', 'mnist'])
def test_checkpoint_of_the_previous_version_restores(run, tmp_path):
  if run == 'mnist' and not os.path.isdir(SHARED_TFDS):
    pytest.skip('shared data not available')
  workdir = str(tmp_path / run)
  shutil.copytree(os.path.join(FIXTURES, run), workdir)
  _, _, state = load_run(workdir, SHARED_TFDS)
  expected = np.load(os.path.join(workdir, 'expected_state.npz'))
  restored = {jax.tree_util.keystr(k): np.asarray(v)
              for k, v in jax.tree_util.tree_leaves_with_path(to_state_dict(state))}
  for key in expected.files:
    np.testing.assert_array_equal(restored[key], expected[key], err_msg=key)
  assert int(state.step) == 2
  # The EMA's statistics, absent then, start as the raw G's (what those runs evaluated with).
  for a, b in zip(jax.tree.leaves(state.ema_collections), jax.tree.leaves(state.g_collections)):
    np.testing.assert_array_equal(a, b)
