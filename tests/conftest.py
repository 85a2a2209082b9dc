"""Shared test fixtures: tiny GANs and the shared data folder; one compilation cache."""

import os
import tempfile

# The suite's programs are tiny and each runs a few steps, so compiling them is most of its time
# (a 2-step oracle SeqGAN run: 66 of 76 s in XLA compilation). XLA's backend optimisation level
# 1 instead of its default halves that (45 s for the same run); level 0 is no use, its code runs
# many times slower. Training and benchmarks keep XLA's default. Set before JAX starts, and
# passed on to every script a test starts (devices_env adds a device count to it).
TEST_XLA_FLAGS = '--xla_backend_optimization_level=1'
if TEST_XLA_FLAGS not in os.environ.get('XLA_FLAGS', ''):
  os.environ['XLA_FLAGS'] = f"{os.environ.get('XLA_FLAGS', '')} {TEST_XLA_FLAGS}".strip()

import jax  # noqa: E402  (after XLA_FLAGS)
import jax.numpy as jnp
import numpy as np
from gan_jax.run.config import adam
import pytest

from gan_jax.core.objectives import get_objective
from gan_jax.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from gan_jax.core.state import GAN, create_state
from gan_jax.data.graphs import GRAPH_DATASETS

# One JAX compilation cache for the whole test run, shared by both xdist workers and every
# script a test starts (they inherit the environment): the suite compiles the same tiny programs
# many times over (a config's step in the 2-step run, the resume test, the host test's three
# processes), and a cached executable is the same program, so no result changes. A fresh folder
# per run: a run never reads another run's entries.
_RUN = os.environ.get('PYTEST_XDIST_TESTRUNUID') or str(os.getpid())
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR',
                      os.path.join(tempfile.gettempdir(), f'gan_jax_tests_{_RUN}', 'jit'))
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
jax.config.update('jax_compilation_cache_dir', os.environ['JAX_COMPILATION_CACHE_DIR'])
# Reference features (gan_jax.metrics.features) are cached in the run's folder, not in ~/.cache.
os.environ.setdefault('GAN_JAX_CACHE', os.path.join(tempfile.gettempdir(), f'gan_jax_tests_{_RUN}',
                                                    'cache'))
jax.config.update('jax_persistent_cache_min_compile_time_secs',
                  float(os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS']))


def devices_env(count: int) -> dict:
  """The environment of a script that sees `count` CPU devices, with the suite's XLA flags."""
  return dict(os.environ, JAX_PLATFORMS='cpu',
              XLA_FLAGS=f'{TEST_XLA_FLAGS} --xla_force_host_platform_device_count={count}')


SHARED_TFDS = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data',
                                           'tensorflow_datasets'))


def tiny_dcgan(loss='non_saturating', spectral_norm=True, batch_size=4, n_critic=1,
               d_batch_norm=True, **kwargs):
  """A 28x28 DCGAN small enough for CPU tests, with BatchNorm in G (and D) and SN in D."""
  return GAN(DCGANGenerator((28, 28, 1), 8),
             DCGANDiscriminator(8, batch_norm=d_batch_norm, spectral_norm=spectral_norm),
             adam(1e-3, 0.5, 0.999), adam(1e-3, 0.5, 0.999), get_objective(loss), z_dim=8,
             batch_size=batch_size, n_critic=n_critic, joint_d_call=not d_batch_norm, **kwargs)


def assert_trees_equal(a, b):
  """Bit-identical pytrees: the same structure, the same number of leaves, the same values."""
  leaves_a, tree_a = jax.tree.flatten(a)
  leaves_b, tree_b = jax.tree.flatten(b)
  assert tree_a == tree_b, (tree_a, tree_b)
  assert len(leaves_a) == len(leaves_b)
  for x, y in zip(leaves_a, leaves_b):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def tiny_mlp(loss='non_saturating', batch_size=8, n_critic=1, dim=2, **kwargs):
  return GAN(MLPGenerator(dim, (16,)), MLPDiscriminator((16,)), adam(1e-3, 0.5, 0.999),
             adam(1e-3, 0.5, 0.999), get_objective(loss), z_dim=4, batch_size=batch_size,
             n_critic=n_critic, **kwargs)


def init(gan, shape, seed=0):
  return create_state(gan, jax.random.PRNGKey(seed), jnp.zeros(shape))


@pytest.fixture
def shared_tfds():
  if not os.path.isdir(SHARED_TFDS):
    pytest.skip(f'shared data not found at {SHARED_TFDS}')
  return SHARED_TFDS


SHARED_DATASETS = ('mnist', 'fashion_mnist')
TEXT_FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'text')


def tiny_config(config, num_steps=2):
  """A config at test size: 2 steps, batch 4, narrow models, everything written each step."""
  config.num_steps = num_steps
  config.batch_size = 4
  config.model.g_features = config.model.d_features = 8
  config.log_every = config.sample_every = 1
  config.checkpoint_every = 2
  if config.data.name in SHARED_DATASETS:
    config.data.data_dir = SHARED_TFDS
  config.eval_samples = 200   # the metrics' code, not their precision, is under test
  if config.model.name == 'lstm':
    config.sequences.num_rollouts = 2
  if config.data.name == 'text':   # a few sentences, not the corpus
    config.sequences.text_dir = TEXT_FIXTURE
    config.sequences.valid_count = 4
    config.sequences.embed = config.sequences.hidden = 8
  if config.data.name in GRAPH_DATASETS:
    config.graphs.g_hidden = (16,)
  return config
