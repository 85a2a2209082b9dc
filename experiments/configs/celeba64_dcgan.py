"""The PyTorch example dcgan/main.py on CelebA 64x64: same architecture and init (G 3,576,704
and D 2,765,568 parameters), BCE (non-saturating) loss, Adam(2e-4, 0.5), batch 128, nz 100.
Images are centre-cropped and resized to 64x64.

python experiments/train.py --config experiments/configs/celeba64_dcgan.py --workdir workdirs/celeba

Scored in FID's Inception features (LeNet features exist for MNIST and Fashion-MNIST only), once
the reference weights are converted (experiments/convert_inception.py):

python experiments/evaluate.py --workdir workdirs/celeba --features=inception

or during training with --config.eval_features=inception --config.eval_every=N.
"""

from experiments.configs import mnist_dcgan


def get_config():
  config = mnist_dcgan.get_config()
  config.data.name = 'celeb_a'
  config.data.image_size = 64
  config.batch_size = 128
  config.num_steps = 20000
  config.log_every = 100
  config.sample_every = 1000
  config.checkpoint_every = 2000
  config.eval_every = 0          # Inception features need the converted weights: opt in
  return config
