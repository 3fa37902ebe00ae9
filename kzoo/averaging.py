"""Weight averaging of a network: an exponential moving average kept as non-trainable weights.

Used for the generator (`ema_decay`): samples from averaged weights are smoother than from the
last step's (Karras et al. 2018; Yazici et al. 2019). The copy's trainable weights average the
network's; its other weights (batch-normalization statistics, seeds) are *copied*, not averaged:
averaged statistics lag behind the averaged weights and collapsed kzoo's DCGAN at decay 0.999
(../shared/notes/sample-quality-measurements.md; StudioGAN copies them too). Updates are
variable assignments only, so JAX threads them like any other state.
"""

from keras import ops


def averaged_copy(network, build):
    """A non-trainable copy of `network` (built by `build()`, the same architecture), same weights."""
    copy = build()
    copy.trainable = False
    pairs = list(zip(copy.weights, network.weights))
    if len(copy.weights) != len(network.weights) or any(a.shape != b.shape for a, b in pairs):
        raise ValueError(f"{network.name}: a second build has other weights; it cannot be averaged")
    for target, source in pairs:
        # A copy: assigning `source` itself makes both variables hold one JAX buffer, which
        # Keras's jitted step donates twice ("Attempt to donate the same buffer twice").
        target.assign(ops.copy(source.value))
    return copy


def warmed_up_decay(decay, updates):
    """min(decay, (1 + t) / (10 + t)) after t updates: early averages do not drag the first weights
    along for thousands of steps (the schedule of TensorFlow's ExponentialMovingAverage)."""
    t = ops.cast(updates, "float32")
    return ops.minimum(ops.cast(decay, "float32"), (1.0 + t) / (10.0 + t))


def update_average(averaged, network, decay):
    """averaged <- decay * averaged + (1 - decay) * network for trainable weights; copy the rest."""
    for target, source in zip(averaged.weights, network.weights):
        if source.trainable:
            value = ops.add(ops.multiply(target.value, decay), ops.multiply(source.value, 1.0 - decay))
            target.assign(ops.cast(value, target.dtype))
        else:
            target.assign(source.value)
