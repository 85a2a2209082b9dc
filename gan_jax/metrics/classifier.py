"""The project's own feature network for 28x28 images: a LeNet-style classifier.

"FID" on MNIST and Fashion-MNIST in this project is the Frechet distance between this
classifier's penultimate (128-d) features, computed against the test split. Its weights are
committed in gan_jax/metrics/weights/ and reproduced by experiments/train_classifier.py.
"""

import functools
import hashlib
import os

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax.data.images import to_model_range
from gan_jax.errors import ConfigError

WEIGHTS_DIR = os.path.join(os.path.dirname(__file__), 'weights')
FEATURE_DIM = 128
# sha256 of the committed weights, as printed by experiments/train_classifier.py (6 epochs):
# MNIST test accuracy 0.9946, Fashion-MNIST 0.9178.
WEIGHTS_SHA256 = {
    'mnist': '1481ca442e418fa0a595cb2ca47381fb2375cc7286495413faa60100ed90f013',
    'fashion_mnist': '7e1c6e49214992ac31e937db82e03434eb1219462040c8be37370f0e91118221',
}


class LeNet(nn.Module):
  """Conv5(32)-pool-Conv5(64)-pool-Dense(128)-Dense(10); returns (features, logits)."""

  @nn.compact
  def __call__(self, x):
    h = nn.max_pool(nn.relu(nn.Conv(32, (5, 5))(x)), (2, 2), (2, 2))
    h = nn.max_pool(nn.relu(nn.Conv(64, (5, 5))(h)), (2, 2), (2, 2))
    features = nn.relu(nn.Dense(FEATURE_DIM)(h.reshape(h.shape[0], -1)))
    return features, nn.Dense(10)(features)


def weights_path(dataset: str) -> str:
  return os.path.join(WEIGHTS_DIR, f'{dataset}_lenet.msgpack')


def file_sha256(path: str) -> str:
  return hashlib.sha256(open(path, 'rb').read()).hexdigest()


@functools.lru_cache(maxsize=None)
def load_params(dataset: str):
  """The committed classifier params for 'mnist' or 'fashion_mnist'."""
  path = weights_path(dataset)
  if not os.path.exists(path):
    raise ConfigError(f'no classifier weights for {dataset!r} at {path}; train them with '
                      f'python experiments/train_classifier.py --dataset={dataset}')
  template = LeNet().init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))['params']
  try:
    return flax.serialization.from_bytes(template, open(path, 'rb').read())
  except Exception as error:
    raise ConfigError(f'classifier weights {path} are unreadable ({type(error).__name__}); '
                      'restore them with git checkout or retrain them') from None


@jax.jit
def _apply(params, images):
  features, logits = LeNet().apply({'params': params}, images)
  return features, jax.nn.softmax(logits)


def features_and_probabilities(params, images, batch_size: int = 2000):
  """Penultimate features and class probabilities of images in [-1, 1], shape (n, 28, 28, 1)."""
  features, probabilities = [], []
  for start in range(0, len(images), batch_size):
    f, p = _apply(params, jnp.asarray(images[start:start + batch_size], jnp.float32))
    features.append(np.asarray(f))
    probabilities.append(np.asarray(p))
  return np.concatenate(features), np.concatenate(probabilities)


def train(train_images, train_labels, epochs: int, seed: int = 0, batch_size: int = 128,
          learning_rate: float = 1e-3):
  """Adam on cross-entropy; images uint8 (n, 28, 28, 1). Returns params."""
  model = LeNet()
  params = model.init(jax.random.PRNGKey(seed), jnp.zeros((1, 28, 28, 1)))['params']
  steps_per_epoch = len(train_images) // batch_size
  schedule = optax.cosine_decay_schedule(learning_rate, epochs * steps_per_epoch)
  tx = optax.adam(schedule)
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, images, labels):
    def loss_fn(params):
      logits = model.apply({'params': params}, images)[1]
      return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  rng = np.random.default_rng(seed)
  for _ in range(epochs):
    order = rng.permutation(len(train_images))
    for i in range(steps_per_epoch):
      idx = order[i * batch_size:(i + 1) * batch_size]
      params, opt_state = step(params, opt_state, to_model_range(train_images[idx]),
                               jnp.asarray(train_labels[idx]))
  return params


def accuracy(params, images_uint8, labels) -> float:
  _, probabilities = features_and_probabilities(params, to_model_range(images_uint8))
  return float(np.mean(probabilities.argmax(axis=1) == np.asarray(labels)))
