"""Loss terms shared by the autoencoders and image-to-image models, in `keras.ops`."""

from keras import ops


def cross_entropy_to(logits, target):
    """Mean binary cross-entropy of logits (any shape: one per image or per patch) against a constant."""
    labels = ops.full_like(logits, target)
    return ops.mean(ops.binary_crossentropy(labels, logits, from_logits=True))


def squares_to(outputs, target):
    """Mean squared distance of outputs to a constant: the least-squares GAN losses (Mao et al. 2017)."""
    return ops.mean(ops.square(outputs - target))


def mean_absolute(x, y):
    """Mean absolute difference (L1) of two batches."""
    return ops.mean(ops.abs(x - y))
