"""Where one training step of a config goes: the whole compiled step, and its parts compiled
alone on the same state and batch (G forward; G forward with its pullback to the params; D on a
batch; D's input gradient; the D step with and without its penalty; the G step).

  taskset -c 1 python experiments/diagnostics/step_profile.py \
      --config experiments/configs/graphs_planar_refine.py --output experiments/results/planar_step_profile.json

Each figure is the median of --repeats calls after one compiling call, each waited for. The parts
overlap (the D step contains D's forward), so they explain the whole, they do not add up to it.
Pins no cores itself: run it under taskset to time one core.
"""

import dataclasses
import functools
import json
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags
from ml_collections import config_flags

from gan_jax import structures
from gan_jax.core import steps
from gan_jax.core.estimators import split_d_output
from gan_jax.core.state import create_state
from gan_jax.run import cli
from gan_jax.run.config import build_gan, validate

_CONFIG = config_flags.DEFINE_config_file('config', None, 'The config to profile.',
                                          lock_config=True)
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Timed calls per part (median reported).')
_OUTPUT = flags.DEFINE_string('output', '', 'JSON to write the figures to.')


def median_seconds(fn, *args, repeats: int) -> float:
  jax.block_until_ready(fn(*args))   # compiles
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def parts(config):
  """{part name: jitted function of (state, batch, key)} for the config's GAN."""
  validate(config)
  structure = structures.get(config)
  example = structure.example(config)
  gan = build_gan(config, example)
  data = structure.make_data(config, gan.n_critic)
  state = create_state(gan, jax.random.PRNGKey(config.seed), data.example)
  batches = jax.tree.map(jnp.asarray, data.batches(0))
  batch = jax.tree.map(lambda b: gan.preprocess(b[0]), batches)
  key = jax.random.PRNGKey(1)
  fake = steps.generate_for_training(gan, state, key, batch).x

  def g_forward(state, key):
    return steps.generate_for_training(gan, state, key, batch).x

  def g_forward_and_pullback(state, key):
    samples = steps.generate_for_training(gan, state, key, batch)
    return samples.pullback(jnp.ones_like(samples.x)) if samples.pullback else samples.x

  def d_forward(state, x):
    variables = {'params': state.d_params, **state.d_collections}
    return steps._discriminate(gan, variables, x, list(state.d_collections), key)[0]

  def d_input_gradient(state, x):
    return jax.grad(lambda x: jnp.sum(split_d_output(d_forward(state, x))[0]))(x)

  # Without computing it at all: a weight of 0 would still compute the penalty.
  no_penalty = dataclasses.replace(gan, objective=gan.objective._replace(penalty='none',
                                                                       penalty_weight=0.0))
  table = {
      'train step (n_critic D + 1 G)': (jax.jit(functools.partial(steps.train_step, gan=gan)),
                                        (state, batches)),
      'D step': (jax.jit(functools.partial(steps.d_step, gan=gan)), (state, batch, key)),
      'G step': (jax.jit(functools.partial(steps.g_step, gan=gan)), (state, batch, key)),
      'G forward': (jax.jit(g_forward), (state, key)),
      'G forward + pullback to params': (jax.jit(g_forward_and_pullback), (state, key)),
      'D forward (one batch)': (jax.jit(d_forward), (state, fake)),
      'D input gradient (one batch)': (jax.jit(d_input_gradient), (state, fake)),
  }
  if gan.objective.penalty_weight:
    table['D step without its penalty'] = (jax.jit(functools.partial(steps.d_step,
                                                                     gan=no_penalty)),
                                           (state, batch, key))
  return table


def main(argv):
  del argv
  config = _CONFIG.value
  results = {}
  for name, (fn, args) in parts(config).items():
    results[name] = median_seconds(fn, *args, repeats=_REPEATS.value)
    print(f'{name:40s} {results[name] * 1000:9.1f} ms', flush=True)
  record = {'config': flags.FLAGS['config'].config_filename,
            'overrides': [a for a in sys.argv[1:] if a.startswith('--config.')],
            'seconds': results, 'repeats': _REPEATS.value,
            'cores': len(os.sched_getaffinity(0)), 'machine': platform.processor() or platform.machine()}
  if _OUTPUT.value:
    with open(_OUTPUT.value, 'w') as f:
      json.dump(record, f, indent=2)


if __name__ == '__main__':
  cli.run(main)
