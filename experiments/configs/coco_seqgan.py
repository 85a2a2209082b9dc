"""SeqGAN on the COCO captions (Yu et al. 2017; Texygen's COCO setting): REINFORCE with Monte Carlo
rollouts from the MLE generator of coco_mle.py, SeqGAN's CNN critic, the protocol of
coco_mle.py (BLEU-2..5, self-BLEU-2..5, nll_valid, nll_test).

python experiments/train.py --config experiments/configs/coco_mle.py --workdir workdirs/coco_mle
python experiments/train.py --config experiments/configs/coco_seqgan.py --workdir workdirs/coco_seqgan \
    --config.model.init_generator=workdirs/coco_mle
python experiments/evaluate.py --workdir workdirs/coco_seqgan --generator=raw

model.init_generator names the MLE run's workdir: G starts from its newest checkpoint and the
run takes its vocabulary. Rollouts cost (T - 1) x num_rollouts unrolls of T = 38 positions a
G step, so a step is far dearer than an oracle step; sized for 60 minutes on a 2-core CPU:
200 G steps (measured seconds a step: docs/structured.md), evaluated every 50.
"""

from experiments.configs import coco_mle


def get_config():
  config = coco_mle.get_config()
  config.loss.name = 'minimax'         # reward -log(1 - D(x)) > 0, as oracle_seqgan.py
  config.loss.adversarial_weight = 1.0
  config.loss.mle_weight = 0.0
  config.model.num_rollouts = 4        # SeqGAN's rollout_num is 16: a quarter, for a CPU
  config.model.reward_baseline = 'none'
  config.optim.lr = 1e-2               # SeqGAN's generator rate in its adversarial phase
  config.optim.d_lr = 1e-4
  config.n_critic = 5
  config.g_samples = 'fresh'
  config.num_steps = 200
  config.log_every = 10
  config.sample_every = 50
  config.checkpoint_every = 50
  config.eval_every = 50
  return config
