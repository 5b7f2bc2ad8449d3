"""The pendulums stand-in (after Oquab §5.4.1): its physics against the small-angle period, its
rendering, its determinism; latent interpolation paths (linear and slerp) by hand."""

import numpy as np
import pytest

from zoo.data.standins import pendulums as P
from zoo.errors import ConfigError, InputError
from zoo.visualize.latent import interpolate_latents, interpolation_images


def test_undamped_small_swings_have_the_period_2_pi_sqrt_l_over_g():
    length, theta, omega, dt = 0.5, np.array([0.05]), np.array([0.0]), 1e-4
    crossings, t, prev = [], 0.0, theta[0]
    while len(crossings) < 3:
        theta, omega = P.pendulum_step(theta, omega, (0.0, 0.0), length, dt=dt, damping=0.0)
        t += dt
        if prev < 0 <= theta[0]:
            crossings.append(t)
        prev = theta[0]
    assert crossings[2] - crossings[1] == pytest.approx(2 * np.pi * np.sqrt(length / P.G), rel=1e-3)


def test_a_pivot_accelerating_right_swings_the_bob_left_and_damping_stops_it():
    theta, omega = np.zeros(1), np.zeros(1)
    theta, omega = P.pendulum_step(theta, omega, (5.0, 0.0), 0.5)
    assert omega[0] < 0 and theta[0] < 0  # the bob lags behind the pivot
    theta, omega = np.array([0.3]), np.zeros(1)
    for _ in range(3000):
        theta, omega = P.pendulum_step(theta, omega, (0.0, 0.0), 0.5)
    assert abs(theta[0]) < 0.01


def test_frames_show_the_bar_rods_and_bobs_where_the_state_says():
    position, theta, length = np.array([0.0, 0.5]), np.array([0.0, 0.0]), np.array([0.5, 0.5])
    image = P.render(position, theta, length, image_size=64)
    to_pixel = lambda x, y: (int((1 - (y + 1) / 2) * 64), int((x + 1) / 2 * 64))  # noqa: E731
    assert tuple(image[to_pixel(0.0, 0.5)]) == P.COLOURS["bar"]
    assert tuple(image[to_pixel(-0.3, 0.0)]) == P.COLOURS["bob"] == tuple(image[to_pixel(0.3, 0.0)])
    assert tuple(image[to_pixel(-0.3, 0.25)]) == P.COLOURS["rod"]
    assert tuple(image[to_pixel(0.0, -0.5)]) == (255, 255, 255)


def test_examples_are_reproducible_and_vary():
    a, b = P.example(0, "train", 3), P.example(0, "train", 3)
    np.testing.assert_array_equal(a["image"], b["image"])
    states = np.array([P.example(0, "train", i)["state"] for i in range(40)])
    assert states[:, 0].std() > 0.1 and states[:, 2].std() > 0.05
    assert (states[:, 0] >= P.BAR_X[0]).all() and (states[:, 1] <= P.BAR_Y[1]).all()


def test_registered_loader():
    from zoo.data import registry

    (ex,) = list(registry.load("pendulums", "validation", num_examples=1, image_size=32).as_numpy_iterator())
    assert ex["image"].shape == (32, 32, 3) and ex["state"].shape == (4,)
    with pytest.raises(ConfigError, match="num_examples"):
        registry.load("pendulums", "train", num_examples=0)


def test_interpolation_paths():
    z0, z1 = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    linear = interpolate_latents(z0, z1, 3, "linear")
    np.testing.assert_allclose(linear, [[1, 0], [0.5, 1], [0, 2]])
    slerp = interpolate_latents(z0, z1, 3, "slerp")  # 90 degrees: sin(45)/sin(90) of each end
    np.testing.assert_allclose(slerp, [[1, 0], [np.sqrt(0.5), np.sqrt(2)], [0, 2]], atol=1e-12)
    with pytest.raises(InputError, match="same size"):
        interpolate_latents(z0, np.zeros(3))
    images = interpolation_images(lambda z, training: z * 2, z0, z1, 3, "linear")
    np.testing.assert_allclose(images, 2 * linear)
