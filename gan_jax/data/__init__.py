"""Training data as a pure function of the step: toy mixtures (vectors.py), TFDS images or a
folder of image files (images.py, clusters.py), the LSTM oracle's sequences (sequences.py),
SPECTRE's graphs (graphs.py). Each structure of gan_jax.structures makes its batches from these;
every host keeps the rows of each global batch that hosts.py gives it."""

import queue
import threading
from typing import Callable

from gan_jax.data import images as image_data


def epoch_batches(data_config, batch_size: int) -> int:
  """Full batches in one pass over the training images (the split without its held-out
  validation images): an epoch, in D batches (a G step with n_critic D steps uses n_critic)."""
  images, _ = image_data.training_part(data_config)
  return len(images) // batch_size


def prefetch(batches: Callable, first_step: int, last_step: int, depth: int = 2):
  """Yields batches(step) for step in [first_step, last_step), made ahead in a thread."""
  buffer = queue.Queue(maxsize=depth)

  def produce():
    for step in range(first_step, last_step):
      buffer.put(batches(step))

  thread = threading.Thread(target=produce, daemon=True)
  thread.start()
  for _ in range(first_step, last_step):
    yield buffer.get()
