"""Admin screen: pages (being built)."""
