"""pmap data parallelism over 4 CPU devices gives the single-device result, for every kind of
objective: plain, penalised (noise drawn for the global batch, DRAGAN's global std) and
relativistic (means over the global batch); and so does REINFORCE's leave-one-out baseline."""

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import devices_env
from gan_jax.errors import ConfigError
from gan_jax.run.parallel import check_divisible

_SCRIPT = textwrap.dedent('''
    import os, sys
    sys.path.insert(0, {tests!r})
    import dataclasses
    import jax, jax.numpy as jnp, numpy as np, optax
    assert jax.local_device_count() == 4, jax.devices()
    from conftest import init, tiny_dcgan, tiny_mlp
    from gan_jax.run import parallel
    from gan_jax.core.steps import make_train_step

    def relative_differences(a_tree, b_tree):
      out = {{}}
      for (path, a), b in zip(jax.tree_util.tree_flatten_with_path(a_tree)[0], jax.tree.leaves(b_tree)):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        out[jax.tree_util.keystr(path)] = float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-12))
      return out

    def perturbed(tree):   # float32 rounding of the inputs: a relative change of 1e-7
      leaves, treedef = jax.tree.flatten(tree)
      keys = jax.random.split(jax.random.PRNGKey(11), len(leaves))
      return treedef.unflatten([
          x * (1 + 1e-7 * jax.random.normal(k, x.shape)) if x.dtype == jnp.float32 else x
          for k, x in zip(keys, leaves)])

    # The plain non-saturating MLP and BatchNorm DCGAN are in test_structures.py's device check.
    cases = [('mlp', loss, tiny_mlp, {{}}, (2,)) for loss in ('wgan_gp', 'dragan', 'ragan')]
    # Convolutions with a penalty (DRAGAN's global std is the MLP's case above).
    cases += [('dcgan', 'wgan_gp', tiny_dcgan, {{'d_batch_norm': False}}, (28, 28, 1))]
    for model, loss, make, kwargs, shape in cases:
      name = f'{{model}} {{loss}}'
      gan = make(loss, batch_size=8, n_critic=2, **kwargs)
      # SGD, not Adam: Adam's first step is lr * sign(g) for every component, so gradients that
      # are zero up to rounding (a BatchNorm'd channel's shift, RaGAN's output bias) become
      # steps of +-lr in either program, which would hide what this compares.
      sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
      gan = dataclasses.replace(gan, g_optimizer=sgd, d_optimizer=sgd)
      state = init(gan, shape)
      batches = jax.random.uniform(jax.random.PRNGKey(7), (2, 8) + shape, minval=-1, maxval=1)
      single_step = make_train_step(gan)
      single = single_step(state, batches)   # (state, metrics)
      # How far rounding-level changes of the start move a single-device step: a GAN step can
      # amplify them (Adam divides small gradients by their own size), so this is the yardstick.
      rounding = relative_differences(single, single_step(perturbed(init(gan, shape)), batches))
      step = parallel.make_parallel_train_step(gan)
      replicated, metrics = step(parallel.replicate(init(gan, shape)), batches)
      multi = (parallel.unreplicate(replicated), metrics)
      excess = {{path: d / (1e-5 + 10 * rounding[path])
                for path, d in relative_differences(single, multi).items()}}
      where = max(excess, key=excess.get)
      print(name, 'worst difference / tolerance', excess[where], 'at', where)
      assert excess[where] < 1, (name, where, excess[where])
    print('OK')
''')


def test_pmap_train_step_equals_single_device():
  env = devices_env(4)
  tests = os.path.dirname(os.path.abspath(__file__))
  result = subprocess.run([sys.executable, '-c', _SCRIPT.format(tests=tests)], env=env,
                          capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stdout + result.stderr[-3000:]
  print(result.stdout)
  assert 'OK' in result.stdout


_LEAVE_ONE_OUT_SCRIPT = textwrap.dedent('''
    import sys
    sys.path.insert(0, {tests!r})
    sys.path.insert(0, {root!r})
    import dataclasses, functools
    import jax, jax.flatten_util, jax.numpy as jnp, numpy as np, optax
    assert jax.local_device_count() == 2, jax.devices()
    from conftest import tiny_config
    from experiments.configs import oracle_seqgan
    from gan_jax.core.state import create_state
    from gan_jax.core.steps import g_step
    from gan_jax.models.sequences import LSTMGenerator, SequenceDiscriminator
    from gan_jax.run import parallel
    from gan_jax.run.config import build_gan

    config = tiny_config(oracle_seqgan.get_config())
    config.batch_size = 8
    config.sequences.reward_baseline = 'leave_one_out'
    # The config's estimator and loss with models small enough to compile in seconds; SGD, as
    # Adam's first step, lr * sign(g), would hide a difference of gradients.
    gan = dataclasses.replace(
        build_gan(config), g_optimizer=optax.sgd(0.1), d_optimizer=optax.sgd(0.1),
        generator=LSTMGenerator(vocab=11, embed=4, hidden=8, length=4),
        discriminator=SequenceDiscriminator(vocab=11, embed=4, filter_sizes=(1, 2),
                                            num_filters=(3, 3)))
    start = jax.jit(functools.partial(create_state, gan))(jax.random.PRNGKey(0),
                                                          np.zeros((4,), np.int32))
    real = np.zeros((8, 4), np.int32)   # unused by the minimax G loss
    key = jax.random.PRNGKey(3)
    fresh = lambda: jax.tree.map(jnp.copy, start)
    single, _ = jax.jit(functools.partial(g_step, gan=gan))(fresh(), real, key)
    pstep = jax.pmap(functools.partial(g_step, gan=parallel.data_parallel(gan, 2)),
                     axis_name=parallel.AXIS, in_axes=(0, 0, None))
    multi, _ = pstep(parallel.replicate(fresh(), 2), parallel.shard(real, 2), key)
    multi = jax.device_get(parallel.unreplicate(multi))
    # The G update itself, not the params it is added to, so a wrong baseline is not diluted.
    update = lambda s: np.asarray(jax.flatten_util.ravel_pytree(jax.tree.map(
        lambda a, b: a - b, s.g_params, start.g_params))[0], np.float64)
    difference = (np.linalg.norm(update(single) - update(multi))
                  / np.linalg.norm(update(single)))
    print('relative difference of the G updates, 1 vs 2 devices:', difference)
    assert np.linalg.norm(update(single)) > 0
    assert difference < 1e-5, difference
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(single), jax.tree.leaves(multi)):
      np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                 rtol=1e-6, atol=1e-9, err_msg=jax.tree_util.keystr(path))
    print('OK')
''')


def test_leave_one_out_baseline_is_over_the_global_batch():
  """The REINFORCE G step with the leave-one-out baseline reaches the same state on 1 and 2
  devices: each example's baseline is the mean of the other examples of the global batch, not
  of its device's share (with the latter the G updates differed by 35%)."""
  env = devices_env(2)
  tests = os.path.dirname(os.path.abspath(__file__))
  script = _LEAVE_ONE_OUT_SCRIPT.format(tests=tests, root=os.path.dirname(tests))
  result = subprocess.run([sys.executable, '-c', script], env=env, capture_output=True,
                          text=True, timeout=600)
  print(result.stdout)
  assert result.returncode == 0, result.stdout + result.stderr[-3000:]
  assert 'OK' in result.stdout


def test_batch_that_does_not_divide_is_a_clear_error():
  assert check_divisible(64, 4) == 16
  with pytest.raises(ConfigError, match='does not divide among 3 devices'):
    check_divisible(64, 3)
