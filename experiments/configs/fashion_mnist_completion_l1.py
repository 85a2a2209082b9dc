"""mnist_completion_l1.py on Fashion-MNIST.

python experiments/conditional.py --dataset=fashion_mnist --workdir=workdirs/conditional \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_completion_l1


def get_config():
  config = mnist_completion_l1.get_config()
  config.data.name = 'fashion_mnist'
  return config
