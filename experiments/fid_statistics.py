"""Reference statistics of a dataset split as pytorch-fid's `.npz` (mu, sigma), and FID between
statistics files, so gan_jax's figures can be set beside published statistics files.

python experiments/fid_statistics.py --dataset=mnist --split=train --features=inception \
    --data_dir=../shared/data/tensorflow_datasets --output=mnist_train_inception.npz
python experiments/fid_statistics.py --dataset=folder --folder=PATH --image_size=64 \
    --features=inception --output=my_images.npz
python experiments/fid_statistics.py --compare=mnist_train_inception.npz,published.npz

The features of a split are computed once and cached (gan_jax.metrics.features: keyed by
dataset, split, features, image count and a fingerprint of images and weights; $GAN_JAX_CACHE
or ~/.cache/gan_jax); --num_images takes the split's first N images. With --compare, prints
the FID between two statistics files, ours or anyone's, and computes nothing else.
"""

from absl import flags

from gan_jax.data import images as image_data
from gan_jax.errors import ConfigError
from gan_jax.metrics import features, frechet_distance, gaussian_statistics
from gan_jax.run import cli

_DATASET = flags.DEFINE_string('dataset', 'mnist', "A TFDS name, or 'folder' (with --folder).")
_SPLIT = flags.DEFINE_string('split', 'test', 'The split (a folder: ignored, the whole folder).')
_DATA_DIR = cli.define_data_dir()
_FOLDER = flags.DEFINE_string('folder', '', "The images of --dataset=folder.")
_IMAGE_SIZE = flags.DEFINE_integer('image_size', None, 'Centre-crop and resize to this side.')
_NUM_IMAGES = flags.DEFINE_integer('num_images', None, "The split's first N images (default all).")
_FEATURES = flags.DEFINE_enum('features', 'inception', list(features.NETWORKS), 'Features.')
_INCEPTION_WEIGHTS = flags.DEFINE_string('inception_weights', '', 'Converted Inception weights '
                                         '(default $GAN_JAX_INCEPTION_WEIGHTS or '
                                         '~/.cache/gan_jax/inception_fid.npz).')
_OUTPUT = flags.DEFINE_string('output', None, 'Where to write mu and sigma (.npz).')
_COMPARE = flags.DEFINE_list('compare', None, 'Two statistics files: print the FID between them.')


def main(argv):
  del argv
  if _COMPARE.value:
    if len(_COMPARE.value) != 2:
      raise ConfigError(f'--compare takes two .npz files, got {len(_COMPARE.value)}')
    first, second = (features.load_statistics(path) for path in _COMPARE.value)
    if first[0].shape != second[0].shape:
      raise ConfigError(f'the files hold {first[0].shape[0]}-d and {second[0].shape[0]}-d '
                        'statistics: features of different networks')
    print(f'FID({_COMPARE.value[0]}, {_COMPARE.value[1]}) = {frechet_distance(*first, *second):.4f}')
    return
  if not _OUTPUT.value:
    raise ConfigError('set --output=FILE.npz (or --compare=A.npz,B.npz)')
  net = features.network(_FEATURES.value, _DATASET.value, _INCEPTION_WEIGHTS.value)
  images = image_data.load_split(_DATASET.value, _SPLIT.value, _DATA_DIR.value,
                                 image_size=_IMAGE_SIZE.value, folder=_FOLDER.value)
  images = images[:_NUM_IMAGES.value]
  reference = features.reference_features(_DATASET.value, _SPLIT.value, net, images)
  mu, sigma = gaussian_statistics(reference)
  features.save_statistics(_OUTPUT.value, mu, sigma)
  print(f'{_DATASET.value} {_SPLIT.value}: {len(images)} images in {net.name} features '
        f'({net.weights}); mu {mu.shape}, sigma {sigma.shape} written to {_OUTPUT.value}')


if __name__ == '__main__':
  cli.run(main)
