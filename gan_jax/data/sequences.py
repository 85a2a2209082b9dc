"""The SeqGAN oracle benchmark (Yu et al. 2017, "Synthetic Data Experiments"), sampled in JAX.

The oracle is an LSTM language model (vocabulary 5,000, embedding and hidden size 32) whose
parameters are all drawn from N(0, 1); it starts from token 0 and a zero state and writes
10,000 training sequences of length 20. A generator's NLL-oracle (the oracle's NLL of its
samples) measures quality, its NLL-test (its own NLL of held-out oracle sequences) diversity.

Reference code: LantaoYu/SeqGAN, target_lstm.py (equations, gate order i, f, o, c, no peepholes,
start token as input only) and sequence_gan.py (sizes, 10,000 sequences). SeqGAN's oracle is a
pickle (save/target_params.pkl) whose 15 arrays all have mean ~0 and std ~1, so the code agrees
with the paper's N(0, 1) for every parameter, output layer and gate biases included;
target_lstm.init_matrix (stddev 1) is never called. We cannot reproduce that pickle's draw, so
our oracle is another draw from the same distribution, from the JAX key ORACLE_SEED:
absolute NLLs are comparable to the papers' only through the floor (the oracle's NLL of its own
samples), which differs per draw. `params_from_seqgan` loads SeqGAN's arrays for a check.
"""

import functools
from typing import Dict, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.tools.cache import cached_array

VOCAB = 5000
EMBED = 32
HIDDEN = 32
LENGTH = 20
START_TOKEN = 0
N_SEQUENCES = 10_000
ORACLE_SEED = 88     # SeqGAN's SEED in sequence_gan.py; here a JAX PRNGKey for the N(0, 1) draw
DATA_SEED = 66       # the oracle's sampling seed (target_lstm.py's tf.set_random_seed(66))
SPLITS = {'train': 0, 'test': 1}
ORACLE_DATASET = 'oracle_lstm'   # config.data.name of the benchmark

Params = Dict[str, jax.Array]


def param_shapes(vocab: int, embed: int, hidden: int) -> Dict[str, tuple]:
  """The oracle's (and LSTMGenerator's) parameters; gates stacked in the order [i, f, o, c]."""
  return {'embedding': (vocab, embed), 'w_x': (embed, 4 * hidden), 'w_h': (hidden, 4 * hidden),
          'b': (4 * hidden,), 'w_out': (hidden, vocab), 'b_out': (vocab,)}


def oracle_params(seed: int = ORACLE_SEED, vocab: int = VOCAB, embed: int = EMBED,
                  hidden: int = HIDDEN) -> Params:
  """Every parameter from N(0, 1), one key per array (so a shape change leaves others alone)."""
  shapes = param_shapes(vocab, embed, hidden)
  key = jax.random.PRNGKey(seed)
  return {name: jax.random.normal(jax.random.fold_in(key, i), shape, jnp.float32)
          for i, (name, shape) in enumerate(sorted(shapes.items()))}


def params_from_seqgan(arrays: Sequence[np.ndarray]) -> Params:
  """SeqGAN's 15 oracle arrays (target_params.pkl order: emb, then W, U, b for the input,
  forget, output gates and cell, then Wo, bo) as our stacked params."""
  emb, *gates, w_out, b_out = [jnp.asarray(a, jnp.float32) for a in arrays]
  w_x, w_h, b = (jnp.concatenate(gates[j::3], axis=-1) for j in range(3))
  return {'embedding': emb, 'w_x': w_x, 'w_h': w_h, 'b': b, 'w_out': w_out, 'b_out': b_out}


def lstm_cell(params: Params, x, state, precision=None):
  """One step of target_lstm.py's LSTM: x (B, E) embedded input -> new (h, c)."""
  h, c = state
  dot = functools.partial(jnp.dot, precision=precision)
  i, f, o, g = jnp.split(dot(x, params['w_x']) + dot(h, params['w_h']) + params['b'], 4, -1)
  c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
  return jax.nn.sigmoid(o) * jnp.tanh(c), c


def output_logits(params: Params, h, precision=None):
  return jnp.dot(h, params['w_out'], precision=precision) + params['b_out']


def with_temperature(params: Params, temperature: float) -> Params:
  """The LSTM's params with output logits divided by T: the same network, a tempered softmax
  (T < 1 sharper, T > 1 flatter), for its samples and its likelihood alike."""
  return {**params, 'w_out': params['w_out'] / temperature,
          'b_out': params['b_out'] / temperature}


def zero_state(params: Params, n: int):
  hidden = params['w_h'].shape[0]
  return jnp.zeros((n, hidden), jnp.float32), jnp.zeros((n, hidden), jnp.float32)


def categorical(key, logits):
  """One draw per row by inverting the CDF: one uniform per token instead of jax.random's one
  Gumbel per vocabulary entry, ~5x faster at V = 5,000 on CPU (rollouts draw millions)."""
  return categorical_from_uniform(jax.random.uniform(key, logits.shape[:-1] + (1,)), logits)


def categorical_from_uniform(u, logits):
  """`categorical` given its uniforms u (..., 1) in [0, 1), e.g. drawn for the global batch."""
  p = jnp.exp(logits - jax.lax.stop_gradient(logits.max(-1, keepdims=True)))
  cdf = jnp.cumsum(p, axis=-1)
  u = u * cdf[..., -1:]
  return jnp.minimum(jnp.sum(cdf <= u, axis=-1), logits.shape[-1] - 1).astype(jnp.int32)


# The oracle defines the metric, so its matmuls run in full float32 on every platform
# (TPUs and TF32 GPUs would otherwise round the N(0, 1) weights' large logits).
_EXACT = jax.lax.Precision.HIGHEST


def hidden_states(params: Params, tokens, start_token: int = START_TOKEN, precision=_EXACT):
  """Teacher forcing: h_t after reading (start, y_1 .. y_t-1), shape (n, T, H)."""
  inputs = jnp.concatenate([jnp.full((tokens.shape[0], 1), start_token, tokens.dtype),
                            tokens[:, :-1]], axis=1)

  def step(state, token):
    state = lstm_cell(params, params['embedding'][token], state, precision)
    return state, state[0]

  _, hs = jax.lax.scan(step, zero_state(params, tokens.shape[0]), inputs.T)
  return jnp.swapaxes(hs, 0, 1)


def log_prob(params: Params, tokens, start_token: int = START_TOKEN):
  """log p(y_t | y_<t) under the oracle, shape (n, T). Logits for all positions in one matmul
  after the scan, which is faster on CPU than one (n, H) x (H, V) product per step."""
  return token_log_prob(output_logits(params, hidden_states(params, tokens, start_token), _EXACT),
                        tokens)


def token_log_prob(logits, tokens):
  """log softmax(logits)[token] without materialising the (n, T, V) log-probabilities."""
  picked = jnp.take_along_axis(logits, tokens[..., None].astype(jnp.int32), axis=-1)[..., 0]
  return picked - jax.nn.logsumexp(logits, axis=-1)


@functools.partial(jax.jit, static_argnames=('n', 'length', 'start_token'))
def sample(params: Params, key, n: int, length: int = LENGTH, start_token: int = START_TOKEN):
  """n sequences (n, length) int32. The start token is the first input only, not an output."""

  def step(carry, step_key):
    state, token = carry
    state = lstm_cell(params, params['embedding'][token], state, _EXACT)
    token = categorical(step_key, output_logits(params, state[0], _EXACT))
    return (state, token), token

  init = (zero_state(params, n), jnp.full((n,), start_token, jnp.int32))
  _, tokens = jax.lax.scan(step, init, jax.random.split(key, length))
  return tokens.T


@functools.lru_cache(maxsize=None)
def oracle_dataset(split: str = 'train', n: int = N_SEQUENCES) -> np.ndarray:
  """The oracle's `n` sequences for 'train' or 'test' (disjoint keys), (n, 20) int32, read-only
  because the cached array is shared. Deterministic per platform (float rounding may flip a rare
  draw between CPU and GPU); ~10 s per split on one CPU core, in chunks to bound memory, then
  read from the disk cache (gan_jax.tools.cache)."""
  if split not in SPLITS:
    raise ValueError(f'unknown split {split!r}; choose one of {sorted(SPLITS)}')

  def draw():
    params = oracle_params()
    key = jax.random.fold_in(jax.random.PRNGKey(DATA_SEED), SPLITS[split])
    chunk = 2000
    return jnp.concatenate([sample(params, jax.random.fold_in(key, i), min(chunk, n - start))
                            for i, start in enumerate(range(0, n, chunk))])

  # Kept on disk too, per platform and JAX version (the draws are theirs): every process that
  # scores or trains on the oracle would otherwise spend those seconds again.
  key = f'{split}-{n}-{DATA_SEED}-{ORACLE_SEED}-{jax.default_backend()}-jax{jax.__version__}'
  tokens = np.array(cached_array('oracle', key, draw), np.int32)
  tokens.flags.writeable = False
  return tokens
