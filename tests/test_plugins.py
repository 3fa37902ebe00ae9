"""The plugin contract, as a third party meets it: a model written from the README's plugin guide alone,
and the one-line errors a hook of the wrong form gets. On the backend of the tox environment.

`plugins/kzoo-multiscale-gan` adds a player (a second discriminator) to the built-in DCGAN; the tests
install it like the other example plugins and drive it through the command line.
"""

import json

import keras
import numpy as np
import pytest
from conftest import assert_one_line_error, kzoo_cli

import kzoo
import kzoo.backend
from kzoo.errors import HyperparameterError
from kzoo.models import DCGAN

TINY = ["--set", "width=2", "--steps-per-epoch", "2", "--batch-size", "8", "--samples", "4"]


def _iterations(model):
    return {key: int(optimizer.iterations.numpy()) for key, optimizer in model.optimizers.items()}


def test_a_plugin_that_adds_a_discriminator_trains_resumes_and_samples(tmp_path):
    run = tmp_path / "run"
    code, out = kzoo_cli("train", "multiscale-dcgan", "--out", run, "--epochs", 1, "--seed", 0, *TINY)
    assert code == 0, out
    header = (run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"d_loss", "coarse_d_loss", "g_loss"} <= set(header)
    first = kzoo.load_model(run)
    assert _iterations(first) == {"discriminator": 2, "coarse_discriminator": 2, "generator": 2}
    coarse_before = [np.array(v.numpy()) for v in first.coarse_discriminator.trainable_variables]
    kzoo.backend.set_seed(0)  # as kzoo train --seed 0 does before it builds the model: its initial weights
    fresh = kzoo.create_model("multiscale-dcgan", width=2, seed=0)
    moved = [not np.allclose(a, b.numpy()) for a, b in zip(coarse_before, fresh.coarse_discriminator.trainable_variables)]
    assert all(moved)  # the third player learned (its weights left their initial values)

    code, out = kzoo_cli("train", "--resume", run, "--epochs", 1)
    assert code == 0, out
    resumed = kzoo.load_model(run)
    # Every optimizer's state came back and went on: 2 more updates each.
    assert _iterations(resumed) == {"discriminator": 4, "coarse_discriminator": 4, "generator": 4}
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(coarse_before, resumed.coarse_discriminator.trainable_variables))

    code, out = kzoo_cli("sample", run, "--num", 4, "--seed", 1, "--out", tmp_path / "grid.png")
    assert code == 0 and (tmp_path / "grid.png").is_file(), out
    np.testing.assert_allclose(resumed.sample(4, seed=1), kzoo.load_model(run).sample(4, seed=1))
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "multiscale-dcgan" and config["resumed"][0]["at_epoch"] == 1


def test_the_generator_answers_to_both_discriminators():
    """Its loss is DCGAN's plus coarse_weight x its loss against the coarse discriminator."""
    model = kzoo.create_model("multiscale-dcgan", width=2, seed=0)
    real = kzoo.data.load("mnist-5k")[0][:8]
    noise = np.random.default_rng(0).standard_normal((8, model.latent_dim)).astype("float32")
    step = kzoo.Step(real=keras.ops.convert_to_tensor(real), labels=None, batch_size=8,
                     latents={"noise": keras.ops.convert_to_tensor(noise)})
    losses = {}
    for weight in (0.0, 1.0, 3.0):  # the same weights and noise each time: only the coarse term's weight moves
        model.coarse_weight = weight
        losses[weight] = float(keras.ops.convert_to_numpy(model.generator_objective(step)))
    dcgan_alone = float(keras.ops.convert_to_numpy(DCGAN.generator_objective(model, step)))
    coarse = float(keras.ops.convert_to_numpy(
        model.generator_loss(model.judge_coarse(model.generate_fakes(step.latents, None)))))
    np.testing.assert_allclose(losses[0.0], dcgan_alone, rtol=1e-5)
    assert coarse > 0
    np.testing.assert_allclose([losses[1.0] - losses[0.0], losses[3.0] - losses[0.0]], [coarse, 3 * coarse], rtol=1e-4)


class PairedOptimizers(DCGAN):
    """A plugin of kzoo 0.1's style: default_optimizers() returns the (discriminator, generator) pair."""

    def default_optimizers(self):
        return keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.2)


def test_the_two_player_pair_form_is_still_accepted():
    model = PairedOptimizers(width=2)
    model.compile()
    assert {key: type(o).__name__ for key, o in model.optimizers.items()} == {"discriminator": "SGD", "generator": "SGD"}
    assert float(model.g_optimizer.learning_rate.numpy()) == pytest.approx(0.2)


class UnpacksTheDict(DCGAN):
    """A mistake the dict form invites: unpacking super()'s dict, as if it were the pair."""

    def default_optimizers(self):
        d, g = super().default_optimizers()
        return {"discriminator": d, "generator": g}


class ForgetsTheNewPlayer(DCGAN):
    def players(self):
        d, g = super().players()
        return [d, d.replace(name="d2", optimizer="second"), g]


class ThreeInATuple(DCGAN):
    def default_optimizers(self):
        return keras.optimizers.Adam(), keras.optimizers.Adam(), keras.optimizers.Adam()


@pytest.mark.parametrize("cls, fragments", [
    (UnpacksTheDict, ["UnpacksTheDict.default_optimizers() must return a dict of optimizer key -> keras optimizer",
                      "its 'discriminator' is 'discriminator' (a str)"]),
    (ForgetsTheNewPlayer, ["ForgetsTheNewPlayer.default_optimizers(): no optimizer for 'second'",
                           "the players' optimizer keys are 'discriminator', 'second', 'generator'"]),
    (ThreeInATuple, ["ThreeInATuple.default_optimizers() must return a dict", "got a tuple"]),
])
def test_a_wrong_default_optimizers_is_one_line_naming_the_hook(cls, fragments):
    with pytest.raises(HyperparameterError) as excinfo:
        cls(width=2).compile()
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_a_wrong_default_optimizers_is_one_line_through_the_cli(monkeypatch, tmp_path):
    from kzoo.registry import factory

    original = factory.load_model_class  # kzoo.registry hands on the factory's, looked up at each access
    monkeypatch.setattr(factory, "load_model_class",
                        lambda name: ForgetsTheNewPlayer if name == "dcgan" else original(name))
    code, out = kzoo_cli("train", "dcgan", "--out", tmp_path / "run", "--epochs", 1, *TINY)
    assert_one_line_error(code, out, "default_optimizers(): no optimizer for 'second'")
    assert not (tmp_path / "run").exists()
