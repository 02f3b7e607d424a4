"""Neural-network modules (to come)."""
