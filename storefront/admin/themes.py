"""Admin screen: themes (being built)."""
