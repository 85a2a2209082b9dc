"""Measuring speed: step timing, model FLOPs counted from the traced program, matmul peak."""

import math
import time
from typing import Optional

import jax
import jax.numpy as jnp


def time_steps(step_fn, state, batches, iterations: int):
  """Runs `iterations` compiled steps; returns the new state and the seconds of each one.

  Each step is waited for (block_until_ready), so a sample is one step's wall time.
  """
  seconds = []
  for _ in range(iterations):
    start = time.perf_counter()
    state, metrics = step_fn(state, batches)
    jax.block_until_ready((state, metrics))
    seconds.append(time.perf_counter() - start)
  return state, seconds


def _subjaxprs(eqn):
  for value in eqn.params.values():
    for item in value if isinstance(value, (list, tuple)) else (value,):
      if isinstance(item, jax.extend.core.ClosedJaxpr):
        yield item.jaxpr
      elif isinstance(item, jax.extend.core.Jaxpr):
        yield item


def _count(jaxpr) -> float:
  total = 0.0
  for eqn in jaxpr.eqns:
    name = eqn.primitive.name
    if name == 'conv_general_dilated':
      out_shape = eqn.outvars[0].aval.shape
      rhs_shape = eqn.invars[1].aval.shape
      rhs_spec = eqn.params['dimension_numbers'].rhs_spec
      taps = math.prod(rhs_shape[i] for i in rhs_spec[2:]) * rhs_shape[rhs_spec[1]]
      # A transposed convolution dilates its input with zeros; only 1/prod(dilation) of the
      # taps meet data, and a direct implementation skips the rest.
      total += 2.0 * math.prod(out_shape) * taps / math.prod(eqn.params['lhs_dilation'])
    elif name == 'dot_general':
      (lhs_contract, _), _ = eqn.params['dimension_numbers']
      lhs_shape = eqn.invars[0].aval.shape
      total += 2.0 * math.prod(eqn.outvars[0].aval.shape) * math.prod(
          lhs_shape[i] for i in lhs_contract)
    for sub in _subjaxprs(eqn):
      total += _count(sub)
  return total


def forward_flops(fn, *args) -> float:
  """Multiply-add FLOPs (x2) of the convolutions and matrix products of fn(*args)."""
  return _count(jax.make_jaxpr(fn)(*args).jaxpr)


def gan_iteration_flops(g_flops: float, d_flops: float, n_critic: int) -> float:
  """FLOPs of one iteration from per-example forward FLOPs, with backward = 2 x forward.

  A D step runs G forward (no gradient) and D forward and backward on real and fake data:
  F_G + 6 F_D. A G step runs D forward and backward and G backward: 2 F_G + 3 F_D, with G's
  forward taken from the last D step (as `train_step` and the PyTorch example do).
  """
  return n_critic * (g_flops + 6 * d_flops) + 2 * g_flops + 3 * d_flops


def matmul_peak_gflops(dtype=jnp.float32, n: Optional[int] = None, repeats: int = 5) -> float:
  """Achieved GFLOP/s of an n x n matrix product in `dtype` on the default device: the peak a
  step's achieved rate is compared with (bfloat16 for a bfloat16 step; accelerators need a
  larger n, 8192 by default, to reach theirs)."""
  if n is None:
    n = 2048 if jax.default_backend() == 'cpu' else 8192
  a = jax.random.normal(jax.random.PRNGKey(0), (n, n), dtype)
  b = jax.random.normal(jax.random.PRNGKey(1), (n, n), dtype)
  matmul = jax.jit(jnp.dot)
  matmul(a, b).block_until_ready()
  samples = []
  for _ in range(repeats):
    start = time.perf_counter()
    matmul(a, b).block_until_ready()
    samples.append(time.perf_counter() - start)
  return 2.0 * n ** 3 / min(samples) / 1e9
