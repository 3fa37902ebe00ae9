"""`PlayerOptimizers`: every player's optimizer behind the one `model.optimizer` Keras knows.

Keras's JAX trainer threads only `model.optimizer.variables` through its jitted step, and `.keras`
files save only `model.optimizer`: a model with one optimizer per player keeps them all here.
"""

import keras


class PlayerOptimizers(keras.optimizers.Optimizer):
    """Every player's optimizer, by key, behind the one `model.optimizer`.

    Keras's JAX trainer threads only `model.optimizer.variables` through the jitted step:
    optimizers kept as plain model attributes would silently never advance there. This container
    exposes all of them under `variables`; it applies nothing itself. Its own `iterations` counts
    training steps (one per batch), which is what callbacks reading `model.optimizer.iterations`
    expect.
    """

    def __init__(self, optimizers, name="player_optimizers", **kwargs):
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.optimizers = dict(optimizers)

    def build(self, var_list=()):
        # Each player's optimizer is built on that player's weights by PlayersModel.compile.
        super().build([])

    @property
    def variables(self):
        own = self._variables[:]
        for optimizer in self.optimizers.values():
            own += optimizer.variables
        return own

    # The players' optimizers save their own state as children of this one (or of the model) in
    # `.keras` files; this container saves only its own counters.
    def save_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError("PlayerOptimizers applies no gradients; its players do")

    # Two-player models of kzoo 0.1 reached these two directly.
    @property
    def discriminator(self):
        return self.optimizers["discriminator"]

    @property
    def generator(self):
        return self.optimizers["generator"]

    def get_config(self):
        return {
            "name": self.name,
            "optimizers": {key: keras.optimizers.serialize(opt) for key, opt in self.optimizers.items()},
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        serialized = config.get("optimizers") or {
            key: config[key] for key in ("discriminator", "generator") if key in config  # kzoo 0.1
        }
        return cls(
            {key: keras.optimizers.deserialize(value, custom_objects) for key, value in serialized.items()},
            name=config.get("name", "player_optimizers"),
        )
