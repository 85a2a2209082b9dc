"""Loss terms a GAN variant adds to the objective's losses: one registry entry each.

As `objectives.PENALTIES` keeps D's penalties apart from the losses (compare_gan's penalty_lib),
`TERMS` keeps what AC-GAN, InfoGAN and pix2pix add, so the core `GAN` and the steps hold only
what every GAN has. A `GAN` carries a tuple of built terms; `d_step` adds every term's `d_loss`
to D's loss and logs it as `d_<name>`, the G step adds every `g_loss` to G's and logs `g_<name>`.
A logged value is the term as added to the loss, weight included.

A term of G's model rather than its samples (MLE's likelihood of the real batch) sets
`g_model_loss` instead; the G step adds its gradient to the estimator's and logs it as `g_<name>`.

A new term is one factory here, added to the GAN's `terms` by the structure entry that uses
it, in its `gan_options`, from its own config fields (gan_jax/structures/: images.py for InfoGAN,
config.images.code_*; labeled_images.py for AC-GAN and pix2pix, config.labeled_images.*). A term
belongs to one structure's section: the same weight never serves two variants.
"""

from typing import Any, Callable, NamedTuple, Optional

import jax.numpy as jnp

from gan_jax.core.objectives import class_loss, l1_loss


class TermInputs(NamedTuple):
  """What a term may read. G's samples enter D's terms through stop_gradient, G's as they are."""
  real_aux: Any    # D's second output on real data (AC-GAN's class logits); None in G's terms
  fake_aux: Any    # the same on G's samples (AC-GAN's class logits, InfoGAN's code logits)
  condition: Any   # what the samples were generated for (and the real data's); None: none
  z: Any           # the noise the samples were drawn from
  fake: Any        # G's samples
  target: Any      # the real data of the samples' conditions (completion); None: none


class LossTerm(NamedTuple):
  """One extra term: its metric name, and its value in D's and G's losses (None: not that player's).

  g_model_loss is a term of G's model rather than of its samples (MLE): (apply, real) -> scalar,
  where apply(method, *args) runs G with the params being differentiated and `real` is the real
  batch; g_step differentiates it apart from the estimator, so it adds to any estimator's gradient.
  """
  name: str
  d_loss: Optional[Callable[[TermInputs], Any]] = None
  g_loss: Optional[Callable[[TermInputs], Any]] = None
  g_model_loss: Optional[Callable[[Callable, Any], Any]] = None


def acgan_term(weight: float = 1.0, classifies_fakes: bool = True) -> LossTerm:
  """AC-GAN (Odena et al. 2017): D classifies real and generated examples by their labels (the
  generated ones by the labels they were drawn for) and G is rewarded when D's class head
  recovers its label. With `classifies_fakes` off, D's classifier learns from real examples
  only, so G cannot be rewarded for writing its label in a code that only D's head reads."""
  def d_loss(inputs):
    loss = class_loss(inputs.real_aux, inputs.condition)
    if classifies_fakes:
      loss = loss + class_loss(inputs.fake_aux, inputs.condition)
    return weight * loss

  def g_loss(inputs):
    return weight * class_loss(inputs.fake_aux, inputs.condition)
  return LossTerm('class', d_loss, g_loss)


def infogan_term(weight: float, code_fn: Callable) -> LossTerm:
  """InfoGAN (Chen et al. 2016): a lower bound on I(code; G(z)) as a loss both players minimise,
  the cross-entropy of D's code head on G's samples against the code G read from their z
  (`code_fn`, models.dcgan.latent_code), times `weight` (their lambda). Real data has no code."""
  def loss(inputs):
    return weight * class_loss(inputs.fake_aux, code_fn(inputs.z))
  return LossTerm('code', loss, loss)


def l1_term(weight: float) -> LossTerm:
  """pix2pix (Isola et al. 2017): G also minimises weight * mean |G(c, z) - x| to the real data
  of the same condition (their lambda, 100)."""
  return LossTerm('l1', g_loss=lambda inputs: weight * l1_loss(inputs.fake, inputs.target))


def mle_term(weight: float) -> LossTerm:
  """Maximum likelihood (SeqGAN's pre-training; MLE beside the adversarial loss in text GANs): G
  also minimises weight * the mean negative log-likelihood, per position, of the real batch
  under its own model, teacher forced (G's `log_prob`). With loss.adversarial_weight 0 it is
  MLE alone, trained by the same steps as every GAN."""
  def loss(apply, real):
    return -weight * jnp.mean(apply('log_prob', real))
  return LossTerm('mle', g_model_loss=loss)


TERMS = {'acgan': acgan_term, 'infogan': infogan_term, 'l1': l1_term, 'mle': mle_term}
