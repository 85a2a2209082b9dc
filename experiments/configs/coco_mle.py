"""MLE on the COCO captions (the "Image COCO" benchmark of LeakGAN, RelGAN and Texygen), trained by
the common trainer: G minimises the NLL of each real batch (loss.mle_weight 1,
adversarial_weight 0: no rollouts, no gradient through D), and SeqGAN's D trains beside it on
G's samples, a measure of how far the samples are from real captions (d_real - d_fake). The
starting point of coco_seqgan.py and coco_relgan.py, and the baseline they must beat.

python experiments/train.py --config experiments/configs/coco_mle.py --workdir workdirs/coco_mle
python experiments/evaluate.py --workdir workdirs/coco_mle --generator=raw
python experiments/sample.py --workdir workdirs/coco_mle --num_samples=1000 --generator=raw

Text: lower-cased Treebank word tokens, the training file's vocabulary (4,685 words, padding and
end tokens), 38 positions (the longest caption, 37 tokens, and its end), 1,000 training
captions held out for nll_valid (gan_jax/data/text.py). Evaluation (gan_jax/metrics/text.py):
BLEU-2..5 of eval_samples sentences against the 10,000 test captions, self-BLEU-2..5 among them,
nll_valid and nll_test per token. G: SeqGAN's and Texygen's LSTM for COCO (embedding and
hidden size 32), Adam 1e-2 (SeqGAN's pre-training rate), batch 64: 140 steps an epoch.

Sized for 30 minutes on one core of the project's CPU: 2,800 steps (20 epochs) at about 0.45
CPU seconds a step (D beside G), and train_minutes 55 stops it earlier on a busier machine. The
held-out NLL is lowest near epoch 10 and rises after it (seed 0 trained 5,600 steps: nll_valid
3.61, 3.52, 3.57, 3.65, ..., 4.01 every 5 epochs; experiments/results/
coco_mle_seed0_evaluations.jsonl), so 20 epochs leave room for a later minimum; Adam's rate is
constant, so the first 2,800 steps are those of the longer run. Evaluated every 5 epochs (10,000
sentences: about a minute, outside train_minutes). The evaluation with the lowest
nll_valid keeps its checkpoint in <workdir>/best (evaluate.py --checkpoint=best), the one
experiments/text_curves.py sweeps over temperatures.
"""

import os

from gan_jax.run.config import base_config

# The shared data folder beside the repository (shared/data/text/README.md).
COCO_CAPTIONS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                                              '..', '..', 'shared', 'data', 'text',
                                              'coco_captions'))


def get_config():
  config = base_config()
  config.structure = 'sequences'
  config.data.name = 'text'
  config.sequences.text_dir = COCO_CAPTIONS
  config.sequences.valid_count = 1000
  config.model.name = 'lstm'
  config.sequences.sequence_output = 'tokens'
  config.model.z_dim = 1               # unused: the sampling noise is the generator's own
  config.loss.name = 'non_saturating'  # D's loss; G has no adversarial term
  config.loss.adversarial_weight = 0.0
  config.loss.mle_weight = 1.0
  config.optim.lr = 1e-2               # SeqGAN's pre-training Adam rate
  config.optim.d_lr = 1e-4             # SeqGAN's D rate
  config.optim.b1 = 0.9
  config.batch_size = 64
  config.n_critic = 1
  config.g_samples = 'reuse'           # G's step reads D's samples only for the log
  config.num_steps = 2800              # 20 epochs of 9,000 captions
  config.train_minutes = 55.0          # ... or fewer on a busy machine
  config.log_every = 140
  config.sample_every = 700
  config.checkpoint_every = 700
  config.eval_every = 700              # every 5 epochs
  config.eval_samples = 10000          # as many sentences as test captions
  config.shown_generator = 'raw'       # the GAN configs start from this G
  config.select_metric = 'nll_valid'   # the checkpoint kept in <workdir>/best: chosen on the
  config.select_mode = 'min'           #   held-out training captions, never on the test file
  return config
