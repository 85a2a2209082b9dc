"""PyTorch references for the benchmark, written plainly as a user would (eager mode, defaults).

DCGAN-64 is the official example dcgan/main.py (pytorch/examples): its Generator, Discriminator,
weights_init, BCELoss, Adam(2e-4, betas=(0.5, 0.999)) and its training iteration (one D update
on a real and a fake batch, then one G update on the same fake batch). DCGAN-28 is the same
design for 28x28x1. Needs `pip install -e ".[torch]"`; nothing else imports this file.
"""

import numpy as np
import torch
from torch import nn


def weights_init(m):
  classname = m.__class__.__name__
  if classname.find('Conv') != -1:
    nn.init.normal_(m.weight.data, 0.0, 0.02)
  elif classname.find('BatchNorm') != -1:
    nn.init.normal_(m.weight.data, 1.0, 0.02)
    nn.init.constant_(m.bias.data, 0)


def dcgan64(nz=100, ngf=64, ndf=64, nc=3):
  generator = nn.Sequential(
      nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
      nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4),
      nn.ReLU(True),
      nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
      nn.ReLU(True),
      nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
      nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())
  discriminator = nn.Sequential(
      nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
      nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
      nn.LeakyReLU(0.2, inplace=True),
      nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
      nn.LeakyReLU(0.2, inplace=True),
      nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8),
      nn.LeakyReLU(0.2, inplace=True),
      nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())
  return generator, discriminator, (nc, 64, 64)


def dcgan28(nz=100, ngf=64, ndf=64, nc=1):
  generator = nn.Sequential(
      nn.ConvTranspose2d(nz, ngf * 2, 7, 1, 0, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
      nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
      nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())
  discriminator = nn.Sequential(
      nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
      nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
      nn.LeakyReLU(0.2, inplace=True),
      nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False), nn.Sigmoid())
  return generator, discriminator, (nc, 28, 28)


class Trainer:
  """The example's training iteration; `step()` runs one D update and one G update.

  Without a real batch, `step()` scores a fixed random one (the speed benchmark); with one
  (N, H, W, C) in [-1, 1], it trains on it (experiments/convergence.py).
  """

  def __init__(self, name, batch_size, nz=100, device='cpu', lr=2e-4, betas=(0.5, 0.999),
               seed=0):
    torch.manual_seed(seed)
    self.device = torch.device(device)
    self.generator, self.discriminator, shape = {'dcgan64': dcgan64, 'dcgan28': dcgan28}[name]()
    self.generator.apply(weights_init)
    self.discriminator.apply(weights_init)
    self.generator.to(self.device)
    self.discriminator.to(self.device)
    self.criterion = nn.BCELoss()
    self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas)
    self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas)
    self.real = torch.rand((batch_size,) + shape, device=self.device) * 2 - 1
    self.batch_size, self.nz = batch_size, nz

  def step(self, real=None):
    real = self.real if real is None else real.permute(0, 3, 1, 2).contiguous().to(self.device)
    real_label, fake_label = 1.0, 0.0
    self.discriminator.zero_grad()
    label = torch.full((self.batch_size,), real_label, device=self.device)
    output = self.discriminator(real).view(-1)
    self.criterion(output, label).backward()
    noise = torch.randn(self.batch_size, self.nz, 1, 1, device=self.device)
    fake = self.generator(noise)
    label.fill_(fake_label)
    output = self.discriminator(fake.detach()).view(-1)
    self.criterion(output, label).backward()
    self.opt_d.step()
    self.generator.zero_grad()
    label.fill_(real_label)
    output = self.discriminator(fake).view(-1)
    self.criterion(output, label).backward()
    self.opt_g.step()

  @torch.no_grad()
  def sample(self, num_samples, seed=0, batch_size=1000):
    """G(z) with BatchNorm's running statistics (eval mode), as (N, H, W, C) numpy in [-1, 1]."""
    self.generator.eval()
    generator = torch.Generator(device=self.device).manual_seed(seed)
    out = []
    for start in range(0, num_samples, batch_size):
      n = min(batch_size, num_samples - start)
      z = torch.randn(n, self.nz, 1, 1, device=self.device, generator=generator)
      out.append(self.generator(z).permute(0, 2, 3, 1).cpu().numpy())
    self.generator.train()
    return np.concatenate(out)

  def state_dict(self):
    return {name: getattr(self, name).state_dict()
            for name in ('generator', 'discriminator', 'opt_g', 'opt_d')}

  def load_state_dict(self, state):
    for name, value in state.items():
      getattr(self, name).load_state_dict(value)

  def synchronize(self):
    """Waits for the device's queued work (a GPU runs asynchronously), like block_until_ready."""
    if self.device.type == 'cuda':
      torch.cuda.synchronize(self.device)


def parameter_counts(name):
  generator, discriminator, _ = {'dcgan64': dcgan64, 'dcgan28': dcgan28}[name]()
  return (sum(p.numel() for p in generator.parameters()),
          sum(p.numel() for p in discriminator.parameters()))
