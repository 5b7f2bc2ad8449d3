"""HHA (zoo.data.segmentation.hha) on rendered depth of known geometry: a floor and a wall seen by a tilted camera.

The oracle is analytic: a floor's normal is parallel to gravity (angle 0°, channel 38 = 0 +
128 - 90 in Gupta's saveHHA.m), a wall's perpendicular (90°, channel 128); heights and
disparities follow from the rendered points (31000 / max(z cm, 100); height in cm above the
lowest point, or above a floor 130 cm below the camera when nothing lies 90 cm below it).
"""

import numpy as np
import pytest
from scipy.ndimage import binary_erosion

from zoo.data.segmentation import hha
from zoo.errors import ConfigError, InputError

K = hha.NYUD_INTRINSICS


def rotation(pitch_deg, roll_deg):
    """World (y down, z forward) to camera, for a camera pitched down and rolled."""
    p, r = np.deg2rad(pitch_deg), np.deg2rad(roll_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx


def render(*, pitch=0.0, roll=0.0, yaw=0.0, camera_height=150.0, wall_distance=300.0, shape=(480, 640)):
    """Depth in mm of a floor `camera_height` cm below the camera and a wall `wall_distance` cm away.

    Returns (depth mm, floor mask, wall mask, points in cm, gravity in camera coordinates).
    """
    r = rotation(pitch, roll)
    gravity = r @ np.array([0.0, 1.0, 0.0])
    wall_normal = r @ np.array([np.sin(np.deg2rad(yaw)), 0.0, np.cos(np.deg2rad(yaw))])
    h, w = shape
    u, v = np.meshgrid(np.arange(1, w + 1), np.arange(1, h + 1))
    rays = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones(shape)], axis=-1)  # z = 1
    with np.errstate(divide="ignore"):
        t_floor = np.where(rays @ gravity > 0, camera_height / (rays @ gravity), np.inf)
        t_wall = np.where(rays @ wall_normal > 0, wall_distance / (rays @ wall_normal), np.inf)
    z = np.minimum(t_floor, t_wall)
    assert np.isfinite(z).all()
    floor = t_floor < t_wall
    return z * 10.0, floor, ~floor, rays * z[..., None], gravity


def interior(mask, margin):
    return binary_erosion(mask, iterations=margin, border_value=1)


@pytest.mark.parametrize("pitch, roll, yaw", [(15.0, 0.0, 20.0), (25.0, -8.0, -30.0)])
def test_tilted_camera_floor_and_wall(pitch, roll, yaw):
    depth, floor, wall, points, gravity = render(pitch=pitch, roll=roll, yaw=yaw)
    assert floor.mean() > 0.2 and wall.mean() > 0.2  # both surfaces fill a good part of the view
    # Gravity from whole millimetres, as the dataset stores depth.
    cloud = hha.point_cloud(np.round(depth) / 10.0)
    estimated = hha.estimate_gravity(hha.surface_normals(cloud, depth == 0, hha.GRAVITY_NORMAL_RADIUS))
    assert np.degrees(np.arccos(np.clip(estimated @ gravity, -1, 1))) < 0.2

    out = hha.hha(depth)
    assert out.dtype == np.uint8 and out.shape == (480, 640, 3)
    disparity, height, angle = (out[..., i].astype(int) for i in range(3))
    # Angle: 0° on the floor, 90° on the wall, away from the crease (normals use a 7x7 window).
    on_floor, on_wall = interior(floor, 4), interior(wall, 4)
    assert np.all(angle[on_floor] == 38) and np.all(angle[on_wall] == 128)
    # Height: the floor is the lowest surface (150 cm below, more than 90): 0 on it, and on the
    # wall the height of each point above the floor (to rounding and the estimated gravity).
    expected = np.clip(150.0 - points @ gravity, 0, 255)
    assert np.abs(height - expected).max() < 1.5 and np.mean(height[floor] == 0) > 0.9
    # Disparity: 31000 / max(depth in cm, 100).
    expected = np.clip(31000.0 / np.maximum(depth / 10.0, 100.0), 0, 255)
    np.testing.assert_allclose(disparity, expected, atol=0.51)


def test_floor_out_of_reach_puts_the_ground_130cm_below():
    # Camera 60 cm above the floor: the lowest point is less than 90 cm below it, so the reference
    # puts the ground 130 cm below the camera and the floor reads 130 - 60 = 70.
    depth, floor, wall, points, gravity = render(pitch=20.0, camera_height=60.0)
    height = hha.hha(np.round(depth))[..., 1].astype(int)
    assert np.all(height[floor] == 70)
    assert np.abs(height[wall] - np.clip(130.0 - points[wall] @ gravity, 0, 255)).max() <= 1


def test_camera_y_gravity_assumes_a_level_camera():
    depth, floor, _, _, _ = render(pitch=12.0, yaw=10.0)
    on_floor = interior(floor, 4)
    estimated = hha.hha(np.round(depth))[..., 2]
    level = hha.hha(np.round(depth), gravity="camera_y")[..., 2]
    assert np.median(estimated[on_floor]) == 38
    assert np.median(level[on_floor]) == 38 + 12  # the floor seen as tilted by the camera's pitch
    # A level camera: both options agree.
    depth, *_ = render(pitch=0.0, wall_distance=600.0)
    np.testing.assert_array_equal(hha.hha(np.round(depth)), hha.hha(np.round(depth), gravity="camera_y"))


def test_missing_depth_is_left_out_of_the_normals():
    depth, floor, wall, _, _ = render(pitch=15.0, yaw=20.0)
    missing = np.zeros(depth.shape, bool)
    missing[100:130, 300:340] = True  # a hole in the raw depth, on the wall
    assert wall[95:135, 295:345].all()
    out = hha.hha(depth, missing=missing)
    # Around the hole the wall's normal still fits: 90°. Inside, no valid point within 3 pixels:
    # no normal, which the reference turns into 180° (channel 218, MATLAB's max(-1, NaN) = -1).
    ring = np.zeros_like(missing)
    ring[97:133, 297:343] = True
    ring[100:130, 300:340] = False
    assert np.all(out[..., 2][ring] == 128)
    assert np.all(out[..., 2][104:126, 304:336] == 218)
    # Disparity and height come from the (in-painted) depth, hole or not (the height to the
    # gravity estimate, which lost the hole's normals).
    full = hha.hha(depth)
    np.testing.assert_array_equal(out[..., 0], full[..., 0])
    assert np.abs(out[..., 1].astype(int) - full[..., 1]).max() <= 1


def test_bad_arguments():
    with pytest.raises(InputError, match=r"\(H, W\) depth map"):
        hha.hha(np.ones((4, 5, 3)))
    with pytest.raises(ConfigError, match="gravity"):
        hha.hha(np.ones((4, 5)), gravity="up")
