"""experiments/graphs.py end to end (2 steps per method) and the GraphVAE / D features it uses."""

import json
import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.run.config import adam
from gan_jax.data.graphs import encode, load_graphs
from gan_jax.lecture import graph_vae
from gan_jax.models.graphs import GraphDiscriminator, GraphGenerator

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
MMDS = [f'{s}_{p}' for p in ('tv', 'emd') for s in ('degree', 'clustering', 'orbit')]


# Every method on community_small (each costs seconds of XLA compilation on CPU, most of this
# test's time); planar's validity metrics are checked by the graph structure's own tests.
@pytest.mark.parametrize('dataset,methods', [
    ('community_small', ['gan_wgan_gp', 'gan_non_saturating', 'vae'])])
def test_two_step_run_writes_the_report(dataset, methods, tmp_path):
  command = [sys.executable, 'experiments/graphs.py',
             f'--config=experiments/configs/graphs_{dataset}.py', '--steps=2',
             f'--methods={",".join(methods)}', '--config.batch_size=4',
             '--config.model.d_features=8', '--config.graphs.d_layers=1',
             '--config.graphs.g_hidden=(16,)', '--config.graphs.eval_draws=1',
             '--config.graphs.num_generated=6', f'--workdir={tmp_path}']
  result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert result.returncode == 0, result.stderr[-3000:]
  with open(tmp_path / f'graphs_{dataset}.json') as f:
    report = json.load(f)
  assert report['command'].startswith('python ') and '--steps=2' in report['command']
  assert list(report['methods']) == methods
  for name in MMDS:
    assert math.isfinite(report['floor'][name]) and math.isfinite(report['floor_sampled'][name])
  for method, entry in report['methods'].items():
    assert entry['steps'] == 2 and entry['train_seconds'] > 0, method
    assert os.path.isdir(entry['checkpoint']), method
    for name in MMDS:
      assert math.isfinite(entry['metrics'][name]), (method, name)
    if dataset == 'planar':
      assert {'valid', 'unique', 'novel', 'vun'} <= set(entry['metrics'])
  assert os.path.getsize(tmp_path / f'graphs_{dataset}.png') > 0
  assert 'floor' in result.stdout and 'vae' in result.stdout


def test_graph_vae_learns_and_samples_with_the_gan_decoder():
  x = encode(load_graphs('community_small', 'train')[:8], 20)
  counts = np.bincount(np.diagonal(x, axis1=1, axis2=2).sum(1).astype(int) - 1, minlength=20)
  node_counts = tuple((counts / counts.sum()).tolist())
  model = graph_vae.GraphVAE(graph_vae.GraphEncoder(4, hidden=16, layers=2),
                             GraphGenerator(20, hidden=(32,), node_counts=node_counts),
                             adam(3e-3, 0.9, 0.999), batch_size=8)
  state = graph_vae.create_graph_vae_state(model, jax.random.PRNGKey(0), x[0])
  step = graph_vae.make_train_step(model)
  losses = []
  for _ in range(30):
    state, metrics = step(state, jnp.asarray(x))
    losses.append(float(metrics['loss']))
  assert losses[-1] < 0.7 * losses[0], losses

  @jax.jit
  def samples(params, key):
    return [graph_vae.sample_graphs(model, params, key, 5, threshold=t) for t in (False, True)]

  for graphs in samples(state.params, jax.random.PRNGKey(1)):
    graphs = np.asarray(graphs)
    assert graphs.shape == (5, 20, 20) and set(np.unique(graphs)) <= {0.0, 1.0}
    np.testing.assert_array_equal(graphs, graphs.transpose(0, 2, 1))
    nodes = np.diagonal(graphs, axis1=1, axis2=2)   # nodes 0..n-1, n a training graph's count
    assert np.all(counts[nodes.sum(1).astype(int) - 1] > 0)
    np.testing.assert_array_equal(nodes, np.sort(nodes, axis=1)[:, ::-1])


def test_discriminator_features_are_permutation_invariant():
  rng = np.random.default_rng(0)
  a = np.triu((rng.random((2, 9, 9)) < 0.5).astype(np.float32), 1)
  x = a + a.transpose(0, 2, 1) + np.eye(9, dtype=np.float32)
  perm = rng.permutation(9)
  d = GraphDiscriminator(hidden=8, layers=2, triangles=True, normalize=True, edge_types=3)

  @jax.jit
  def both(x, permuted):
    params = d.init(jax.random.PRNGKey(0), x)
    return d.apply(params, x), d.apply(params, permuted)

  logits, permuted = both(jnp.asarray(x), jnp.asarray(x[:, perm][:, :, perm]))
  np.testing.assert_allclose(permuted, logits, rtol=1e-5, atol=1e-5)
