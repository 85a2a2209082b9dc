"""Trains the project's feature network for FID on 28x28 data and writes its weights.

python experiments/train_classifier.py --dataset=mnist --data_dir=../shared/data/tensorflow_datasets
python experiments/train_classifier.py --dataset=fashion_mnist --data_dir=../shared/data/tensorflow_datasets

Prints the test-split accuracy, the wall time and the sha256 of the weights file.
"""

import time

import flax
from absl import flags

from gan_jax.run import cli
from gan_jax.data.images import load_labeled_split
from gan_jax.metrics import classifier

_DATASET = flags.DEFINE_enum('dataset', 'mnist', ['mnist', 'fashion_mnist'], 'Dataset.')
_DATA_DIR = cli.define_data_dir()
_EPOCHS = flags.DEFINE_integer('epochs', 6, 'Training epochs.')
_OUTPUT = flags.DEFINE_string('output', None, 'Weights file (default: the committed one).')


def main(argv):
  del argv
  start = time.perf_counter()
  train_images, train_labels = load_labeled_split(_DATASET.value, 'train', _DATA_DIR.value)
  test_images, test_labels = load_labeled_split(_DATASET.value, 'test', _DATA_DIR.value)
  params = classifier.train(train_images, train_labels, _EPOCHS.value)
  path = _OUTPUT.value or classifier.weights_path(_DATASET.value)
  with open(path, 'wb') as f:
    f.write(flax.serialization.to_bytes(params))
  print(f'{_DATASET.value}: test accuracy {classifier.accuracy(params, test_images, test_labels):.4f}'
        f', {_EPOCHS.value} epochs, {time.perf_counter() - start:.0f} s; '
        f'{path} sha256 {classifier.file_sha256(path)}')


if __name__ == '__main__':
  cli.run(main)
