"""Probe: does a Keras 3 model train under tf.distribute.ParameterServerStrategy?

    python scripts/probe_parameter_server.py             # prints each stage; exits 1 if join() times out
    python scripts/probe_parameter_server.py --plain-tf  # the same loop with a tf.Variable model: the control

An in-process cluster (2 workers and 1 parameter server on loopback, as TensorFlow's parameter
server tutorial builds it), a Keras 3 Dense layer and SGD with momentum built in the strategy's
scope, a ClusterCoordinator scheduling 20 steps of a custom loop. Measured with TF 2.21 and Keras
3.15 on 2 CPUs: the variables are placed on the PS and the 20 steps run, but the Keras optimizer's
`iterations` counter read 13 and 16 after 20 applied steps (two runs): its increment is not atomic under
the asynchronous workers (keras-team/keras#18624: Keras 3's optimizer variables lack the
aggregation parameter-server training needs; "Parameter server training is not supported in
Keras 3"). Learning-rate schedules and Adam's bias correction read that counter, so zoo's runner
refuses the strategy (zoo/training/strategy.py). `--plain-tf` runs the same loop with tf.Variables
and a hand-written update: the control that the cluster itself works.
"""

import os
import socket
import sys
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

TIMEOUT_S = 90


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    spec = tf.train.ClusterSpec({"worker": [f"127.0.0.1:{free_port()}" for _ in range(2)],
                                 "ps": [f"127.0.0.1:{free_port()}"]})
    # In one process on a small machine the servers share its inter-op pool: give it a thread per
    # worker and one for the coordinator (TensorFlow's tutorial does the same), or the steps starve.
    config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=max(os.cpu_count(), 3))
    for i in range(2):
        tf.distribute.Server(spec, job_name="worker", task_index=i, protocol="grpc", config=config, start=True)
    tf.distribute.Server(spec, job_name="ps", task_index=0, protocol="grpc", start=True)
    strategy = tf.distribute.ParameterServerStrategy(tf.distribute.cluster_resolver.SimpleClusterResolver(spec))
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    plain = "--plain-tf" in sys.argv
    with strategy.scope():
        if plain:
            kernel, bias = tf.Variable(tf.zeros((4, 3))), tf.Variable(tf.zeros(3))
            variables = [kernel, bias]
            model = lambda x, training: x @ kernel + bias  # noqa: E731
        else:
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
            optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
            optimizer.build(model.trainable_variables)
            variables = model.trainable_variables
    print("variables on", sorted({(v if plain else v.value).device for v in variables}), flush=True)

    def dataset_fn():
        rng = np.random.default_rng(0)
        x, y = rng.random((64, 4), np.float32), rng.integers(0, 3, 64)
        return tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(8)

    iterator = iter(coordinator.create_per_worker_dataset(dataset_fn))

    @tf.function
    def step(iterator):
        def replica(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=True)))
            grads = tape.gradient(loss, variables)
            if plain:
                for v, g in zip(variables, grads):
                    v.assign_sub(0.1 * g)
            else:
                optimizer.apply_gradients(zip(grads, variables))
            return loss

        return strategy.run(replica, args=next(iterator))

    results = [coordinator.schedule(step, args=(iterator,)) for _ in range(20)]
    print("20 steps scheduled; waiting for them", flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (coordinator.join(), done.set()), daemon=True).start()
    if not done.wait(TIMEOUT_S):
        print(f"join() did not return within {TIMEOUT_S} s: parameter-server training does not run here", flush=True)
        os._exit(1)
    print("losses", [round(float(r.fetch()), 4) for r in results[:3]], "...", float(results[-1].fetch()))
    if not plain:
        count = int(optimizer.iterations.numpy())
        print(f"optimizer iterations after {len(results)} applied steps: {count}"
              + ("" if count == len(results) else " (updates of the step counter were lost)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
