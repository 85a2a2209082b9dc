"""The oracle benchmark with RelGAN's gradient path (Nie et al. 2019): G emits Gumbel-softmax
relaxed one-hot vectors with an inverse temperature rising as max_temperature ** (n / N), D
reads them like one-hot tokens, and the gradient flows through the samples as for images.

python experiments/train.py --config experiments/configs/oracle_relgan.py --workdir workdirs/relgan \
    --config.model.init_generator=workdirs/sequences/mle_generator.msgpack
"""

from experiments.configs import oracle_seqgan


def get_config():
  config = oracle_seqgan.get_config()
  config.sequences.sequence_output = 'gumbel'
  config.sequences.max_temperature = 100.0  # RelGAN's beta_max for its oracle runs: 2 ... 1000
  config.sequences.temperature_steps = 2000
  config.loss.name = 'rsgan'            # RelGAN uses the relativistic standard loss
  # RelGAN: Adam 1e-4 for both players over thousands of steps; 1e-4 moved nothing in 300 steps
  # here (NLL-oracle 9.32 -> 9.28), so 5e-4 for a run that fits a CPU budget.
  config.optim.lr = 5e-4
  config.optim.d_lr = 5e-4
  config.n_critic = 1
  # The schedule is RelGAN's for a 2,000-step run; this run stops at 300 (beta <= 100 ** 0.15 = 2).
  config.num_steps = 300
  config.log_every = 50
  config.sample_every = 50
  config.checkpoint_every = 50
  config.eval_every = 50
  return config
