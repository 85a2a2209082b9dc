"""Control of mnist_clusters.py: the same recipe, G and D conditioned on cluster ids permuted
among the training images (labeled_images.pseudo_labels_shuffled). Each id keeps its share of the data
but no longer names images that look alike.

What it controls for: whether the recipe's gain comes from what the clusters say about the
images, or only from a conditional pair (a class vector beside z in G, one-hot maps beside the
image in D) given 20 ids at fixed shares. If this control scores like the recipe, the clusters'
content does not matter.

python experiments/time_to_fid.py \
    --config experiments/configs/mnist_clusters_shuffled.py \
    --minutes=30 --eval_minutes=3 --seeds=0,1,2 \
    --workdir workdirs/time_to_fid/mnist_clusters_shuffled \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_clusters


def get_config():
  config = mnist_clusters.get_config()
  config.labeled_images.pseudo_labels_shuffled = True
  return config
