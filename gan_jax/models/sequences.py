"""Sequence GAN models for the SeqGAN oracle benchmark: an LSTM generator and SeqGAN's CNN critic.

Reference code: LantaoYu/SeqGAN (generator.py, discriminator.py, rollout.py, sequence_gan.py) and
weilinie/RelGAN (models/lstm_vanilla.py, get_fixed_temperature in oracle/oracle_gan/
oracle_train.py). The generator is the oracle's own LSTM family (gan_jax.data.sequences), with
the same parameter names, so the oracle's parameters load into it (a test uses that).
"""

from typing import Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gan_jax import keys
from gan_jax.data import sequences as seqdata

OUTPUTS = ('tokens', 'gumbel')
FEEDS = ('hard', 'soft')


class LSTMGenerator(nn.Module):
  """Samples whole sequences from start token 0 and a zero state (SeqGAN's generator.py).

  output='tokens': int32 tokens (B, T), for the score-function (REINFORCE) estimator.
  output='gumbel': RelGAN's relaxed one-hot (B, T, V) float32, softmax(beta * (o_t + g_t)) with
  Gumbel noise g_t; its argmax is an exact categorical sample. beta follows RelGAN's 'exp'
  schedule, beta_n = max_temperature ** (n / temperature_steps) (RelGAN: N = 5,000 fixed; maximum
  2 to 100 in its oracle runs, 1000 by default; past N we hold the maximum). n counts the calls
  with train=True and the 'schedule' collection mutable, so pass mutable=['schedule'] on the G
  update only; the count lives in the variables, so a resumed run continues the schedule exactly.
  feed: what the next step reads. 'hard' is what RelGAN's code does (lstm_vanilla.py and
  rmc_vanilla.py embed the argmax token; the soft matmul is commented out there); 'soft' feeds
  soft one-hot @ embedding so the gradient also flows through later steps.

  end_token / pad_token (text; None for the oracle, whose sequences have no end): a sentence
  ends at its first end token and every later position is pad_token, forced, never drawn (its
  logit is -1e9 everywhere), fed as a constant one-hot in the Gumbel output; log_prob counts
  those forced positions as certain (log p = 0), so it is the log-likelihood of the sentence.

  z only sets the batch size: the noise is the per-step draws from the 'sample' rng, as in SeqGAN
  (whose h0 is zero). Parameters are initialised N(0, 0.1) like SeqGAN's generator.
  With `axis_name` (set by gan_jax.run.parallel) every draw is made for the global batch and
  sliced (keys.draw_global), so each device samples its own rows of a one-device run.
  """
  vocab: int = seqdata.VOCAB
  embed: int = seqdata.EMBED
  hidden: int = seqdata.HIDDEN
  length: int = seqdata.LENGTH
  output: str = 'tokens'
  max_temperature: float = 100.0
  temperature_steps: int = 5000
  feed: str = 'hard'
  start_token: int = seqdata.START_TOKEN
  end_token: Optional[int] = None
  pad_token: Optional[int] = None
  axis_name: Optional[str] = None

  def setup(self):
    if self.output not in OUTPUTS or self.feed not in FEEDS:
      raise ValueError(f'output must be one of {OUTPUTS} and feed one of {FEEDS}, '
                       f'got {self.output!r}, {self.feed!r}')
    if (self.end_token is None) != (self.pad_token is None):
      raise ValueError('end_token and pad_token are set together (text) or neither (the oracle)')
    init = nn.initializers.normal(0.1)
    shapes = seqdata.param_shapes(self.vocab, self.embed, self.hidden)
    self.lstm = {name: self.param(name, init, shape) for name, shape in shapes.items()}
    # Created only where it can exist, so log_prob / rollout need just {'params': ...}.
    if self.has_variable('schedule', 'step') or self.is_mutable_collection('schedule'):
      self.step = self.variable('schedule', 'step', lambda: jnp.zeros((), jnp.int32))
    else:
      self.step = None

  def inverse_temperature(self):
    if self.step is None:
      raise ValueError("output='gumbel' needs the 'schedule' collection from init in the "
                       'variables passed to apply')
    n = jnp.minimum(self.step.value, self.temperature_steps).astype(jnp.float32)
    return jnp.float32(self.max_temperature) ** (n / self.temperature_steps)

  def _unroll(self, key, n, beta=None, prefix=None, t=None):
    """One fixed-length scan. Positions s < t copy `prefix` (teacher-forced), the rest are
    sampled; t may be traced, so callers can vmap over it. beta set -> Gumbel outputs too."""
    p = self.lstm
    steps = jnp.arange(self.length)
    xs = (jax.random.split(key, self.length), steps,
          prefix.T if prefix is not None else jnp.zeros((self.length, n), jnp.int32))

    def step(carry, x):
      state, x_emb, ended = carry
      step_key, s, given = x
      state = seqdata.lstm_cell(p, x_emb, state)
      logits = self._never_pad(seqdata.output_logits(p, state[0]))
      if beta is None:
        u = keys.draw_global(jax.random.uniform, step_key, (n, 1), self.axis_name)
        token, soft = seqdata.categorical_from_uniform(u, logits), None
      else:
        perturbed = logits + keys.draw_global(jax.random.gumbel, step_key, logits.shape,
                                              self.axis_name)
        token = jnp.argmax(perturbed, axis=-1).astype(jnp.int32)
        soft = jax.nn.softmax(beta * perturbed, axis=-1)
      if prefix is not None:
        token = jnp.where(s < t, given, token)
      if self.end_token is not None:   # after the end: padding, with no gradient
        token = jnp.where(ended, self.pad_token, token)
        if soft is not None:
          pad = jax.nn.one_hot(self.pad_token, soft.shape[-1], dtype=soft.dtype)
          soft = jnp.where(ended[:, None], pad, soft)
        ended = ended | (token == self.end_token)
      if soft is not None and self.feed == 'soft':
        x_emb = soft @ p['embedding']
      else:
        x_emb = p['embedding'][token]
      return (state, x_emb, ended), (token, soft)

    start = jnp.full((n,), self.start_token, jnp.int32)
    init = (seqdata.zero_state(p, n), p['embedding'][start], jnp.zeros((n,), bool))
    _, (tokens, soft) = jax.lax.scan(step, init, xs)
    return tokens.T, (None if soft is None else jnp.swapaxes(soft, 0, 1))

  def __call__(self, z, train: bool = True):
    """A batch of sequences: in training, what D is shown (token ids, or with output='gumbel'
    the relaxed one-hot vectors); in evaluation (train=False) always token ids, the samples."""
    n = z.shape[0]
    key = self.make_rng('sample')
    if self.output == 'gumbel' and train:
      _, out = self._unroll(key, n, beta=self.inverse_temperature())
    else:
      out, _ = self._unroll(key, n)
    if train and self.step is not None and self.is_mutable_collection('schedule') \
        and not self.is_initializing():
      self.step.value += 1   # after use: call n runs with beta_n, the first with beta_0 = 1
    return out

  def _never_pad(self, logits):
    if self.pad_token is None:
      return logits
    return jnp.where(jnp.arange(logits.shape[-1]) == self.pad_token, -1e9, logits)

  def log_prob(self, tokens):
    """log p(y_t | y_<t) (B, T) by teacher forcing: for MLE and the score-function estimator;
    0 at the positions after a sentence's end (forced padding)."""
    hs = seqdata.hidden_states(self.lstm, tokens, self.start_token, precision=None)
    log_p = seqdata.token_log_prob(self._never_pad(seqdata.output_logits(self.lstm, hs)), tokens)
    if self.end_token is None:
      return log_p
    ends = (tokens == self.end_token).astype(jnp.int32)
    after_end = jnp.cumsum(ends, axis=1) - ends > 0
    return jnp.where(after_end, 0.0, log_p)

  def rollout(self, tokens, t):
    """SeqGAN's Monte Carlo search (rollout.py): keep tokens[:, :t], sample positions t..T-1
    from the model. t = T returns tokens unchanged."""
    out, _ = self._unroll(self.make_rng('sample'), tokens.shape[0], prefix=tokens, t=t)
    return out


# SeqGAN's discriminator (sequence_gan.py): embedding 64, these windows and filter counts,
# highway, dropout keep 0.75, l2 0.2 on the output layer, Adam 1e-4.
SEQGAN_FILTER_SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
SEQGAN_NUM_FILTERS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)


def _uniform_pm1(key, shape, dtype=jnp.float32):
  return jax.random.uniform(key, shape, dtype, -1.0, 1.0)   # SeqGAN's embedding init


class GlobalDropout(nn.Module):
  """Inverted dropout (as nn.Dropout: keep with probability 1 - rate, scale by 1 / (1 - rate))
  whose mask is drawn for the global batch and sliced, so each device masks its own rows of a
  one-device run."""
  rate: float
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, x, deterministic: bool):
    if self.rate == 0.0 or deterministic:
      return x
    if self.rate == 1.0:
      return jnp.zeros_like(x)
    keep = 1.0 - self.rate
    mask = keys.draw_global(lambda key, shape: jax.random.bernoulli(key, keep, shape),
                            self.make_rng('dropout'), x.shape, self.axis_name)
    return jax.lax.select(mask, x / keep, jnp.zeros_like(x))


class SequenceDiscriminator(nn.Module):
  """SeqGAN's CNN over token embeddings -> one logit per sequence (B,) float32.

  Default filter counts are SeqGAN's divided by 4 (430 features instead of 1,720) so a step is
  cheap on CPU; pass SEQGAN_NUM_FILTERS for the original. SeqGAN's 2-class softmax is one logit
  here (the difference of its two class scores); see seqgan_l2_penalty for the matching l2.
  x: int tokens (B, T) (embedding lookup) or float (B, T, V) one-hot / relaxed one-hot
  (matmul with the same embedding table), so real tokens and Gumbel samples share parameters.
  Dropout masks are drawn for the global batch when `axis_name` is set (GlobalDropout).
  """
  vocab: int = seqdata.VOCAB
  embed: int = 64
  filter_sizes: Sequence[int] = SEQGAN_FILTER_SIZES
  num_filters: Sequence[int] = tuple(n // 4 for n in SEQGAN_NUM_FILTERS)
  dropout: float = 0.25
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, x, train: bool = True):
    table = self.param('embedding', _uniform_pm1, (self.vocab, self.embed))
    if jnp.issubdtype(x.dtype, jnp.integer):
      emb = table[x]
    else:
      emb = jnp.einsum('btv,ve->bte', x, table)
    length = emb.shape[1]
    if max(self.filter_sizes) > length:
      raise ValueError(f'filter sizes {tuple(self.filter_sizes)} exceed the length {length}')
    conv_init = nn.initializers.truncated_normal(0.1)
    pooled = []
    for width, count in zip(self.filter_sizes, self.num_filters):
      h = nn.Conv(count, (width,), padding='VALID', kernel_init=conv_init,
                  bias_init=nn.initializers.constant(0.1), name=f'conv{width}')(emb)
      pooled.append(jnp.max(nn.relu(h), axis=1))   # max over time
    h = jnp.concatenate(pooled, axis=-1)
    # Highway (discriminator.py, gate bias 0 as SeqGAN calls it): carry what the CNN found.
    width = h.shape[-1]
    glorot = nn.initializers.glorot_uniform()
    transform = nn.relu(nn.Dense(width, kernel_init=glorot, name='highway_lin')(h))
    gate = nn.sigmoid(nn.Dense(width, kernel_init=glorot, name='highway_gate')(h))
    h = gate * transform + (1.0 - gate) * h
    # Named as nn.Dropout was: flax derives the 'dropout' key from the module path, so a
    # one-device run draws the masks it drew before.
    h = GlobalDropout(self.dropout, self.axis_name, name='Dropout_0')(h, deterministic=not train)
    head = nn.Dense(1, kernel_init=conv_init, bias_init=nn.initializers.constant(0.1),
                    name='head')
    return head(h)[:, 0].astype(jnp.float32)


def seqgan_l2_penalty(d_params, l2: float = 0.2):
  """SeqGAN's l2_reg_lambda * (l2_loss(W) + l2_loss(b)) on its 2-column output layer, written
  for our one logit w = w1 - w2: at the minimum-norm split w1 = -w2 = w / 2 it is l2/4 ||w||^2."""
  head = d_params['head']
  return l2 / 4 * (jnp.sum(head['kernel'] ** 2) + jnp.sum(head['bias'] ** 2))


def mle_loss(params, model: LSTMGenerator, tokens):
  """Mean NLL per token (nats) of `tokens` under the generator: MLE pre-training's loss."""
  return -jnp.mean(model.apply({'params': params}, tokens, method=LSTMGenerator.log_prob))


def mle_step(model: LSTMGenerator, learning_rate: float = 0.01, grad_clip: float = 5.0):
  """(optimizer, step) for MLE pre-training as in SeqGAN (Adam 0.01, global-norm clip 5.0);
  step(params, opt_state, tokens) -> (params, opt_state, loss), jitted and pure."""
  optimizer = optax.chain(optax.clip_by_global_norm(grad_clip), optax.adam(learning_rate))

  @jax.jit
  def step(params, opt_state, tokens):
    loss, grads = jax.value_and_grad(mle_loss)(params, model, tokens)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  return optimizer, step
