"""DCGAN on Fashion-MNIST (28x28x1), the MNIST settings.

python experiments/train.py --config experiments/configs/fashion_mnist_dcgan.py \
    --workdir workdirs/fashion --config.data.data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_dcgan


def get_config():
  config = mnist_dcgan.get_config()
  config.data.name = 'fashion_mnist'
  return config
