"""Training a benchmark run: a kzoo model, the Keras-guide anchor or the plain-torch DCGAN, alike.

Both classes train on "mnist-5k:train" (the 4,000 train-split images; the metrics' 1,000
held-out images are never trained on) from seeded batches (`kzoo.training.epoch_batches`,
exactly as `kzoo train` makes them), in chunks: `train(steps)` runs `steps` more generator
steps, and `sample(num, seed)` generates images in [-1, 1] for the metrics. Used by
benchmarks/quality.py and benchmarks/time_to_quality.py.
"""

DATASET = "mnist-5k:train"


class KerasTrainer:
    """A kzoo model (or "keras-guide", the anchor), trained by `fit()` as `kzoo train` trains it."""

    def __init__(self, name, seed, batch_size, hyperparameters=None):
        import kzoo
        from kzoo import backend, registry, training
        from kzoo import data as datasets

        backend.set_seed(seed)
        self.x, y = datasets.load(DATASET)
        if name == "keras-guide":
            from keras_guide_gan import KerasGuideGAN

            cls = KerasGuideGAN
        else:
            cls = registry.load_model_class(name)
        hp = training.prepare_hyperparameters(cls, self.x, y, {**(hyperparameters or {}), "seed": seed})
        self.model = cls(**hp)
        self.model.compile()
        self.labels = y if self.model.conditional else None
        self.name, self.seed, self.batch_size, self.chunk, self.steps_done = name, seed, batch_size, 0, 0
        # As many generator steps as `kzoo train` makes by default (its epochs are passes over mnist-5k).
        self.default_steps = cls.default_steps(batch_size=batch_size) if hasattr(cls, "default_steps") else None
        self.hyperparameters = self.model.get_config()
        self.kzoo_version = kzoo.__version__

    def train(self, steps):
        from kzoo import training

        xb, yb = training.epoch_batches(self.x, self.labels, self.batch_size, steps, self.chunk, self.seed)
        history = self.model.fit(xb, yb, batch_size=self.batch_size, epochs=self.chunk + 1,
                                 initial_epoch=self.chunk, shuffle=False, verbose=0)
        self.chunk += 1
        self.steps_done += steps
        return {k: float(v[-1]) for k, v in history.history.items()}

    def parameters(self):
        return {"generator": int(self.model.generator.count_params()),
                "discriminator": int(self.model.discriminator.count_params())}

    def sample(self, num, seed, raw=False):
        import numpy as np

        labels = (np.arange(num) % self.model.num_classes) if self.model.conditional else None
        return self.model.sample(num, seed=seed, labels=labels, raw=raw), labels


class TorchTrainer:
    """The plain torch.nn DCGAN of the throughput benchmark (_throughput.plain_torch), trained on the same batches."""

    def __init__(self, seed, batch_size):
        import numpy as np
        import torch

        from _throughput.harness import Spec
        from _throughput.plain_torch import PlainTorch

        import kzoo
        from kzoo import data as datasets

        torch.manual_seed(seed)
        self.x, _ = datasets.load(DATASET)
        # kzoo's dcgan recipe at its defaults (width, latent size, losses, optimizers and their
        # learning rates), without generator averaging or stabilizers, which the plain loop does
        # not re-implement: it samples from its generator itself.
        options = {"ema_decay": 0.0, "augment": "", "minibatch_std": 0, "pack": 1, "label_smoothing": 0.0,
                   "instance_noise": 0.0, "g_top_k": 1.0, "r1_gamma": 0.0}
        reference = kzoo.create_model("dcgan", seed=seed, **options)
        self.model = None
        self.loop = PlainTorch(Spec(reference, batch_size), reference)
        self.name, self.seed, self.batch_size, self.chunk, self.steps_done = "torch-dcgan", seed, batch_size, 0, 0
        self.np, self.torch = np, torch
        self.default_steps, self.hyperparameters = None, reference.get_config()
        self.latent_dim, self.kzoo_version = reference.latent_dim, kzoo.__version__

    def train(self, steps):
        from kzoo import training

        xb, _ = training.epoch_batches(self.x, None, self.batch_size, steps, self.chunk, self.seed)
        xb, _ = self.loop.prepare(xb, None)
        b = self.batch_size
        for i in range(steps):
            losses = self.loop.step(self.loop.as_tensor(xb[i * b : (i + 1) * b]), None)
        self.chunk += 1
        self.steps_done += steps
        return {"d_loss": float(losses[0]), "g_loss": float(losses[1])}

    def parameters(self):
        return {"generator": int(sum(p.numel() for p in self.loop.G.parameters())),
                "discriminator": int(sum(p.numel() for p in self.loop.D.parameters()))}

    def sample(self, num, seed, raw=False):
        noise = self.np.random.default_rng(seed).standard_normal((num, self.latent_dim)).astype("float32")
        generator = self.loop.G
        generator.eval()
        with self.torch.no_grad():
            images = generator(self.torch.from_numpy(noise)).numpy().transpose(0, 2, 3, 1)
        generator.train()
        return images, None
