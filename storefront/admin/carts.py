"""Admin screen: carts (being built)."""
