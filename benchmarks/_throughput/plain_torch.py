"""The plain torch variant: the built-in GANs in `torch.nn` (channels-first) with `torch.optim`."""

from _throughput.harness import SEED
from _throughput.plain import PlainVariant


class PlainTorch(PlainVariant):
    """torch.nn, channels-first, torch.optim: how a PyTorch user writes the same GAN."""

    def __init__(self, spec, model):
        super().__init__(spec, model)
        import torch

        self.torch = torch
        torch.manual_seed(SEED)
        self.G, self.D = self._build()
        self.G.train(), self.D.train()  # training mode (batch statistics, dropout) throughout
        self.d_opt = self._optimizer(self.D.parameters(), *self.d_settings)
        self.g_opt = self._optimizer(self.G.parameters(), *self.g_settings)
        self.rng = torch.Generator().manual_seed(SEED)

    def _optimizer(self, params, kind, s):
        torch = self.torch
        if kind == "adam":
            return torch.optim.Adam(params, lr=s["lr"], betas=(s["beta_1"], s["beta_2"]), eps=s["epsilon"])
        return torch.optim.RMSprop(params, lr=s["lr"], alpha=s["rho"], eps=s["epsilon"])

    def _build(self):
        nn = self.torch.nn
        h, w, c, n, k = self.h, self.w, self.c, self.width, self.kernel
        nc = self.num_classes

        def bn1d(f):  # Keras BatchNormalization defaults: momentum 0.99, epsilon 1e-3
            return nn.BatchNorm1d(f, eps=1e-3, momentum=0.01)

        def bn2d(f):
            return nn.BatchNorm2d(f, eps=1e-3, momentum=0.01)

        if self.spec.architecture == "conv":
            generator = nn.Sequential(
                nn.Linear(self.spec.latent_dim, (h // 4) * (w // 4) * 4 * n, bias=False), bn1d((h // 4) * (w // 4) * 4 * n),
                nn.ReLU(), nn.Unflatten(1, (4 * n, h // 4, w // 4)),
                nn.ConvTranspose2d(4 * n, 2 * n, k, stride=1, padding=k // 2, bias=False), bn2d(2 * n), nn.ReLU(),
                nn.ConvTranspose2d(2 * n, n, k, stride=2, padding=k // 2, output_padding=1, bias=False), bn2d(n), nn.ReLU(),
                nn.ConvTranspose2d(n, c, k, stride=2, padding=k // 2, output_padding=1), nn.Tanh(),
            )
            discriminator = nn.Sequential(
                nn.Conv2d(c, n, k, stride=2, padding=k // 2), nn.LeakyReLU(0.2),
                nn.Conv2d(n, 2 * n, k, stride=2, padding=k // 2), bn2d(2 * n), nn.LeakyReLU(0.2),
                nn.Flatten(), nn.Linear(2 * n * (h // 4) * (w // 4), 1),
            )
            for module in list(generator) + list(discriminator):  # N(0, 0.02) as kzoo's DCGAN
                if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.normal_(module.weight, 0.0, 0.02)
            return _TorchNet(generator, None), _TorchNet(discriminator, None)

        pixels = h * w * c
        g_layers = []
        size = self.spec.latent_dim + nc
        for units in (2 * n, 4 * n, 8 * n):
            g_layers += [nn.Linear(size, units), nn.LeakyReLU(0.2)]
            size = units
        g_layers += [nn.Linear(size, pixels), nn.Tanh(), nn.Unflatten(1, (c, h, w))]
        d_layers, size = [], pixels + nc
        for units in (4 * n, 2 * n):
            d_layers += [nn.Linear(size, units), nn.LeakyReLU(0.2)]
            if self.dropout:
                d_layers.append(nn.Dropout(self.dropout))
            size = units
        d_layers.append(nn.Linear(size, 1))
        embed = (lambda: nn.Embedding(nc, nc)) if nc else (lambda: None)
        return _TorchNet(nn.Sequential(*g_layers), embed()), _TorchNet(nn.Sequential(*d_layers), embed(), flatten=True)

    def _losses(self):
        F = self.torch.nn.functional
        torch = self.torch
        kind = self.spec.loss_kind
        if kind == "bce":
            d = lambda r, f: (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                              + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
            g = lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f))
        elif kind == "least_squares":
            d = lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean()
            g = lambda f: 0.5 * ((f - 1) ** 2).mean()
        else:
            d = lambda r, f: f.mean() - r.mean()
            g = lambda f: -f.mean()
        return d, g

    def prepare(self, x, y):
        import numpy as np

        return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), (None if y is None else y.astype("int64"))

    def step(self, real, labels):
        torch, spec = self.torch, self.spec
        G, D = self.G, self.D
        d_loss_fn, g_loss_fn = self._losses()
        batch = real.shape[0]
        for _ in range(spec.d_steps):
            noise = torch.randn(batch, spec.latent_dim, generator=self.rng)
            fake = G(noise, labels).detach()
            self.d_opt.zero_grad()
            d_loss = d_loss_fn(D(real, labels), D(fake, labels))
            d_loss.backward()
            self.d_opt.step()
            if spec.clip_value is not None:
                with torch.no_grad():
                    for p in D.parameters():
                        p.clamp_(-spec.clip_value, spec.clip_value)
        noise = torch.randn(batch, spec.latent_dim, generator=self.rng)
        self.g_opt.zero_grad()
        g_loss = g_loss_fn(D(G(noise, labels), labels))
        g_loss.backward()
        self.g_opt.step()
        return d_loss.detach(), g_loss.detach()

    def as_tensor(self, array):
        return self.torch.from_numpy(array)

    def parameters(self):
        return int(sum(p.numel() for p in self.G.parameters()) + sum(p.numel() for p in self.D.parameters()))


_TORCH_NET = None


def _TorchNet(*args, **kwargs):
    """torch is imported only on the torch backend: the module class is defined on first use."""
    global _TORCH_NET
    if _TORCH_NET is None:
        _TORCH_NET = _torch_net_class()
    return _TORCH_NET(*args, **kwargs)


def _torch_net_class():
    import torch

    class TorchNet(torch.nn.Module):
        """A network, with an optional label embedding concatenated to its (flattened) input."""

        def __init__(self, body, embedding, flatten=False):
            super().__init__()
            self.body, self.embedding, self.flatten = body, embedding, flatten

        def forward(self, x, labels=None):
            if self.flatten:
                x = x.flatten(1)
            if self.embedding is not None:
                x = torch.cat([x, self.embedding(labels)], dim=1)
            return self.body(x)

    return TorchNet
