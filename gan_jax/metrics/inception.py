"""The Inception-v3 network of FID, in Flax: the 2015-12-05 TF graph as pytorch-fid reproduces it.

FID, KID, precision/recall and density/coverage in papers (TTUR's FID code, compare_gan, TF-GAN,
StudioGAN, pytorch-fid) are measured in this network's 2048-d pool features, and the inception
score in its 1008 logits. It is torchvision's Inception-v3 with pytorch-fid's four patched
blocks: the average pools of FIDInceptionA/C/E_1 do not count the zero padding (TF's pools), the
last block (FIDInceptionE_2) max-pools, and every BatchNorm has eps 1e-3.

Input convention (`preprocess`): images in [-1, 1], (N, H, W, 1 or 3); grayscale is repeated to
three channels (how Lucic et al. 2018 scored MNIST); every image is resized to 299x299
bilinearly with half-pixel centres and no antialiasing, which is what pytorch-fid's
`F.interpolate(x, (299, 299), mode='bilinear', align_corners=False)` does (it enlarges 28x28
and shrinks 320x320 alike). pytorch-fid takes [0, 1] and maps it to 2x - 1; [-1, 1] here is that.

Weights: the reference file `pt_inception-2015-12-05-6726825d.pth`, converted once by
experiments/convert_inception.py into an .npz this module reads without torch
(`variables_from_state_dict` is the conversion; `save_variables` / `load_variables` the file).
"""

import functools
import os
from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from gan_jax.errors import ConfigError

REFERENCE_FILE = 'pt_inception-2015-12-05-6726825d.pth'
REFERENCE_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
                 + REFERENCE_FILE)
REFERENCE_SHA256 = '6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2'
REFERENCE_BYTES = 95_628_359
INPUT_SIZE = 299
FEATURE_DIM = 2048
NUM_LOGITS = 1008
BATCH_NORM_EPS = 1e-3
_SOURCE_KEY = '__source_sha256__'


class BasicConv(nn.Module):
  """Conv (no bias) -> BatchNorm (eps 1e-3, running statistics) -> ReLU: torchvision's
  BasicConv2d. `padding` is torch's symmetric (rows, columns)."""
  features: int
  kernel: tuple = (1, 1)
  strides: tuple = (1, 1)
  padding: tuple = (0, 0)

  @nn.compact
  def __call__(self, x):
    x = nn.Conv(self.features, self.kernel, self.strides,
                padding=[(p, p) for p in self.padding], use_bias=False, name='conv')(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=BATCH_NORM_EPS, name='bn')(x)
    return nn.relu(x)


def _tf_average_pool(x):
  """3x3, stride 1, 'SAME': the mean of the pixels inside the image only (TF's pool; torch's
  count_include_pad=False). pytorch-fid's patch to InceptionA, C and E_1."""
  return nn.avg_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_same(x):
  """3x3, stride 1, padded: FIDInceptionE_2's pool (max where torchvision averages)."""
  return nn.max_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)))


def _max_pool_down(x):
  return nn.max_pool(x, (3, 3), (2, 2))


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv(64, name='branch1x1')(x)
    b5 = BasicConv(48, name='branch5x5_1')(x)
    b5 = BasicConv(64, (5, 5), padding=(2, 2), name='branch5x5_2')(b5)
    b3 = BasicConv(64, name='branch3x3dbl_1')(x)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(b3)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_3')(b3)
    bp = BasicConv(self.pool_features, name='branch_pool')(_tf_average_pool(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(384, (3, 3), (2, 2), name='branch3x3')(x)
    bd = BasicConv(64, name='branch3x3dbl_1')(x)
    bd = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
    bd = BasicConv(96, (3, 3), (2, 2), name='branch3x3dbl_3')(bd)
    return jnp.concatenate([b3, bd, _max_pool_down(x)], axis=-1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c7 = self.channels_7x7
    row, column = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
    b1 = BasicConv(192, name='branch1x1')(x)
    b7 = BasicConv(c7, name='branch7x7_1')(x)
    b7 = BasicConv(c7, **row, name='branch7x7_2')(b7)
    b7 = BasicConv(192, **column, name='branch7x7_3')(b7)
    bd = BasicConv(c7, name='branch7x7dbl_1')(x)
    bd = BasicConv(c7, **column, name='branch7x7dbl_2')(bd)
    bd = BasicConv(c7, **row, name='branch7x7dbl_3')(bd)
    bd = BasicConv(c7, **column, name='branch7x7dbl_4')(bd)
    bd = BasicConv(192, **row, name='branch7x7dbl_5')(bd)
    bp = BasicConv(192, name='branch_pool')(_tf_average_pool(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(192, name='branch3x3_1')(x)
    b3 = BasicConv(320, (3, 3), (2, 2), name='branch3x3_2')(b3)
    b7 = BasicConv(192, name='branch7x7x3_1')(x)
    b7 = BasicConv(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(b7)
    b7 = BasicConv(192, (3, 3), (2, 2), name='branch7x7x3_4')(b7)
    return jnp.concatenate([b3, b7, _max_pool_down(x)], axis=-1)


class InceptionE(nn.Module):
  """E_1 (`max_pool=False`: TF's average pool) or E_2 (`max_pool=True`)."""
  max_pool: bool = False

  @nn.compact
  def __call__(self, x):
    row, column = dict(kernel=(1, 3), padding=(0, 1)), dict(kernel=(3, 1), padding=(1, 0))
    b1 = BasicConv(320, name='branch1x1')(x)
    b3 = BasicConv(384, name='branch3x3_1')(x)
    b3 = jnp.concatenate([BasicConv(384, **row, name='branch3x3_2a')(b3),
                          BasicConv(384, **column, name='branch3x3_2b')(b3)], axis=-1)
    bd = BasicConv(448, name='branch3x3dbl_1')(x)
    bd = BasicConv(384, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
    bd = jnp.concatenate([BasicConv(384, **row, name='branch3x3dbl_3a')(bd),
                          BasicConv(384, **column, name='branch3x3dbl_3b')(bd)], axis=-1)
    pooled = _max_pool_same(x) if self.max_pool else _tf_average_pool(x)
    bp = BasicConv(192, name='branch_pool')(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class FIDInceptionV3(nn.Module):
  """299x299x3 images in [-1, 1] -> (2048-d pool features, 1008 logits). Module names are the
  reference state_dict's, so the conversion is a renaming."""

  @nn.compact
  def __call__(self, x):
    x = BasicConv(32, (3, 3), (2, 2), name='Conv2d_1a_3x3')(x)
    x = BasicConv(32, (3, 3), name='Conv2d_2a_3x3')(x)
    x = BasicConv(64, (3, 3), padding=(1, 1), name='Conv2d_2b_3x3')(x)
    x = _max_pool_down(x)
    x = BasicConv(80, name='Conv2d_3b_1x1')(x)
    x = BasicConv(192, (3, 3), name='Conv2d_4a_3x3')(x)
    x = _max_pool_down(x)
    x = InceptionA(32, name='Mixed_5b')(x)
    x = InceptionA(64, name='Mixed_5c')(x)
    x = InceptionA(64, name='Mixed_5d')(x)
    x = InceptionB(name='Mixed_6a')(x)
    for name, c7 in (('Mixed_6b', 128), ('Mixed_6c', 160), ('Mixed_6d', 160), ('Mixed_6e', 192)):
      x = InceptionC(c7, name=name)(x)
    x = InceptionD(name='Mixed_7a')(x)
    x = InceptionE(max_pool=False, name='Mixed_7b')(x)
    x = InceptionE(max_pool=True, name='Mixed_7c')(x)
    features = x.mean(axis=(1, 2))
    return features, nn.Dense(NUM_LOGITS, name='fc')(features)


def preprocess(images):
  """Images in [-1, 1], (N, H, W, 1 or 3) -> (N, 299, 299, 3) float32, resized as pytorch-fid
  does (bilinear, half-pixel centres, edges clamped, no antialiasing)."""
  images = jnp.asarray(images, jnp.float32)
  if images.shape[-1] == 1:
    images = jnp.repeat(images, 3, axis=-1)
  if images.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
    images = jax.image.resize(images, (images.shape[0], INPUT_SIZE, INPUT_SIZE, 3), 'bilinear',
                              antialias=False)
  return images


_preprocess = jax.jit(preprocess)


@jax.jit
def _network(variables, images):
  return FIDInceptionV3().apply(variables, images)


def features_and_logits(variables, images, batch_size: int = 50):
  """(2048-d features, 1008 logits) as float32 numpy of images in [-1, 1] (N, H, W, 1 or 3).

  Every batch the network sees has min(batch_size, N) images (the last one padded), so it
  compiles once whatever the image size."""
  batch_size = min(batch_size, len(images))
  features, logits = [], []
  for start in range(0, len(images), batch_size):
    chunk = np.asarray(images[start:start + batch_size], np.float32)
    padded = np.concatenate([chunk, np.zeros((batch_size - len(chunk),) + chunk.shape[1:],
                                             np.float32)])
    f, l = _network(variables, _preprocess(padded))
    features.append(np.asarray(f)[:len(chunk)])
    logits.append(np.asarray(l)[:len(chunk)])
  return np.concatenate(features), np.concatenate(logits)


@functools.lru_cache(maxsize=1)
def variable_shapes() -> dict:
  """{'params'/'batch_stats' path joined by '/': shape} of the network, without computing it."""
  shapes = jax.eval_shape(FIDInceptionV3().init, jax.random.PRNGKey(0),
                          jnp.zeros((1, INPUT_SIZE, INPUT_SIZE, 3)))
  return {k: tuple(v.shape) for k, v in traverse_util.flatten_dict(shapes, sep='/').items()}


def _flax_path(torch_name: str) -> Optional[str]:
  """The Flax variable of a reference state_dict entry, or None for what inference ignores."""
  module, leaf = torch_name.rsplit('.', 1)
  owner, _, layer = module.rpartition('.')
  prefix = owner.replace('.', '/') + '/' if owner else ''
  if layer == 'bn':
    if leaf == 'num_batches_tracked':
      return None
    collection, name = {'weight': ('params', 'scale'), 'bias': ('params', 'bias'),
                        'running_mean': ('batch_stats', 'mean'),
                        'running_var': ('batch_stats', 'var')}.get(leaf, (None, None))
    return f'{collection}/{prefix}bn/{name}' if name else f'unknown/{torch_name}'
  name = {'weight': 'kernel', 'bias': 'bias'}.get(leaf)
  return f'params/{prefix}{layer}/{name}' if name else f'unknown/{torch_name}'


def torch_layout() -> list:
  """[(name, shape)] of the reference state_dict that the network reads (no
  num_batches_tracked), derived from the Flax variables: what a state_dict must hold."""
  leaves = {'kernel': 'weight', 'bias': 'bias', 'scale': 'weight', 'mean': 'running_mean',
            'var': 'running_var'}
  layout = []
  for path, shape in variable_shapes().items():
    parts = path.split('/')[1:]
    if len(shape) == 4:
      shape = (shape[3], shape[2], shape[0], shape[1])     # HWIO -> torch's OIHW
    elif parts[-1] == 'kernel':
      shape = shape[::-1]                                  # the fc: (in, out) -> (out, in)
    layout.append(('.'.join(parts[:-1] + [leaves[parts[-1]]]), tuple(shape)))
  return layout


def variables_from_state_dict(state_dict) -> dict:
  """The Flax variables {'params', 'batch_stats'} of the reference network's state_dict (a
  mapping of torch names to numpy arrays): conv kernels OIHW -> HWIO, the fc matrix transposed,
  BatchNorm weight/bias/running statistics renamed. Every variable must be matched exactly once,
  with its shape; anything else is a one-line ConfigError."""
  shapes = variable_shapes()
  flat, unexpected = {}, []
  for torch_name, value in state_dict.items():
    path = _flax_path(torch_name)
    if path is None:
      continue
    value = np.asarray(value, np.float32)
    if path.endswith('/kernel'):
      value = value.transpose(2, 3, 1, 0) if value.ndim == 4 else value.T
    if path not in shapes:
      unexpected.append(torch_name)
    elif value.shape != shapes[path]:
      raise ConfigError(f'{torch_name} has shape {value.shape} after conversion, the network '
                        f'needs {shapes[path]}: not the FID Inception state_dict')
    else:
      flat[path] = np.ascontiguousarray(value)
  missing = sorted(set(shapes) - set(flat))
  if missing or unexpected:
    raise ConfigError(f'not the FID Inception state_dict: {len(missing)} variables missing '
                      f'(first {missing[:2]}), {len(unexpected)} unexpected '
                      f'(first {unexpected[:2]})')
  return traverse_util.unflatten_dict(flat, sep='/')


def default_weights_path() -> str:
  """$GAN_JAX_INCEPTION_WEIGHTS, else ~/.cache/gan_jax/inception_fid.npz."""
  return os.environ.get('GAN_JAX_INCEPTION_WEIGHTS') or os.path.join(
      os.path.expanduser('~'), '.cache', 'gan_jax', 'inception_fid.npz')


def missing_weights_message(path: str) -> str:
  return (f'no Inception weights at {path}: download {REFERENCE_FILE} (sha256 {REFERENCE_SHA256}) '
          f'from {REFERENCE_URL} and convert it with python experiments/convert_inception.py '
          f'--pth={REFERENCE_FILE} --output={path}')


def save_variables(variables, path: str, source_sha256: str) -> None:
  """An .npz of the variables (keys 'params/...', 'batch_stats/...') and the sha256 of the file
  they were converted from; numpy reads it, no pickle."""
  flat = traverse_util.flatten_dict(jax.device_get(variables), sep='/')
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  temporary = path + '.partial.npz'
  np.savez(temporary, **{k: np.asarray(v, np.float32) for k, v in flat.items()},
           **{_SOURCE_KEY: np.asarray(source_sha256)})
  os.replace(temporary, path)


@functools.lru_cache(maxsize=2)
def load_variables(path: str):
  """(variables, sha256 of the file they were converted from) of a converted weights file; a
  missing, unreadable or incomplete file is a one-line ConfigError."""
  if not os.path.isfile(path):
    raise ConfigError(missing_weights_message(path))
  try:
    with np.load(path, allow_pickle=False) as archive:
      flat = {k: archive[k] for k in archive.files}
  except Exception as error:   # a truncated or foreign file: zipfile, OSError, ValueError, ...
    raise ConfigError(f'Inception weights {path} are unreadable ({type(error).__name__}); '
                      f'convert {REFERENCE_FILE} again with experiments/convert_inception.py') \
        from None
  source = str(flat.pop(_SOURCE_KEY, 'unknown'))
  shapes = variable_shapes()
  if {k: v.shape for k, v in flat.items()} != shapes:
    raise ConfigError(f'{path} does not hold the FID Inception variables; convert '
                      f'{REFERENCE_FILE} again with experiments/convert_inception.py')
  return traverse_util.unflatten_dict(flat, sep='/'), source


def random_state_dict(names_and_shapes, seed: int = 0) -> dict:
  """Seeded random weights in the reference state_dict's names and shapes (numpy only), scaled
  so activations stay of order one through the 94 convolutions: He-normal convolutions,
  BatchNorm scales and running variances near 1, small shifts. The parity test and its fixture
  (experiments/inception_reference.py) draw the same numbers; timings use them too."""
  rng = np.random.default_rng(seed)
  state_dict = {}
  for name, shape in names_and_shapes:
    shape = tuple(int(s) for s in shape)
    leaf = name.rsplit('.', 1)[1]
    if leaf == 'num_batches_tracked':
      value = np.zeros(shape, np.int64)
    elif leaf in ('running_var',) or (leaf == 'weight' and name.endswith('bn.weight')):
      value = rng.uniform(0.8, 1.2, shape)
    elif leaf in ('bias', 'running_mean'):
      value = 0.1 * rng.standard_normal(shape)
    else:   # conv and fc weights: He-normal over the fan-in (fc: unit gain)
      fan_in = int(np.prod(shape[1:]))
      gain = 1.0 if len(shape) == 2 else 2.0
      value = rng.standard_normal(shape) * np.sqrt(gain / fan_in)
    state_dict[name] = value.astype(np.float32) if value.dtype == np.float64 else value
  return state_dict
