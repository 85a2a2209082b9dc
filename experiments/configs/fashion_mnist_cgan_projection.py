"""mnist_cgan_projection.py on Fashion-MNIST.

python experiments/conditional.py --dataset=fashion_mnist --workdir=workdirs/conditional \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_cgan_projection


def get_config():
  config = mnist_cgan_projection.get_config()
  config.data.name = 'fashion_mnist'
  return config
