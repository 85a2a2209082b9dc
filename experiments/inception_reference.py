"""Writes the parity fixture of the FID Inception network: pytorch-fid's outputs, random weights.

Needs torch, torchvision and pytorch-fid beside gan_jax; nothing else imports this file:

python3 -m venv /tmp/fid_reference && /tmp/fid_reference/bin/pip install -e . \
    torch==2.14.1 torchvision==0.29.1 pytorch-fid==0.3.0 && \
    /tmp/fid_reference/bin/python experiments/inception_reference.py

pytorch-fid's own `InceptionV3` (resize to 299, 2x - 1, the four FID blocks, block 3 = the 2048-d
pool) is built with its weight download replaced by seeded random weights in the reference
state_dict's names and shapes (gan_jax.metrics.inception.random_state_dict: numpy, so the test
draws the same numbers without torch). It scores fixed images of two sizes: 28x28 grayscale
(repeated to RGB, enlarged) and 320x320 RGB (shrunk). The fixture holds the images, the names
and shapes, the 2048-d features, the 1008 logits (pytorch-fid's fc on those features), and the
FID between the two halves of the 28x28 set by pytorch-fid's calculate_frechet_distance.
tests/test_inception.py requires gan_jax to match it. Also writes two tiny state_dicts saved by
torch in its zip and legacy formats, for the torch-free reader's test.
"""

import argparse
import os

import numpy as np
import pytorch_fid
import torch
import torchvision
from pytorch_fid import fid_score
from pytorch_fid import inception as reference

from gan_jax.metrics.inception import random_state_dict

SEED = 0
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tests',
                        'fixtures')


def fixed_images():
  """(8 grayscale 28x28 rings with noise, 2 RGB 320x320 colour blocks) uint8."""
  rng = np.random.default_rng(1)
  y, x = np.mgrid[0:28, 0:28] / 27.0
  small = []
  for i in range(8):
    cx, cy, r = rng.uniform(0.3, 0.7, 3)
    ring = np.exp(-((np.hypot(x - cx, y - cy) - 0.3 * r) ** 2) / 0.005)
    small.append(np.clip(255 * ring + rng.integers(0, 30, (28, 28)), 0, 255))
  large = []
  for i in range(2):   # 8x8 blocks of colour: edges at every scale the resize must keep
    blocks = rng.integers(0, 256, (40, 40, 3))
    large.append(np.kron(blocks, np.ones((8, 8, 1))))
  return (np.stack(small).astype(np.uint8)[..., None], np.stack(large).astype(np.uint8))


def reference_network(names_and_shapes):
  """pytorch-fid's InceptionV3 (block 3) and fc, with the seeded weights in place of the file."""
  state_dict = {k: torch.from_numpy(v) for k, v in random_state_dict(names_and_shapes,
                                                                      SEED).items()}
  original = reference.load_state_dict_from_url
  reference.load_state_dict_from_url = lambda *args, **kwargs: state_dict
  try:
    model = reference.InceptionV3([3], resize_input=True, normalize_input=True).eval()
  finally:
    reference.load_state_dict_from_url = original
  return model, state_dict['fc.weight'], state_dict['fc.bias']


def score(model, fc_weight, fc_bias, images_uint8):
  """pytorch-fid's input: NCHW in [0, 1], grayscale repeated to 3 channels (as its loader's
  RGB conversion does)."""
  x = torch.from_numpy(images_uint8.astype(np.float32) / 255.0).permute(0, 3, 1, 2)
  if x.shape[1] == 1:
    x = x.repeat(1, 3, 1, 1)
  with torch.no_grad():
    features = model(x)[0].squeeze(-1).squeeze(-1)
    logits = torch.nn.functional.linear(features, fc_weight, fc_bias)
  return features.numpy(), logits.numpy()


def write_torch_formats():
  """A small state_dict with a strided view, ints and a scalar, in both torch.save formats."""
  base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
  state = {'a.weight': base[:, 1:5:2], 'a.bias': torch.tensor([1.5, -2.0]),
           'bn.num_batches_tracked': torch.tensor(7), 'w': torch.randn(3, 2, 2, dtype=torch.float64)}
  torch.save(state, os.path.join(FIXTURES, 'torch_state_zip.pth'))
  torch.save(state, os.path.join(FIXTURES, 'torch_state_legacy.pth'),
             _use_new_zipfile_serialization=False)
  np.savez(os.path.join(FIXTURES, 'torch_state_expected.npz'),
           **{k: v.numpy() for k, v in state.items()})


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--output', default=os.path.join(FIXTURES, 'inception_reference.npz'))
  args = parser.parse_args()
  torch.manual_seed(0)
  # The reference state_dict's names and shapes, from pytorch-fid's own network.
  skeleton = reference._inception_v3(num_classes=1008, aux_logits=False, weights=None)
  skeleton.Mixed_5b = reference.FIDInceptionA(192, pool_features=32)
  skeleton.Mixed_5c = reference.FIDInceptionA(256, pool_features=64)
  skeleton.Mixed_5d = reference.FIDInceptionA(288, pool_features=64)
  skeleton.Mixed_6b = reference.FIDInceptionC(768, channels_7x7=128)
  skeleton.Mixed_6c = reference.FIDInceptionC(768, channels_7x7=160)
  skeleton.Mixed_6d = reference.FIDInceptionC(768, channels_7x7=160)
  skeleton.Mixed_6e = reference.FIDInceptionC(768, channels_7x7=192)
  skeleton.Mixed_7b = reference.FIDInceptionE_1(1280)
  skeleton.Mixed_7c = reference.FIDInceptionE_2(2048)
  names_and_shapes = [(k, tuple(v.shape)) for k, v in skeleton.state_dict().items()]

  model, fc_weight, fc_bias = reference_network(names_and_shapes)
  small, large = fixed_images()
  small_features, small_logits = score(model, fc_weight, fc_bias, small)
  large_features, large_logits = score(model, fc_weight, fc_bias, large)
  # pytorch-fid's statistics (calculate_activation_statistics: mean, np.cov) of each half.
  halves = [(np.mean(f, axis=0), np.cov(f, rowvar=False))
            for f in (small_features[:4], small_features[4:])]
  fid = fid_score.calculate_frechet_distance(*halves[0], *halves[1])
  for name, f in (('28x28', small_features), ('320x320', large_features)):
    print(f'{name}: features mean {f.mean():.4f} std {f.std():.4f} max {f.max():.3f}')
  print(f'logits std {small_logits.std():.4f}; FID(first 4, last 4) = {fid:.6f}')
  np.savez_compressed(
      args.output, names=np.array([n for n, _ in names_and_shapes]),
      shapes=np.array([','.join(map(str, s)) for _, s in names_and_shapes]), seed=SEED,
      small_images=small, large_images=large, small_features=small_features,
      small_logits=small_logits, large_features=large_features, large_logits=large_logits,
      fid_halves=fid,
      versions=np.array(f'torch {torch.__version__}, torchvision {torchvision.__version__}, '
                        f'pytorch-fid {pytorch_fid.__version__}'))
  write_torch_formats()
  print(f'wrote {args.output} ({os.path.getsize(args.output) / 1e3:.0f} kB) and the torch '
        f'format fixtures in {FIXTURES}')


if __name__ == '__main__':
  main()
