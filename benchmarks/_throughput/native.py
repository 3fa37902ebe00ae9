"""The native variants: each backend's own training idiom around the kzoo model's Keras networks.

TensorFlow: `tf.GradientTape` in one `tf.function(jit_compile=True)` per step; torch:
`zero_grad()`, `loss.backward()`, `optimizer.apply()` under `torch.no_grad()`; JAX: one `jax.jit`
of a pure step (`stateless_call`, `jax.value_and_grad`, the optimizers' `stateless_apply`). Each
class imports its framework in its constructor, so only the selected backend is ever imported.
"""

from _throughput.harness import SEED, JaxLoop, LoopVariant, Skip, fresh_optimizer, keras_parameter_count


class NativeVariant(LoopVariant):
    """The backend's own training loop around the Keras networks of a fresh kzoo model."""

    name = "native"

    def __init__(self, spec, model):
        super().__init__(spec)
        if spec.custom_losses:
            raise Skip("the model's step is not the two-player step (with WGAN-GP's penalty) the loops re-implement")
        self.model = model
        self.G, self.D = model.generator, model.discriminator
        self.d_opt = fresh_optimizer(model.d_optimizer)
        self.g_opt = fresh_optimizer(model.g_optimizer)
        self.d_opt.build(self.D.trainable_variables)
        self.g_opt.build(self.G.trainable_variables)

    def g_inputs(self, noise, labels):
        return [noise, labels] if self.spec.conditional else noise

    def d_inputs(self, images, labels):
        return [images, labels] if self.spec.conditional else images

    def parameters(self):
        return keras_parameter_count(self.model)


class NativeTensorFlow(NativeVariant):
    def __init__(self, spec, model):
        super().__init__(spec, model)
        import tensorflow as tf

        self.tf = tf
        self.rng = tf.random.Generator.from_seed(SEED)
        self.step = tf.function(self._step, jit_compile=True)

    def _step(self, real, labels):
        tf, spec, G, D, m = self.tf, self.spec, self.G, self.D, self.model
        batch = tf.shape(real)[0]
        for _ in range(spec.d_steps):
            noise = self.rng.normal((batch, spec.latent_dim))
            fake = G(self.g_inputs(noise, labels), training=True)
            if spec.gp_weight is not None:
                alpha = self.rng.uniform((batch, 1, 1, 1))
            with tf.GradientTape() as tape:
                real_logits = D(self.d_inputs(real, labels), training=True)
                fake_logits = D(self.d_inputs(fake, labels), training=True)
                d_loss = m.discriminator_loss(real_logits, fake_logits)
                if spec.gp_weight is not None:
                    between = real + alpha * (fake - real)
                    with tf.GradientTape() as inner:
                        inner.watch(between)
                        scores = tf.reduce_sum(D(self.d_inputs(between, labels), training=True))
                    slopes = tf.sqrt(tf.reduce_sum(tf.square(inner.gradient(scores, between)), axis=[1, 2, 3]) + 1e-10)
                    d_loss += spec.gp_weight * tf.reduce_mean(tf.square(slopes - 1.0))
            grads = tape.gradient(d_loss, D.trainable_variables)
            self.d_opt.apply(grads, D.trainable_variables)
            if spec.clip_value is not None:
                for v in D.trainable_variables:
                    v.assign(tf.clip_by_value(v, -spec.clip_value, spec.clip_value))
        noise = self.rng.normal((batch, spec.latent_dim))
        with tf.GradientTape() as tape:
            fake = G(self.g_inputs(noise, labels), training=True)
            g_loss = m.generator_loss(D(self.d_inputs(fake, labels), training=True))
        grads = tape.gradient(g_loss, G.trainable_variables)
        self.g_opt.apply(grads, G.trainable_variables)
        return d_loss, g_loss

    def as_tensor(self, array):
        return self.tf.convert_to_tensor(array)


class NativeTorch(NativeVariant):
    def __init__(self, spec, model):
        super().__init__(spec, model)
        import torch

        self.torch = torch
        self.device = self.G.trainable_variables[0].value.device
        self.rng = torch.Generator(device=self.device).manual_seed(SEED)

    def _update(self, network, loss, optimizer):
        network.zero_grad()
        loss.backward()
        variables = network.trainable_variables
        grads = [v.value.grad for v in variables]
        with self.torch.no_grad():
            optimizer.apply(grads, variables)

    def step(self, real, labels):
        torch, spec, G, D, m = self.torch, self.spec, self.G, self.D, self.model
        batch = real.shape[0]
        for _ in range(spec.d_steps):
            noise = torch.randn(batch, spec.latent_dim, generator=self.rng, device=self.device)
            fake = G(self.g_inputs(noise, labels), training=True).detach()
            real_logits = D(self.d_inputs(real, labels), training=True)
            fake_logits = D(self.d_inputs(fake, labels), training=True)
            d_loss = m.discriminator_loss(real_logits, fake_logits)
            if spec.gp_weight is not None:
                alpha = torch.rand(batch, 1, 1, 1, generator=self.rng, device=self.device)
                between = (real + alpha * (fake - real)).requires_grad_(True)
                scores = D(self.d_inputs(between, labels), training=True).sum()
                (grads,) = torch.autograd.grad(scores, between, create_graph=True)
                slopes = torch.sqrt(grads.square().sum(dim=(1, 2, 3)) + 1e-10)
                d_loss = d_loss + spec.gp_weight * (slopes - 1.0).square().mean()
            self._update(D, d_loss, self.d_opt)
            if spec.clip_value is not None:
                with torch.no_grad():
                    for v in D.trainable_variables:
                        v.value.clamp_(-spec.clip_value, spec.clip_value)
        noise = torch.randn(batch, spec.latent_dim, generator=self.rng, device=self.device)
        fake = G(self.g_inputs(noise, labels), training=True)
        g_loss = m.generator_loss(D(self.d_inputs(fake, labels), training=True))
        self._update(G, g_loss, self.g_opt)  # fills D's .grad too; D.zero_grad() clears it
        return d_loss.detach(), g_loss.detach()

    def as_tensor(self, array):
        return self.torch.from_numpy(array).to(self.device)


class NativeJax(NativeVariant, JaxLoop):
    def __init__(self, spec, model):
        super().__init__(spec, model)
        import jax

        self.jax = jax
        values = lambda vs: [v.value for v in vs]
        self.state = (
            values(self.G.trainable_variables), values(self.G.non_trainable_variables),
            values(self.D.trainable_variables), values(self.D.non_trainable_variables),
            values(self.g_opt.variables), values(self.d_opt.variables),
            jax.random.key(SEED),
        )
        self.jitted_step = jax.jit(self._step, donate_argnums=0)

    def _d_loss(self, d_tv, d_ntv, real, fake, labels, alpha):
        real_logits, d_ntv = self.D.stateless_call(d_tv, d_ntv, self.d_inputs(real, labels), training=True)
        fake_logits, d_ntv = self.D.stateless_call(d_tv, d_ntv, self.d_inputs(fake, labels), training=True)
        loss = self.model.discriminator_loss(real_logits, fake_logits)
        if self.spec.gp_weight is not None:
            jnp = self.jax.numpy

            def score(between, d_ntv):
                scores, d_ntv = self.D.stateless_call(d_tv, d_ntv, self.d_inputs(between, labels), training=True)
                return jnp.sum(scores), d_ntv

            grads, d_ntv = self.jax.grad(score, has_aux=True)(real + alpha * (fake - real), d_ntv)
            slopes = jnp.sqrt(jnp.sum(jnp.square(grads), axis=(1, 2, 3)) + 1e-10)
            loss = loss + self.spec.gp_weight * jnp.mean(jnp.square(slopes - 1.0))
        return loss, d_ntv

    def _g_loss(self, g_tv, g_ntv, d_tv, d_ntv, noise, labels):
        fake, g_ntv = self.G.stateless_call(g_tv, g_ntv, self.g_inputs(noise, labels), training=True)
        fake_logits, d_ntv = self.D.stateless_call(d_tv, d_ntv, self.d_inputs(fake, labels), training=True)
        return self.model.generator_loss(fake_logits), (g_ntv, d_ntv)

    def _step(self, state, real, labels):
        jax, spec = self.jax, self.spec
        jnp = jax.numpy
        g_tv, g_ntv, d_tv, d_ntv, g_opt, d_opt, key = state
        batch = real.shape[0]
        for _ in range(spec.d_steps):
            key, sub, sub_alpha = jax.random.split(key, 3)
            noise = jax.random.normal(sub, (batch, spec.latent_dim))
            alpha = jax.random.uniform(sub_alpha, (batch, 1, 1, 1))
            fake, g_ntv = self.G.stateless_call(g_tv, g_ntv, self.g_inputs(noise, labels), training=True)
            (d_loss, d_ntv), grads = jax.value_and_grad(self._d_loss, has_aux=True)(
                d_tv, d_ntv, real, jax.lax.stop_gradient(fake), labels, alpha)
            d_tv, d_opt = self.d_opt.stateless_apply(d_opt, grads, d_tv)
            if spec.clip_value is not None:
                d_tv = [jnp.clip(v, -spec.clip_value, spec.clip_value) for v in d_tv]
        key, sub = jax.random.split(key)
        noise = jax.random.normal(sub, (batch, spec.latent_dim))
        (g_loss, (g_ntv, d_ntv)), grads = jax.value_and_grad(self._g_loss, has_aux=True)(
            g_tv, g_ntv, d_tv, d_ntv, noise, labels)
        g_tv, g_opt = self.g_opt.stateless_apply(g_opt, grads, g_tv)
        return (g_tv, g_ntv, d_tv, d_ntv, g_opt, d_opt, key), (d_loss, g_loss)
