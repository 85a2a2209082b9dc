"""25 Gaussians on a 5x5 grid (means in {-4,-2,0,2,4}^2, std 0.05), the VEEGAN/PacGAN protocol.

python experiments/train.py --config experiments/configs/toy2d_grid.py --workdir workdirs/grid
"""

from experiments.configs import toy2d_ring


def get_config():
  config = toy2d_ring.get_config()
  config.data.name = 'grid25'
  config.model.g_features = 256
  config.model.d_features = 256
  config.model.mlp_depth = 3
  config.num_steps = 10000
  return config
