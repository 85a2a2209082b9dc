"""Control of mnist_clusters.py: the recipe's G and D (DCGAN layers, the same widths, loss,
optimizer, batch and EMA) with no condition at all: no class vector beside z in G, no one-hot
maps beside the image in D, no pseudo-labels. The models and settings are then those of
mnist_dcgan.py, derived here from the recipe so that the two stay paired.

What it controls for: how much of the recipe's FID per minute is the condition itself, under
the same protocol (held-out validation images, best checkpoint on them, test split once).

python experiments/time_to_fid.py \
    --config experiments/configs/mnist_clusters_unconditional.py \
    --minutes=30 --eval_minutes=3 --seeds=0,1,2 \
    --workdir workdirs/time_to_fid/mnist_clusters_unconditional \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_clusters
from gan_jax.run.config import base_config


def unconditional(config):
  """The config's G and D with their condition removed: an unconditional image GAN."""
  config.structure = 'images'
  config.labeled_images = base_config().labeled_images   # no condition, no clusters
  return config


def get_config():
  return unconditional(mnist_clusters.get_config())
