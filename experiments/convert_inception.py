"""Converts FID's reference Inception weights into the file gan_jax reads, without torch.

On a machine with internet, once:

curl -LO https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
python experiments/convert_inception.py --pth=pt_inception-2015-12-05-6726825d.pth

The file's sha256 must be the published one (gan_jax.metrics.inception.REFERENCE_SHA256);
the state_dict is read by gan_jax.tools.torch_checkpoint (no torch) and renamed into the Flax
network's variables (gan_jax.metrics.inception.variables_from_state_dict, the conversion the
parity test checks against pytorch-fid). Writes --output (default: $GAN_JAX_INCEPTION_WEIGHTS
or ~/.cache/gan_jax/inception_fid.npz), where evaluate.py and config.eval_features=inception
look for it; nothing is written when any check fails.
"""

import hashlib
import os

from absl import flags

from gan_jax.errors import ConfigError
from gan_jax.metrics import inception
from gan_jax.run import cli
from gan_jax.tools import torch_checkpoint

_PTH = flags.DEFINE_string('pth', None, f'The downloaded {inception.REFERENCE_FILE}.',
                           required=True)
_OUTPUT = flags.DEFINE_string('output', None, 'Where to write the converted weights (default: '
                              '$GAN_JAX_INCEPTION_WEIGHTS or ~/.cache/gan_jax/inception_fid.npz).')


def file_sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def main(argv):
  del argv
  source = os.path.expanduser(_PTH.value)
  if not os.path.isfile(source):
    raise ConfigError(f'no file {source}; download {inception.REFERENCE_FILE} from '
                      f'{inception.REFERENCE_URL}')
  sha256 = file_sha256(source)
  if sha256 != inception.REFERENCE_SHA256:
    raise ConfigError(f'{source} has sha256 {sha256}, not {inception.REFERENCE_SHA256} of '
                      f'{inception.REFERENCE_FILE}; download it again from '
                      f'{inception.REFERENCE_URL}')
  try:
    state_dict = torch_checkpoint.load_state_dict(source)
  except (OSError, ValueError) as error:
    raise ConfigError(f'cannot read {source} as a torch state_dict: {error}') from None
  variables = inception.variables_from_state_dict(state_dict)
  output = os.path.expanduser(_OUTPUT.value or inception.default_weights_path())
  inception.save_variables(variables, output, sha256)
  print(f'converted {len(state_dict)} tensors of {source} (sha256 {sha256}) into {output}')


if __name__ == '__main__':
  cli.run(main)
