"""DCGAN-28 on MNIST with the settings a current library uses at this size: hinge loss,
spectral norm in D and no BatchNorm there (SNGAN, Miyato et al. 2018, their setting C: Adam
(2e-4, 0.5, 0.999), one D step per G step), G unchanged, EMA generator with warm-up.

python experiments/convergence.py --config experiments/configs/mnist_sngan.py --epochs=25 \
    --workdir workdirs/convergence/mnist_sngan --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_dcgan


def get_config():
  config = mnist_dcgan.get_config()
  config.loss.name = 'hinge'
  config.model.spectral_norm = True
  config.model.d_batch_norm = False
  config.g_samples = 'fresh'
  return config
