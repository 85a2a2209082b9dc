"""Unconditional Fashion-MNIST by way of 20 k-means pixel clusters: mnist_clusters.py's recipe.

python experiments/convergence.py --config experiments/configs/fashion_mnist_clusters.py \
    --epochs=25 --workdir workdirs/convergence/fashion_mnist_clusters \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_clusters


def get_config():
  config = mnist_clusters.get_config()
  config.data.name = 'fashion_mnist'
  return config
