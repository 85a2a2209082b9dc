"""Image datasets: TFDS splits through tensorflow-datasets' random-access `data_source` (no
TensorFlow), or a folder of your own PNG/JPEG files (data.name 'folder').

The split is read once into host memory as uint8; batches are a deterministic function of
the step (a seeded permutation per epoch), so a resumed run sees exactly the data order of an
uninterrupted one, with no iterator state to save. Each host reads its own slice of every
global batch.
"""

import functools
import os
from typing import Optional

import numpy as np

from gan_jax.data.hosts import host_rows
from gan_jax.errors import ConfigError, require_choice


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


def load_labeled_split(name: str, split: str, data_dir: Optional[str], download: bool = False,
                       image_size: Optional[int] = None, folder: str = ''):
  """(images uint8 (N, H, W, C), labels int or None) of a split, read once per process
  (however the arguments are spelled: the cache key is normalised), centre-cropped and resized
  to image_size x image_size if `image_size`.

  `name` 'folder' reads the image files under `folder` (see read_folder): every split is the
  whole folder, so a folder's FID reference is the folder itself. Any other name is a TFDS dataset
  in `data_dir`; it fails at once, with the folder to set, when offline and not prepared.
  """
  read = _SOURCES.get(name, _tfds_source)
  return read(name, split, data_dir, download, image_size, folder)


def load_split(name: str, split: str, data_dir: Optional[str], download: bool = False,
               image_size: Optional[int] = None, folder: str = '') -> np.ndarray:
  """The images of a split as read-only uint8 (N, H, W, C), as load_labeled_split reads them."""
  images, _ = load_labeled_split(name, split, data_dir, download, image_size, folder)
  return images


# The held-out choice has a seed of its own, never config.seed: every run of a dataset holds out
# the same images, whatever its seed, so validation scores of different runs are comparable.
VALIDATION_SEED = 20250101
EVAL_SPLITS = ('validation', 'test')


def validation_indices(count: int, validation: int) -> np.ndarray:
  """The sorted indices of the `validation` images held out of a split of `count` images: the
  first `validation` of one fixed permutation, so a smaller hold-out is part of a larger one."""
  if not 0 <= validation < count:
    raise ConfigError(f'data.validation={validation} must be >= 0 and leave training images: '
                      f'the split has {count}')
  order = np.random.default_rng(VALIDATION_SEED).permutation(count)
  return np.sort(order[:validation])


def training_indices(count: int, validation: int) -> np.ndarray:
  """The sorted indices of the images a run trains on: all but the held-out ones."""
  kept = np.ones(count, bool)
  kept[validation_indices(count, validation)] = False
  return np.flatnonzero(kept)


def _part(images, labels, indices):
  images = images[indices]
  labels = None if labels is None else labels[indices]
  for array in (images, labels):
    if array is not None:
      array.flags.writeable = False
  return images, labels


def training_part(data_config):
  """(images, labels or None) a run trains on: the configured split without the
  `data.validation` images held out of it (the split itself when none are)."""
  images, labels = load_labeled_split(data_config.name, data_config.split, data_config.data_dir,
                                      data_config.download, data_config.image_size,
                                      data_config.folder)
  if not data_config.validation:
    return images, labels
  return _part(images, labels, training_indices(len(images), data_config.validation))


def validation_part(data_config):
  """(images, labels or None) held out of the configured split (data.validation of them)."""
  images, labels = load_labeled_split(data_config.name, data_config.split, data_config.data_dir,
                                      data_config.download, data_config.image_size,
                                      data_config.folder)
  return _part(images, labels, validation_indices(len(images), data_config.validation))


def evaluation_part(data_config, split: str):
  """(images, labels or None) that evaluation scores against: 'test', the test split at the
  run's image size (a folder: the folder itself), or 'validation', the held-out images."""
  require_choice('eval_split', split, EVAL_SPLITS)
  if split == 'validation':
    if not data_config.validation:
      raise ConfigError("the validation split needs images held out of the training split: set "
                        '--config.data.validation=N (N > 0)')
    return validation_part(data_config)
  return load_labeled_split(data_config.name, 'test', data_config.data_dir, data_config.download,
                            data_config.image_size, data_config.folder)


def _tfds_source(name, split, data_dir, download, image_size, folder):
  del folder
  return _resized_split(name, split, default_data_dir(data_dir), bool(download), image_size)


@functools.lru_cache(maxsize=4)
def _resized_split(name: str, split: str, data_dir: Optional[str], download: bool,
                   image_size: Optional[int]):
  images, labels = _read_split(name, split, data_dir, download)
  if image_size is not None and images.shape[1:3] != (image_size, image_size):
    images = center_crop_resize(images, image_size)
    images.flags.writeable = False
  return images, labels


def _folder_source(name, split, data_dir, download, image_size, folder):
  del name, split, data_dir, download   # every split is the whole folder
  return read_folder(folder, image_size)


# Where a data.name's images come from; any name not here is a TFDS dataset.
_SOURCES = {'folder': _folder_source}


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


IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')
_CHANNELS = {1: 'grayscale', 3: 'RGB'}


def read_folder(folder: str, image_size: Optional[int] = None):
  """(images uint8 (N, H, W, C), labels int32 or None) of the PNG/JPEG files in `folder`,
  read once per process, read-only like a TFDS split.

  One subfolder per class: labels 0..K-1 in the subfolders' sorted name order. Image files
  directly in the folder, with no subfolder, are an unlabelled dataset; both at once is refused.
  Files are read class by class in sorted name order, so batches are deterministic; other
  extensions and hidden names are skipped. Grayscale files give C=1; RGB, palette and CMYK
  files C=3. An alpha channel is dropped when every pixel is opaque and refused otherwise
  (what a transparent pixel should show is the user's choice). Images of different sizes need
  `image_size`: each is then centre-cropped and resized to image_size x image_size.
  """
  if not folder:
    raise ConfigError("data.name 'folder' needs --config.data.folder=PATH, a folder of "
                      'PNG/JPEG images')
  return _read_folder(os.path.abspath(os.path.expanduser(folder)), image_size)


@functools.lru_cache(maxsize=4)
def _read_folder(folder: str, image_size: Optional[int]):
  if not os.path.isdir(folder):
    state = 'is a file, not a folder' if os.path.exists(folder) else 'does not exist'
    raise ConfigError(f'data.folder {folder} {state}; set --config.data.folder to a folder of '
                      'PNG/JPEG images')
  paths, labels = _image_files(folder)
  images = []
  for path in paths:
    image = _decoded(path)
    if images and image.shape[2] != images[0].shape[2]:
      raise ConfigError(
          f'{paths[0]} is {_CHANNELS[images[0].shape[2]]} but {path} is '
          f'{_CHANNELS[image.shape[2]]}; convert the images to one kind (all grayscale or all RGB)')
    if image_size is not None and image.shape[:2] != (image_size, image_size):
      image = center_crop_resize(image[None], image_size)[0]
    if image_size is None and images and image.shape != images[0].shape:
      (h0, w0), (h, w) = images[0].shape[:2], image.shape[:2]
      raise ConfigError(f'{paths[0]} is {h0}x{w0} but {path} is {h}x{w} (height x width); set '
                        '--config.data.image_size=N to centre-crop and resize every image to NxN')
    images.append(image)
  images = np.stack(images)
  for array in (images, labels):
    if array is not None:
      array.flags.writeable = False
  return images, labels


def _image_files(folder: str):
  """(paths, labels or None): the image files of a folder, or of its class subfolders."""
  def listing(where):
    return sorted(name for name in os.listdir(where) if not name.startswith('.'))

  def images_in(where):
    return [os.path.join(where, name) for name in listing(where)
            if name.lower().endswith(IMAGE_EXTENSIONS)
            and os.path.isfile(os.path.join(where, name))]

  classes = [name for name in listing(folder) if os.path.isdir(os.path.join(folder, name))]
  loose = images_in(folder)
  if classes and loose:
    raise ConfigError(f'{folder} holds both image files ({os.path.basename(loose[0])}) and '
                      f'subfolders ({classes[0]}); put every image in a class subfolder, or '
                      'remove the subfolders for unlabelled images')
  if not classes:
    if not loose:
      raise ConfigError(f'{folder} holds no image files ({", ".join(IMAGE_EXTENSIONS)}) and no '
                        'subfolders of them; set --config.data.folder to a folder of images')
    return loose, None
  paths, labels = [], []
  for label, name in enumerate(classes):
    inside = images_in(os.path.join(folder, name))
    if not inside:
      raise ConfigError(f'class subfolder {os.path.join(folder, name)} holds no image files '
                        f'({", ".join(IMAGE_EXTENSIONS)}); add images or remove it')
    paths += inside
    labels += [label] * len(inside)
  return paths, np.array(labels, np.int32)


def _decoded(path: str) -> np.ndarray:
  """One file as uint8 (H, W, C): C 1 for grayscale, 3 for RGB, palette and CMYK."""
  from PIL import Image
  try:
    with Image.open(path) as image:
      image.load()
  except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
    raise ConfigError(f'cannot decode {path} as an image ({type(error).__name__}); remove or '
                      'replace the file') from None
  if image.mode == 'P':   # a palette: its colours, with alpha if a colour is transparent
    image = image.convert('RGBA' if 'transparency' in image.info else 'RGB')
  elif image.mode == 'PA':
    image = image.convert('RGBA')
  if image.mode in ('RGBA', 'LA'):
    if image.getchannel('A').getextrema()[0] < 255:
      raise ConfigError(f'{path} has transparent pixels; flatten it onto a background (all '
                        'images must be opaque grayscale or RGB)')
    image = image.convert('L' if image.mode == 'LA' else 'RGB')
  target = {'1': 'L', 'L': 'L', 'RGB': 'RGB', 'CMYK': 'RGB', 'YCbCr': 'RGB'}.get(image.mode)
  if target is None:
    raise ConfigError(f'{path} has pixel mode {image.mode!r}; save it as 8-bit grayscale or RGB')
  pixels = np.asarray(image.convert(target), np.uint8)
  return pixels[..., None] if pixels.ndim == 2 else pixels


def center_crop_resize(images: np.ndarray, size: int) -> np.ndarray:
  """Square centre crop, then area resize to size x size (as for CelebA 64x64)."""
  from PIL import Image
  _, h, w, _ = images.shape
  side = min(h, w)
  top, left = (h - side) // 2, (w - side) // 2
  crops = images[:, top:top + side, left:left + side]
  if crops.shape[-1] == 1:   # PIL reads (H, W) as grayscale
    crops = crops[..., 0]
  out = [np.asarray(Image.fromarray(crop).resize((size, size), Image.BOX)) for crop in crops]
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
    self.rows = host_rows(batch_size, process_index, process_count)
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
    return ordered[self.rows]

  def batch(self, index: int):
    """This host's part of global batch `index`: images, or images with their labels."""
    indices = self.indices(index)
    if self.labels is None:
      return self.images[indices]
    return {'x': self.images[indices], 'y': self.labels[indices]}
