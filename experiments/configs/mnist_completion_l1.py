"""Image completion on MNIST by the pixel loss alone: mnist_completion.py with the adversarial
weight 0 (D still trains, through the same steps, and its scores are logged; G ignores them).

python experiments/conditional.py --dataset=mnist --runs=l1 --workdir=workdirs/conditional \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_completion


def get_config():
  config = mnist_completion.get_config()
  config.loss.adversarial_weight = 0.0
  return config
