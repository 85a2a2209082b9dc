"""SPECTRE's community_small (two communities of 6-10 nodes, 64 train / 16 val / 20 test), with
the graph GAN of graphs_planar.py: nodes in the data's order, batch 32, 15,000 G steps.

python experiments/train.py --config experiments/configs/graphs_community_small.py \
    --workdir workdirs/community_small
python experiments/evaluate.py --workdir workdirs/community_small
"""

from experiments.configs import graphs_planar


def get_config():
  config = graphs_planar.get_config()
  config.data.name = 'community_small'
  config.graphs.node_order = 'data'
  config.batch_size = 32
  config.num_steps = 15000
  config.sample_every = 5000
  return config
