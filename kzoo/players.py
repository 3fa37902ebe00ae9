"""`PlayersModel`: one training step for every generative family, in `keras.ops`, on every backend.

A model declares its *players* in update order. A player is a name, the networks it trains,
its optimizer, its loss and its number of updates per step:

    def players(self):
        return [
            Player("d", networks=["discriminator"], loss=self.critic_loss, steps=5,
                   prepare=self.make_fakes, reports=["gradient_penalty"]),
            Player("g", networks=["generator"], loss=self.generator_loss_of_step),
        ]

One shared `train_step` runs them: for each player, `steps` times, `prepare(step)` (outside
the differentiated function: noise, fakes) then one gradient step of the player's optimizer on
its networks' weights for `loss(step)`, then `after_update()` (clipping, averaging: variable
assignments only, so that JAX can thread them). A loss is written in `keras.ops` and reads what
the step knows from its argument, a `Step`: the batch, what `prepare` drew, what earlier
players shared (gradients stopped); it reports extra terms with `step.log(name, value)`.

All optimizers sit behind `model.optimizer` (a `PlayerOptimizers`), so JAX threads their state
and `.keras` files save it. History gets one `<player>_loss` per player plus every reported term.
How a gradient is taken on each backend is `kzoo.backend`'s business, nowhere else.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
from typing import Callable, Sequence

import keras
from keras import ops

from kzoo import backend
from kzoo import hyperparameters as hp
from kzoo.errors import HyperparameterError, KzooError
from kzoo.player_optimizers import PlayerOptimizers

# `kzoo.input_gradient`, under the name the models import it by (its body is the backend's).
input_gradient = backend.input_gradient


@dataclasses.dataclass(frozen=True)
class Player:
    """One participant of the training step.

    Attributes:
        name: short name; the history reports its loss as `<name>_loss`.
        networks: attribute names of the model's networks whose trainable weights it updates.
        loss: `loss(step) -> scalar`, in `keras.ops`, differentiated with respect to those weights.
        optimizer: the key of its optimizer in `model.optimizers` (default: `name`).
        steps: updates per training step.
        prepare: `prepare(step) -> dict`, run before each update outside the differentiated
            function; the dict's values (gradients stopped) become attributes of `step`.
        after_update: `after_update()`, run after each update: variable assignments only.
        reports: names of the extra terms the loss reports with `step.log(name, value)`.
    """

    name: str
    networks: Sequence[str]
    loss: Callable
    optimizer: str | None = None
    steps: int = 1
    prepare: Callable | None = None
    after_update: Callable | None = None
    reports: Sequence[str] = ()

    @property
    def optimizer_key(self):
        return self.optimizer or self.name

    def replace(self, **changes):
        """A copy with some fields changed: `d.replace(reports=("penalty",))`."""
        return dataclasses.replace(self, **changes)


class Step:
    """What one training step knows, handed to every player's `prepare` and `loss`.

    Its attributes are set by the model's `begin_step` (the batch, e.g. `real` and `labels`), by
    `prepare` hooks and by what earlier players `share`; `batch_size` is the batch's size.
    """

    def __init__(self, **fields):
        self._logged, self._shared = {}, {}
        for name, value in fields.items():
            setattr(self, name, value)

    def log(self, name, value):
        """Report an extra term of the current loss (it must be one of the player's `reports`)."""
        self._logged[name] = value

    def share(self, name, value):
        """Hand a tensor to the later players: after this update it is `step.<name>`, gradients stopped."""
        self._shared[name] = value

    def _run(self, loss):
        """(loss(self), {"log": ..., "share": ...}): what `backend.minimize` differentiates."""
        self._logged, self._shared = {}, {}
        value = loss(self)
        return value, {"log": dict(self._logged), "share": dict(self._shared)}


class PlayersModel(keras.Model):
    """Base class of every kzoo model: networks, players, one shared `train_step`.

    Subclasses provide:
      - `build_networks()`: create the networks as attributes (`self.encoder = ...`);
      - `players()`: the players, in update order (see `Player`);
      - `default_optimizers()`: a dict of optimizer key -> Keras optimizer, one per key the players
        name (`Player.optimizer_key`);
      - optionally `begin_step(data)`: a `Step` from one batch (default: `x`, `y`, `batch_size`);
      - `hyperparameters`: a dict of name -> default or `kzoo.hyperparameters.Hyperparameter`,
        merged with the base classes';
      - optionally `sample(num, seed)` (models that make images from noise) and
        `preview_grid(...)` (what every epoch's sample grid and `kzoo sample` show).

    The first line of the class docstring is the model's description in `kzoo list`. What a model
    is and how kzoo feeds, shows and scores it is declared by the class attributes below, each
    with its default here; `kzoo train`, `sample`, `evaluate`, `info` and `list` read them and
    never probe a model for what it might have.
    """

    hyperparameters = {
        "seed": hp.Int(None, min=0, optional=True, help="seed of the noise (and of weights with kzoo train)"),
    }
    # -------- what the model is: declared once, read by kzoo train, sample, evaluate, info and list
    paper = None  # the paper it implements, for `kzoo list` and `kzoo info`
    # Whether `fit(x, y)` feeds class labels (the `num_classes` hyperparameter says how many).
    conditional = False
    num_classes = None
    # What `kzoo train` feeds `fit`: "images" (x, with labels if conditional) or "pairs" (a, b:
    # image-to-image models, `kzoo.data.pairs`).
    trains_on = "images"
    # Image height and width must be multiples of this (two stride-2 layers need 4).
    size_multiple = 1
    # Whether a loss differentiates through an input gradient (a gradient penalty): torch.compile
    # cannot, so `compile(jit_compile=True)` then refuses on torch. A class attribute or a property.
    needs_second_order = False
    # What `kzoo train` trains without --epochs / --steps-per-epoch: `default_epochs` epochs of
    # `default_steps_per_epoch` steps (None: one pass over the data; mnist-5k: 78 steps at batch 64).
    # An epoch ends with a checkpoint and a sample grid: fast models take longer epochs.
    default_epochs = 5
    default_steps_per_epoch = None

    @classmethod
    def default_steps(cls, dataset_size=5000, batch_size=64):
        """Generator steps of a default `kzoo train` run (mnist-5k has 5,000 images)."""
        return int(cls.default_epochs) * int(cls.default_steps_per_epoch or dataset_size // batch_size)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        clashes = [k for k in cls.__dict__.get("hyperparameters", {}) if hasattr(keras.Model, k)]
        if clashes:
            raise TypeError(f"{cls.__name__}: hyperparameter names clash with keras.Model: {clashes}")
        # Every subclass, plugins' included, deserializes from `.keras` files without
        # custom_objects, under a name that cannot collide with another package's class.
        keras.saving.register_keras_serializable(package=cls.__module__, name=cls.__qualname__)(cls)

    @classmethod
    def hyperparameter_specs(cls):
        """name -> `Hyperparameter` (its default, what it accepts), base classes' included."""
        return hp.merged(cls)

    @classmethod
    def default_hyperparameters(cls):
        """All hyperparameters of this class with their defaults, base classes' included."""
        return {name: spec.default for name, spec in cls.hyperparameter_specs().items()}

    @classmethod
    def check_hyperparameters(cls, values):
        """`values` checked and converted (unknown names and bad values raise HyperparameterError)."""
        specs = cls.hyperparameter_specs()
        unknown = sorted(set(values) - set(specs))
        if unknown:
            raise HyperparameterError(
                f"{cls.__name__} has no hyperparameter {', '.join(map(repr, unknown))}; "
                f"it takes: {', '.join(sorted(specs))}"
            )
        checked = {name: specs[name].check(name, value, cls.__name__) for name, value in values.items()}
        return cls.check_hyperparameter_values({**cls.default_hyperparameters(), **checked})

    @classmethod
    def check_hyperparameter_values(cls, values):
        """Checks that involve several hyperparameters, or the model's own rules; returns `values`.

        Here: the image size against `size_multiple`. An override calls this one first.
        """
        if "image_shape" in values and cls.size_multiple > 1:
            height, width, _ = values["image_shape"]
            m = cls.size_multiple
            if height % m or width % m:
                raise HyperparameterError(
                    f"{cls.__name__} takes images whose height and width are multiples of {m}; got {height}x{width}"
                )
        return values

    def __init__(self, name=None, **hyperparameters):
        values = self.check_hyperparameters(hyperparameters)
        super().__init__(name=name or _snake_case(type(self).__name__))
        self._hyperparameter_values = values
        for key, value in values.items():
            setattr(self, key, value)
        self.seed_generator = keras.random.SeedGenerator(values["seed"], name="noise_seed")
        self.build_networks()
        self._trackers = self._make_trackers()
        # No symbolic build is possible without `call` inputs; the networks are built already.
        self.built = True

    def _make_trackers(self):
        trackers = {}
        for player in self.players():
            for name in (f"{player.name}_loss", *player.reports):
                if name in trackers:
                    raise ValueError(f"{type(self).__name__}: two players report {name!r}")
                trackers[name] = keras.metrics.Mean(name=name)
        return trackers

    # ---------------------------------------------------------------- subclass hooks
    def build_networks(self):
        """Create the model's networks as attributes (`self.encoder = ...`), once, at construction.

        The hyperparameters are attributes already (`self.image_shape`, `self.width`, ...). Every
        network held here is saved in `.keras` files and can be named by a `Player`.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement build_networks()")

    def players(self):
        """The participants of one training step, in update order.

        Returns:
            A list of `Player`s. Called at construction and by `compile()`, so it must be cheap
            and always return the same players.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement players()")

    def default_optimizers(self):
        """The optimizers `compile()` uses unless told otherwise.

        Returns:
            A dict of optimizer key -> a new Keras optimizer instance, with one entry for every
            key the players name (`Player.optimizer_key`), and no other.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement default_optimizers()")

    def default_optimizers_by_key(self):
        """`default_optimizers()` checked: a dict of optimizer key -> optimizer, one per player's key.

        Raises HyperparameterError (one line, naming the hook) for anything else.
        """
        return self.checked_optimizers(self.default_optimizers())

    def checked_optimizers(self, optimizers, hook="default_optimizers()"):
        """`optimizers` (what `hook` returned) if it is a dict of key -> Keras optimizer whose keys are
        the players' optimizer keys; else a HyperparameterError saying what is wrong."""
        owner = f"{type(self).__name__}.{hook}"
        if not isinstance(optimizers, dict):
            raise HyperparameterError(
                f"{owner} must return a dict of optimizer key -> keras optimizer; got a {type(optimizers).__name__}"
            )
        for key, optimizer in optimizers.items():
            if not isinstance(optimizer, keras.optimizers.Optimizer):
                raise HyperparameterError(
                    f"{owner} must return a dict of optimizer key -> keras optimizer; its {key!r} is "
                    f"{optimizer!r} (a {type(optimizer).__name__})"
                )
        wanted = list(dict.fromkeys(player.optimizer_key for player in self.players()))
        missing = [key for key in wanted if key not in optimizers]
        unused = [key for key in optimizers if key not in wanted]
        if missing or unused:
            parts = ([f"no optimizer for {', '.join(map(repr, missing))}"] if missing else []) + (
                [f"no player uses {', '.join(map(repr, unused))}"] if unused else [])
            raise HyperparameterError(
                f"{owner}: {' and '.join(parts)}; the players' optimizer keys are {', '.join(map(repr, wanted))}"
            )
        return dict(optimizers)

    def begin_step(self, data):
        """The `Step` that one batch begins.

        Args:
            data: the batch as Keras hands it to `train_step`: `x`, `(x, y)` or `(x, y, weights)`.

        Returns:
            A `Step`; here with `x`, `y` (None without labels) and `batch_size`.
        """
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return Step(x=x, y=y, batch_size=ops.shape(keras.tree.flatten(x)[0])[0])

    # ---------------------------------------------------------------- what users see of a model
    def sample(self, num, seed=0, labels=None, batch_size=250, raw=False):
        """`num` images from numpy noise `seed` (the same images on every backend): models that make
        images from noise override this; the others say so in one line."""
        raise KzooError(f"{self.name} does not make images from noise")

    def preview_grid(self, num=64, seed=0, data=None, label=None, code=None, raw=False):
        """What an epoch's sample grid and `kzoo sample` show: (images, images per row).

        Args:
            num: about how many images.
            seed: the numpy noise seed (the same grid on every backend).
            data: the training data `fit` was given, for models that show their inputs
                (image-to-image models); None from `kzoo sample`.
            label: conditional models: only this class.
            code: models with latent codes (InfoGAN): the code laid out along each row.
            raw: the raw generator instead of its weight average.

        The default: `sample(num)` in a square grid.
        """
        if code is not None:
            raise KzooError(f"{self.name} has no latent codes: --code is for models such as infogan")
        if label is not None:
            raise KzooError(f"{self.name} is not conditional: it takes no --label")
        return self.sample(num, seed=seed, raw=raw), max(1, round(math.sqrt(num)))

    # ---------------------------------------------------------------- training
    def compile(self, optimizers=None, jit_compile="auto", **kwargs):
        """Compile with one optimizer per key of `default_optimizers()` (`optimizers` overrides some).

        `jit_compile="auto"` means XLA on TensorFlow (also on a CPU, unlike Keras's "auto") and
        JAX, eager on torch. Other keyword arguments (`run_eagerly`, `steps_per_execution`) go to
        `keras.Model.compile`. There is no `loss`: the players' losses define it.
        """
        jit_compile = backend.resolve_jit_compile(jit_compile)
        if self.needs_second_order and not backend.supports_second_order(jit_compile):
            raise HyperparameterError(
                f"{self.name} differentiates twice (a gradient penalty), which torch.compile cannot: "
                "compile with jit_compile=False (the default on torch)"
            )
        kwargs["jit_compile"] = jit_compile
        chosen = self.default_optimizers_by_key()
        for key, optimizer in (optimizers or {}).items():
            if key not in chosen:
                raise ValueError(f"{self.name} has no optimizer {key!r}; it has: {', '.join(chosen)}")
            if optimizer is not None:
                chosen[key] = keras.optimizers.get(optimizer)
        if len({id(o) for o in chosen.values()}) < len(chosen):
            raise ValueError("each optimizer key needs its own optimizer instance, not one shared")
        # An explicit optimizer also keeps Keras from building a default RMSprop on every weight.
        super().compile(optimizer=PlayerOptimizers(chosen), **kwargs)
        for key, optimizer in chosen.items():
            optimizer.build(self._variables_of_optimizer(key))
        self.optimizer.build()

    def _variables_of_optimizer(self, key):
        variables = []
        for player in self.players():
            if player.optimizer_key == key:
                variables += self.player_variables(player)
        return _unique(variables)

    def player_variables(self, player):
        """The trainable weights `player` updates (its networks', in order, each once)."""
        return _unique([v for name in player.networks for v in getattr(self, name).trainable_variables])

    @property
    def optimizers(self):
        """Optimizer key -> optimizer (after `compile`)."""
        return self.optimizer.optimizers

    def fit(self, *args, **kwargs):
        """`keras.Model.fit`, same arguments; on TensorFlow, arrays are fed without tf.data's autotuning.

        See `kzoo.backend.tensorflow.data_adapter.fit_arguments`: with it on, every epoch's end
        waits for a sleeping tf.data thread, up to half the epoch.
        """
        bound = inspect.signature(super().fit).bind(*args, **kwargs)
        bound.apply_defaults()
        self.check_fit_data(bound.arguments["x"], bound.arguments["y"])
        return super().fit(**backend.fit_arguments(dict(bound.arguments)))

    def check_fit_data(self, x, y):
        """Reject data the model cannot train on before Keras starts (on JAX, an error inside the
        first step leaves the model's variables emptied: Keras 3.15 frees them during `fit`)."""

    @property
    def metrics(self):
        # Listed here so that Keras resets them at each epoch and threads them on JAX.
        return list(self._trackers.values())

    def train_step(self, *args):
        return backend.run_train_step(self, self._players_step, *args)

    def _players_step(self, data):
        step = self.begin_step(data)
        # Everything a loss may read: weights, statistics, seeds, and the optimizers' state
        # (a loss may depend on the step count).
        state_variables = self.trainable_variables + self.non_trainable_variables + self.optimizer.variables
        for player in self.players():
            variables = self.player_variables(player)
            optimizer = self.optimizers[player.optimizer_key]
            for _ in range(int(player.steps)):
                if player.prepare is not None:
                    for key, value in (player.prepare(step) or {}).items():
                        setattr(step, key, _stopped(value))
                loss, aux = backend.minimize(
                    lambda player=player: step._run(player.loss), variables, optimizer, state_variables
                )
                if player.after_update is not None:
                    player.after_update()
                self._trackers[f"{player.name}_loss"].update_state(loss)
                for name, value in aux["log"].items():
                    if name not in player.reports:
                        raise ValueError(
                            f"{self.name}: player {player.name!r} logged {name!r}, which is not among its reports"
                        )
                    self._trackers[name].update_state(value)
                for name, value in aux["share"].items():
                    setattr(step, name, _stopped(value))
        self.optimizer.iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    # ---------------------------------------------------------------- saving
    def save(self, filepath, *args, **kwargs):
        """`keras.Model.save`; on JAX and torch without importing TensorFlow where it is installed too
        (`kzoo.backend.saving_scope`: a run on one backend prints nothing of another)."""
        with backend.saving_scope():
            return super().save(filepath, *args, **kwargs)

    def get_config(self):
        config = {"name": self.name}
        for key, value in self._hyperparameter_values.items():
            config[key] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def from_config(cls, config):
        # A file saved before a hyperparameter existed gets the value it had then, not today's
        # tuned default (dcgan's generator averaging would otherwise appear in a 0.1 checkpoint).
        specs = cls.hyperparameter_specs()
        missing = {name: spec.absent for name, spec in specs.items() if name not in config}
        return cls(**{**missing, **config})

    # Keras saves no seed-generator state; without this a resumed run would replay the noise
    # sequence of its first epochs. Weights a model adds itself (`self.add_weight`, state JAX
    # threads) are saved beside it, as Keras's own Layer saves them; the networks save theirs.
    def save_own_variables(self, store):
        store["noise_seed"] = self.seed_generator.state.numpy()
        for i, variable in enumerate(self._own_variables()):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        if "noise_seed" in store:
            self.seed_generator.state.assign(store["noise_seed"])
        for i, variable in enumerate(self._own_variables()):
            if str(i) in store:
                variable.assign(store[str(i)])

    def _own_variables(self):
        return self._trainable_variables + self._non_trainable_variables

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {"optimizers": {key: keras.optimizers.serialize(opt) for key, opt in self.optimizers.items()}}

    def compile_from_config(self, config):
        if not config:
            return
        self.compile(optimizers={key: keras.optimizers.deserialize(v) for key, v in config["optimizers"].items()})

    @property
    def hyperparameter_values(self):
        """The hyperparameters this model was built with."""
        return dict(self._hyperparameter_values)


def _stopped(value):
    return keras.tree.map_structure(lambda v: None if v is None else ops.stop_gradient(v), value)


def _unique(variables):
    seen, unique = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            unique.append(v)
    return unique


def _snake_case(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
