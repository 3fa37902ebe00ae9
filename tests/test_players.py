"""The players' step on whichever backend KERAS_BACKEND selects: any number of players and
optimizers, what a loss sees, input gradients, and the checks that keep a model honest."""

import keras
import numpy as np
import pytest
from keras import layers, ops

import kzoo
from kzoo import backend
from kzoo.errors import HyperparameterError
from kzoo.players import Player, PlayersModel, Step


class ThreePlayers(PlayersModel):
    """A toy model: three networks, three players, three optimizers, in update order.

    `a` regresses the data onto 1; `b` (two updates per step) regresses the data onto what `a`
    made (shared, gradient stopped) and reports a term; `c` regresses noise from the seed
    generator, drawn in its `prepare`, onto 0.
    """

    hyperparameters = {"units": 3}

    def build_networks(self):
        def network(name):
            inputs = keras.Input((self.units,))
            return keras.Model(inputs, layers.Dense(self.units)(inputs), name=name)

        self.a, self.b, self.c = network("a"), network("b"), network("c")

    def default_optimizers(self):
        return {name: keras.optimizers.Adam(1e-2) for name in ("a", "b", "c")}

    def players(self):
        return [
            Player("a", networks=["a"], loss=self.loss_a),
            Player("b", networks=["b"], loss=self.loss_b, steps=2, reports=["b_gap"]),
            Player("c", networks=["c"], loss=self.loss_c, prepare=self.draw_noise),
        ]

    def loss_a(self, step):
        made = self.a(step.x)
        step.share("made_by_a", made)
        return ops.mean(ops.square(made - 1.0))

    def loss_b(self, step):
        gap = ops.mean(ops.square(self.b(step.x) - step.made_by_a))
        step.log("b_gap", 2.0 * gap)
        return gap

    def draw_noise(self, step):
        return {"noise": keras.random.normal((step.batch_size, self.units), seed=self.seed_generator)}

    def loss_c(self, step):
        return ops.mean(ops.square(self.c(step.noise)))


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_three_players_three_optimizers(mode):
    model = ThreePlayers(seed=0)
    model.compile(run_eagerly=mode == "eager", jit_compile=False if mode == "eager" else "auto")
    weights = {name: [np.array(v.numpy()) for v in getattr(model, name).weights] for name in "abc"}
    seed0 = np.array(model.seed_generator.state.numpy())
    x = np.random.default_rng(0).standard_normal((12, 3)).astype("float32")

    history = model.fit(x, batch_size=4, epochs=1, verbose=0, shuffle=False)

    assert set(history.history) == {"a_loss", "b_loss", "b_gap", "c_loss"}
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    # The reported term is what the loss logged: twice b's loss, averaged alike.
    np.testing.assert_allclose(history.history["b_gap"][-1], 2 * history.history["b_loss"][-1], rtol=1e-5)
    iterations = {key: int(opt.iterations.numpy()) for key, opt in model.optimizers.items()}
    assert iterations == {"a": 3, "b": 6, "c": 3}  # 3 batches; b updates twice per step
    assert int(model.optimizer.iterations.numpy()) == 3
    for name in "abc":
        assert all(not np.array_equal(w, v.numpy()) for w, v in zip(weights[name], getattr(model, name).weights))
    # c's noise came from the seed generator, once per step: it differs between steps.
    assert (np.asarray(model.seed_generator.state.numpy()) - seed0).tolist() == [0, 3]


def test_every_optimizer_is_saved_and_restored(tmp_path):
    model = ThreePlayers(seed=0)
    model.compile()
    model.fit(np.ones((4, 3), "float32"), batch_size=4, verbose=0)
    model.save(tmp_path / "three.keras")
    restored = kzoo.load_model(tmp_path / "three.keras")
    for key in "abc":
        for a, b in zip(model.optimizers[key].variables, restored.optimizers[key].variables):
            np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b.numpy()), rtol=1e-6)
    restored.fit(np.ones((4, 3), "float32"), batch_size=4, verbose=0)
    assert int(restored.optimizers["b"].iterations.numpy()) == 4


class Unreported(ThreePlayers):
    def loss_b(self, step):
        step.log("not_declared", 1.0)
        return super().loss_b(step)


def test_a_term_the_player_does_not_report_is_an_error():
    model = Unreported()
    model.compile()
    with pytest.raises(ValueError, match="'not_declared', which is not among its reports"):
        model.fit(np.ones((4, 3), "float32"), batch_size=4, verbose=0)


def test_input_gradient_is_exact_and_differentiable_again():
    """f(x) = sum(w x^3): grad_x f = 3 w x^2, and d/dw sum((grad_x f)^2) = 18 w x^4.

    The second gradient is taken by `backend.minimize` (one SGD step of rate 1), as a penalty's
    is inside a player's update; so the input gradient must be differentiable again.
    """
    w = keras.Variable(np.array([0.5, -1.0, 2.0], "float32"))
    x = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 3.0]], "float32")

    grad = backend.input_gradient(lambda t: ops.sum(w * t**3), x)
    np.testing.assert_allclose(ops.convert_to_numpy(grad), 3 * w.numpy() * x**2, rtol=1e-6)

    optimizer = keras.optimizers.SGD(1.0)
    optimizer.build([w])
    w0 = np.array(w.numpy())

    def objective():
        g = backend.input_gradient(lambda t: ops.sum(w * t**3), ops.convert_to_tensor(x))
        return ops.sum(ops.square(g)), {}

    loss, _ = backend.minimize(objective, [w], optimizer, [w] + optimizer.variables)
    np.testing.assert_allclose(float(loss), np.sum((3 * w0 * x**2) ** 2), rtol=1e-5)
    np.testing.assert_allclose(w.numpy(), w0 - np.sum(18 * w0 * x**4, axis=0), rtol=1e-5)


def test_models_that_differentiate_twice_say_so_when_compiled_for_torch():
    model = kzoo.create_model("wgan-gp", width=2)
    if keras.backend.backend() == "torch":
        with pytest.raises(HyperparameterError, match="differentiates twice.*jit_compile=False"):
            model.compile(jit_compile=True)
    else:
        model.compile(jit_compile=True)  # XLA differentiates twice
        assert model.compiled
    assert kzoo.create_model("dcgan", width=2, r1_gamma=1.0).needs_second_order
    assert not kzoo.create_model("dcgan", width=2).needs_second_order


def test_step_fields():
    step = Step(real=1, labels=None)
    assert step.real == 1 and step.labels is None
    value, aux = step._run(lambda s: (s.log("t", 2), s.share("u", 3), 5)[-1])
    assert value == 5 and aux == {"log": {"t": 2}, "share": {"u": 3}}


def test_player_replace_keeps_the_rest():
    player = Player("d", networks=["discriminator"], loss=len, steps=3)
    changed = player.replace(reports=("penalty",))
    assert changed.reports == ("penalty",) and changed.steps == 3 and changed.optimizer_key == "d"


class WithOwnState(ThreePlayers):
    """A model with a weight of its own (not in a network): counted up by a player's after_update."""

    def build_networks(self):
        super().build_networks()
        self.updates_seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="updates_seen")

    def players(self):
        a, b, c = super().players()
        return [a.replace(after_update=lambda: self.updates_seen.assign_add(1.0)), b, c]


def test_a_models_own_weights_are_threaded_and_saved(tmp_path):
    model = WithOwnState(seed=0)
    model.compile()
    model.fit(np.ones((8, 3), "float32"), batch_size=4, verbose=0)
    assert float(model.updates_seen.numpy()) == 2.0  # threaded through the step on JAX too
    model.save(tmp_path / "own.keras")
    assert float(kzoo.load_model(tmp_path / "own.keras").updates_seen.numpy()) == 2.0
