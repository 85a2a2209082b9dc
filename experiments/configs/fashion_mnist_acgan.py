"""mnist_acgan.py on Fashion-MNIST.

python experiments/conditional.py --dataset=fashion_mnist --workdir=workdirs/conditional \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_acgan


def get_config():
  config = mnist_acgan.get_config()
  config.data.name = 'fashion_mnist'
  return config
