"""Noise that models draw themselves is drawn for the global batch: under pmap over k devices
each device's rows are the matching rows of a one-device call with the same key, and devices
differ from each other (the LSTM's samples and rollouts, the CNN critic's dropout, the graph
generator's node counts and edge noise). And a labelled image batch is the same global batch,
in the same order, for every process count."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import devices_env
from gan_jax.data.images import ImageBatches

_SCRIPT = textwrap.dedent('''
    import jax, jax.numpy as jnp, numpy as np
    assert jax.local_device_count() == 4, jax.devices()
    from gan_jax.models.graphs import GraphGenerator
    from gan_jax.models.sequences import LSTMGenerator, SequenceDiscriminator

    AXIS, GLOBAL = 'devices', 8
    key = lambda i: jax.random.PRNGKey(i)
    SMALL = dict(vocab=11, embed=4, hidden=6, length=7)

    def check(name, model, call, inputs, exact):
      """call(model, inputs) on GLOBAL rows in one call, and pmapped over 2 and 4 devices."""
      single = np.asarray(call(model, inputs))
      for k in (2, 4):
        local = lambda x: x.reshape((k, GLOBAL // k) + x.shape[1:])
        parallel = jax.pmap(lambda x: call(model.clone(axis_name=AXIS), x), axis_name=AXIS)
        multi = np.asarray(parallel(jax.tree.map(local, inputs)))
        expected = local(single)
        if exact:
          np.testing.assert_array_equal(multi, expected, err_msg=f'{{name}} on {{k}} devices')
        else:
          np.testing.assert_allclose(multi, expected, rtol=1e-5, atol=1e-6,
                                     err_msg=f'{{name}} on {{k}} devices')
        assert not np.array_equal(multi[0], multi[1]), f'{{name}}: devices 0 and 1 drew alike'
      print(name, 'OK')

    z = jnp.zeros((GLOBAL, 3))   # equal rows: whatever differs comes from the model's noise
    tokens_g = LSTMGenerator(**SMALL)
    variables = tokens_g.init({{'params': key(0), 'sample': key(1)}}, z)
    sample = lambda m, z: m.apply(variables, z, rngs={{'sample': key(2)}})
    check('lstm tokens', tokens_g, sample, z, exact=True)

    gumbel_g = LSTMGenerator(**SMALL, output='gumbel', max_temperature=5.0, temperature_steps=10)
    gumbel = lambda m, z: m.apply(variables, z, rngs={{'sample': key(2)}},
                                  mutable=['schedule'])[0]
    check('lstm gumbel', gumbel_g, gumbel, z, exact=False)

    prefixes = jnp.asarray(sample(tokens_g, z))
    rollout = lambda m, x: m.apply({{'params': variables['params']}}, x, 3,
                                   method=LSTMGenerator.rollout, rngs={{'sample': key(3)}})
    check('lstm rollout', tokens_g, rollout, prefixes, exact=True)

    d = SequenceDiscriminator(vocab=11, filter_sizes=(1, 2, 3), num_filters=(8, 8, 8),
                              dropout=0.5)
    x = jnp.tile(jnp.arange(7) % 11, (GLOBAL, 1))
    d_variables = d.init({{'params': key(0), 'dropout': key(1)}}, x)
    dropout = lambda m, x: m.apply(d_variables, x, rngs={{'dropout': key(4)}})
    check('critic dropout', d, dropout, x, exact=False)

    for kwargs in ({{}}, {{'node_counts': (0.1, 0.2, 0.3, 0.2, 0.2)}}):
      g = GraphGenerator(n_max=5, hidden=(16,), **kwargs)
      g_variables = g.init({{'params': key(0), 'sample': key(1)}}, z)
      for train in (True, False):
        graphs = lambda m, z: m.apply(g_variables, z, train=train, rngs={{'sample': key(5)}})
        check(f'graph {{sorted(kwargs)}} train={{train}}', g, graphs, z, exact=True)
    print('ALL OK')
''')


def test_model_noise_under_pmap_equals_single_device():
  env = devices_env(4)
  result = subprocess.run([sys.executable, '-c', _SCRIPT.format()], env=env,
                          capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stdout + result.stderr[-3000:]
  print(result.stdout)
  assert 'ALL OK' in result.stdout


@pytest.mark.parametrize('index', [0, 3, 7])   # 7: the second epoch's first batch
def test_image_batches_same_global_order_for_every_process_count(index):
  images = np.arange(26, dtype=np.uint8).reshape(26, 1, 1, 1)
  labels = np.arange(26) % 10
  global_batches = []
  for count in (1, 2, 4):
    parts = [ImageBatches(images, 8, seed=3, process_index=i, process_count=count,
                          labels=labels).batch(index) for i in range(count)]
    x = np.concatenate([p['x'] for p in parts])
    y = np.concatenate([p['y'] for p in parts])
    np.testing.assert_array_equal(y, labels[x[:, 0, 0, 0]])   # labels stay with their images
    global_batches.append((x, y))
  for x, y in global_batches[1:]:
    np.testing.assert_array_equal(x, global_batches[0][0])
    np.testing.assert_array_equal(y, global_batches[0][1])
