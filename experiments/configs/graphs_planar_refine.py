"""Planar graphs from a generator that draws its nodes in a latent plane, then every edge from
the latent triangles it closes (RefineGraphGenerator with `graphs.triples`: for each pair,
learned messages from the 8 nodes nearest its midpoint on each side of its line, max-pooled;
each triangle read by its side lengths and the signed angle at the third node), against a
PPGN-like pairwise critic (gan_jax/models/graph_refine.py). docs/structured.md has its
curves; trained by experiments/planar_study.py for 220 minutes on one core per seed, V.U.N.
26.8% / 30.9% of 1,000 graphs (seeds 0 / 1; 33.0% / 30.0% on 5 x 40), 12.5% / 5.4% at 60 min
(experiments/results/planar_sides_seed{0,1}_220min.json).

python experiments/train.py --config experiments/configs/graphs_planar_refine.py \
    --workdir workdirs/planar_refine
python experiments/evaluate.py --workdir workdirs/planar_refine --num_samples=1000
python experiments/sample.py --workdir workdirs/planar_refine --num_samples=1000
python experiments/planar_study.py --workdir=workdirs/planar_long_seed0 --train_minutes=220 \
    --eval_minutes=20 --config.seed=0      # the 220-minute result above (seed 1 the same)

Earlier variants, each worse at 60 minutes: the 16 third nodes nearest the pair's midpoint,
whichever side (V.U.N. 2.7%): --config.graphs.triple_per_side=False; that, with the angle as cos
and sin only and messages 16 wide: --config.graphs.triple_per_side=False
--config.graphs.triple_angle=False --config.graphs.triple_hidden=16; a pairwise edge rule, then
2 rounds of message passing over G's own draw (V.U.N. 0%): --config.graphs.triples=0
--config.graphs.rounds=2 --config.optim.lr=4e-4
"""

from experiments.configs import graphs_planar


def get_config():
  config = graphs_planar.get_config()
  config.graphs.generator = 'refine'
  config.graphs.discriminator = 'ppgn'
  config.graphs.triples = 8            # channels of the edge term over third nodes
  config.graphs.triple_hidden = 32     # width of its messages
  config.graphs.triple_angle = True    # they read the signed angle at the third node too
  config.graphs.triple_per_side = True  # the 8 nodes nearest the pair on each side of its line
  config.graphs.rounds = 0             # edges from positions in one stage
  config.graphs.d_layers = 3           # PPGN blocks
  config.model.d_features = 16         # PPGN channels
  config.model.z_dim = 64 * 8 + 16     # 8 noise values per node and 16 global ones
  config.loss.penalty_weight = 1.0     # R1 gamma 1 (10 slowed G's start in the probes)
  config.optim.lr = 1e-3               # both players (4e-4 learned slower in 5-minute probes)
  config.num_steps = 2000              # about 60 min of one CPU core at 1.8 s a step
  return config
