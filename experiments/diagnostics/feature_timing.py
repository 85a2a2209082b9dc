"""What scoring costs: seconds per 1,000 images in each feature network, on this machine.

python experiments/diagnostics/feature_timing.py --output=experiments/results/feature_timing_cpu.json

Inception runs with seeded random weights (the cost does not depend on their values), LeNet with
the committed MNIST classifier. For each network and image shape (28x28x1, 32x32x3): the first
batch's time (compilation included), then the median of 3 timed passes over --images images
after it, scaled to 1,000; batches of 50, as gan_jax.metrics scores them. Prints a Markdown
table (docs/evaluation.md quotes it) and writes JSON with the machine.
"""

import json
import os
import platform
import time

import jax
import numpy as np
from absl import flags

from gan_jax.metrics import classifier, inception
from gan_jax.run import cli

_IMAGES = flags.DEFINE_integer('images', 1000, 'Images per timed pass.')
_OUTPUT = flags.DEFINE_string('output', None, 'JSON file for the results.')
SHAPES = ((28, 28, 1), (32, 32, 3))


def timed(extract, images):
  start = time.perf_counter()
  extract(images)
  return time.perf_counter() - start


def main(argv):
  del argv
  variables = inception.variables_from_state_dict(inception.random_state_dict(
      inception.torch_layout(), seed=0))
  networks = {
      'inception': lambda x: inception.features_and_logits(variables, x),
      'lenet': lambda x: classifier.features_and_probabilities(classifier.load_params('mnist'),
                                                                x),
  }
  rng = np.random.default_rng(0)
  rows = []
  for name, extract in networks.items():
    for shape in SHAPES:
      if name == 'lenet' and shape != (28, 28, 1):
        continue
      images = rng.uniform(-1, 1, (_IMAGES.value,) + shape).astype(np.float32)
      first = timed(extract, images[:50])
      runs = [timed(extract, images) for _ in range(3)]
      per_thousand = float(np.median(runs)) * 1000 / _IMAGES.value
      rows.append({'features': name, 'shape': 'x'.join(map(str, shape)),
                   'first_batch_seconds': first, 'seconds_per_1000': per_thousand,
                   'runs': runs, 'images': _IMAGES.value})
      print(f'{name:9s} {rows[-1]["shape"]:8s} first batch of 50 {first:6.1f} s, '
            f'{per_thousand:7.2f} s per 1,000 images', flush=True)
  machine = {'cpu_count': os.cpu_count(), 'processor': platform.processor() or platform.machine(),
             'jax': jax.__version__, 'backend': jax.default_backend()}
  print('\n| features | images | s per 1,000 images | first batch of 50 (compiles) |')
  print('|---|---|---|---|')
  for row in rows:
    print(f'| {row["features"]} | {row["shape"]} | {row["seconds_per_1000"]:.1f} | '
          f'{row["first_batch_seconds"]:.1f} s |')
  print(f'machine: {machine}')
  if _OUTPUT.value:
    with open(_OUTPUT.value, 'w') as f:
      json.dump({'command': cli.command_line(), 'machine': machine, 'rows': rows}, f, indent=2)


if __name__ == '__main__':
  cli.run(main)
