"""Admin screen: shipping (being built)."""
