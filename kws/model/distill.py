"""Knowledge distillation as a Keras 3 model with a custom ``train_step``.

loss = alpha * CE(labels, student) + (1 - alpha) * T**2 * KL(softmax(teacher / T) || softmax(student / T))

Hinton et al. 2015: the soft targets carry the teacher's "dark knowledge" (which wrong
classes are nearly right); T**2 keeps their gradients on the scale of the hard loss. With
no teacher (or alpha = 1) it is plain cross-entropy training, so one code path trains the
teacher, the student alone and the distilled student.

With ``given_logits`` there is no teacher model: each batch brings the teacher's logits third,
(inputs, labels, teacher_logits), computed beforehand by a teacher that hears what the student
does not (the audio, where the student sees MFCC; :mod:`kws.teachers.embedding`).

With ``mixup`` > 0 every batch is blended with a shuffled copy of itself, x = lam * x_i +
(1 - lam) * x_j, lam ~ Beta(mixup, mixup), and the hard loss is blended the same way (Zhang et
al. 2018). Teacher and student see the same blended input, so the soft targets stay
consistent with it: "patient and consistent" distillation (Beyer et al. 2022), which gives the
teacher many more distinct inputs to speak about than the ~2,600 clips there are.

The loss is tracked with our own ``keras.metrics.Mean``: returning ``{"loss": t}`` from a
custom ``train_step`` logs 0.0 in Keras 3.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class Distiller(keras.Model):
    def __init__(self, student: keras.Model, teacher: keras.Model | None = None, *,
                 temperature: float = 4.0, alpha: float = 0.3, mixup: float = 0.0, given_logits: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if given_logits and (teacher is not None or mixup > 0):
            # Logits given with the batch belong to its unblended examples, and to one teacher.
            raise ValueError("given_logits takes neither a teacher model nor mixup")
        self.mixup = float(mixup)
        self.student = student
        self.teacher = teacher
        self.temperature = float(temperature)
        self.given_logits = bool(given_logits)
        self.alpha = 1.0 if teacher is None and not given_logits else float(alpha)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker]

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3's fit() first builds the model from a sample batch that it reduces across
        # replicas; MultiWorkerMirroredStrategy cannot reduce an (inputs, labels) pair, so fit()
        # fails there (keras-team/keras#20585). A built Distiller needs no such build: its
        # train_step tracks its own metrics and kws.train_loop.Loop builds it before fitting.
        if self.built:
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    def _loss(self, labels, student_logits, teacher_logits, mixed_with=None, lam=None):
        hard = keras.losses.sparse_categorical_crossentropy(labels, student_logits, from_logits=True)
        if mixed_with is not None:
            other = keras.losses.sparse_categorical_crossentropy(mixed_with, student_logits, from_logits=True)
            hard = lam * hard + (1.0 - lam) * other
        loss = self.alpha * tf.reduce_mean(hard)
        if teacher_logits is not None and self.alpha < 1.0:
            t = self.temperature
            soft_targets = tf.nn.softmax(teacher_logits / t)
            log_student = tf.nn.log_softmax(student_logits / t)
            kl = tf.reduce_sum(soft_targets * (tf.math.log(soft_targets + 1e-12) - log_student), axis=-1)
            loss += (1.0 - self.alpha) * t * t * tf.reduce_mean(kl)
        return loss

    def train_step(self, data):
        inputs, labels, *given = data
        mixed_with = lam = None
        if self.mixup > 0:
            inputs, labels, mixed_with, lam = mix_batch(inputs, labels, self.mixup)
        if self.given_logits:
            teacher_logits = given[0]
        else:
            teacher_logits = self.teacher(inputs, training=False) if self.teacher is not None else None
        with tf.GradientTape() as tape:
            student_logits = self.student(inputs, training=True)
            loss = self._loss(labels, student_logits, teacher_logits, mixed_with, lam)
            # Under a tf.distribute strategy each replica sees its share of the batch and the
            # gradients are summed across replicas: scale so the sum is the global mean.
            scaled = loss / tf.distribute.get_strategy().num_replicas_in_sync
        variables = self.student.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(labels, student_logits)
        return self._logs()

    def test_step(self, data):
        inputs, labels, *_ = data
        student_logits = self.student(inputs, training=False)
        hard = keras.losses.sparse_categorical_crossentropy(labels, student_logits, from_logits=True)
        self.loss_tracker.update_state(tf.reduce_mean(hard))
        self.accuracy_tracker.update_state(labels, student_logits)
        return self._logs()

    def _logs(self) -> dict:
        logs = {m.name: m.result() for m in self.metrics}
        strategy = tf.distribute.get_strategy()
        if getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)():
            # Across workers Keras 3 averages each log along axis 0, which a scalar lacks
            # (keras-team/keras#20585): give it one; the mean over workers is a scalar again.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs


def mix_batch(inputs, labels, concentration: float, *, lam=None, order=None):
    """Mixup of one batch: (lam * inputs + (1 - lam) * inputs[order], labels, labels[order], lam).

    ``lam`` ~ Beta(concentration, concentration) (drawn as a ratio of two gamma variates) and
    ``order`` a random permutation, unless given (tests pass them).
    """
    if lam is None:
        a = tf.random.gamma([], concentration)
        b = tf.random.gamma([], concentration)
        lam = a / (a + b)
    if order is None:
        order = tf.random.shuffle(tf.range(tf.shape(inputs)[0]))
    lam = tf.cast(lam, inputs.dtype)
    mixed = lam * inputs + (1.0 - lam) * tf.gather(inputs, order)
    return mixed, labels, tf.gather(labels, order), lam
