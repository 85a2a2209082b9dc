"""DCGAN-28 on MNIST with InfoGAN's categorical code (Chen et al. 2016): G reads a 10-way code
from z (z's first coordinate, bucketed: uniform codes), D gets a second head that recovers it,
and both players add its cross-entropy (lambda = images.code_weight = 1). Unsupervised: no label
is read. Everything else is `mnist_dcgan.py` (non-saturating loss, Adam 2e-4 / 0.5, batch 64).

Why: an unconditional G maps one connected z space onto ten separate digit classes, so it
draws in-between shapes and uneven class shares (docs/convergence.md); a discrete code lets G
jump between modes, and the code loss makes each code value a distinct kind of image.

python experiments/convergence.py --config experiments/configs/mnist_infogan.py --epochs=25 \
    --workdir workdirs/convergence/mnist_infogan --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_dcgan


def get_config():
  config = mnist_dcgan.get_config()
  config.images.code_categories = 10
  return config
