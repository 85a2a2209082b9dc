"""A 1D mixture of three Gaussians; the figures show D(x) over the real and generated densities.

python experiments/train.py --config experiments/configs/toy1d.py --workdir workdirs/toy1d
"""

from experiments.configs import toy2d_ring


def get_config():
  config = toy2d_ring.get_config()
  config.data.name = 'mixture1d'
  config.model.z_dim = 4
  config.model.g_features = 64
  config.model.d_features = 64
  config.num_steps = 5000
  return config
