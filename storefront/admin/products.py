"""Admin screen: products (being built)."""
