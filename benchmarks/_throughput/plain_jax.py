"""The plain JAX variant: the built-in GANs in `jax.numpy` + `jax.lax` (NHWC), Adam / RMSprop written out."""

import math

from _throughput.harness import SEED, JaxLoop
from _throughput.plain import PlainVariant


class PlainJax(PlainVariant, JaxLoop):
    """jax.numpy + jax.lax, NHWC, one jitted step; Adam / RMSprop written out as Keras computes them."""

    def __init__(self, spec, model):
        super().__init__(spec, model)
        import jax

        self.jax = jax
        key = jax.random.key(SEED)
        kg, kd, self.key = jax.random.split(key, 3)
        g_params, g_stats = self._init_generator(kg)
        d_params, d_stats = self._init_discriminator(kd)
        self.state = (g_params, g_stats, d_params, d_stats,
                      self._opt_init(g_params, self.g_settings[0]), self._opt_init(d_params, self.d_settings[0]),
                      self.key)
        self.jitted_step = jax.jit(self._step, donate_argnums=0)

    # ---------------------------------------------------------------- layers
    def _normal(self, key, shape, std=0.02):
        return std * self.jax.random.normal(key, shape)

    def _glorot(self, key, shape):
        fan_in, fan_out = math.prod(shape[:-1]), shape[-1]
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return self.jax.random.uniform(key, shape, minval=-limit, maxval=limit)

    def _dense(self, p, x):
        y = x @ p["w"]
        return y + p["b"] if "b" in p else y

    def _conv(self, p, x, stride, transpose=False):
        lax = self.jax.lax
        dims = ("NHWC", "HWIO", "NHWC")
        if transpose:
            y = lax.conv_transpose(x, p["w"], (stride, stride), "SAME", dimension_numbers=dims)
        else:
            y = lax.conv_general_dilated(x, p["w"], (stride, stride), "SAME", dimension_numbers=dims)
        return y + p["b"] if "b" in p else y

    def _batch_norm(self, p, stats, x):
        jnp = self.jax.numpy
        axes = tuple(range(x.ndim - 1))
        mean, var = jnp.mean(x, axes), jnp.var(x, axes)
        y = (x - mean) * (p["gamma"] / jnp.sqrt(var + 1e-3)) + p["beta"]
        new = {"mean": 0.99 * stats["mean"] + 0.01 * mean, "var": 0.99 * stats["var"] + 0.01 * var}
        return y, new

    def _bn_init(self, f):
        jnp = self.jax.numpy
        return ({"gamma": jnp.ones(f), "beta": jnp.zeros(f)}, {"mean": jnp.zeros(f), "var": jnp.ones(f)})

    def _dropout(self, key, x):
        keep = 1.0 - self.dropout
        mask = self.jax.random.bernoulli(key, keep, x.shape)
        return self.jax.numpy.where(mask, x / keep, 0.0)

    # ---------------------------------------------------------------- networks
    def _init_generator(self, key):
        jnp, n, k, c = self.jax.numpy, self.width, self.kernel, self.c
        keys = list(self.jax.random.split(key, 8))
        if self.spec.architecture == "conv":
            h4, w4 = self.h // 4, self.w // 4
            params, stats = {}, {}
            params["dense"] = {"w": self._normal(keys[0], (self.spec.latent_dim, h4 * w4 * 4 * n))}
            params["bn0"], stats["bn0"] = self._bn_init(h4 * w4 * 4 * n)
            params["ct1"] = {"w": self._normal(keys[1], (k, k, 4 * n, 2 * n))}
            params["bn1"], stats["bn1"] = self._bn_init(2 * n)
            params["ct2"] = {"w": self._normal(keys[2], (k, k, 2 * n, n))}
            params["bn2"], stats["bn2"] = self._bn_init(n)
            params["out"] = {"w": self._normal(keys[3], (k, k, n, c)), "b": jnp.zeros(c)}
            return params, stats
        params, size = {}, self.spec.latent_dim + self.num_classes
        if self.num_classes:
            params["embed"] = self.jax.random.uniform(keys[7], (self.num_classes, self.num_classes), minval=-0.05, maxval=0.05)
        for i, units in enumerate((2 * n, 4 * n, 8 * n, self.h * self.w * c)):
            params[f"d{i}"] = {"w": self._glorot(keys[i], (size, units)), "b": jnp.zeros(units)}
            size = units
        return params, {}

    def _generator(self, params, stats, noise, labels):
        jax = self.jax
        jnp = jax.numpy
        if self.spec.architecture == "conv":
            n, new = self.width, {}
            x, new["bn0"] = self._batch_norm(params["bn0"], stats["bn0"], self._dense(params["dense"], noise))
            x = jax.nn.relu(x).reshape(-1, self.h // 4, self.w // 4, 4 * n)
            x, new["bn1"] = self._batch_norm(params["bn1"], stats["bn1"], self._conv(params["ct1"], x, 1, True))
            x = jax.nn.relu(x)
            x, new["bn2"] = self._batch_norm(params["bn2"], stats["bn2"], self._conv(params["ct2"], x, 2, True))
            x = jax.nn.relu(x)
            return jnp.tanh(self._conv(params["out"], x, 2, True)), new
        x = noise
        if self.num_classes:
            x = jnp.concatenate([x, params["embed"][labels]], axis=1)
        for i in range(3):
            x = jax.nn.leaky_relu(self._dense(params[f"d{i}"], x), 0.2)
        x = jnp.tanh(self._dense(params["d3"], x))
        return x.reshape(-1, self.h, self.w, self.c), stats

    def _init_discriminator(self, key):
        jnp, n, k, c = self.jax.numpy, self.width, self.kernel, self.c
        keys = list(self.jax.random.split(key, 8))
        if self.spec.architecture == "conv":
            params, stats = {}, {}
            params["c1"] = {"w": self._normal(keys[0], (k, k, c, n)), "b": jnp.zeros(n)}
            params["c2"] = {"w": self._normal(keys[1], (k, k, n, 2 * n)), "b": jnp.zeros(2 * n)}
            params["bn"], stats["bn"] = self._bn_init(2 * n)
            params["out"] = {"w": self._normal(keys[2], (2 * n * (self.h // 4) * (self.w // 4), 1)), "b": jnp.zeros(1)}
            return params, stats
        params, size = {}, self.h * self.w * c + self.num_classes
        if self.num_classes:
            params["embed"] = self.jax.random.uniform(keys[7], (self.num_classes, self.num_classes), minval=-0.05, maxval=0.05)
        for i, units in enumerate((4 * n, 2 * n, 1)):
            params[f"d{i}"] = {"w": self._glorot(keys[i], (size, units)), "b": jnp.zeros(units)}
            size = units
        return params, {}

    def _discriminator(self, params, stats, images, labels, key):
        jax = self.jax
        jnp = jax.numpy
        if self.spec.architecture == "conv":
            x = jax.nn.leaky_relu(self._conv(params["c1"], images, 2), 0.2)
            x, new_bn = self._batch_norm(params["bn"], stats["bn"], self._conv(params["c2"], x, 2))
            x = jax.nn.leaky_relu(x, 0.2).reshape(images.shape[0], -1)
            return self._dense(params["out"], x), {"bn": new_bn}
        x = images.reshape(images.shape[0], -1)
        if self.num_classes:
            x = jnp.concatenate([x, params["embed"][labels]], axis=1)
        keys = jax.random.split(key, 2)
        for i in range(2):
            x = jax.nn.leaky_relu(self._dense(params[f"d{i}"], x), 0.2)
            if self.dropout:
                x = self._dropout(keys[i], x)
        return self._dense(params["d2"], x), stats

    # ---------------------------------------------------------------- losses and optimizers
    def _losses(self):
        jax = self.jax
        jnp = jax.numpy
        kind = self.spec.loss_kind
        if kind == "bce":  # -log sigmoid(r) - log(1 - sigmoid(f))
            return (lambda r, f: jnp.mean(jax.nn.softplus(-r)) + jnp.mean(jax.nn.softplus(f)),
                    lambda f: jnp.mean(jax.nn.softplus(-f)))
        if kind == "least_squares":
            return (lambda r, f: 0.5 * jnp.mean((r - 1) ** 2) + 0.5 * jnp.mean(f**2),
                    lambda f: 0.5 * jnp.mean((f - 1) ** 2))
        return (lambda r, f: jnp.mean(f) - jnp.mean(r), lambda f: -jnp.mean(f))

    def _opt_init(self, params, kind):
        jax = self.jax
        zeros = jax.tree.map(jax.numpy.zeros_like, params)
        if kind == "adam":
            return {"t": jax.numpy.zeros((), "float32"), "m": zeros, "v": jax.tree.map(jax.numpy.zeros_like, params)}
        return {"v": zeros}

    def _opt_update(self, params, grads, state, settings):
        jax = self.jax
        jnp = jax.numpy
        kind, s = settings
        if kind == "adam":
            b1, b2, eps, lr = s["beta_1"], s["beta_2"], s["epsilon"], s["lr"]
            t = state["t"] + 1
            m = jax.tree.map(lambda m, g: m + (g - m) * (1 - b1), state["m"], grads)
            v = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - b2), state["v"], grads)
            alpha = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
            params = jax.tree.map(lambda p, m, v: p - alpha * m / (jnp.sqrt(v) + eps), params, m, v)
            return params, {"t": t, "m": m, "v": v}
        rho, eps, lr = s["rho"], s["epsilon"], s["lr"]
        v = jax.tree.map(lambda v, g: rho * v + (1 - rho) * g * g, state["v"], grads)
        params = jax.tree.map(lambda p, g, v: p - lr * g / (jnp.sqrt(v) + eps), params, grads, v)
        return params, {"v": v}

    # ---------------------------------------------------------------- step
    def _step(self, state, real, labels):
        jax, spec = self.jax, self.spec
        jnp = jax.numpy
        g_params, g_stats, d_params, d_stats, g_opt, d_opt, key = state
        d_loss_fn, g_loss_fn = self._losses()
        batch = real.shape[0]

        def d_objective(d_params, d_stats, fake, key):
            k1, k2 = jax.random.split(key)
            real_logits, d_stats = self._discriminator(d_params, d_stats, real, labels, k1)
            fake_logits, d_stats = self._discriminator(d_params, d_stats, fake, labels, k2)
            return d_loss_fn(real_logits, fake_logits), d_stats

        def g_objective(g_params, g_stats, d_stats, noise, key):
            fake, g_stats = self._generator(g_params, g_stats, noise, labels)
            logits, d_stats = self._discriminator(d_params, d_stats, fake, labels, key)
            return g_loss_fn(logits), (g_stats, d_stats)

        for _ in range(spec.d_steps):
            key, k_noise, k_drop = jax.random.split(key, 3)
            noise = jax.random.normal(k_noise, (batch, spec.latent_dim))
            fake, g_stats = self._generator(g_params, g_stats, noise, labels)
            (d_loss, d_stats), grads = jax.value_and_grad(d_objective, has_aux=True)(d_params, d_stats, fake, k_drop)
            d_params, d_opt = self._opt_update(d_params, grads, d_opt, self.d_settings)
            if spec.clip_value is not None:
                d_params = jax.tree.map(lambda p: jnp.clip(p, -spec.clip_value, spec.clip_value), d_params)
        key, k_noise, k_drop = jax.random.split(key, 3)
        noise = jax.random.normal(k_noise, (batch, spec.latent_dim))
        (g_loss, (g_stats, d_stats)), grads = jax.value_and_grad(g_objective, has_aux=True)(
            g_params, g_stats, d_stats, noise, k_drop)
        g_params, g_opt = self._opt_update(g_params, grads, g_opt, self.g_settings)
        return (g_params, g_stats, d_params, d_stats, g_opt, d_opt, key), (d_loss, g_loss)

    def parameters(self):
        jax = self.jax
        g_params, _, d_params, _, _, _, _ = self.state
        return int(sum(p.size for p in jax.tree.leaves(g_params)) + sum(p.size for p in jax.tree.leaves(d_params)))
