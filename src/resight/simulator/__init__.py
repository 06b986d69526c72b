"""The simulated Indian marketplace world with known ground truth (docs/simulator.md).

The truth API, stable for model grading:

    world = load_world(session)                 # or build_world(WorldSpec(seed, n, start))
    expected = true_expected_orders(world, np.arange(world.n), at)
    revenue = true_expected_revenue_paise(world, np.arange(world.n), at)
    world.product_ids[i]                        # database id of world product i (-1 if absent)
"""

from resight.simulator.demand import true_expected_orders, true_expected_revenue_paise
from resight.simulator.load import load_world
from resight.simulator.world import ProductState, World, WorldSpec, build_world

__all__ = [
    "ProductState",
    "World",
    "WorldSpec",
    "build_world",
    "load_world",
    "true_expected_orders",
    "true_expected_revenue_paise",
]
