"""SeqGAN on the COCO captions (Yu et al. 2017; Texygen's COCO setting): REINFORCE with Monte Carlo
rollouts from the MLE generator of coco_mle.py, SeqGAN's CNN critic, the protocol of
coco_mle.py (BLEU-2..5, self-BLEU-2..5, nll_valid, nll_test).

python experiments/train.py --config experiments/configs/coco_mle.py --workdir workdirs/coco_mle
python experiments/train.py --config experiments/configs/coco_seqgan.py --workdir workdirs/coco_seqgan \
    --config.model.init_generator=workdirs/coco_mle
python experiments/evaluate.py --workdir workdirs/coco_seqgan --generator=raw

model.init_generator names the MLE run's workdir: G starts from the checkpoint it chose on
held-out captions (its best, nll_valid; its newest if it kept none) and the
run takes its vocabulary. Rollouts cost (T - 1) x num_rollouts unrolls of T = 38 positions, each
scored by D, a G step: 18.4 CPU seconds a step with 5 D steps (measured; 43 s wall on the two
cores shared with other jobs), four times an oracle step of 20 positions. Sized for 60 minutes
on the project's 2-core CPU: 160 G steps, or fewer when train_minutes 55 runs out first;
evaluated every 40.
"""

from experiments.configs import coco_mle


def get_config():
  config = coco_mle.get_config()
  config.loss.name = 'minimax'         # reward -log(1 - D(x)) > 0, as oracle_seqgan.py
  config.loss.adversarial_weight = 1.0
  config.loss.mle_weight = 0.0
  config.sequences.num_rollouts = 4        # SeqGAN's rollout_num is 16: a quarter, for a CPU
  config.sequences.reward_baseline = 'none'
  config.optim.lr = 1e-2               # SeqGAN's generator rate in its adversarial phase
  config.optim.d_lr = 1e-4
  config.n_critic = 5
  config.g_samples = 'fresh'
  config.num_steps = 160
  config.log_every = 10
  config.sample_every = 40
  config.checkpoint_every = 40
  config.eval_every = 40
  return config
