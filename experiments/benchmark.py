"""Train-step throughput of DCGAN-28, DCGAN-64 (the PyTorch example) and SNGAN-32, in JAX and,
if PyTorch is installed, side by side with the PyTorch reference in the same process.

python experiments/benchmark.py --output=benchmark.json
python experiments/benchmark.py --models=dcgan64 --batches=64 --torch   # the PyTorch ratio
python experiments/benchmark.py --data_dir=../shared/data/tensorflow_datasets   # + input pipeline
python experiments/benchmark.py --models= --layers   # each DCGAN-64 resampling layer alone

For each model and batch size: seconds per iteration (n_critic D steps + 1 G step, compiled,
after warm-up, median of repeats, block_until_ready), images/s, model FLOPs per image (counted
from the layer shapes of the traced forward passes, backward = 2 x forward; the transposed
convolutions counted as a direct implementation would run them), XLA's own count of the FLOPs
it executes, achieved GFLOP/s and its fraction of the matrix-multiply peak measured in the same
run, in the compute dtype (float32, or bfloat16 with --compute_dtype=bfloat16).

On a GPU or TPU: python experiments/benchmark.py --models=dcgan64 \
    --batches=64,256 --output=benchmark_gpu.json, and again with --compute_dtype=bfloat16.
"""

import functools
import json
import platform
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from gan_jax.run import cli
from gan_jax.tools import profiling
from gan_jax.run.config import build_gan, n_critic
from gan_jax.structures import make_data
from gan_jax.models import DownConv2x, UpConv2x
from gan_jax.core.state import create_state
from gan_jax.core.steps import make_train_step, train_step
from experiments.configs import celeba64_dcgan, cifar10_sngan, mnist_dcgan

_MODELS = flags.DEFINE_list('models', ['dcgan28', 'dcgan64', 'sngan32'], 'Models to time.')
_BATCHES = flags.DEFINE_list('batches', ['16', '64', '256'], 'Batch sizes.')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Timed repeats per measurement (median).')
_TORCH = flags.DEFINE_boolean('torch', True, 'Compare with PyTorch when it is installed.')
_DTYPE = flags.DEFINE_enum('compute_dtype', 'float32', ['float32', 'bfloat16'], 'Compute dtype.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS dir with MNIST: time the input pipeline.')
_OUTPUT = flags.DEFINE_string('output', None, 'JSON file for the results.')
_LAYERS = flags.DEFINE_boolean('layers', False, 'Time each DCGAN-64 resampling layer alone, '
                               'as the Flax layer and as the space-to-depth one, at batch 64.')

CONFIGS = {'dcgan28': (mnist_dcgan, (28, 28, 1)), 'dcgan64': (celeba64_dcgan, (64, 64, 3)),
           'sngan32': (cifar10_sngan, (32, 32, 3))}


def _setup(name, batch_size):
  module, shape = CONFIGS[name]
  config = module.get_config()
  config.batch_size = batch_size
  config.model.compute_dtype = _DTYPE.value
  gan = build_gan(config, shape)
  state = create_state(gan, jax.random.PRNGKey(0), jnp.zeros(shape))
  batches = jnp.asarray(np.random.default_rng(0).integers(
      0, 256, (gan.n_critic, batch_size) + shape, dtype=np.uint8))
  return config, gan, state, batches


def _model_flops(config, gan, state, shape):
  """Per-example forward FLOPs of G and D, counted on the plain Flax layers (resample='lax')."""
  generator, discriminator = gan.generator, gan.discriminator
  if config.model.name == 'dcgan':
    generator, discriminator = generator.clone(resample='lax'), discriminator.clone(resample='lax')
  z = jnp.zeros((8, gan.z_dim))
  g_vars = {'params': state.g_params, **state.g_collections}
  d_vars = {'params': state.d_params, **state.d_collections}
  g = profiling.forward_flops(lambda z: generator.apply(g_vars, z, train=False), z) / 8
  x = jnp.zeros((8,) + shape)
  d = profiling.forward_flops(lambda x: discriminator.apply(d_vars, x, train=False), x) / 8
  return g, d


def _xla_flops(gan, state, batches):
  compiled = jax.jit(functools.partial(train_step, gan=gan)).lower(state, batches).compile()
  analysis = compiled.cost_analysis()
  analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
  return float(analysis.get('flops', float('nan'))) if analysis else float('nan')


def _torch_trainer(name, batch_size):
  if not _TORCH.value or name not in ('dcgan28', 'dcgan64'):
    return None
  try:
    from experiments import torch_reference
  except ImportError:
    return None
  import torch
  on_gpu = jax.default_backend() == 'gpu' and torch.cuda.is_available()
  return torch_reference.Trainer(name, batch_size, device='cuda' if on_gpu else 'cpu')


def _time_torch(trainer, repeats):
  samples = []
  for _ in range(repeats):
    start = time.perf_counter()
    trainer.step()
    trainer.synchronize()
    samples.append(time.perf_counter() - start)
  return samples


def measure(name, batch_size, peak):
  config, gan, state, batches = _setup(name, batch_size)
  shape = CONFIGS[name][1]
  g_flops, d_flops = _model_flops(config, gan, state, shape)
  flops = profiling.gan_iteration_flops(g_flops, d_flops, gan.n_critic)
  xla_flops = _xla_flops(gan, state, batches) / batch_size
  step = make_train_step(gan)
  trainer = _torch_trainer(name, batch_size)
  state, _ = profiling.time_steps(step, state, batches, 2)   # compile and warm up
  if trainer is not None:
    _time_torch(trainer, 2)
  jax_times, torch_times = [], []
  for _ in range(_REPEATS.value):          # alternate, so both see the same machine
    state, seconds = profiling.time_steps(step, state, batches, 1)
    jax_times += seconds
    if trainer is not None:
      torch_times += _time_torch(trainer, 1)
  seconds = float(np.median(jax_times))
  row = {'model': name, 'batch': batch_size, 'n_critic': gan.n_critic,
         'seconds_per_iteration': seconds, 'images_per_second': batch_size / seconds,
         'model_gflop_per_image': flops / 1e9, 'xla_gflop_per_image': xla_flops / 1e9,
         'achieved_gflops': flops * batch_size / seconds / 1e9}
  row['fraction_of_matmul_peak'] = row['achieved_gflops'] / peak
  if torch_times:
    torch_seconds = float(np.median(torch_times))
    row['torch_seconds_per_iteration'] = torch_seconds
    row['torch_images_per_second'] = batch_size / torch_seconds
    row['jax_over_torch_throughput'] = torch_seconds / seconds
  return row


# (input side, input channels, output channels) of DCGAN-64's strided and transposed convolutions.
_D_LAYERS = ((64, 3, 64), (32, 64, 128), (16, 128, 256), (8, 256, 512))
_G_LAYERS = ((4, 512, 256), (8, 256, 128), (16, 128, 64), (32, 64, 3))


def _layer_pair(kind, features):
  """(Flax layer, this project's layer): the same function of the same parameters."""
  if kind == 'down':
    return (nn.Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=False),
            DownConv2x(features))
  return (nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)),
                           use_bias=False), UpConv2x(features))


def _time_ms(fn, *args):
  jax.block_until_ready(fn(*args))
  samples = []
  for _ in range(_REPEATS.value):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    samples.append(time.perf_counter() - start)
  return 1e3 * float(np.median(samples))


def layer_timings(batch_size=64):
  """Milliseconds for the forward pass, the input gradient and the kernel gradient of each layer."""
  rows = []
  for kind, shapes in (('down', _D_LAYERS), ('up', _G_LAYERS)):
    for side, c_in, c_out in shapes:
      x = jax.random.normal(jax.random.PRNGKey(0), (batch_size, side, side, c_in))
      row = {'layer': kind, 'input': [side, side, c_in], 'features': c_out}
      for name, layer in zip(('lax', 'space_to_depth'), _layer_pair(kind, c_out)):
        params = layer.init(jax.random.PRNGKey(1), x)
        forward = jax.jit(layer.apply)
        y = forward(params, x)
        dy = jax.random.normal(jax.random.PRNGKey(2), y.shape)
        input_grad = jax.jit(lambda p, x, dy, f=layer.apply: jax.vjp(lambda x: f(p, x), x)[1](dy))
        kernel_grad = jax.jit(lambda p, x, dy, f=layer.apply: jax.vjp(lambda p: f(p, x), p)[1](dy))
        row[name] = {'forward_ms': _time_ms(forward, params, x),
                     'input_grad_ms': _time_ms(input_grad, params, x, dy),
                     'kernel_grad_ms': _time_ms(kernel_grad, params, x, dy)}
        row[name]['total_ms'] = sum(row[name].values())
      rows.append(row)
      lax_ms, ours = row['lax'], row['space_to_depth']
      print(f'{kind:4} {side:3d}x{side}x{c_in:<4d}-> {c_out:<4d} '
            + ' '.join(f'{lax_ms[k]:8.1f} {ours[k]:8.1f}' for k in
                       ('forward_ms', 'input_grad_ms', 'kernel_grad_ms', 'total_ms')), flush=True)
  return rows


def input_pipeline(seconds_per_step):
  config = mnist_dcgan.get_config()
  config.data.data_dir = _DATA_DIR.value
  data = make_data(config, n_critic(config))
  data.batches(0)
  start = time.perf_counter()
  for step in range(500):
    jax.device_put(data.batches(step)).block_until_ready()
  per_batch = (time.perf_counter() - start) / 500
  return {'input_seconds_per_batch': per_batch, 'input_batches_per_second': 1 / per_batch,
          'step_seconds': seconds_per_step, 'input_speedup_over_step': seconds_per_step / per_batch}


def main(argv):
  del argv
  peak = profiling.matmul_peak_gflops(jnp.dtype(_DTYPE.value))
  try:
    import torch
    torch_version = torch.__version__
  except ImportError:
    torch_version = None
  device = jax.devices()[0]
  print(f'device: {device.device_kind} ({jax.default_backend()}), {platform.processor() or ""} '
        f'jax {jax.__version__}, torch {torch_version}; '
        f'{_DTYPE.value} matmul peak {peak:.1f} GFLOP/s')
  results = {'device': str(device.device_kind), 'backend': jax.default_backend(),
             'jax': jax.__version__, 'torch': torch_version, 'matmul_peak_gflops': peak,
             'compute_dtype': _DTYPE.value}
  if _LAYERS.value:
    print(f'milliseconds at batch 64, lax (nn.Conv / nn.ConvTranspose) then space_to_depth:\n'
          f'{"layer":22} {"forward":>17} {"input gradient":>17} {"kernel gradient":>17} '
          f'{"total":>17}')
    results['layers'] = layer_timings()
  rows = []
  header = (f'{"model":8} {"batch":>5} {"s/iter":>8} {"img/s":>8} {"GFLOP/img":>9} '
            f'{"XLA GF/img":>10} {"GFLOP/s":>8} {"of peak":>7} {"torch img/s":>11} {"jax/torch":>9}')
  print(header)
  for name in _MODELS.value:
    for batch in map(int, _BATCHES.value):
      row = measure(name, batch, peak)
      rows.append(row)
      torch_part = (f'{row["torch_images_per_second"]:11.1f} {row["jax_over_torch_throughput"]:9.2f}'
                    if 'torch_images_per_second' in row else f'{"-":>11} {"-":>9}')
      print(f'{name:8} {batch:5d} {row["seconds_per_iteration"]:8.4f} '
            f'{row["images_per_second"]:8.1f} {row["model_gflop_per_image"]:9.3f} '
            f'{row["xla_gflop_per_image"]:10.3f} {row["achieved_gflops"]:8.1f} '
            f'{row["fraction_of_matmul_peak"]:7.2f} {torch_part}', flush=True)
  results['rows'] = rows
  if _DATA_DIR.value:
    step = next((r for r in rows if r['model'] == 'dcgan28' and r['batch'] == 64), None)
    if step is None:
      step = measure('dcgan28', 64, peak)
    results['input_pipeline'] = input_pipeline(step['seconds_per_iteration'])
    ip = results['input_pipeline']
    print(f'input pipeline (MNIST, batch 64): {ip["input_batches_per_second"]:.0f} batches/s, '
          f'{ip["input_speedup_over_step"]:.1f}x faster than the DCGAN-28 step consumes them')
  if _OUTPUT.value:
    with open(_OUTPUT.value, 'w') as f:
      json.dump(results, f, indent=2)


if __name__ == '__main__':
  cli.run(main)
