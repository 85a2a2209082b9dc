"""How close gan_jax's FID Inception is to pytorch-fid, and how far one wrong block moves it.

python experiments/diagnostics/inception_parity.py --output=experiments/results/inception_parity.json

Scores the fixture of tests/test_inception.py (pytorch-fid 0.3.0's outputs with seeded random
weights on 8 28x28 grayscale and 2 320x320 RGB images, made by experiments/inception_reference.py)
with the network as it is, then with one detail changed at a time: the average pools of
A/C/E_1 counting the padding, E_2 averaging instead of max-pooling, the resize antialiased.
For each: the largest error of features and logits relative to the largest reference value
(the test requires < 1e-4), and the FID of the two halves of the 28x28 set (< 1e-3 relative).
"""

import contextlib
import json
import os

import flax.linen as nn
import jax
import numpy as np
from absl import flags

from gan_jax.metrics import fid, inception
from gan_jax.run import cli

_OUTPUT = flags.DEFINE_string('output', None, 'JSON file for the results.')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, 'tests', 'fixtures', 'inception_reference.npz')


@contextlib.contextmanager
def patched(module, name, value):
  original = getattr(module, name)
  setattr(module, name, value)
  try:
    yield
  finally:
    setattr(module, name, original)


def _pool_counting_padding(x):
  return nn.avg_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)), count_include_pad=True)


def _resize_antialiased(images):
  images = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
  return jax.image.resize(images, (images.shape[0], 299, 299, 3), 'bilinear', antialias=True)


VARIANTS = {
    'as built': contextlib.nullcontext,
    'A/C/E_1 average pools count the padding':
        lambda: patched(inception, '_tf_average_pool', _pool_counting_padding),
    'E_2 averages instead of max-pooling':
        lambda: patched(inception, '_max_pool_same', inception._tf_average_pool),
    'resize antialiased': lambda: patched(inception, '_preprocess', jax.jit(_resize_antialiased)),
}


def relative_error(ours, theirs) -> float:
  return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def main(argv):
  del argv
  with np.load(FIXTURE) as archive:
    fixture = {k: archive[k] for k in archive.files}
  layout = [(str(n), tuple(int(d) for d in str(s).split(',') if d))
            for n, s in zip(fixture['names'], fixture['shapes'])]
  variables = inception.variables_from_state_dict(
      inception.random_state_dict(layout, int(fixture['seed'])))
  rows = []
  for name, variant in VARIANTS.items():
    with variant():
      jax.clear_caches()   # the network is traced again with the changed block
      row = {'variant': name}
      for size in ('small', 'large'):
        images = fixture[f'{size}_images'].astype(np.float32) / 127.5 - 1.0
        features, logits = inception.features_and_logits(variables, images, batch_size=2)
        row[f'{size}_features'] = relative_error(features, fixture[f'{size}_features'])
        row[f'{size}_logits'] = relative_error(logits, fixture[f'{size}_logits'])
        if size == 'small':
          row['fid'] = fid(features[:4], features[4:])
    row['fid_reference'] = float(fixture['fid_halves'])
    row['passes'] = (max(row[f'{s}_{k}'] for s in ('small', 'large')
                         for k in ('features', 'logits')) < 1e-4
                     and abs(row['fid'] - row['fid_reference']) < 1e-3 * row['fid_reference'])
    rows.append(row)
    print(f"{name:42s} features {row['small_features']:.1e} (28x28) {row['large_features']:.1e} "
          f"(320x320), logits {row['small_logits']:.1e} / {row['large_logits']:.1e}, "
          f"FID {row['fid']:.7f} (pytorch-fid {row['fid_reference']:.7f}): "
          f"{'passes' if row['passes'] else 'fails'}", flush=True)
  if _OUTPUT.value:
    with open(_OUTPUT.value, 'w') as f:
      json.dump({'command': cli.command_line(), 'fixture_versions': str(fixture['versions']),
                 'rows': rows}, f, indent=2)


if __name__ == '__main__':
  cli.run(main)
