"""Unconditional MNIST by way of unsupervised pseudo-labels: the label-to-image pair of
mnist_cgan_concat.py (a learned class vector beside z in G, one-hot maps beside the image in
D) trained on 20 k-means clusters of the training images' pixels instead of the digit labels
(gan_jax/data/clusters.py; Self-Conditioned GANs, Liu et al. 2020). G draws a cluster with its
share of the training set, then an image of it; no label is read. mnist_dcgan.py's settings
otherwise (non-saturating loss, Adam 2e-4 / 0.5, batch 64, 25 epochs).

Why: the unconditional G's FID is dominated by uneven class shares and in-between digits
(docs/convergence.md); with clusters, the share of each region of the data is fixed by the data.

python experiments/convergence.py --config experiments/configs/mnist_clusters.py --epochs=25 \
    --workdir workdirs/convergence/mnist_clusters --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_dcgan

CLUSTERS = 20


def get_config():
  config = mnist_dcgan.get_config()
  config.structure = 'labeled_images'
  config.labeled_images.conditional = 'concat'
  config.labeled_images.g_conditioning = 'embedding'
  config.labeled_images.num_classes = CLUSTERS
  config.labeled_images.pseudo_labels = CLUSTERS
  return config
