"""pmap data parallelism over 4 CPU devices gives the single-device result."""

import os
import subprocess
import sys
import textwrap

import pytest

from gan_jax.errors import ConfigError
from gan_jax.parallel import check_divisible

_SCRIPT = textwrap.dedent('''
    import os, sys
    sys.path.insert(0, {tests!r})
    import jax, jax.numpy as jnp, numpy as np
    assert jax.local_device_count() == 4, jax.devices()
    from conftest import init, tiny_dcgan, tiny_mlp
    from gan_jax import parallel
    from gan_jax.steps import make_train_step

    for name, make, shape in [('mlp', tiny_mlp, (2,)), ('dcgan', tiny_dcgan, (28, 28, 1))]:
      gan = make(batch_size=8, n_critic=2)
      state = init(gan, shape)
      batches = jax.random.uniform(jax.random.PRNGKey(7), (2, 8) + shape, minval=-1, maxval=1)
      single, single_metrics = make_train_step(gan)(state, batches)
      step = parallel.make_parallel_train_step(gan)
      replicated, metrics = step(parallel.replicate(init(gan, shape)), batches)
      multi = parallel.unreplicate(replicated)
      worst, where = 0.0, None
      paths = jax.tree_util.tree_flatten_with_path(single)[0]
      for (path, a), b in zip(paths, jax.tree.leaves(multi)):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        difference = float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-12))
        if difference > worst:
          worst, where = difference, jax.tree_util.keystr(path)
      print(name, 'max relative difference', worst, 'at', where)
      assert worst < 1e-5, (name, worst)
      for k in single_metrics:
        np.testing.assert_allclose(single_metrics[k], metrics[k], rtol=1e-4, atol=1e-5)
    print('OK')
''')


def test_pmap_train_step_equals_single_device():
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=4',
             JAX_PLATFORMS='cpu')
  tests = os.path.dirname(os.path.abspath(__file__))
  result = subprocess.run([sys.executable, '-c', _SCRIPT.format(tests=tests)], env=env,
                          capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stdout + result.stderr[-3000:]
  print(result.stdout)
  assert 'OK' in result.stdout


def test_batch_that_does_not_divide_is_a_clear_error():
  assert check_divisible(64, 4) == 16
  with pytest.raises(ConfigError, match='does not divide among 3 devices'):
    check_divisible(64, 3)
