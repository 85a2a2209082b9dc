"""Checks the FID of this project on real data, and times it on 10,000 generated images.

python experiments/fid_reference.py --dataset=mnist --data_dir=../shared/data/tensorflow_datasets

1. FID (in the project classifier's features) of the train split against the test split, then
   of the train split with Gaussian noise of growing std (in [-1, 1] pixel units) added: it must
   grow monotonically. 2. The wall time of FID on 10,000 samples of a DCGAN-28 generator
   (generation + features + distance), after compilation. Prints both and writes JSON.
"""

import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from gan_jax.run import cli, evaluation
from gan_jax.structures.base import draw_samples
from gan_jax.run.config import build_gan
from gan_jax.data.images import load_split, to_model_range
from gan_jax.metrics import classifier, features, fid
from gan_jax.core.state import create_state
from experiments.configs import mnist_dcgan

_DATASET = flags.DEFINE_enum('dataset', 'mnist', ['mnist', 'fashion_mnist'], 'Dataset.')
_DATA_DIR = cli.define_data_dir()
_NOISE = flags.DEFINE_list('noise', ['0', '0.05', '0.1', '0.2', '0.4', '0.8'], 'Noise stds.')
_OUTPUT = flags.DEFINE_string('output', None, 'JSON file for the results.')


def main(argv):
  del argv
  name = _DATASET.value
  lenet = features.network('lenet', name)
  reference = features.reference_features(name, 'test', lenet,
                                          load_split(name, 'test', _DATA_DIR.value))
  params = classifier.load_params(name)
  train = to_model_range(load_split(name, 'train', _DATA_DIR.value))
  rng = np.random.default_rng(0)
  table = []
  print(f'FID ({name} classifier features) of train + noise against test:')
  for std in map(float, _NOISE.value):
    noisy = np.clip(train + std * rng.standard_normal(train.shape, np.float32), -1, 1)
    features, _ = classifier.features_and_probabilities(params, noisy)
    table.append({'noise_std': std, 'fid': fid(reference, features)})
    print(f'  noise std {std:<5g} FID {table[-1]["fid"]:.3f}')
  monotone = all(a['fid'] < b['fid'] for a, b in zip(table, table[1:]))
  print(f'  monotone in the noise: {monotone}')

  config = mnist_dcgan.get_config()
  gan = build_gan(config, (28, 28, 1))
  state = create_state(gan, jax.random.PRNGKey(0), jnp.zeros((28, 28, 1)))
  config.data.name, config.data.data_dir = name, _DATA_DIR.value
  evaluation.evaluate(gan, state, config, 10000)            # compile
  timings = []
  for _ in range(3):
    start = time.perf_counter()
    samples = draw_samples(gan, state, 10000, seed=1)
    features, _ = classifier.features_and_probabilities(params, samples)
    fid(reference, features)
    timings.append(time.perf_counter() - start)
  print(f'FID on 10,000 generated images (generation + features + distance): '
        f'{np.median(timings):.2f} s median of 3 (runs: {", ".join(f"{t:.2f}" for t in timings)})')
  results = {'dataset': name, 'noise_table': table, 'monotone': monotone,
             'fid_10k_seconds': float(np.median(timings))}
  if _OUTPUT.value:
    with open(_OUTPUT.value, 'w') as f:
      json.dump(results, f, indent=2)


if __name__ == '__main__':
  cli.run(main)
