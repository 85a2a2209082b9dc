"""Image datasets through tensorflow-datasets' random-access `data_source` (no TensorFlow).

The split is read once into host memory as uint8; batches are a deterministic function of
the step (a seeded permutation per epoch), so a resumed run sees exactly the data order of an
uninterrupted one, with no iterator state to save. Each host reads its own slice of every
global batch.
"""

import functools
import os
from typing import Optional

import numpy as np

from gan_jax.errors import ConfigError


def to_model_range(images):
  """uint8 images -> float32 in [-1, 1], the models' range; other arrays pass unchanged.

  The one conversion of the project: numpy in, numpy out (host); jax in, jax out (so the
  training step can receive uint8 batches, a quarter of the bytes, and scale them on device).
  """
  if images.dtype == np.uint8:
    return images.astype(np.float32) / 127.5 - 1.0
  return images


def default_data_dir(data_dir: Optional[str]) -> Optional[str]:
  return data_dir or os.environ.get('TFDS_DATA_DIR')


def load_labeled_split(name: str, split: str, data_dir: Optional[str], download: bool = False):
  """(images uint8 (N, H, W, C), labels int or None) of a TFDS split, read once per process
  (however the arguments are spelled: the cache key is normalised).

  Fails at once, with the folder to set, when offline and the dataset is not prepared.
  """
  return _read_split(name, split, default_data_dir(data_dir), bool(download))


@functools.lru_cache(maxsize=4)
def _read_split(name: str, split: str, data_dir: Optional[str], download: bool):
  import tensorflow_datasets as tfds   # imported here: toy runs never pay for it
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError:
    raise ConfigError(f'TFDS does not know a dataset named {name!r}; check --config.data.name '
                      '(see tfds.list_builders())') from None
  if not download and not builder.is_prepared():
    raise ConfigError(
        f'dataset {name!r} is not prepared under data_dir={str(builder.data_dir_root)!r}; downloads '
        'are off; set --config.data.data_dir (or TFDS_DATA_DIR) to a folder holding the prepared '
        'array_record dataset, or pass --config.data.download=True on a machine with internet')
  try:
    source = tfds.data_source(name, split=split, data_dir=data_dir, download=download)
    records = source.__getitems__(list(range(len(source))))
  except (ValueError, NotImplementedError, OSError) as error:
    raise ConfigError(f'cannot read TFDS {name!r} split {split!r} from {builder.data_dir}: '
                      f'{str(error).splitlines()[0]}') from None
  images = np.stack([r['image'] for r in records])
  if images.ndim == 3:
    images = images[..., None]
  labels = np.array([r['label'] for r in records]) if 'label' in records[0] else None
  for array in (images, labels):
    if array is not None:
      array.flags.writeable = False
  return images, labels


def load_split(name: str, split: str, data_dir: Optional[str], download: bool = False,
               image_size: Optional[int] = None) -> np.ndarray:
  """The images of a TFDS split as read-only uint8 (N, H, W, C), resized if `image_size`."""
  images, _ = load_labeled_split(name, split, data_dir, download)
  if image_size is not None and images.shape[1:3] != (image_size, image_size):
    images = center_crop_resize(images, image_size)
    images.flags.writeable = False
  return images


def center_crop_resize(images: np.ndarray, size: int) -> np.ndarray:
  """Square centre crop, then area resize to size x size (as for CelebA 64x64)."""
  from PIL import Image
  _, h, w, _ = images.shape
  side = min(h, w)
  top, left = (h - side) // 2, (w - side) // 2
  out = [np.asarray(Image.fromarray(img[top:top + side, left:left + side].squeeze())
                    .resize((size, size), Image.BOX)) for img in images]
  out = np.stack(out)
  return out[..., None] if out.ndim == 3 else out


class ImageBatches:
  """Fixed-shape batches of a uint8 image array as a pure function of the step; with `labels`,
  dicts {'x': images, 'y': their labels (int32)}, the labels in the images' order."""

  def __init__(self, images: np.ndarray, batch_size: int, seed: int,
               process_index: int = 0, process_count: int = 1,
               labels: Optional[np.ndarray] = None):
    if len(images) < batch_size:
      raise ConfigError(f'the dataset has {len(images)} images, fewer than one batch '
                        f'({batch_size}); lower --config.batch_size')
    self.images = images
    self.labels = None if labels is None else np.asarray(labels, np.int32)
    self.batch_size = batch_size
    self.seed = seed
    self.local_size = batch_size // process_count
    self.local_start = process_index * self.local_size
    self.batches_per_epoch = len(images) // batch_size
    self._epoch, self._order = -1, None

  def _permutation(self, epoch: int) -> np.ndarray:
    if epoch != self._epoch:
      self._epoch = epoch
      self._order = np.random.default_rng([self.seed, epoch]).permutation(len(self.images))
    return self._order

  def indices(self, index: int) -> np.ndarray:
    """Which examples make this host's part of global batch `index` (epochs drop their last
    partial batch).

    The global batch is sorted before it is sliced, so the hosts' slices, concatenated, are
    the same global batch in the same order for every process count (z, drawn for the global
    batch and sliced, meets the same labels)."""
    epoch, position = divmod(index, self.batches_per_epoch)
    start = position * self.batch_size
    ordered = np.sort(self._permutation(epoch)[start:start + self.batch_size])
    return ordered[self.local_start:self.local_start + self.local_size]

  def batch(self, index: int):
    """This host's part of global batch `index`: images, or images with their labels."""
    indices = self.indices(index)
    if self.labels is None:
      return self.images[indices]
    return {'x': self.images[indices], 'y': self.labels[indices]}
